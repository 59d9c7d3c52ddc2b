// The official nats.js client against the reference nats-server and tsnats
// with authentication, permissions, accounts and TLS configured: what the
// client sees (connect errors, typed permission errors on the status stream
// and on subscriptions, requests across accounts, TLS connections) must be
// the same on both servers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { AuthorizationError, nkeyAuthenticator, PermissionViolationError, type NatsConnection, type Status } from '@nats-io/transport-node';
import bcrypt from 'bcryptjs';
import { errInfo, onBoth, record, thrown, within } from './dual.js';
import { createPKI, type CertFiles, type TestPKI } from '../unit/tls/certs.js';

/** collects status events of kind "error" as comparable data */
function errorEvents(nc: NatsConnection): { events: { name: string; message: string; op?: string; subject?: string; queue?: string }[] } {
  const out = { events: [] as { name: string; message: string; op?: string; subject?: string; queue?: string }[] };
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) {
      if (s.type !== 'error') continue;
      const e = (s as { error: Error }).error;
      const ev: { name: string; message: string; op?: string; subject?: string; queue?: string } = { name: e.name, message: e.message };
      if (e instanceof PermissionViolationError) {
        ev.op = e.operation;
        ev.subject = e.subject;
        if (e.queue !== undefined) ev.queue = e.queue;
      }
      out.events.push(ev);
    }
  })();
  return out;
}

describe('nats.js: authentication', () => {
  const hash = bcrypt.hashSync('hashed-pw', 4);
  const config = `authorization {
  users = [
    { user: plain, password: pw }
    { user: hashed, password: "${hash}" }
  ]
}
`;

  it('user/pass and bcrypt users connect; a wrong password rejects connect() with AuthorizationError', async () => {
    await onBoth(
      async (t) => {
        const a = await t.connect({ user: 'plain', pass: 'pw' });
        const b = await t.connect({ user: 'hashed', pass: 'hashed-pw' });
        await a.flush();
        await b.flush();
        const bad = await thrown(() => t.connect({ user: 'plain', pass: 'nope', reconnect: false }));
        assert.ok(bad instanceof AuthorizationError, `got ${String(bad)}`);
        const none = await thrown(() => t.connect({ reconnect: false }));
        assert.ok(none instanceof AuthorizationError);
        return { authRequired: a.info?.auth_required, bad: errInfo(bad), none: errInfo(none) };
      },
      { config },
    );
  });

  it('token authentication', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect({ token: 'tok' });
        await nc.flush();
        const bad = await thrown(() => t.connect({ token: 'other', reconnect: false }));
        assert.ok(bad instanceof AuthorizationError);
        return errInfo(bad);
      },
      { config: 'authorization { token: tok }\n' },
    );
  });

  it('nkey authentication signs the INFO nonce; another key is refused', async () => {
    const kp = createUser();
    const other = createUser();
    await onBoth(
      async (t) => {
        const nc = await t.connect({ authenticator: nkeyAuthenticator(kp.getSeed()) });
        assert.equal(typeof nc.info?.nonce, 'string');
        const r = record(nc, 'x');
        nc.publish('x', 'hi');
        await nc.flush();
        const bad = await thrown(() => t.connect({ authenticator: nkeyAuthenticator(other.getSeed()), reconnect: false }));
        assert.ok(bad instanceof AuthorizationError);
        return { got: r.texts(), bad: errInfo(bad) };
      },
      { config: `authorization { users = [ { nkey: ${kp.getPublicKey()} } ] }\n` },
    );
  });
});

