// Differential tests of client TLS: the same tls block (certificates made
// with openssl at test time) for tsnats and the reference. The NATS upgrade
// flow: INFO in plain text with tls_required, then the client's handshake;
// client certificates with `verify`, `verify_and_map` user mapping, the
// handshake timeout, plain-text clients on a TLS port, `allow_non_tls`
// mixed mode, `pinned_certs` and the --tls flags.

import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { X509Certificate, createHash } from 'node:crypto';
import { differential, differentialScenario, problemLogLines } from '../helpers/diff.js';
import { maskTranscript } from '../helpers/mask.js';
import { PING, PONG, connectLine, pub } from '../helpers/proto.js';
import { sleep } from '../helpers/rawclient.js';
import { createPKI, type CertFiles, type TestPKI } from '../unit/tls/certs.js';
import type { RunningServer } from '../helpers/servers.js';

let pki: TestPKI;
let alice: CertFiles;
let bob: CertFiles;
let carol: CertFiles;
let dcUser: CertFiles;
let stranger: CertFiles;

before(() => {
  pki = createPKI();
  alice = pki.issue('alice', { subject: '/C=US/O=Synadia/OU=NATS/CN=alice', san: 'email:alice@example.com' });
  bob = pki.issue('bob', { subject: '/O=Synadia/CN=bob', san: 'DNS:bob.example.com,URI:spiffe://example.com/bob' });
  carol = pki.issue('carol', { subject: '/C=US/ST=CA/O=Synadia/OU=NATS/CN=carol' });
  dcUser = pki.issue('dc', { subject: '/DC=org/DC=example/CN=dc user' });
  stranger = pki.selfSigned('stranger', '/CN=stranger');
});
after(() => pki?.cleanup());

function tlsBlock(extra = ''): string {
  return `tls {\n  cert_file: "${pki.server.cert}"\n  key_file: "${pki.server.key}"\n  ca_file: "${pki.caFile}"\n  ${extra}\n}\n`;
}

interface TLSOutcome {
  /** the plain-text INFO line, masked */
  info: string;
  /** whether the TLS handshake completed (from the client's point of view) */
  secure: boolean;
  /** what arrived over TLS after the handshake */
  text: string;
  closed: boolean;
}

/** Read the plain INFO, upgrade to TLS with `cert`, send `send`, collect until `until`, close or quiet. */
async function tlsConversation(port: number, cert: CertFiles | null, send: string, until = PONG): Promise<TLSOutcome> {
  const raw = net.connect(port, '127.0.0.1');
  const info = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        raw.off('data', onData);
        raw.pause();
        resolve(buf.slice(0, i + 2));
      }
    };
    raw.on('data', onData);
    raw.once('error', reject);
  });
  const sock = tls.connect({
    socket: raw,
    ca: readFileSync(pki.caFile),
    servername: 'localhost',
    ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}),
  });
  let text = '';
  let closed = false;
  let secure = false;
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
  sock.on('error', () => {});
  const done = new Promise<void>((resolve) => {
    sock.once('close', () => {
      closed = true;
      resolve();
    });
    const check = setInterval(() => {
      if (text.includes(until)) {
        clearInterval(check);
        resolve();
      }
    }, 10);
    sock.once('close', () => clearInterval(check));
    setTimeout(() => {
      clearInterval(check);
      resolve();
    }, 5000);
  });
  sock.once('secureConnect', () => {
    secure = true;
    sock.write(send);
  });
  await done;
  await sleep(50);
  sock.destroy();
  return { info: maskTranscript(Buffer.from(info), {}), secure, text, closed };
}

/** A plain-text client on a TLS port: whatever it sees, and whether it was closed. */
async function plainConversation(port: number, send: string): Promise<{ text: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(send);
  const closed = await new Promise<boolean>((resolve) => {
    s.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 5000);
  });
  s.destroy();
  return { text: maskTranscript(Buffer.from(text), {}), closed };
}

const CONNECT_PLAIN = connectLine({ verbose: false, pedantic: false, tls_required: true });

function logsSince(s: RunningServer, from: number): string[] {
  return problemLogLines(s.stderr().slice(from));
}

