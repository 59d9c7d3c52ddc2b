// Just enough X.509 DER reading to identify a client certificate the way
// nats-server 2.9.10 does for `verify_and_map` (server/auth.go
// checkClientTLSCertSubject): the subject's RDNs in certificate order with
// their attribute types and string values, and the subjectAltName emails,
// DNS names and URIs. node:crypto's X509Certificate flattens the subject into
// a display string (escaping and multi-valued RDNs are lost), so the subject
// and the SAN extension are read from the DER directly.

import type { X509Certificate } from 'node:crypto';
import { nodeCrypto } from '../server/builtins.js';

/** One AttributeTypeAndValue; `value` is null when it is not a string type (Go skips those). */
export interface CertAttribute {
  oid: string;
  value: string | null;
}

export interface CertIdentity {
  /** subject RDNs in DER order; each RDN is a set of attributes */
  subject: CertAttribute[][];
  emails: string[];
  dnsNames: string[];
  uris: string[];
}

class DerError extends Error {
  readonly code = 'ERR_TSNATS_DER';
}

interface TLV {
  tag: number;
  /** first content byte */
  start: number;
  /** one past the last content byte */
  end: number;
}

function readTLV(buf: Uint8Array, pos: number, limit: number): TLV {
  if (pos + 2 > limit) throw new DerError('truncated DER');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported DER length');
    if (p + n > limit) throw new DerError('truncated DER');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError('truncated DER');
  return { tag, start: p, end: p + len };
}