describe('nats.js: permissions', () => {
  const config = `authorization {
  users = [
    { user: limited, password: l, permissions: { publish: { allow: ["ok.>"] }, subscribe: { allow: ["ok.>", "q.> workers"], deny: ["ok.secret"] } } }
    { user: svc, password: s, permissions: { subscribe: "service", allow_responses: true } }
    { user: admin, password: a }
  ]
}
`;

  it('a publish violation arrives as a PermissionViolationError status event; the connection stays usable', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect({ user: 'limited', pass: 'l' });
        const errs = errorEvents(nc);
        const r = record(nc, 'ok.>');
        nc.publish('denied.subject', 'x');
        nc.publish('ok.fine', 'y');
        await nc.flush();
        await nc.flush();
        assert.equal(nc.isClosed(), false);
        return { errors: errs.events, got: r.texts() };
      },
      { config },
    );
  });

  it('a denied subscription ends with a PermissionViolationError; a denied queue group too', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect({ user: 'limited', pass: 'l' });
        const errs = errorEvents(nc);
        const results: unknown[] = [];
        const sub = nc.subscribe('ok.secret', {
          callback: (err) => {
            if (err) results.push(errInfo(err));
          },
        });
        const q = nc.subscribe('q.jobs', {
          queue: 'other',
          callback: (err) => {
            if (err) results.push(errInfo(err));
          },
        });
        const okq = nc.subscribe('q.jobs', { queue: 'workers', callback: () => {} });
        await nc.flush();
        await nc.flush();
        await within(sub.closed, 'denied subscription closed');
        await within(q.closed, 'denied queue subscription closed');
        return { results, errors: errs.events, okqClosed: okq.isClosed() };
      },
      { config },
    );
  });

  it('allow_responses: a responder may answer requests it received, nothing else', async () => {
    await onBoth(
      async (t) => {
        const svc = await t.connect({ user: 'svc', pass: 's' });
        const errs = errorEvents(svc);
        svc.subscribe('service', {
          callback: (_e, m) => {
            m.respond(`re:${m.string()}`);
          },
        });
        await svc.flush();
        const cli = await t.connect({ user: 'admin', pass: 'a' });
        const answers: string[] = [];
        for (const q of ['a', 'b']) answers.push((await cli.request('service', q, { timeout: 5000 })).string());
        svc.publish('not.a.reply', 'x');
        await svc.flush();
        await svc.flush();
        return { answers, errors: errs.events };
      },
      { config },
    );
  });
});

describe('nats.js: accounts', () => {
  const config = `accounts {
  A: { users: [ { user: a, password: a } ], exports: [ { service: "time" }, { stream: "ticks.>" } ] }
  B: { users: [ { user: b, password: b } ], imports: [ { service: { account: A, subject: "time" }, to: "a.time" }, { stream: { account: A, subject: "ticks.>" } } ] }
}
`;

  it('a request through a service import gets its response; a stream import delivers; accounts stay isolated', async () => {
    await onBoth(
      async (t) => {
        const a = await t.connect({ user: 'a', pass: 'a' });
        const b = await t.connect({ user: 'b', pass: 'b' });
        const seen: { subject: string; reply: boolean; acc: string | undefined }[] = [];
        a.subscribe('time', {
          callback: (_e, m) => {
            const info = m.headers?.get('Nats-Request-Info');
            seen.push({ subject: m.subject, reply: (m.reply ?? '').startsWith('_R_.'), acc: info ? (JSON.parse(info) as { acc: string }).acc : undefined });
            m.respond('noon');
          },
        });
        const ticks = record(b, 'ticks.>');
        const leak = record(b, 'time');
        await a.flush();
        const resp = await b.request('a.time', 'now?', { timeout: 5000 });
        a.publish('ticks.1', 't1');
        await a.flush();
        await b.flush();
        return { response: resp.string(), seen, ticks: ticks.texts(), leak: leak.texts() };
      },
      { config },
    );
  });

  it('no responders: a request on an import with nobody behind it times out rather than failing fast', async () => {
    await onBoth(
      async (t) => {
        const b = await t.connect({ user: 'b', pass: 'b' });
        const e = await thrown(() => b.request('a.time', 'x', { timeout: 500 }));
        return errInfo(e);
      },
      { config },
    );
  });
});

describe('nats.js: TLS', () => {
  let pki: TestPKI;
  let client: CertFiles;
  before(() => {
    pki = createPKI();
    client = pki.issue('client', { subject: '/CN=client', san: 'email:client@example.com' });
  });
  after(() => pki?.cleanup());

  it('connects with tls { caFile }, and with a client certificate when the server verifies', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect({ tls: { caFile: pki.caFile, certFile: client.cert, keyFile: client.key } });
        const r = record(nc, 'secure');
        nc.publish('secure', 'over tls');
        await nc.flush();
        const noCert = await thrown(() => t.connect({ tls: { caFile: pki.caFile }, reconnect: false, timeout: 3000 }));
        return { info: { tls_required: nc.info?.tls_required, tls_verify: nc.info?.tls_verify }, got: r.texts(), noCert: noCert instanceof Error };
      },
      { config: `tls { cert_file: "${pki.server.cert}", key_file: "${pki.server.key}", ca_file: "${pki.caFile}", verify: true }\n` },
    );
  });

  it('verify_and_map authenticates the certificate\'s email as the user', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect({ tls: { caFile: pki.caFile, certFile: client.cert, keyFile: client.key } });
        const errs = errorEvents(nc);
        nc.publish('not.allowed', 'x');
        nc.publish('allowed', 'y');
        await nc.flush();
        await nc.flush();
        return errs.events;
      },
      {
        config:
          `tls { cert_file: "${pki.server.cert}", key_file: "${pki.server.key}", ca_file: "${pki.caFile}", verify_and_map: true }\n` +
          'authorization { users = [ { user: "client@example.com", permissions: { publish: "allowed" } } ] }\n',
      },
    );
  });
});