describe('TLS: server certificate only', () => {
  it('INFO in plain text says tls_required; after the handshake the protocol runs over TLS', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => tlsConversation(s.port, null, CONNECT_PLAIN + 'SUB foo 1\r\n' + pub('foo', 'secret') + PING),
      { config: tlsBlock() },
    );
    assert.match(ref.info, /"tls_required":true/);
    assert.doesNotMatch(ref.info, /tls_verify/);
    assert.equal(ref.secure, true);
    assert.equal(ref.text, 'MSG foo 1 6\r\nsecret\r\nPONG\r\n');
  });

  it('a plain-text client is closed after the INFO; the reference\'s handshake error is logged', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const r = await plainConversation(s.port, 'CONNECT {}\r\nPING\r\n');
        await sleep(100);
        return { ...r, log: logsSince(s, from) };
      },
      { config: tlsBlock() },
    );
    assert.equal(ref.closed, true);
    assert.doesNotMatch(ref.text, /PONG/);
    assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - TLS handshake error: tls: first record does not look like a TLS handshake']);
  });

  it('a client that never starts the handshake is closed after the tls timeout', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const r = await plainConversation(s.port, '');
        await sleep(100);
        // The reference races its handshake timer against the read deadline:
        // the order, and under load the wording, of its two lines vary.
        const log = logsSince(s, from);
        return { ...r, timeoutLogged: log.some((l) => l.endsWith('TLS handshake timeout') || l.endsWith('i/o timeout')), lines: log.length > 0 };
      },
      { config: tlsBlock('timeout: 0.5') },
    );
    assert.equal(ref.closed, true);
    assert.equal(ref.timeoutLogged, true);
  });

  it('--tls --tlscert --tlskey on the command line', async (t) => {
    const { ref } = await differentialScenario(t, (s) => tlsConversation(s.port, null, CONNECT_PLAIN + PING), {
      args: ['--tls', '--tlscert', pki.server.cert, '--tlskey', pki.server.key],
    });
    assert.equal(ref.secure, true);
    assert.equal(ref.text, PONG);
  });
});

describe('TLS: verify (client certificates)', () => {
  it('INFO says tls_verify; a certificate from the CA is accepted', async (t) => {
    const { ref } = await differentialScenario(t, (s) => tlsConversation(s.port, alice, CONNECT_PLAIN + PING), { config: tlsBlock('verify: true') });
    assert.match(ref.info, /"tls_required":true,"tls_verify":true/);
    assert.equal(ref.text, PONG);
  });

  it('no client certificate: closed, "client didn\'t provide a certificate"', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const r = await tlsConversation(s.port, null, CONNECT_PLAIN + PING);
        await sleep(100);
        return { text: r.text, closed: r.closed, log: logsSince(s, from) };
      },
      { config: tlsBlock('verify: true') },
    );
    assert.deepEqual(ref, {
      text: '',
      closed: true,
      log: ["[ERR] 127.0.0.1:<port> - cid:<cid> - TLS handshake error: tls: client didn't provide a certificate"],
    });
  });

  it('a certificate from another CA: closed, "certificate signed by unknown authority"', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const r = await tlsConversation(s.port, stranger, CONNECT_PLAIN + PING);
        await sleep(100);
        return { text: r.text, closed: r.closed, log: logsSince(s, from) };
      },
      { config: tlsBlock('verify: true') },
    );
    assert.deepEqual(ref, {
      text: '',
      closed: true,
      log: ['[ERR] 127.0.0.1:<port> - cid:<cid> - TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority'],
    });
  });

  it('--tlsverify with --tlscacert', async (t) => {
    const args = ['--tlsverify', '--tlscert', pki.server.cert, '--tlskey', pki.server.key, '--tlscacert', pki.caFile];
    const { ref } = await differentialScenario(
      t,
      async (s) => ({ good: (await tlsConversation(s.port, bob, CONNECT_PLAIN + PING)).text, bad: (await tlsConversation(s.port, null, CONNECT_PLAIN + PING)).closed }),
      { args },
    );
    assert.deepEqual(ref, { good: PONG, bad: true });
  });
});

describe('TLS: verify_and_map', () => {
  const users = `authorization {
  users = [
    { user: "alice@example.com", permissions: { publish: "alice.>" } }
    { user: "bob.example.com" }
    { user: "CN=carol,OU=NATS,O=Synadia,ST=CA,C=US" }
    { user: "CN=dc user,DC=example,DC=org" }
    { user: "plain", password: "pw" }
  ]
}
`;
  const config = () => tlsBlock('verify_and_map: true') + users;

  for (const [name, who, expect] of [
    ['an email SAN', () => alice, 'alice@example.com'],
    ['a DNS SAN', () => bob, 'bob.example.com'],
    ['the subject DN', () => carol, 'CN=carol'],
    ['a DN with domain components', () => dcUser, 'CN=dc user'],
  ] as const) {
    it(`maps ${name} to the configured user`, async (t) => {
      const { ref } = await differentialScenario(t, (s) => tlsConversation(s.port, who(), CONNECT_PLAIN + PING), { config: config() });
      assert.equal(ref.text, PONG, `expected ${expect} to be accepted`);
    });
  }

  it('the mapped user\'s permissions apply', async (t) => {
    const { ref } = await differentialScenario(t, (s) => tlsConversation(s.port, alice, CONNECT_PLAIN + pub('alice.x', '1') + pub('bob.x', '2') + PING), {
      config: config(),
    });
    assert.equal(ref.text, `-ERR 'Permissions Violation for Publish to "bob.x"'\r\n${PONG}`);
  });

  it('a certificate that maps to no user: Authorization Violation', async (t) => {
    const other = pki.issue('nobody', { subject: '/CN=nobody', san: 'email:nobody@example.com' });
    const { ref } = await differentialScenario(t, (s) => tlsConversation(s.port, other, CONNECT_PLAIN + PING), { config: config() });
    assert.equal(ref.text, "-ERR 'Authorization Violation'\r\n");
    assert.equal(ref.closed, true);
  });

  it('credentials in CONNECT do not replace the certificate', async (t) => {
    const other = pki.issue('nobody2', { subject: '/CN=nobody2' });
    const { ref } = await differentialScenario(
      t,
      (s) => tlsConversation(s.port, other, connectLine({ verbose: false, user: 'plain', pass: 'pw' }) + PING),
      { config: config() },
    );
    assert.equal(ref.text, "-ERR 'Authorization Violation'\r\n");
  });
});

