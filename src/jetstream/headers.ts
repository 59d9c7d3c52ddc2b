// NATS header blocks ("NATS/1.0[ status]\r\nKey: Value\r\n…\r\n") as
// JetStream reads and writes them: lookup without decoding the whole block,
// appending and removing one header, status-only blocks (404 No Messages…).
// Lookups are exact on the key, as server/client.go getHeader is.

const CRLF = '\r\n';

/** The value of `key` in a header block, or null. */
export function getHeader(hdr: Buffer | null, key: string): string | null {
  if (hdr === null || hdr.length === 0) return null;
  const text = hdr.toString('latin1');
  const needle = CRLF + key + ':';
  let i = text.indexOf(needle);
  if (i < 0) return null;
  i += needle.length;
  const end = text.indexOf(CRLF, i);
  if (end < 0) return null;
  // server/client.go getHeader trims leading blanks of the value
  return Buffer.from(text.slice(i, end), 'latin1').toString('utf8').trim();
}

/** hdr with `key: value` appended (a new block when hdr is null). */
export function setHeader(hdr: Buffer | null, key: string, value: string): Buffer {
  if (hdr === null || hdr.length < 12) return Buffer.from(`NATS/1.0\r\n${key}: ${value}\r\n\r\n`);
  // drop the final CRLF, append, close again (server/stream.go genHeader)
  const head = hdr.subarray(0, hdr.length - 2);
  return Buffer.concat([head, Buffer.from(`${key}: ${value}\r\n\r\n`)]);
}

/** hdr without `key` (every occurrence); null when nothing but the status line is left. */
export function removeHeader(hdr: Buffer | null, key: string): Buffer | null {
  if (hdr === null) return null;
  const text = hdr.toString('latin1');
  const needle = CRLF + key + ':';
  if (!text.includes(needle)) return hdr;
  const lines = text.split(CRLF);
  const kept = lines.filter((l, i) => i === 0 || !l.startsWith(key + ':'));
  const out = kept.join(CRLF);
  return Buffer.from(out, 'latin1');
}

/** A header block with only a status line and the given headers. */
export function statusHeader(code: number, description: string, extra: ReadonlyArray<[string, string]> = []): Buffer {
  let s = description === '' ? `NATS/1.0 ${code}\r\n` : `NATS/1.0 ${code} ${description}\r\n`;
  for (const [k, v] of extra) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + CRLF);
}

/** Header names JetStream reads (server/stream.go). */
export const H = {
  MsgId: 'Nats-Msg-Id',
  ExpectedStream: 'Nats-Expected-Stream',
  ExpectedLastSeq: 'Nats-Expected-Last-Sequence',
  ExpectedLastSubjSeq: 'Nats-Expected-Last-Subject-Sequence',
  ExpectedLastMsgId: 'Nats-Expected-Last-Msg-Id',
  Rollup: 'Nats-Rollup',
  Stream: 'Nats-Stream',
  Sequence: 'Nats-Sequence',
  TimeStamp: 'Nats-Time-Stamp',
  Subject: 'Nats-Subject',
  LastSequence: 'Nats-Last-Sequence',
  MsgSize: 'Nats-Msg-Size',
  LastConsumer: 'Nats-Last-Consumer',
  LastStream: 'Nats-Last-Stream',
  ConsumerStalled: 'Nats-Consumer-Stalled',
  ClientInfo: 'Nats-Request-Info',
  StreamSource: 'Nats-Stream-Source',
} as const;
