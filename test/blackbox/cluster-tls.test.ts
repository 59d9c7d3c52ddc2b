// Route TLS options of nats-server 2.9.10's cluster tls block beyond the
// certificates: cipher_suites and curve_preferences (Go names mapped to
// OpenSSL's), verify_and_map (the route authenticates with its
// certificate), verify_cert_and_check_known_urls and pinned_certs, between
// tsnats and the reference in both roles, and the same accept/refuse
// decisions for a TLS 1.2 probe on either kind's route port.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { ServerKind } from '../helpers/servers.js';
import { logged, makeCerts, sleep, startNode, waitFor, type ClusterNode, type TestCerts } from './cluster-helpers.js';

const td = new TextDecoder();
const KINDS: ServerKind[] = ['tsnats', 'reference'];
const PAIRS: Array<[ServerKind, ServerKind]> = [
  ['tsnats', 'reference'],
  ['reference', 'tsnats'],
  ['tsnats', 'tsnats'],
];

let certs: TestCerts;
/** a certificate of the same CA with an email SAN (for verify_and_map) */
let mapped: { cert: string; key: string };

before(() => {
  certs = makeCerts();
  const dir = certs.dir;
  const ext = join(dir, 'ext-mapped.cnf');
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,email:ruser@example.com\n',
  );
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'mapped-key.pem', '-out', 'mapped-req.pem', '-subj', '/CN=route-peer']);
  run(['x509', '-req', '-in', 'mapped-req.pem', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'mapped-cert.pem', '-days', '2', '-extfile', ext]);
  mapped = { cert: join(dir, 'mapped-cert.pem'), key: join(dir, 'mapped-key.pem') };
});

/** Can a client on `from` reach a responder on `to`? */
async function connected(from: ClusterNode, to: ClusterNode, timeoutMs = 15_000): Promise<void> {
  const a = await connect({ servers: to.url });
  const b = await connect({ servers: from.url });
  try {
    const subject = `probe.${Math.random().toString(36).slice(2)}`;
    a.subscribe(subject, { callback: (_e, m) => void m.respond('here') });
    await a.flush();
    await waitFor(`${from.spec.name} reaches ${to.spec.name}`, async () => {
      try {
        return td.decode((await b.request(subject, '', { timeout: 300 })).data) === 'here';
      } catch {
        return false;
      }
    }, timeoutMs);
  } finally {
    await a.close();
    await b.close();
  }
}

/** Handshake with the route port as a TLS 1.2 peer offering only `ciphers` / `curve`. */
function probe(port: number, opts: { ciphers?: string; curve?: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(certs.cert),
      key: readFileSync(certs.key),
      ca: readFileSync(certs.ca),
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
      ciphers: opts.ciphers,
      ecdhCurve: opts.curve,
    });
    const done = (v: string) => {
      s.destroy();
      resolve(v);
    };
    s.once('secureConnect', () => done(`ok ${s.getCipher()?.standardName ?? ''}`));
    s.once('error', () => done('refused'));
    setTimeout(() => done('timeout'), 3000);
  });
}

const RESTRICTED = 'cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]\n    curve_preferences: [CurveP384]';