describe('TLS: allow_non_tls', () => {
  const config = () => tlsBlock() + 'allow_non_tls: true\n';

  it('INFO advertises tls_available; plain and TLS clients both work', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const secure = await tlsConversation(s.port, null, CONNECT_PLAIN + PING);
        const plain = await differential_plain(s.port);
        return { secureInfo: secure.info, secure: secure.text, plain };
      },
      { config: config() },
    );
    assert.match(ref.secureInfo, /"tls_available":true/);
    assert.doesNotMatch(ref.secureInfo, /tls_required/);
    assert.equal(ref.secure, PONG);
    assert.match(ref.plain, /PONG\r\n$/);
  });

  async function differential_plain(port: number): Promise<string> {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(connectLine({ verbose: false }) + 'SUB x 1\r\n' + pub('x', 'p') + PING);
    for (let i = 0; i < 200 && !text.endsWith(PONG); i++) await sleep(10);
    s.destroy();
    return text.slice(text.indexOf('\r\n') + 2);
  }

  it('INFO key order with auth_required, tls_verify, tls_available and a nonce', async (t) => {
    const cfg = tlsBlock('verify: true') + 'allow_non_tls: true\nauthorization { users = [ { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 } ] }\n';
    const { ref } = await differential(t, [], { config: cfg, waitInfo: true, quietMs: 200, keepInfoKeyOrder: true });
    assert.match(ref.text, /"headers":true,"auth_required":true,"tls_verify":true,"tls_available":true,"max_payload":1048576,"client_id":\d+,"client_ip":"127\.0\.0\.1","nonce":"[A-Za-z0-9_-]{15}"/);
  });

  it('plain client on a mixed port, as a raw transcript', async (t) => {
    const { ref } = await differential(t, [connectLine({ verbose: false }) + PING], { config: config(), until: PONG });
    assert.equal(ref.afterInfo, PONG);
  });
});

describe('TLS: pinned_certs', () => {
  const spki = (file: string) => createHash('sha256').update(new X509Certificate(readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

  it('only the pinned client certificate gets through', async (t) => {
    const config = () => tlsBlock(`verify: true\n  pinned_certs: ["${spki(alice.cert)}"]`);
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const good = await tlsConversation(s.port, alice, CONNECT_PLAIN + PING);
        const bad = await tlsConversation(s.port, bob, CONNECT_PLAIN + PING);
        await sleep(100);
        return { good: good.text, bad: bad.text, badClosed: bad.closed, log: logsSince(s, from) };
      },
      { config: config() },
    );
    assert.deepEqual(ref, {
      good: PONG,
      bad: '',
      badClosed: true,
      log: ['[ERR] 127.0.0.1:<port> - cid:<cid> - TLS handshake error: certificate not pinned'],
    });
  });
});

describe('TLS with authentication', () => {
  it('the auth timer starts after the handshake; user/password still required over TLS', async (t) => {
    const config = tlsBlock() + 'authorization { user: a, password: b }\n';
    const { ref } = await differentialScenario(
      t,
      async (s) => ({
        good: (await tlsConversation(s.port, null, connectLine({ verbose: false, user: 'a', pass: 'b' }) + PING)).text,
        bad: (await tlsConversation(s.port, null, connectLine({ verbose: false, user: 'a', pass: 'x' }) + PING)).text,
      }),
      { config },
    );
    assert.deepEqual(ref, { good: PONG, bad: "-ERR 'Authorization Violation'\r\n" });
  });
});

describe('TLS client on a plain port', () => {
  it('a ClientHello is an unknown protocol operation: -ERR and close, like the reference', async (t) => {
    // The first record of a real handshake, captured from node:tls.
    const hello = await new Promise<Buffer>((resolve) => {
      const srv = net.createServer((s) => {
        s.once('data', (d: Buffer) => {
          resolve(d);
          s.destroy();
          srv.close();
        });
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = tls.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
        c.on('error', () => {});
      });
    });
    assert.equal(hello[0], 0x16);
    const { ref } = await differential(t, [hello], { closeGraceMs: 4000, until: /-ERR/ });
    assert.equal(ref.afterInfo, "-ERR 'Unknown Protocol Operation'\r\n");
    assert.equal(ref.closed, true);
  });
});
