// The official nats.js client in operator mode, against the reference
// nats-server and tsnats: jwtAuthenticator / credsAuthenticator logins,
// refused credentials, permissions from the user JWT, cross-account imports
// from the account claims, and a user JWT expiring while connected.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmtCreds } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import {
  AuthorizationError,
  credsAuthenticator,
  jwtAuthenticator,
  PermissionViolationError,
  UserAuthenticationExpiredError,
  type NatsConnection,
  type Status,
} from '@nats-io/transport-node';
import { errInfo, onBoth, record, settle, thrown, within } from './dual.js';
import { NOW, Operator, operatorConfig, user } from '../helpers/jwt-fixture.js';

const op = await Operator.create();
const sys = await op.account('SYS');
const accA = await op.account('A', { exports: [{ name: 'svc', subject: 'svc.>', type: 'service' }, { name: 'feed', subject: 'feed.>', type: 'stream' }] });
const accB = await op.account('B', {
  imports: [
    { name: 'svc', subject: 'svc.>', account: accA.pub, type: 'service' },
    { name: 'feed', subject: 'feed.>', account: accA.pub, type: 'stream' },
  ],
});
const config = operatorConfig(op, [sys, accA, accB], sys);

function errors(nc: NatsConnection): { name: string; message: string }[] {
  const out: { name: string; message: string }[] = [];
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) {
      if (s.type !== 'error') continue;
      const e = (s as { error: Error }).error;
      out.push({ name: e.constructor.name, message: e.message });
    }
  })();
  return out;
}

describe('nats.js in operator mode', () => {
  it('jwtAuthenticator and credsAuthenticator log in; a wrong seed or a missing JWT is an AuthorizationError', async () => {
    const u = await user(accA, 'u');
    await onBoth(
      async (t) => {
        const a = await t.connect({ authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()) });
        const b = await t.connect({ authenticator: credsAuthenticator(fmtCreds(u.jwt, u.kp)) });
        const r = record(b, 'hello');
        await b.flush();
        a.publish('hello', 'world');
        await settle([a, b]);
        const wrong = await thrown(() => t.connect({ authenticator: jwtAuthenticator(u.jwt, createUser().getSeed()), reconnect: false }));
        assert.ok(wrong instanceof AuthorizationError, `got ${String(wrong)}`);
        const none = await thrown(() => t.connect({ reconnect: false }));
        assert.ok(none instanceof AuthorizationError, `got ${String(none)}`);
        return { got: r.texts(), nonce: typeof a.info?.nonce, wrong: errInfo(wrong), none: errInfo(none) };
      },
      { config },
    );
  });

  it('permissions from the user JWT reach the client as PermissionViolationError', async () => {
    const u = await user(accA, 'limited', { pub: { allow: ['ok.>'], deny: [] }, sub: { allow: ['ok.>', '_INBOX.>'], deny: [] } });
    await onBoth(
      async (t) => {
        const nc = await t.connect({ authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()) });
        const errs = errors(nc);
        const good = record(nc, 'ok.1');
        await nc.flush();
        nc.publish('ok.1', 'yes');
        nc.publish('nope', 'no');
        await settle([nc]);
        nc.subscribe('secret');
        await settle([nc]);
        await within(
          (async () => {
            while (errs.length < 2) await new Promise((r) => setTimeout(r, 50));
          })(),
          'both permission errors',
        );
        assert.ok(errs.every((e) => e.name === PermissionViolationError.name), JSON.stringify(errs));
        return { got: good.texts(), errs };
      },
      { config },
    );
  });

  it('a service import and a stream import from the account claims', async () => {
    const ua = await user(accA, 'a');
    const ub = await user(accB, 'b');
    await onBoth(
      async (t) => {
        const a = await t.connect({ authenticator: jwtAuthenticator(ua.jwt, ua.kp.getSeed()) });
        const b = await t.connect({ authenticator: jwtAuthenticator(ub.jwt, ub.kp.getSeed()) });
        a.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`echo ${m.string()}`) });
        const feed = record(b, 'feed.>');
        await settle([a, b]);
        const reply = await within(b.request('svc.echo', 'hi', { timeout: 10_000 }), 'the cross-account request');
        a.publish('feed.x', 'news');
        await settle([a, b]);
        return { reply: reply.string(), feed: feed.texts() };
      },
      { config },
    );
  });

  it('a user JWT expiring while connected: UserAuthenticationExpiredError, then closed', async () => {
    await onBoth(
      async (t) => {
        const u = await user(accA, 'short', {}, { exp: NOW() + 3 });
        const nc = await t.connect({ authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()), reconnect: false });
        const errs = errors(nc);
        const err = await within(nc.closed(), 'the connection to close on expiry', 20_000);
        assert.ok(err instanceof UserAuthenticationExpiredError, `got ${String(err)}`);
        return { closedWith: errInfo(err), errs };
      },
      { config },
    );
  });
});
