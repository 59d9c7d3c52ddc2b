// Cross-field checks nats-server makes when the server is created
// (server/server.go validateOptions and the validators it calls), for the
// features tsnats serves. Texts match the reference.

import { formatGoDuration, msToNs } from './duration.js';
import { JWTError, decodeJWT } from './jwt-conf.js';
import { validateJetStreamOptions } from './jetstream-conf.js';
import type { Options } from './options.js';

function goDur(ms: number): string {
  return formatGoDuration(msToNs(ms));
}

function validateNoAuthUser(o: Options, noAuthUser: string): string | undefined {
  if (noAuthUser === '') return undefined;
  if (o.trustedOperators.length > 0) return 'no_auth_user not compatible with Trusted Operator';
  if (o.users.length === 0) return `no_auth_user: "${noAuthUser}" present, but users are not defined`;
  if (o.users.some((u) => u.username === noAuthUser)) return undefined;
  return `no_auth_user: "${noAuthUser}" not present as user in authorization block or account configuration`;
}

function validateTrustedOperators(o: Options): string | undefined {
  if (o.trustedOperators.length === 0) return undefined;
  if (o.resolver === undefined) return 'operators require an account resolver to be configured';
  if (o.accounts.length > 0) return 'operators do not allow Accounts to be configured directly';
  if (o.users.length > 0 || o.nkeys.length > 0) return 'operators do not allow users to be configured directly';
  if (o.trustedKeys.length > 0) return "conflicting options for 'TrustedKeys' and 'TrustedOperators'";
  const systemAccounts: string[] = [];
  for (const jwt of o.trustedOperators) {
    try {
      const sys = decodeJWT(jwt).nats.system_account;
      systemAccounts.push(typeof sys === 'string' ? sys : '');
    } catch (e) {
      if (!(e instanceof JWTError)) throw e;
      systemAccounts.push('');
    }
  }
  if (o.systemAccount !== '') {
    const foundNonEmpty = systemAccounts.some((s) => s !== '');
    if (foundNonEmpty && !systemAccounts.includes(o.systemAccount)) {
      return 'system_account in config and operator JWT must be identical';
    }
  } else if (systemAccounts[0] === '' && (o.resolver.type === 'full' || o.resolver.type === 'cache')) {
    return 'using nats based account resolver - the system account needs to be specified in configuration or the operator jwt';
  }
  return undefined;
}

function validateWebsocket(o: Options): string | undefined {
  const ws = o.websocket;
  if (ws === undefined || ws.port === 0) return undefined;
  if (ws.tls === undefined && !ws.noTls) return 'websocket requires TLS configuration';
  if (ws.noAuthUser) {
    const bad = validateNoAuthUser(o, ws.noAuthUser);
    if (bad !== undefined) return bad;
  }
  if (o.users.length > 0 || o.nkeys.length > 0) {
    if (ws.username) return 'websocket authentication username not compatible with presence of users/nkeys';
    if (ws.token) return 'websocket authentication token not compatible with presence of users/nkeys';
  }
  if (ws.jwtCookie && o.trustedOperators.length === 0 && o.trustedKeys.length === 0) {
    return `trusted operators or trusted keys configuration is required for JWT authentication via cookie "${ws.jwtCookie}"`;
  }
  return undefined;
}

/**
 * Startup validation. Returns the problems in the order the reference checks
 * them; the reference stops at the first, so callers report `[0]`.
 */
export function validateOptions(o: Options): string[] {
  const out: string[] = [];
  const add = (s: string | undefined): void => {
    if (s !== undefined) out.push(s);
  };
  if (o.lameDuckDurationMs > 0 && o.lameDuckGracePeriodMs >= o.lameDuckDurationMs) {
    add(
      `lame duck grace period (${goDur(o.lameDuckGracePeriodMs)}) should be strictly lower than lame duck duration (${goDur(o.lameDuckDurationMs)})`,
    );
  }
  if (o.maxPayload > o.maxPending) {
    add(`max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`);
  }
  add(validateTrustedOperators(o));
  add(validateNoAuthUser(o, o.noAuthUser));
  add(validateJetStreamOptions(o));
  add(validateWebsocket(o));
  return out;
}