/** The TLVs directly inside a constructed value. */
function children(buf: Uint8Array, parent: TLV): TLV[] {
  const out: TLV[] = [];
  let p = parent.start;
  while (p < parent.end) {
    const t = readTLV(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

function decodeOID(buf: Uint8Array, t: TLV): string {
  if (t.tag !== 0x06 || t.end <= t.start) throw new DerError('expected an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let v = 0;
  let first = true;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i]!;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (first) {
        const x = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(x, v - x * 40);
        first = false;
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The string types Go's encoding/asn1 decodes into a Go string. */
function decodeString(buf: Uint8Array, t: TLV): string | null {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
      return bytes.toString('latin1');
    case 0x14: // T61String: Go takes the bytes as they are
      return bytes.toString('latin1');
    case 0x1e: {
      // BMPString: UTF-16 big endian
      const le = Buffer.alloc(bytes.length);
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        le[i] = bytes[i + 1]!;
        le[i + 1] = bytes[i]!;
      }
      return le.toString('utf16le');
    }
    default:
      return null;
  }
}

const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** Reads the subject RDNs and the subjectAltName entries of a DER certificate. */
export function certIdentity(der: Uint8Array): CertIdentity {
  const cert = readTLV(der, 0, der.length);
  const [tbsTLV] = children(der, cert);
  if (tbsTLV === undefined || tbsTLV.tag !== 0x30) throw new DerError('certificate without tbsCertificate');
  const tbs = children(der, tbsTLV);
  let i = 0;
  if (tbs[i]?.tag === 0xa0) i++; // [0] version
  // serialNumber, signature, issuer, validity, subject
  const subjectTLV = tbs[i + 4];
  if (subjectTLV === undefined || subjectTLV.tag !== 0x30) throw new DerError('certificate without subject');
  const subject: CertAttribute[][] = [];
  for (const rdnTLV of children(der, subjectTLV)) {
    const rdn: CertAttribute[] = [];
    for (const atvTLV of children(der, rdnTLV)) {
      const [oidTLV, valTLV] = children(der, atvTLV);
      if (oidTLV === undefined || valTLV === undefined) throw new DerError('bad AttributeTypeAndValue');
      rdn.push({ oid: decodeOID(der, oidTLV), value: decodeString(der, valTLV) });
    }
    subject.push(rdn);
  }
  const id: CertIdentity = { subject, emails: [], dnsNames: [], uris: [] };
  const extWrapper = tbs.find((t) => t.tag === 0xa3);
  if (extWrapper !== undefined) {
    const [extsTLV] = children(der, extWrapper);
    for (const extTLV of extsTLV ? children(der, extsTLV) : []) {
      const parts = children(der, extTLV);
      const oid = decodeOID(der, parts[0]!);
      if (oid !== OID_SUBJECT_ALT_NAME) continue;
      const octets = parts[parts.length - 1]!;
      const namesTLV = readTLV(der, octets.start, octets.end);
      for (const gn of children(der, namesTLV)) {
        const text = Buffer.from(der.buffer, der.byteOffset + gn.start, gn.end - gn.start).toString('latin1');
        if (gn.tag === 0x81) id.emails.push(text);
        else if (gn.tag === 0x82) id.dnsNames.push(text);
        else if (gn.tag === 0x86) id.uris.push(text);
      }
    }
  }
  return id;
}

// crypto/x509/pkix attributeTypeNames: the types Go prints by name.
const PKIX_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};

const OID_DC = '0.9.2342.19200300.100.1.25';

/**
 * Go's `cert.Subject.ToRDNSequence().String()`: the parsed pkix.Name keeps
 * only the well-known attributes, regrouped as C, ST, L, STREET, POSTALCODE,
 * O, OU, CN (last one wins), SERIALNUMBER (last one wins); several values of
 * one type form one multi-valued RDN; printed last RDN first with RFC 2253
 * escaping.
 */
export function goSubjectString(subject: CertAttribute[][]): string {
  const fields = new Map<string, string[]>();
  let cn: string | null = null;
  let serial: string | null = null;
  for (const rdn of subject) {
    for (const a of rdn) {
      if (a.value === null) continue;
      if (a.oid === '2.5.4.3') cn = a.value;
      else if (a.oid === '2.5.4.5') serial = a.value;
      else if (PKIX_NAMES[a.oid] !== undefined) {
        let l = fields.get(a.oid);
        if (l === undefined) fields.set(a.oid, (l = []));
        l.push(a.value);
      }
    }
  }
  const seq: { type: string; value: string }[][] = [];
  for (const oid of ['2.5.4.6', '2.5.4.8', '2.5.4.7', '2.5.4.9', '2.5.4.17', '2.5.4.10', '2.5.4.11']) {
    const vals = fields.get(oid);
    if (vals !== undefined && vals.length > 0) seq.push(vals.map((v) => ({ type: PKIX_NAMES[oid]!, value: v })));
  }
  if (cn !== null && cn.length > 0) seq.push([{ type: 'CN', value: cn }]);
  if (serial !== null && serial.length > 0) seq.push([{ type: 'SERIALNUMBER', value: serial }]);
  const out: string[] = [];
  for (let i = seq.length - 1; i >= 0; i--) {
    out.push(seq[i]!.map((a) => `${a.type}=${escapeRDNValue(a.value)}`).join('+'));
  }
  return out.join(',');
}

/** pkix RDNSequence.String value escaping. */
function escapeRDNValue(v: string): string {
  const chars = Array.from(v);
  let s = '';
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k]!;
    let esc = false;
    switch (c) {
      case ',':
      case '+':
      case '"':
      case '\\':
      case '<':
      case '>':
      case ';':
        esc = true;
        break;
      case ' ':
        esc = k === 0 || k === chars.length - 1;
        break;
      case '#':
        esc = k === 0;
        break;
    }
    s += esc ? '\\' + c : c;
  }
  return s;
}

/** server/auth.go getTLSAuthDCs: "DC=a,DC=b" in DER order, or ''. */
export function goDomainComponents(subject: CertAttribute[][]): string {
  const dcs: string[] = [];
  for (const rdn of subject) for (const a of rdn) if (a.oid === OID_DC && a.value !== null) dcs.push('DC=' + a.value);
  return dcs.join(',');
}

/** Whether Go's `cert.Subject.String()` would be non-empty: any string attribute at all. */
export function hasSubject(subject: CertAttribute[][]): boolean {
  return subject.some((rdn) => rdn.some((a) => a.value !== null));
}

// ---------------------------------------------------------------------------
// Distinguished names as internal/ldap/dn.go models them.

