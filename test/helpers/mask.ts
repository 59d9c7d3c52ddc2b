// Parses what a NATS server sends to a client and masks the parts that
// legitimately differ between two servers, so that transcripts from tsnats and
// the reference nats-server can be compared byte for byte otherwise.
//
// Masked: INFO fields that identify the server instance or the connection
// (server_id, server_name, version, go, host, port, client_id, client_ip,
// nonce, xkey, connect_urls, git_commit; proto on request). Their presence is
// kept (a field one server sends and the other omits is still a difference);
// every other INFO field is compared by value. -ERR, +OK, PING, PONG, MSG and
// HMSG frames are kept exactly.

export type ServerFrame =
  | { op: 'INFO'; raw: string; info: Record<string, unknown> | null; json: string }
  | { op: 'MSG'; raw: string; subject: string; sid: string; reply?: string; size: number; payload: Buffer }
  | {
      op: 'HMSG';
      raw: string;
      subject: string;
      sid: string;
      reply?: string;
      hdrSize: number;
      totalSize: number;
      headers: Buffer;
      payload: Buffer;
    }
  | { op: 'PING' | 'PONG' | '+OK'; raw: string }
  | { op: '-ERR'; raw: string; text: string }
  /** an unrecognised line, or bytes that could not be framed (incomplete message) */
  | { op: 'UNKNOWN' | 'PARTIAL'; raw: string };

/** The default INFO fields whose values are masked. */
export const DEFAULT_MASKED_INFO_FIELDS: readonly string[] = [
  'server_id',
  'server_name',
  'version',
  'go',
  'host',
  'port',
  'client_id',
  'client_ip',
  'nonce',
  'xkey',
  'connect_urls',
  'git_commit',
];

export interface MaskOptions {
  /** also mask `proto` */
  maskProto?: boolean;
  /** extra INFO fields to mask */
  extraFields?: string[];
  /** compare INFO keys in the order the server sent them (default: sorted) */
  keepInfoKeyOrder?: boolean;
  /**
   * INFO fields dropped before comparison (presence not compared). Default:
   * none, plus any listed in the env var DIFF_IGNORE_INFO_FIELDS
   * (comma-separated) — a diagnostic aid, not for committed tests.
   */
  ignoreInfoFields?: string[];
  /**
   * Keep server-sent PINGs in the masked transcript (default false: dropped).
   * The reference PINGs every client min(ping_interval, 2 s) + 0–20 % after
   * CONNECT, so a slow test may see one at any point; tests about PINGs set this.
   */
  keepServerPings?: boolean;
}

