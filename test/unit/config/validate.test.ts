import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateOptions } from '../../../src/config/load.js';
import { defaultOptions, type Options } from '../../../src/config/options.js';

function withOpts(f: (o: Options) => void): string[] {
  const o = defaultOptions();
  f(o);
  return validateOptions(o);
}

test('defaults are valid', () => {
  assert.deepEqual(validateOptions(defaultOptions()), []);
});

test('max_payload may not exceed max_pending', () => {
  assert.deepEqual(
    withOpts((o) => {
      o.maxPayload = 2048;
      o.maxPending = 1024;
    }),
    ['max_payload (2048) cannot be higher than max_pending (1024)'],
  );
});

test('lame duck grace period must be below the duration', () => {
  assert.deepEqual(
    withOpts((o) => {
      o.lameDuckDurationMs = 30_000;
      o.lameDuckGracePeriodMs = 30_000;
    }),
    ['lame duck grace period (30s) should be strictly lower than lame duck duration (30s)'],
  );
});

test('no_auth_user must name a configured user', () => {
  assert.deepEqual(
    withOpts((o) => {
      o.noAuthUser = 'bob';
    }),
    ['no_auth_user: "bob" present, but users are not defined'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.noAuthUser = 'bob';
      o.users = [{ username: 'alice', password: 'x' }];
    }),
    ['no_auth_user: "bob" not present as user in authorization block or account configuration'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.noAuthUser = 'alice';
      o.users = [{ username: 'alice', password: 'x' }];
    }),
    [],
  );
});

test('operator mode needs a resolver and excludes configured accounts and users', () => {
  assert.deepEqual(
    withOpts((o) => {
      o.trustedOperators = ['jwt'];
    }),
    ['operators require an account resolver to be configured'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.trustedOperators = ['jwt'];
      o.resolver = { type: 'memory' };
      o.accounts = [{ name: 'A', users: [], nkeyUsers: [], exports: [], imports: [] }];
    }),
    ['operators do not allow Accounts to be configured directly'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.trustedOperators = ['jwt'];
      o.resolver = { type: 'memory' };
      o.users = [{ username: 'u', password: 'p' }];
    }),
    ['operators do not allow users to be configured directly'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.trustedOperators = ['jwt'];
      o.resolver = { type: 'memory' };
      o.trustedKeys = ['O...'];
    }),
    ["conflicting options for 'TrustedKeys' and 'TrustedOperators'"],
  );
});

test('websocket: TLS required unless no_tls; auth compatibility', () => {
  const ws = { host: '', port: 8080, noTls: false, compression: false, sameOrigin: false, allowedOrigins: [], handshakeTimeoutMs: 0 };
  assert.deepEqual(
    withOpts((o) => {
      o.websocket = { ...ws };
    }),
    ['websocket requires TLS configuration'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.websocket = { ...ws, noTls: true, username: 'w' };
      o.users = [{ username: 'u', password: 'p' }];
    }),
    ['websocket authentication username not compatible with presence of users/nkeys'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.websocket = { ...ws, noTls: true, jwtCookie: 'c' };
    }),
    ['trusted operators or trusted keys configuration is required for JWT authentication via cookie "c"'],
  );
  assert.deepEqual(
    withOpts((o) => {
      o.websocket = { ...ws, port: 0 };
    }),
    [],
    'no port, no checks',
  );
});
