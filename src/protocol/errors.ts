// The exact texts nats-server 2.9 puts after `-ERR ` (server/client.go,
// server/errors.go, server/parser.go). Clients match on these strings, so they
// are byte-for-byte the reference's, including its capitalisation quirks
// (e.g. 'maximum control line exceeded' is lower case because the reference
// sends errors.go's ErrMaxControlLine text, while most others are Title Case).

import { goQuoteBytes } from './goquote.js';

export const ERR_UNKNOWN_PROTOCOL = 'Unknown Protocol Operation';
export const ERR_MAX_PAYLOAD = 'Maximum Payload Violation';
export const ERR_MAX_CONTROL_LINE = 'maximum control line exceeded';
export const ERR_INVALID_SUBJECT = 'Invalid Subject';
export const ERR_INVALID_PUBLISH_SUBJECT = 'Invalid Publish Subject';
export const ERR_AUTH_VIOLATION = 'Authorization Violation';
export const ERR_AUTH_TIMEOUT = 'Authentication Timeout';
export const ERR_AUTH_EXPIRED = 'User Authentication Expired';
export const ERR_ACCOUNT_AUTH_EXPIRED = 'Account Authentication Expired';
export const ERR_STALE_CONNECTION = 'Stale Connection';
export const ERR_BAD_CLIENT_PROTOCOL = 'invalid client protocol';
export const ERR_NO_RESPONDERS_REQUIRES_HEADERS = 'no responders requires headers support';
export const ERR_MAX_CONNECTIONS = 'maximum connections exceeded';
export const ERR_MAX_ACCOUNT_CONNECTIONS = 'maximum account active connections exceeded';
export const ERR_MAX_SUBSCRIPTIONS = 'maximum subscriptions exceeded';
export const ERR_SECURE_CONNECTION_REQUIRED = 'Secure Connection - TLS Required';
export const ERR_FAILED_ACCOUNT_REGISTRATION = 'Failed Account Registration';

export function errPermPublish(subject: string): string {
  return `Permissions Violation for Publish to ${goQuote(subject)}`;
}
export function errPermPublishReply(reply: string): string {
  return `Permissions Violation for Publish with Reply of ${goQuote(reply)}`;
}
export function errPermSubscribe(subject: string, queue: string | null): string {
  // server/client.go subPermissionViolation
  if (queue !== null) {
    return `Permissions Violation for Subscription to ${goQuote(subject)} using queue ${goQuote(queue)}`;
  }
  return `Permissions Violation for Subscription to ${goQuote(subject)}`;
}

/**
 * Go's %q (strconv.Quote) of a client-supplied string held as latin1 (one
 * char per byte, as subjects and sids are), with the result in the same
 * form: errProto writes it back as the bytes the reference writes (valid,
 * printable UTF-8 raw; other bytes \xHH; non-printable runes \uHHHH).
 * For a log line, which is written as UTF-8, use goQuoteBytes on the bytes.
 */
export function goQuote(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length && plain; i++) {
    const c = s.charCodeAt(i);
    plain = c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
  }
  if (plain) return `"${s}"`;
  for (let i = 0; i < s.length; i++) {
    // not latin1: a JS string from elsewhere; quote its UTF-8
    if (s.charCodeAt(i) > 0xff) return Buffer.from(goQuoteBytes(Buffer.from(s, 'utf8')), 'utf8').toString('latin1');
  }
  return Buffer.from(goQuoteBytes(Buffer.from(s, 'latin1')), 'utf8').toString('latin1');
}

/** goQuote for a log line (written as UTF-8): the same text as a JS string. */
export function goQuoteLog(s: string): string {
  // goQuote's bytes are valid UTF-8 (everything else is escaped)
  return Buffer.from(goQuote(s), 'latin1').toString('utf8');
}

/** `-ERR '<text>'\r\n` */
export function errProto(text: string): Buffer {
  return Buffer.from(`-ERR '${text}'\r\n`, 'latin1');
}

export const OK_PROTO = Buffer.from('+OK\r\n');
export const PING_PROTO = Buffer.from('PING\r\n');
export const PONG_PROTO = Buffer.from('PONG\r\n');
