// Small shared constants and builders for protocol tests.

import type { TestContext } from 'node:test';
import { differential, type DifferentialOptions, type Transcript } from './diff.js';
import { withoutServerPings } from './mask.js';
import { connect, type RawClient } from './rawclient.js';
import type { ServerPair } from './servers.js';

/** CONNECT that turns off the reference's verbose/pedantic defaults (both default to true). */
export const CONNECT = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
export const CONNECT_VERBOSE = 'CONNECT {"verbose":true,"pedantic":false}\r\n';
export const CONNECT_HEADERS = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';
export const PING = 'PING\r\n';
export const PONG = 'PONG\r\n';
export const UNKNOWN_OP = "-ERR 'Unknown Protocol Operation'\r\n";

/**
 * Collection options for an exchange the reference ends by closing: no PONG
 * to wait for, but up to 3 s for the close (robust on a loaded machine). A
 * server that does not close costs the wait and shows in the comparison.
 */
export const CLOSES = { until: undefined, waitCloseMs: 3000 } as const;

/** `CONNECT <json>\r\n` with the given fields (no verbose/pedantic defaults added). */
export function connectLine(fields: Record<string, unknown>): string {
  return `CONNECT ${JSON.stringify(fields)}\r\n`;
}

/** `PUB subject [reply] size\r\npayload\r\n` with the size computed in bytes. */
export function pub(subject: string, payload: string | Buffer, reply?: string): string {
  const size = Buffer.byteLength(payload);
  return `PUB ${subject}${reply ? ' ' + reply : ''} ${size}\r\n${payload.toString()}\r\n`;
}

/** `HPUB subject [reply] hdrSize totalSize\r\nheaders payload\r\n`, headers given verbatim. */
export function hpub(subject: string, headers: string, payload: string, reply?: string): string {
  const h = Buffer.byteLength(headers);
  const total = h + Buffer.byteLength(payload);
  return `HPUB ${subject}${reply ? ' ' + reply : ''} ${h} ${total}\r\n${headers}${payload}\r\n`;
}

/** `MSG subject sid [reply] size\r\npayload\r\n` as a server delivers it. */
export function msg(subject: string, sid: string | number, payload: string, reply?: string): string {
  return `MSG ${subject} ${sid}${reply ? ' ' + reply : ''} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
}

/** `HMSG subject sid [reply] hdrSize totalSize\r\nheaders payload\r\n` as a server delivers it. */
export function hmsg(subject: string, sid: string | number, headers: string, payload: string, reply?: string): string {
  const h = Buffer.byteLength(headers);
  return `HMSG ${subject} ${sid}${reply ? ' ' + reply : ''} ${h} ${h + Buffer.byteLength(payload)}\r\n${headers}${payload}\r\n`;
}

/** Splits a string into single-byte chunks (for split-frame tests). */
export function bytewise(s: string): Buffer[] {
  const b = Buffer.from(s);
  return Array.from(b, (x) => Buffer.from([x]));
}

/**
 * Opens a connection, reads INFO, sends `connectLine` and syncs with PING/PONG.
 * Returns the client with nothing unread.
 */
export async function session(port: number, connectText: string = CONNECT, host = '127.0.0.1'): Promise<RawClient> {
  const c = await connect(port, host);
  await c.readUntil('\r\n');
  await c.send(connectText + PING);
  const got = withoutServerPings(await c.readUntil(PONG));
  if (got !== PONG) throw new Error(`unexpected reply to ${JSON.stringify(connectText)}: ${JSON.stringify(got)}`);
  return c;
}

/**
 * Sends `text` + PING and returns everything received before the PONG, minus
 * server-sent PINGs (time-dependent; see MaskOptions.keepServerPings).
 */
export async function flush(c: RawClient, text = '', timeoutMs = 5000): Promise<string> {
  await c.send(text + PING);
  const got = await c.readUntil(PONG, timeoutMs);
  return withoutServerPings(got.slice(0, -PONG.length));
}

/** Number of PONGs to expect for the PING-like lines in `chunks` (`PING…\n`, any case). */
export function expectedPongs(chunks: (string | Uint8Array)[]): number {
  const text = chunks.map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('latin1'))).join('');
  return (text.match(/(^|\n)ping[^\n]*\n/gi) ?? []).length;
}

/** A readUntil predicate: at least n `PONG\r\n` received. */
export function pongs(n: number): (b: Buffer) => boolean {
  return (b) => {
    let count = 0;
    let i = -1;
    while ((i = b.indexOf(PONG, i + 1)) >= 0) count++;
    return count >= n;
  };
}

export type Runner = (
  t: TestContext,
  chunks: (string | Uint8Array)[],
  opts?: DifferentialOptions,
) => Promise<{ ref: Transcript; ts: Transcript }>;

/**
 * A `differential` bound to a shared server pair (from `before`), that waits
 * for one PONG per PING line in the chunks and then a 100 ms quiet period.
 */
export function runner(getServers: () => ServerPair | undefined): Runner {
  return (t, chunks, opts = {}) => {
    const n = expectedPongs(chunks);
    const servers = opts.config !== undefined || opts.args !== undefined ? undefined : getServers();
    return differential(t, chunks, {
      quietMs: 100,
      ...(n > 0 ? { until: pongs(n) } : {}),
      ...(servers ? { servers } : {}),
      ...opts,
    });
  };
}