function envIgnoredFields(): string[] {
  return (process.env.DIFF_IGNORE_INFO_FIELDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function indexOfCrlf(buf: Buffer, from: number): number {
  return buf.indexOf('\r\n', from, 'latin1');
}

/**
 * Splits a server→client byte stream into frames. MSG/HMSG payloads are
 * framed by their announced sizes, so payload bytes never look like ops.
 */
export function parseServerStream(data: Buffer | string): ServerFrame[] {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const frames: ServerFrame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const eol = indexOfCrlf(buf, pos);
    if (eol < 0) {
      frames.push({ op: 'PARTIAL', raw: buf.subarray(pos).toString('utf8') });
      break;
    }
    const line = buf.subarray(pos, eol).toString('utf8');
    const lineRaw = line + '\r\n';
    const sp = line.search(/[ \t]/);
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const after = eol + 2;
    if (verb === 'MSG' || verb === 'HMSG') {
      const args = rest.split(/[ \t]+/).filter((s) => s.length > 0);
      const isH = verb === 'HMSG';
      const nSizes = isH ? 2 : 1;
      const okArgs = args.length === 2 + nSizes || args.length === 3 + nSizes;
      const sizes = args.slice(-nSizes).map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
      const total = sizes[sizes.length - 1]!;
      if (!okArgs || sizes.some((n) => Number.isNaN(n))) {
        frames.push({ op: 'UNKNOWN', raw: lineRaw });
        pos = after;
        continue;
      }
      if (after + total + 2 > buf.length) {
        frames.push({ op: 'PARTIAL', raw: buf.subarray(pos).toString('utf8') });
        break;
      }
      const body = buf.subarray(after, after + total);
      const trailer = buf.subarray(after + total, after + total + 2).toString('latin1');
      const raw = buf.subarray(pos, after + total + 2).toString('utf8');
      const reply = args.length === 3 + nSizes ? args[2] : undefined;
      if (trailer !== '\r\n') {
        frames.push({ op: 'UNKNOWN', raw: lineRaw });
        pos = after;
        continue;
      }
      if (isH) {
        const hdrSize = sizes[0]!;
        frames.push({
          op: 'HMSG',
          raw,
          subject: args[0]!,
          sid: args[1]!,
          ...(reply !== undefined ? { reply } : {}),
          hdrSize,
          totalSize: total,
          headers: Buffer.from(body.subarray(0, hdrSize)),
          payload: Buffer.from(body.subarray(hdrSize)),
        });
      } else {
        frames.push({
          op: 'MSG',
          raw,
          subject: args[0]!,
          sid: args[1]!,
          ...(reply !== undefined ? { reply } : {}),
          size: total,
          payload: Buffer.from(body),
        });
      }
      pos = after + total + 2;
      continue;
    }
    pos = after;
    if (verb === 'INFO') {
      let info: Record<string, unknown> | null = null;
      try {
        const v: unknown = JSON.parse(rest);
        if (v && typeof v === 'object' && !Array.isArray(v)) info = v as Record<string, unknown>;
      } catch {
        info = null;
      }
      frames.push({ op: 'INFO', raw: lineRaw, info, json: rest });
    } else if (line === 'PING' || line === 'PONG' || line === '+OK') {
      frames.push({ op: line, raw: lineRaw });
    } else if (verb === '-ERR') {
      frames.push({ op: '-ERR', raw: lineRaw, text: rest });
    } else {
      frames.push({ op: 'UNKNOWN', raw: lineRaw });
    }
  }
  return frames;
}

/** INFO object with the identity fields replaced by "<masked>" (presence preserved). */
export function maskInfo(info: Record<string, unknown>, opts: MaskOptions = {}): Record<string, unknown> {
  const masked = new Set([...DEFAULT_MASKED_INFO_FIELDS, ...(opts.maskProto ? ['proto'] : []), ...(opts.extraFields ?? [])]);
  // `tsnats` (tsnats' own version) is an intended extra INFO field: clients ignore unknown keys.
  const ignored = new Set(['tsnats', ...(opts.ignoreInfoFields ?? []), ...envIgnoredFields()]);
  const keys = Object.keys(info).filter((k) => !ignored.has(k));
  if (!opts.keepInfoKeyOrder) keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = masked.has(k) ? '<masked>' : info[k];
  return out;
}

/** One frame as text for comparison: INFO is masked, everything else is verbatim. */
export function maskFrame(f: ServerFrame, opts: MaskOptions = {}): string {
  if (f.op === 'INFO') {
    if (!f.info) return f.raw; // unparseable INFO is compared verbatim
    // keep the exact framing (the reference writes `INFO {...} \r\n`, note the space)
    const lead = /^[ \t]*/.exec(f.json)![0];
    const trail = /[ \t]*$/.exec(f.json)![0];
    const sep = f.raw.slice(4, f.raw.length - f.json.length - 2);
    return `INFO${sep}${lead}${JSON.stringify(maskInfo(f.info, opts))}${trail}\r\n`;
  }
  return f.raw;
}

/** The whole server→client transcript with INFO lines masked (and server PINGs dropped unless kept). */
export function maskTranscript(data: Buffer | string, opts: MaskOptions = {}): string {
  return parseServerStream(data)
    .filter((f) => opts.keepServerPings || f.op !== 'PING')
    .map((f) => maskFrame(f, opts))
    .join('');
}

/** The transcript without server-sent PING frames (payloads are never touched). */
export function withoutServerPings(data: Buffer | string): string {
  return parseServerStream(data)
    .filter((f) => f.op !== 'PING')
    .map((f) => f.raw)
    .join('');
}

/** The first INFO's parsed JSON, or throws. */
export function firstInfo(data: Buffer | string): Record<string, unknown> {
  const f = parseServerStream(data).find((x) => x.op === 'INFO');
  if (!f || f.op !== 'INFO' || !f.info) throw new Error(`no INFO in ${JSON.stringify(data.toString())}`);
  return f.info;
}

/** The transcript without its leading INFO line (the usual thing to assert exactly). */
export function afterInfo(data: Buffer | string): string {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (!text.startsWith('INFO ')) return text;
  const eol = text.indexOf('\r\n');
  return eol < 0 ? '' : text.slice(eol + 2);
}

/** Count frames by op (e.g. how many MSG). */
export function countOps(data: Buffer | string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of parseServerStream(data)) counts[f.op] = (counts[f.op] ?? 0) + 1;
  return counts;
}