describe('route TLS: cipher_suites and curve_preferences', () => {
  it('a TLS 1.2 peer gets the same accept/refuse decisions from tsnats and the reference', async () => {
    const results: Record<string, string[]> = {};
    for (const kind of KINDS) {
      const n = await startNode(kind, { name: `P-${kind}`, cluster: 'tls', process: true, tls: { cert: certs.cert, key: certs.key, ca: certs.ca, extra: RESTRICTED } });
      try {
        results[kind] = [
          await probe(n.routePort, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
          await probe(n.routePort, { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }),
          await probe(n.routePort, { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }),
          await probe(n.routePort, { ciphers: 'AES128-GCM-SHA256' }),
          await probe(n.routePort, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', curve: 'X25519' }),
          await probe(n.routePort, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', curve: 'P-384' }),
        ];
      } finally {
        await n.stop();
      }
    }
    assert.deepEqual(results.tsnats, [
      'ok TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'ok TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
      'refused',
      'refused',
      'refused',
      'ok TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    ]);
    assert.deepEqual(results.tsnats, results.reference);
  });

  for (const [k1, k2] of PAIRS) {
    it(`${k1} accepts, ${k2} dials: a route with restricted suites and curves forms`, async () => {
      const tlsSpec = { cert: certs.cert, key: certs.key, ca: certs.ca, extra: RESTRICTED };
      const n1 = await startNode(k1, { name: 'N1', cluster: 'tls', process: true, tls: tlsSpec });
      const n2 = await startNode(k2, { name: 'N2', cluster: 'tls', process: true, tls: tlsSpec, routes: [`nats-route://localhost:${n1.routePort}`] });
      try {
        await connected(n2, n1);
        await connected(n1, n2);
      } finally {
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }
});

describe('route TLS: verify_and_map, pinned_certs', () => {
  for (const [k1, k2] of PAIRS) {
    it(`${k1} accepts with verify_and_map: the certificate's email is the cluster user, ${k2} dials without credentials`, async () => {
      const n1 = await startNode(k1, {
        name: 'N1',
        cluster: 'tls',
        process: true,
        user: 'ruser@example.com',
        pass: 'unused',
        tls: { cert: certs.cert, key: certs.key, ca: certs.ca, extra: 'verify_and_map: true' },
      });
      const good = await startNode(k2, {
        name: 'N2',
        cluster: 'tls',
        process: true,
        tls: { cert: mapped.cert, key: mapped.key, ca: certs.ca },
        routes: [`nats-route://localhost:${n1.routePort}`],
      });
      try {
        await connected(good, n1);
      } finally {
        await good.stop();
      }
      // the plain certificate (no such email, subject CN=localhost) is refused
      const bad = await startNode(k2, {
        name: 'N3',
        cluster: 'tls',
        process: true,
        tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
        routes: [`nats-route://localhost:${n1.routePort}`],
      });
      try {
        await waitFor('the refusal', () => logged(n1, 'authentication error').length > 0 || logged(bad, 'Authorization Violation').length > 0);
        await sleep(300);
        assert.ok(logged(n1, 'authentication error').length > 0, n1.log().join('\n'));
        assert.ok(logged(bad, 'Authorization Violation').length > 0, bad.log().join('\n'));
      } finally {
        await Promise.all([bad.stop(), n1.stop()]);
      }
    });

    it(`${k1} accepts with pinned_certs: ${k2} with the pinned key connects, another key is refused`, async () => {
      const spki = (pem: string) =>
        createHash('sha256')
          .update(new X509Certificate(readFileSync(pem)).publicKey.export({ type: 'spki', format: 'der' }))
          .digest('hex');
      const pins = `pinned_certs: [${JSON.stringify(spki(certs.cert))}]`;
      const n1 = await startNode(k1, { name: 'N1', cluster: 'tls', process: true, tls: { cert: certs.cert, key: certs.key, ca: certs.ca, extra: pins } });
      const good = await startNode(k2, {
        name: 'N2',
        cluster: 'tls',
        process: true,
        tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
        routes: [`nats-route://localhost:${n1.routePort}`],
      });
      try {
        await connected(good, n1);
      } finally {
        await good.stop();
      }
      const bad = await startNode(k2, {
        name: 'N3',
        cluster: 'tls',
        process: true,
        tls: { cert: mapped.cert, key: mapped.key, ca: certs.ca },
        routes: [`nats-route://localhost:${n1.routePort}`],
      });
      try {
        await waitFor('the refusal', () => logged(n1, 'TLS route handshake error: certificate not pinned').length > 0, 10_000);
        await sleep(500);
        assert.equal(logged(n1, /Registering remote route/).length, 1, 'only the pinned peer registered');
      } finally {
        await Promise.all([bad.stop(), n1.stop()]);
      }
    });
  }

  for (const k1 of KINDS) {
    it(`${k1} accepts with verify_and_map: the certificate subject as the cluster user; a DN in another order is not it`, async () => {
      const accept = (user: string) =>
        startNode(k1, { name: 'N1', cluster: 'tls', process: true, user, pass: 'unused', tls: { cert: certs.cert, key: certs.key, ca: certs.ca, extra: 'verify_and_map: true' } });
      const dial = (n1: ClusterNode) =>
        startNode('tsnats', { name: 'N2', cluster: 'tls', process: true, tls: { cert: mapped.cert, key: mapped.key, ca: certs.ca }, routes: [`nats-route://localhost:${n1.routePort}`] });
      let n1 = await accept('CN=route-peer');
      let n2 = await dial(n1);
      try {
        await connected(n2, n1);
      } finally {
        await Promise.all([n2.stop(), n1.stop()]);
      }
      // the literal subject string is compared: "cn=route-peer" is another user (no DN matching for routes)
      n1 = await accept('cn=route-peer');
      n2 = await dial(n1);
      try {
        await waitFor('the refusal', () => logged(n2, 'Authorization Violation').length > 0);
      } finally {
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }
});
