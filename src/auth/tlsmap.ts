// `verify_and_map`: the user a client certificate stands for
// (server/auth.go checkClientTLSCertSubject and the lookup callback of
// processClientOrLeafAuthentication). Candidates are tried in the
// reference's order: SAN emails, SAN DNS names, SAN URIs (each a literal
// user name), then the subject as a distinguished name compared with every
// user name that parses as one (exact RDN order first, then any order), then
// the Go string form of the subject with domain components appended, then
// without them.

import {
  certIdentity,
  dnEqual,
  dnFromCertSubject,
  dnRDNsMatch,
  goDomainComponents,
  goSubjectString,
  hasSubject,
  parseDN,
  type DN,
} from '../tls/x509.js';

export interface MapCandidate {
  readonly username: string;
}

/**
 * Returns the matching user or null. `allowed` filters users by connection
 * type; `debug` receives the reference's debug lines.
 */
export function mapCertificateToUser<U extends MapCandidate>(
  der: Uint8Array | null,
  users: ReadonlyMap<string, U>,
  allowed: (u: U) => boolean,
  debug: (msg: string) => void,
): U | null {
  if (der === null) {
    debug('User required in cert, no peer certificates found');
    return null;
  }
  let id;
  try {
    id = certIdentity(der);
  } catch {
    debug('User required in cert, none found');
    return null;
  }
  const literal = (name: string): U | null => {
    const u = users.get(name);
    return u !== undefined && allowed(u) ? u : null;
  };
  const subjectPresent = hasSubject(id.subject);
  if (id.emails.length === 0 && !subjectPresent && id.uris.length === 0) {
    debug('User required in cert, none found');
    return null;
  }
  for (const e of id.emails) {
    const u = literal(e);
    if (u) {
      debug(`Using email found in cert for auth [${JSON.stringify(u.username)}]`);
      return u;
    }
  }
  for (const d of id.dnsNames) {
    const u = literal(d);
    if (u) {
      debug(`Using SAN found in cert for auth [${JSON.stringify(u.username)}]`);
      return u;
    }
  }
  for (const uri of id.uris) {
    const u = literal(uri);
    if (u) {
      debug(`Using URI found in cert for auth [${JSON.stringify(u.username)}]`);
      return u;
    }
  }
  const rdn = goSubjectString(id.subject);
  const certDN = dnFromCertSubject(id.subject);
  if (certDN !== null) {
    const u = matchDN(certDN, users, allowed);
    if (u) {
      debug(`Using DistinguishedNameMatch for auth [${JSON.stringify(u.username)}]`);
      return u;
    }
    debug(`DistinguishedNameMatch could not be used for auth [${JSON.stringify(rdn)}]`);
  }
  const dcs = goDomainComponents(id.subject);
  if (dcs.length > 0) {
    const name = `${rdn},${dcs}`;
    const u = literal(name);
    if (u) {
      debug(`Using RDNSequence for auth [${JSON.stringify(u.username)}]`);
      return u;
    }
    debug(`RDNSequence could not be used for auth [${JSON.stringify(name)}]`);
  }
  const u = literal(rdn);
  if (u) {
    debug(`Using certificate subject for auth [${JSON.stringify(u.username)}]`);
    return u;
  }
  debug(`User in cert [${JSON.stringify(rdn)}], not found`);
  return null;
}

function matchDN<U extends MapCandidate>(certDN: DN, users: ReadonlyMap<string, U>, allowed: (u: U) => boolean): U | null {
  const parsed: [U, DN][] = [];
  for (const u of users.values()) {
    if (!allowed(u)) continue;
    const dn = parseDN(u.username);
    if (dn === null) continue;
    if (dnEqual(dn, certDN)) return u;
    parsed.push([u, dn]);
  }
  for (const [u, dn] of parsed) if (dnRDNsMatch(dn, certDN)) return u;
  return null;
}