export interface DNAttribute {
  type: string;
  value: string;
}
export type DN = DNAttribute[][];

const LDAP_NAMES: Record<string, string> = { ...PKIX_NAMES, [OID_DC]: 'DC' };

/**
 * ldap.FromRawCertSubject: RDNs last-first and attributes within an RDN
 * last-first; null (an error in Go) when a type has no short name or a value
 * is not a string.
 */
export function dnFromCertSubject(subject: CertAttribute[][]): DN | null {
  const dn: DN = [];
  for (let i = subject.length - 1; i >= 0; i--) {
    const rdn = subject[i]!;
    if (rdn.length === 0) continue;
    const attrs: DNAttribute[] = [];
    for (let j = rdn.length - 1; j >= 0; j--) {
      const a = rdn[j]!;
      const type = LDAP_NAMES[a.oid];
      if (type === undefined || a.value === null) return null;
      attrs.push({ type, value: a.value });
    }
    dn.push(attrs);
  }
  return dn;
}

/** ldap.ParseDN (RFC 4514 string form); null where Go returns an error. */
export function parseDN(str: string): DN | null {
  const dn: DN = [];
  let rdn: DNAttribute[] = [];
  let buf: number[] = [];
  let type = '';
  let escaping = false;
  let trailingSpaces = 0;
  const bytes = Buffer.from(str, 'utf8');
  const take = (): string => {
    const s = Buffer.from(buf.slice(0, buf.length - trailingSpaces)).toString('utf8');
    buf = [];
    trailingSpaces = 0;
    return s;
  };
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i]!;
    if (escaping) {
      trailingSpaces = 0;
      escaping = false;
      // ' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\'
      if ([0x20, 0x22, 0x23, 0x2b, 0x2c, 0x3b, 0x3c, 0x3d, 0x3e, 0x5c].includes(ch)) {
        buf.push(ch);
        continue;
      }
      if (i + 1 >= bytes.length) return null;
      const hex = String.fromCharCode(ch, bytes[i + 1]!);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      buf.push(parseInt(hex, 16));
      i++;
    } else if (ch === 0x5c) {
      trailingSpaces = 0;
      escaping = true;
    } else if (ch === 0x3d) {
      type = take();
      if (i + 1 < bytes.length && bytes[i + 1] === 0x23) return null; // BER-encoded values are unsupported
    } else if (ch === 0x2c || ch === 0x2b) {
      if (type.length === 0) return null;
      rdn.push({ type, value: take() });
      type = '';
      if (ch === 0x2c) {
        dn.push(rdn);
        rdn = [];
      }
    } else if (ch === 0x20 && buf.length === 0) {
      continue;
    } else {
      if (ch === 0x20) trailingSpaces++;
      else trailingSpaces = 0;
      buf.push(ch);
    }
  }
  if (buf.length > 0) {
    if (type.length === 0) return null;
    rdn.push({ type, value: take() });
    dn.push(rdn);
  }
  return dn;
}

function attrEqual(a: DNAttribute, b: DNAttribute): boolean {
  return a.type.toLowerCase() === b.type.toLowerCase() && a.value === b.value;
}

function rdnHasAll(r: DNAttribute[], attrs: DNAttribute[]): boolean {
  return attrs.every((x) => r.some((y) => attrEqual(y, x)));
}

function rdnEqual(a: DNAttribute[], b: DNAttribute[]): boolean {
  return a.length === b.length && rdnHasAll(a, b) && rdnHasAll(b, a);
}

/** ldap DN.Equal: same RDNs in the same order. */
export function dnEqual(a: DN, b: DN): boolean {
  return a.length === b.length && a.every((r, i) => rdnEqual(r, b[i]!));
}

/** ldap DN.RDNsMatch: same RDNs in any order. */
export function dnRDNsMatch(a: DN, b: DN): boolean {
  return a.length === b.length && a.every((r) => b.some((o) => rdnEqual(r, o)));
}

/** hex sha256 of the DER SubjectPublicKeyInfo, the key of `pinned_certs`. */
export function spkiSha256(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return nodeCrypto().createHash('sha256').update(spki).digest('hex');
}
