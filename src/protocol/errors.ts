// The exact texts nats-server 2.9 puts after `-ERR ` (server/client.go,
// server/errors.go, server/parser.go). Clients match on these strings, so they
// are byte-for-byte the reference's, including its capitalisation quirks
// (e.g. 'maximum control line exceeded' is lower case because the reference
// sends errors.go's ErrMaxControlLine text, while most others are Title Case).

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
 * Go's %q for the printable ASCII subjects we deal with: double quotes with
 * backslash escapes. Non-printable bytes get Go's \x.. escapes so that a
 * garbage subject still yields the reference's text.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += s[i];
  }
  return out + '"';
}

/** `-ERR '<text>'\r\n` */
export function errProto(text: string): Buffer {
  return Buffer.from(`-ERR '${text}'\r\n`, 'latin1');
}

export const OK_PROTO = Buffer.from('+OK\r\n');
export const PING_PROTO = Buffer.from('PING\r\n');
export const PONG_PROTO = Buffer.from('PONG\r\n');
