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

/** server/leafnode.go validateLeafNode (gateways aside: tsnats has none). */
function validateLeafnode(o: Options): string | undefined {
  const lo = o.leafnode;
  if (lo === undefined) return undefined;
  if (lo.users.length > 0) {
    if (lo.username !== '') return 'can not have a single user/pass and a users array';
    const seen = new Set<string>();
    for (const u of lo.users) {
      if (seen.has(u.username)) return `duplicate user ${JSON.stringify(u.username)} detected in leafnode authorization`;
      seen.add(u.username);
    }
  }
  if (o.trustedOperators.length === 0 && o.trustedKeys.length === 0) {
    const names = new Set<string>(['$G', '', ...o.accounts.map((a) => a.name)]);
    if (o.systemAccount === '' && !o.noSystemAccount) names.add('$SYS');
    const check = (name: string, where: string): string | undefined =>
      names.has(name) ? undefined : `cannot find local account ${JSON.stringify(name)} specified in leafnode ${where}`;
    const e = check(lo.account, 'authorization') ?? lo.users.map((u) => check(u.account, 'authorization')).find((x) => x !== undefined);
    if (e !== undefined) return e;
    for (const r of lo.remotes) {
      const re = check(r.account, 'remote');
      if (re !== undefined) return re;
    }
  } else {
    if (lo.users.length > 0) return 'operator mode does not allow specifying user in leafnode config';
    for (const r of lo.remotes) {
      if (!/^A[A-Z2-7]{55}$/.test(r.account)) {
        return (
          'operator mode requires account nkeys in remotes. ' +
          'Please add an `account` key to each remote in your `leafnodes` section, to assign it to an account. ' +
          "Each account value should be a 56 character public key, starting with the letter 'A'"
        );
      }
    }
    if (lo.port !== 0 && lo.account !== '' && !/^A[A-Z2-7]{55}$/.test(lo.account)) return 'operator mode and non account nkeys are incompatible';
  }
  for (const r of lo.remotes) {
    if (r.urls.length >= 2) {
      const ws = (u: string) => /^wss?:\/\//i.test(u);
      const first = ws(r.urls[0]!);
      if (r.urls.some((u) => ws(u) !== first)) {
        const redacted = r.urls.map((u) => u.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:xxxxx@'));
        return `remote leaf node configuration cannot have a mix of websocket and non-websocket urls: ${JSON.stringify(redacted.join(', ')).replace(/^"|"$/g, '')}`;
      }
    }
  }
  if (lo.port === 0) return undefined;
  const mv = lo.minVersion;
  if (mv !== '') {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(mv);
    if (m === null) return `invalid leafnode's minimum version: invalid semver`;
    const [maj, min] = [Number(m[1]), Number(m[2])];
    if (maj < 2 || (maj === 2 && min < 8)) return 'the minimum version should be at least 2.8.0';
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
  add(validateLeafnode(o));
  add(validateWebsocket(o));
  return out;
}
