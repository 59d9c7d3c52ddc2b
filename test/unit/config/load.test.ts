import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator } from '@nats-io/jwt';
import { applyConf, loadConfigFile, ConfigError, type LoadResult } from '../../../src/config/load.js';
import { parseConf } from '../../../src/config/conf.js';
import {
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  MAX_PAYLOAD_SIZE,
  TLS_TIMEOUT_MS,
  defaultOptions,
  type Options,
} from '../../../src/config/options.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(text: string, name = `c${++counter}.conf`): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

function load(text: string): LoadResult {
  return loadConfigFile(file(text));
}

function opts(text: string): Options {
  return load(text).options;
}

function fail(text: string): ConfigError {
  const p = file(text);
  try {
    loadConfigFile(p);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

/** The single error's text without the file name (which is a temp path). */
function reason(text: string): string {
  const e = fail(text);
  assert.equal(e.code, 'CONF_INVALID');
  assert.equal(e.errors.length, 1, `expected one error, got: ${e.message}`);
  return e.errors[0].reason;
}

test('listen, host/net, port, server_name, client_advertise', () => {
  let o = opts('listen: "127.0.0.1:4333"\nserver_name: s1\nclient_advertise: "10.0.0.1:4222"\n');
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.port, 4333);
  assert.equal(o.serverName, 's1');
  assert.equal(o.clientAdvertise, '10.0.0.1:4222');
  o = opts('listen: 4444\n');
  assert.equal(o.port, 4444);
  assert.equal(o.host, '0.0.0.0');
  o = opts('net: "10.1.1.1"\nport: -1\n');
  assert.equal(o.host, '10.1.1.1');
  assert.equal(o.port, -1);
  o = opts('host: "::1"\nport: 0\n');
  assert.equal(o.host, '::1');
  assert.equal(o.port, DEFAULT_PORT, 'port 0 means the default, as in setBaselineOptions');
  o = opts('listen: "[::1]:4555"\n');
  assert.equal(o.host, '::1');
  assert.equal(o.port, 4555);
});

test('listen errors: reference texts', () => {
  assert.equal(reason('listen: "abc"'), 'could not parse address string "abc"');
  assert.equal(reason('listen: "1.2.3.4:x"'), 'could not parse port "x"');
  assert.equal(reason('listen: true'), 'expected port or host:port, got bool');
});

test('monitoring: http, https, http_port, monitor_port, https_port, http_base_path', () => {
  let o = opts('http: "127.0.0.1:8333"\nhttp_base_path: "/mon"\n');
  assert.equal(o.httpHost, '127.0.0.1');
  assert.equal(o.httpPort, 8333);
  assert.equal(o.httpBasePath, '/mon');
  o = opts('https: 8443\n');
  assert.equal(o.httpsPort, 8443);
  o = opts('http_port: 8222\nhttps_port: 9443\n');
  assert.equal(o.httpPort, 8222);
  assert.equal(o.httpsPort, 9443);
  assert.equal(opts('monitor_port: 8555\n').httpPort, 8555);
});

test('limits: max_payload, max_connections/max_conn, max_control_line, max_pending, max_subscriptions/max_subs, max_sub_tokens', () => {
  const o = opts(
    'max_payload: 2MB\nmax_connections: 100\nmax_control_line: 2KB\nmax_pending: 10MB\nmax_subscriptions: 1000\nmax_sub_tokens: 16\nmax_traced_msg_len: 64\n',
  );
  assert.equal(o.maxPayload, 2 * 1024 * 1024);
  assert.equal(o.maxConn, 100);
  assert.equal(o.maxControlLine, 2048);
  assert.equal(o.maxPending, 10 * 1024 * 1024);
  assert.equal(o.maxSubs, 1000);
  assert.equal(o.maxSubTokens, 16);
  assert.equal(o.maxTracedMsgLen, 64);
  assert.equal(opts('max_conn: 7\n').maxConn, 7);
  assert.equal(opts('max_subs: 9\n').maxSubs, 9);
  assert.equal(opts('max_payload: 0\n').maxPayload, MAX_PAYLOAD_SIZE, '0 means the default');
});

test('limit errors: too big, negative, wrong type', () => {
  assert.equal(reason('max_payload: 3GB'), 'max_payload value is too big');
  assert.equal(reason('MAX_CONTROL_LINE: 3GB'), 'MAX_CONTROL_LINE value is too big');
  assert.equal(reason('max_sub_tokens: 256'), 'max_sub_tokens value is too big');
  assert.equal(reason('max_sub_tokens: 0'), 'max_sub_tokens value can not be negative');
  assert.equal(reason('max_payload: "1MB"'), 'interface conversion: interface {} is string, not int64');
  assert.equal(reason('port: 1.5'), 'interface conversion: interface {} is float64, not int64');
});

test('ping_interval / write_deadline: duration strings, or seconds with a warning', () => {
  let r = load('ping_interval: "30s"\nwrite_deadline: "1m30s"\nping_max: 5\n');
  assert.equal(r.options.pingIntervalMs, 30_000);
  assert.equal(r.options.writeDeadlineMs, 90_000);
  assert.equal(r.options.maxPingsOut, 5);
  assert.deepEqual(r.warnings, []);
  r = load('ping_interval: 60\nwrite_deadline: 100ms\n');
  assert.equal(r.options.pingIntervalMs, 60_000);
  assert.equal(r.options.writeDeadlineMs, 100);
  assert.equal(r.referenceWarnings.length, 1);
  assert.match(r.referenceWarnings[0], /:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration$/);
  assert.equal(opts('ping_interval: "0s"\n').pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
  assert.equal(reason('ping_interval: "abc"'), 'error parsing ping_interval: time: invalid duration "abc"');
  assert.equal(reason('write_deadline: "2x"'), 'error parsing write_deadline: time: unknown unit "x" in duration "2x"');
});

test('logging: debug, trace, trace_verbose, logtime, logtime_utc, log files, syslog', () => {
  const o = opts(
    'debug: true\ntrace: true\nlogtime: false\nlogtime_utc: true\nlog_file: "/tmp/a.log"\nlogfile_size_limit: 1MB\nlogfile_max_num: 3\nsyslog: true\nremote_syslog: "udp://h:514"\n',
  );
  assert.equal(o.debug, true);
  assert.equal(o.trace, true);
  assert.equal(o.logtime, false);
  assert.equal(o.logtimeUTC, true);
  assert.equal(o.logFile, '/tmp/a.log');
  assert.equal(o.logSizeLimit, 1024 * 1024);
  assert.equal(o.logMaxFiles, 3);
  assert.equal(o.syslog, true);
  assert.equal(o.remoteSyslog, 'udp://h:514');
  const v = opts('trace_verbose: true\n');
  assert.equal(v.traceVerbose, true);
  assert.equal(v.trace, true, 'trace_verbose implies trace');
  assert.equal(opts('logfile: x.log\nlog_size_limit: 5\n').logFile, 'x.log');
  assert.equal(reason('debug: "yes"'), 'interface conversion: interface {} is string, not bool');
});

test('pid_file/pidfile, ports_file_dir, prof_port and misc switches', () => {
  const o = opts(
    'pid_file: "/tmp/p.pid"\nports_file_dir: "/tmp"\nprof_port: 6060\nallow_non_tls: true\nno_header_support: true\nno_sublist_cache: true\nconnect_error_reports: 10\nreconnect_error_reports: 5\n',
  );
  assert.equal(o.pidFile, '/tmp/p.pid');
  assert.equal(o.portsFileDir, '/tmp');
  assert.equal(o.profPort, 6060);
  assert.equal(o.allowNonTLS, true);
  assert.equal(o.noHeaderSupport, true);
  assert.equal(o.noSublistCache, true);
  assert.equal(o.connectErrorReports, 10);
  assert.equal(o.reconnectErrorReports, 5);
  assert.equal(opts('pidfile: x.pid\ndisable_sublist_cache: true\n').pidFile, 'x.pid');
});

test('lame_duck_duration and lame_duck_grace_period', () => {
  const o = opts('lame_duck_duration: "1m"\nlame_duck_grace_period: "5s"\n');
  assert.equal(o.lameDuckDurationMs, 60_000);
  assert.equal(o.lameDuckGracePeriodMs, 5_000);
  assert.equal(reason('lame_duck_duration: "10s"'), 'invalid lame_duck_duration of 10s, minimum is 30 seconds');
  assert.equal(reason('lame_duck_duration: 60'), 'interface conversion: interface {} is int64, not string');
  assert.equal(reason('lame_duck_duration: "x"'), 'error parsing lame_duck_duration: time: invalid duration "x"');
  assert.equal(reason('lame_duck_grace_period: "-1s"'), 'invalid lame_duck_grace_period, needs to be positive');
});

test('server_tags: string or list, lower-cased and deduplicated', () => {
  assert.deepEqual(opts('server_tags: ["A:1", "b:2", "a:1"]\n').tags, ['a:1', 'b:2']);
  assert.deepEqual(opts('server_tags: "x"\n').tags, ['x']);
  assert.equal(reason('server_tags: [1 ]'), 'error parsing tags: unsupported type *conf.token where string is expected');
});

test('authorization: single user, token, timeout', () => {
  let o = opts('authorization { user: alice, password: secret, timeout: 3 }\n');
  assert.equal(o.username, 'alice');
  assert.equal(o.password, 'secret');
  assert.equal(o.authTimeoutMs, 3000);
  assert.equal(o.authTimeoutSet, true);
  o = opts('authorization { token: "s3cr3t" }\n');
  assert.equal(o.authorization, 's3cr3t');
  assert.notEqual(o.authTimeoutSet, true);
  assert.equal(o.authTimeoutMs, defaultOptions().authTimeoutMs, 'no timeout keeps the default');
  // A non-number timeout silently means one second in the reference.
  assert.equal(opts('authorization { username: a, pass: b, timeout: "2s" }\n').authTimeoutMs, 1000);
  assert.equal(opts('authorization { user: a, pass: b, timeout: 0.5 }\n').authTimeoutMs, 500);
});

test('authorization: users with permissions, nkeys, connection types, default permissions', () => {
  const nkey = createUser().getPublicKey();
  const o = opts(`authorization {
  users: [
    {user: alice, password: pw, permissions: {publish: {allow: ["a.>"], deny: "a.b"}, subscribe: "x.*", allow_responses: true}}
    {username: bob, pass: pw2, allowed_connection_types: ["standard", "WEBSOCKET"]}
    {nkey: ${nkey}}
    {user: carol, password: pw3, permission: {pub: "p", sub: ["s1", "s2 queue"], allow_responses: {max: 5, expires: "1m"}}}
  ]
  default_permissions: {publish: "public.>"}
}
no_auth_user: bob
`);
  assert.equal(o.users.length, 3);
  const [alice, bob, carol] = o.users;
  assert.deepEqual(alice.permissions, {
    publish: { allow: ['a.>'], deny: ['a.b'] },
    subscribe: { allow: ['x.*'] },
    response: { maxMsgs: 1, expiresMs: 120_000 },
  });
  assert.equal(bob.username, 'bob');
  assert.equal(bob.password, 'pw2');
  assert.deepEqual(bob.allowedConnectionTypes, ['STANDARD', 'WEBSOCKET']);
  assert.deepEqual(bob.permissions, { publish: { allow: ['public.>'] } }, 'default permissions apply');
  assert.deepEqual(carol.permissions, {
    publish: { allow: ['p'] },
    subscribe: { allow: ['s1', 's2 queue'] },
    response: { maxMsgs: 5, expiresMs: 60_000 },
  });
  assert.deepEqual(o.nkeys, [{ nkey, permissions: { publish: { allow: ['public.>'] } } }]);
  assert.deepEqual(o.defaultPermissions, { publish: { allow: ['public.>'] } });
  assert.equal(o.noAuthUser, 'bob');
});

test('allow_responses without publish turns the blanket publish allow off', () => {
  const o = opts('authorization { users: [{user: a, password: b, permissions: {allow_responses: true}}] }\n');
  assert.deepEqual(o.users[0].permissions, { publish: { allow: [] }, response: { maxMsgs: 1, expiresMs: 120_000 } });
});

test('authorization errors', () => {
  assert.equal(reason('authorization { user: a, token: b }'), 'Cannot have a user/pass and token');
  assert.equal(reason('authorization { user: a, users: [] }'), 'Can not have a single user/pass and a users array');
  assert.equal(reason('authorization { token: a, users: [] }'), 'Can not have a token and a users array');
  assert.equal(reason('authorization { users: [{password: b}] }'), 'User entry requires a user');
  assert.equal(reason('authorization { users: [{nkey: "UABC"}] }'), 'Not a valid public nkey for a user');
  assert.equal(
    reason(`authorization { users: [{nkey: ${createUser().getPublicKey()}, user: x}] }`),
    'Nkey users do not take usernames or passwords',
  );
  assert.equal(
    reason('authorization { users: [{user: a, password: b, allowed_connection_types: ["foo", "STANDARD", "bar"]}] }'),
    'invalid connection types ["FOO" "BAR"]',
  );
  assert.equal(reason('authorization { users: "x" }'), 'Expected users field to be an array, got x');
  assert.equal(reason('authorization { users: ["x"] }'), 'Expected user entry to be a map/struct, got x');
  assert.equal(reason('authorization { permissions: "x" }'), 'Expected permissions to be a map/struct, got x');
  assert.equal(reason('authorization { permissions: { publish: [1 ] } }'), 'Subject in permissions array cannot be cast to string');
  assert.equal(
    reason('authorization { permissions: { publish: { allow: "a", foo: "b" } } }'),
    `Unknown field name "foo" parsing subject permissions, only 'allow' or 'deny' are permitted`,
  );
  assert.equal(reason('authorization { permissions: { zz: 1 } }'), 'Unknown field "zz" parsing permissions');
  assert.equal(
    reason('authorization { permissions: { allow_responses: { expires: "x" } } }'),
    'error parsing expires: time: invalid duration "x"',
  );
  assert.equal(
    reason('authorization { permissions: { allow_responses: "x" } }'),
    'error parsing response permissions, expected a boolean or a map',
  );
  assert.equal(reason('authorization { zzz: 1 }'), 'unknown field "zzz"');
});

test('old-style permission subject errors carry no position (reference quirk)', () => {
  const e = fail('authorization { users: [{user: a, password: b, permissions: {publish: "a..b"}}] }');
  assert.equal(e.errors[0].message, 'subject "a..b" is not a valid subject');
  assert.equal(e.errors[0].line, 0);
  const located = fail('authorization { permissions: { publish: { allow: "a..b" } } }');
  assert.match(located.errors[0].message, /:1:\d+: subject "a\.\.b" is not a valid subject$/);
});

test('a type error inside authorization also reports the nil dereference that follows in the reference', () => {
  const e = fail('authorization {\n  user: 1\n}\n');
  assert.deepEqual(
    e.errors.map((i) => [i.line, i.column, i.reason]),
    [
      [2, 3, 'interface conversion: interface {} is int64, not string'],
      [1, 0, 'runtime error: invalid memory address or nil pointer dereference'],
    ],
  );
});

test('accounts: map form with users, exports, imports, permissions, limits, mappings, nkey', () => {
  const accKey = createAccount().getPublicKey();
  const o = opts(`accounts {
  A: {
    nkey: ${accKey}
    users: [{user: a, password: a}]
    exports: [{stream: "a.>"}, {service: "svc.a", response: stream, threshold: "2s"}, {stream: "priv.>", accounts: [B]}]
  }
  B: {
    users: [{user: b, password: b}]
    imports: [{stream: {account: A, subject: "a.>"}, prefix: "fromA"}, {service: {account: A, subject: "svc.a"}, to: "a.svc", share: true}, {stream: {account: A, subject: "priv.x"}}]
    default_permissions: {subscribe: {deny: ">"}}
  }
  C: { limits: {max_conn: 10, max_subs: 20, max_payload: 1KB, max_leafnodes: 0}, mappings: { "foo": "bar", "w": [{dest: "w1", weight: 40%}, {destination: "w2", weight: 60}] } }
}
system_account: A
`);
  assert.equal(o.systemAccount, 'A');
  assert.deepEqual(
    o.accounts.map((a) => a.name),
    ['A', 'B', 'C'],
  );
  const [a, b, c] = o.accounts;
  assert.equal(a.nkey, accKey);
  assert.deepEqual(a.exports, [
    { stream: 'a.>' },
    { service: 'svc.a', responseType: 'stream', responseThresholdMs: 2000 },
    { stream: 'priv.>', accounts: ['B'] },
  ]);
  assert.deepEqual(b.imports, [
    { stream: { account: 'A', subject: 'a.>' }, prefix: 'fromA' },
    { service: { account: 'A', subject: 'svc.a' }, to: 'a.svc', share: true },
    { stream: { account: 'A', subject: 'priv.x' } },
  ]);
  assert.deepEqual(b.users[0].permissions, { subscribe: { deny: ['>'] } });
  assert.deepEqual(c.limits, { maxConnections: 10, maxSubscriptions: 20, maxPayload: 1024, maxLeafnodes: 0 });
  assert.deepEqual(c.mappings, [
    { subject: 'foo', destinations: [{ subject: 'bar', weight: 100 }] },
    {
      subject: 'w',
      destinations: [
        { subject: 'w1', weight: 40 },
        { subject: 'w2', weight: 60 },
      ],
    },
  ]);
  assert.deepEqual(
    o.users.map((u) => [u.username, u.account]),
    [
      ['a', 'A'],
      ['b', 'B'],
    ],
  );
});

test('accounts: list form, and top-level mappings on the global account', () => {
  assert.deepEqual(
    opts('accounts: [A, B]\n').accounts.map((a) => a.name),
    ['A', 'B'],
  );
  const o = opts('mappings { "x": "y" }\n');
  assert.equal(o.accounts[0].name, '$G');
  assert.deepEqual(o.accounts[0].mappings, [{ subject: 'x', destinations: [{ subject: 'y', weight: 100 }] }]);
});

test('accounts errors', () => {
  const e = fail('accounts: [A, B, A, "$G"]\n');
  assert.deepEqual(
    e.errors.map((i) => [i.column, i.reason]),
    [
      [17, 'Duplicate Account Entry: A'],
      [21, '"$G" is a Reserved Account'],
    ],
  );
  assert.equal(reason('accounts { A: 1 }'), 'Expected map entries for accounts');
  assert.equal(reason('accounts { A { nkey: "xx" } }'), 'Not a valid public nkey for an account: "xx"');
  assert.equal(reason('accounts { A { foo: 1 } }'), 'unknown field "foo"');
  assert.equal(reason('accounts { A { exports: {stream: x} } }'), 'Exports should be an array, got map[string]interface {}');
  assert.equal(reason('accounts { A { exports: [{stream: x, accounts: [B]}] } }'), '"B" account not defined for stream export');
  assert.equal(
    reason('accounts { A { users: [{user: a, password: a}] }\n B { imports: [{stream: {account: C, subject: "bar"}}] } }'),
    '"C" account not defined for stream import',
  );
  assert.equal(
    reason('accounts { A { exports: [{stream: "foo.>"}] }\n B { imports: [{stream: {account: A, subject: "bar"}}] } }'),
    'Error adding stream import "bar": stream import not authorized',
  );
  assert.equal(
    reason('accounts { A { exports: [{stream: "x.>", accounts: [C]}] }\n B {}\n C {}\n D { imports: [{stream: {account: A, subject: "x.y"}}] } }'),
    'Error adding stream import "x.y": stream import not authorized',
  );
  assert.equal(
    reason('accounts { A { exports: [{stream: "x.>"}] }\n B { imports: [{stream: {account: A, subject: "x.y"}, prefix: "p.*"}] } }'),
    'Error adding stream import "x.y": stream import prefix can not contain wildcard tokens',
  );
  assert.equal(
    reason('accounts { A { exports: [{service: "x"}] }\n B { imports: [{service: {account: A, subject: "x"}}, {service: {account: A, subject: "x"}}] } }'),
    'Duplicate service import subject "x", previously used in import for account "A", subject "x"',
  );
  assert.equal(
    reason('accounts { A { exports: [{stream: "x"}] }\n B { imports: [{stream: {account: A}}] } }'),
    'Expect an account name and a subject',
  );
  assert.equal(reason('accounts { A { limits: { foo: 1 } } }'), 'Unknown field "foo" parsing account limits');
  assert.equal(reason('mappings { "a..b": "c" }'), 'Subject "a..b" is not a valid subject');
  assert.equal(reason('mappings { "a": {dest: "b"} }'), 'Missing weight for mapping destination "b"');
  assert.equal(reason('mappings { "a": [{dest: "b", weight: 200}] }'), 'Invalid weight 200 for mapping destination');
  assert.equal(
    reason('authorization { users: [{user: a, password: b}] }\naccounts { A { users: [{user: a, password: c}] } }'),
    'Duplicate user "a" detected',
  );
  assert.equal(
    reason('authorization { user: x, password: y }\naccounts { A { users: [{user: a, password: c}] } }'),
    'Can not have a single user/pass and accounts',
  );
});

test('account_token_position restricts imports to the matching account', () => {
  const ok = opts('accounts { A { exports: [{stream: "x.*.>", account_token_position: 2}] }\n B { imports: [{stream: {account: A, subject: "x.B.>"}}] } }\n');
  assert.equal(ok.accounts[0].exports[0].accountTokenPosition, 2);
  assert.equal(
    reason('accounts { A { exports: [{stream: "x.*.>", account_token_position: 2}] }\n B { imports: [{stream: {account: A, subject: "x.C.>"}}] } }'),
    'Error adding stream import "x.C.>": stream import not authorized',
  );
  assert.equal(
    reason('accounts { A { exports: [{stream: "x.y.>", account_token_position: 2}] } }'),
    'Error adding stream export "x.y.>": sublist: invalid subject',
  );
});

test('system_account / system / no_system_account', () => {
  assert.equal(opts('system_account: SYS\naccounts { SYS {} }\n').systemAccount, 'SYS');
  assert.equal(opts('system: SYS2\n').systemAccount, 'SYS2');
  assert.equal(opts('no_system_account: true\n').noSystemAccount, true);
  assert.equal(opts('no_sys_acc: true\n').noSystemAccount, true);
  assert.equal(reason('system_account: 1'), 'system account name must be a string');
});

const certs = ((): { cert: string; key: string; cert2: string; key2: string } => {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const cert2 = join(dir, 'cert2.pem');
  const key2 = join(dir, 'key2.pem');
  for (const [c, k, cn] of [
    [cert, key, 'localhost'],
    [cert2, key2, 'other'],
  ]) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', k, '-out', c, '-days', '2', '-subj', `/CN=${cn}`], {
      stdio: 'ignore',
    });
  }
  return { cert, key, cert2, key2 };
})();

test('tls: files, verify, timeout, ciphers, curves, pinned certs', () => {
  const pin = 'a'.repeat(64);
  const o = opts(`tls {
  cert_file: "${certs.cert}"
  key_file: "${certs.key}"
  ca_file: "${certs.cert2}"
  verify_and_map: true
  timeout: 3
  cipher_suites: ["TLS_AES_128_GCM_SHA256"]
  curve_preferences: ["X25519", "CurveP256"]
  pinned_certs: ["${pin.toUpperCase()}"]
  connection_rate_limit: 10
}
`);
  assert.equal(o.tls, true);
  assert.deepEqual(o.tlsConfig, {
    certFile: certs.cert,
    keyFile: certs.key,
    caFile: certs.cert2,
    verify: true,
    verifyAndMap: true,
    insecure: false,
    timeoutMs: 3000,
    cipherSuites: ['TLS_AES_128_GCM_SHA256'],
    curvePreferences: ['X25519', 'CurveP256'],
    pinnedCerts: [pin],
    rateLimit: 10,
  });
  assert.equal(opts(`tls { cert_file: "${certs.cert}", key_file: "${certs.key}" }`).tlsConfig?.timeoutMs, TLS_TIMEOUT_MS);
  assert.equal(opts(`tls { cert_file: "${certs.cert}", key_file: "${certs.key}", timeout: "500ms" }`).tlsConfig?.timeoutMs, 500);
});

test('tls handshake_first (a 2.10 key, accepted on purpose): booleans and on/off strings', () => {
  const tc = (v: string) => opts(`tls { cert_file: "${certs.cert}", key_file: "${certs.key}", handshake_first: ${v} }`).tlsConfig?.handshakeFirst;
  assert.equal(tc('true'), true);
  assert.equal(tc('false'), false);
  assert.equal(tc('"on"'), true);
  assert.equal(tc('"off"'), false);
  assert.equal(opts(`tls { cert_file: "${certs.cert}", key_file: "${certs.key}", first: true }`).tlsConfig?.handshakeFirst, true);
  // the 2.10 TLS fallback ("auto", a delay) is not implemented: refused, not ignored
  assert.match(reason('tls { handshake_first: "auto" }'), /field "handshake_first"'s value "auto" is invalid/);
  assert.match(reason('tls { handshake_first: 1 }'), /field "handshake_first" should be a boolean or a string/);
});

test('tls errors: reference texts', () => {
  assert.equal(reason('tls { cert_file: "x.pem" }'), "missing 'key_file' in TLS configuration");
  assert.equal(reason('tls { key_file: "x.pem" }'), "missing 'cert_file' in TLS configuration");
  assert.equal(
    reason(`tls { cert_file: "${dir}/nope.pem", key_file: "${certs.key}" }`),
    `error parsing X509 certificate/key pair: open ${dir}/nope.pem: no such file or directory`,
  );
  assert.equal(
    reason(`tls { cert_file: "${certs.cert}", key_file: "${certs.key2}" }`),
    'error parsing X509 certificate/key pair: tls: private key does not match public key',
  );
  assert.equal(
    reason(`tls { cert_file: "${certs.cert}", key_file: "${certs.key}", ca_file: "${dir}/nope.pem" }`),
    `open ${dir}/nope.pem: no such file or directory`,
  );
  assert.equal(reason('tls { foo: 1 }'), 'error parsing tls config, unknown field ["foo"]');
  assert.equal(reason('tls { verify: "yes" }'), "error parsing tls config, expected 'verify' to be a boolean");
  assert.equal(reason('tls { timeout: true }'), "error parsing tls config, 'timeout' wrong type");
  assert.equal(reason('tls { cipher_suites: ["FOO"] }'), 'unrecognized cipher FOO');
  assert.equal(reason('tls { curve_preferences: [] }'), "error parsing tls config, 'curve_preferences' cannot be empty");
  assert.equal(
    reason('tls { pinned_certs: ["abc"] }'),
    "error parsing tls config, 'pinned_certs' key abc does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo",
  );
  assert.equal(
    reason('tls { verify_cert_and_check_known_urls: true }'),
    'verify_cert_and_check_known_urls not supported in this context',
  );
});

test('cluster: all keys', () => {
  const o = opts(`cluster {
  name: c1
  listen: "127.0.0.1:6333"
  routes: ["nats://127.0.0.1:6334", " nats://127.0.0.1:6335 "]
  authorization { user: ru, password: rp, timeout: 3 }
  no_advertise: true
  connect_retries: 5
  permissions { import: "foo.>", export: ["bar.>"] }
  cluster_advertise: "1.2.3.4:6222"
  tls { cert_file: "${certs.cert}", key_file: "${certs.key}", verify_cert_and_check_known_urls: true }
  pool_size: 3
  compression: "s2_fast"
}
`);
  const c = o.cluster;
  assert.equal(c.name, 'c1');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 6333);
  assert.deepEqual(o.routes, ['nats://127.0.0.1:6334', 'nats://127.0.0.1:6335']);
  assert.equal(c.username, 'ru');
  assert.equal(c.password, 'rp');
  assert.equal(c.authTimeoutMs, 3000);
  assert.equal(c.noAdvertise, true);
  assert.equal(c.connectRetries, 5);
  assert.deepEqual(c.permissions, { import: { allow: ['foo.>'] }, export: { allow: ['bar.>'] } });
  assert.equal(c.advertise, '1.2.3.4:6222');
  assert.equal(c.tls?.checkKnownUrls, true);
  assert.equal(c.tls?.verify, true);
  assert.equal(c.poolSize, 3);
  assert.equal(c.compression, 's2_fast');
  assert.equal(opts('cluster { port: 6222, host: "10.0.0.1", advertise: "x:1" }').cluster.advertise, 'x:1');
});

test('cluster: warnings and errors', () => {
  let r = load('cluster { port: 6222, routes: ["nats://a:1", "nats://a:1"] }\n');
  assert.deepEqual(r.options.routes, ['nats://a:1']);
  assert.match(r.referenceWarnings[0], /invalid use of field "nats:\/\/a:1": Duplicate route entry detected$/);
  r = load('cluster { port: 6222, authorization { user: a, password: b, permissions: { publish: "x" } } }\n');
  assert.match(r.referenceWarnings[0], /invalid use of field "authorization": setting "permissions" within cluster authorization block is deprecated$/);
  assert.deepEqual(r.options.cluster.permissions, { import: { allow: ['x'] }, export: undefined });
  assert.equal(reason('cluster: 5'), 'Expected map to define cluster, got int64');
  assert.equal(reason('cluster { port: 6222, routes: ["nats://a b:1"] }'), 'error parsing route url ["nats://a b:1"]');
  assert.equal(reason('cluster { authorization { users: [{user: a, password: b}] } }'), 'Cluster authorization does not allow multiple users');
  assert.equal(reason('cluster { authorization { token: abc } }'), 'Cluster authorization does not support tokens');
  assert.equal(
    reason('cluster { permissions: { publish: "a", allow_responses: true } }'),
    'Cluster permissions do not support dynamic responses',
  );
  assert.equal(reason('cluster { foo: 1 }'), 'unknown field "foo"');
  const perm = fail('cluster { permissions: "abc" }');
  assert.equal(perm.errors[0].message, 'Expected permissions to be a map/struct, got abc');
});

test('websocket: all keys', () => {
  const o = opts(`websocket {
  listen: "127.0.0.1:8080"
  advertise: "ws.example.com:443"
  no_tls: true
  compression: true
  same_origin: true
  allowed_origins: ["http://x.com", "https://y.com"]
  handshake_timeout: "3s"
  authorization { user: w, password: p, timeout: 2 }
  jwt_cookie: "jwt"
  no_auth_user: w
}
`);
  assert.deepEqual(o.websocket, {
    host: '127.0.0.1',
    port: 8080,
    advertise: 'ws.example.com:443',
    noTls: true,
    compression: true,
    sameOrigin: true,
    allowedOrigins: ['http://x.com', 'https://y.com'],
    handshakeTimeoutMs: 3000,
    username: 'w',
    password: 'p',
    token: undefined,
    authTimeoutMs: 2000,
    jwtCookie: 'jwt',
    noAuthUser: 'w',
  });
  const w2 = opts(`ws { port: 8443, host: "0.0.0.0", handshake_timeout: 2, origin: "http://z", tls { cert_file: "${certs.cert}", key_file: "${certs.key}" } }`);
  assert.equal(w2.websocket?.port, 8443);
  assert.equal(w2.websocket?.handshakeTimeoutMs, 2000);
  assert.deepEqual(w2.websocket?.allowedOrigins, ['http://z']);
  assert.equal(w2.websocket?.tls?.certFile, certs.cert);
  assert.equal(reason('websocket { foo: 1 }'), 'unknown field "foo"');
  assert.equal(reason('websocket { handshake_timeout: true }'), 'error parsing handshake timeout: unsupported type bool');
  assert.equal(reason('websocket: 1'), 'Expected websocket to be a map, got int64');
});

test('unsupported features are validated, accepted and reported as warnings', () => {
  // JetStream is served: its block sets options (test/unit/config/jetstream-conf.test.ts), no notice
  let r = load('jetstream { store_dir: "/tmp/js", max_mem: 1G, max_file: "10G", domain: hub }\n');
  assert.equal(r.options.jetstream, true);
  assert.ok(!r.warnings.some((w) => /JetStream/.test(w)));
  assert.deepEqual(r.referenceWarnings, []);
  assert.ok(!r.options.unsupported.includes('jetstream'));
  assert.equal(load('jetstream: disabled\n').options.jetstream, false);
  assert.equal(load('jetstream: enabled\n').options.jetstream, true);
  r = load('leafnodes { listen: "0.0.0.0:7422", remotes: [{url: "nats://h:7422", account: A}] }\n');
  assert.equal(r.options.leafnode?.port, 7422);
  assert.equal(r.options.leafnode?.remotes[0]?.account, 'A');
  assert.ok(!r.warnings.some((w) => /leafnodes are not supported/.test(w)));
  assert.ok(!r.options.unsupported.includes('leafnodes'));
  r = load('gateway { name: c1, listen: "0.0.0.0:7222", gateways: [{name: c2, url: "nats://h:7222"}] }\n');
  assert.ok(r.warnings.some((w) => /gateways are not supported/.test(w)));
  assert.ok(r.options.unsupported.includes('gateway'));
  r = load('mqtt { port: 1883, ack_wait: "30s", max_ack_pending: 100 }\n');
  assert.ok(r.warnings.some((w) => /MQTT is not supported/.test(w)));
  assert.equal(reason('jetstream: maybe'), "Expected 'enabled' or 'disabled' for string value, got 'maybe'");
  assert.equal(reason('jetstream { foo: 1 }'), 'unknown field "foo"');
  assert.equal(reason('jetstream { max_mem: "1X" }'), 'max_mem_store sizes defined as strings must end in K, M, G, T');
  assert.equal(reason('store_dir: "/a"\njetstream { store_dir: "/b" }'), "Duplicate 'store_dir' configuration");
  assert.equal(reason('leafnodes { port: "x" }'), 'interface conversion: interface {} is string, not int64');
  assert.equal(reason('gateway { foo: 1 }'), 'unknown field "foo"');
  assert.equal(reason('mqtt { max_ack_pending: 70000 }'), 'invalid value 70000, should in [0..65535] range');
});

test('operator mode: operator JWT file, resolver, preload, trusted keys, pinned accounts', async () => {
  const okp = createOperator();
  const akp = createAccount();
  const opJwt = await encodeOperator('op', okp, { system_account: akp.getPublicKey() });
  const accJwt = await encodeAccount('acc', akp, {}, { signer: okp });
  const opFile = file(opJwt, 'op.jwt');
  let o = opts(`operator: "${opFile}"\nresolver: MEMORY\nresolver_preload { ${akp.getPublicKey()}: "${accJwt}" }\nresolver_pinned_accounts: ["${akp.getPublicKey()}"]\n`);
  assert.deepEqual(o.trustedOperators, [opJwt]);
  assert.deepEqual(o.resolver, { type: 'memory' });
  assert.equal(o.systemAccount, akp.getPublicKey(), 'taken from the operator JWT');
  assert.deepEqual(o.resolverPreload, { [akp.getPublicKey()]: accJwt });
  assert.deepEqual(o.resolverPinnedAccounts, [akp.getPublicKey()]);
  o = opts(`operator: "${opJwt}"\nresolver: URL("http://localhost:9090/jwt/v1/accounts/")\n`);
  assert.deepEqual(o.resolver, { type: 'url', url: 'http://localhost:9090/jwt/v1/accounts/' });
  o = opts(`resolver { type: full, dir: "${dir}/jwt", allow_delete: true, interval: "2m", limit: 100, timeout: "2s" }\n`);
  assert.deepEqual(o.resolver, {
    type: 'full',
    dir: `${dir}/jwt`,
    limit: 100,
    ttlMs: 0,
    intervalMs: 120_000,
    allowDelete: true,
    timeoutMs: 2000,
  });
  assert.deepEqual(opts(`trusted: "${okp.getPublicKey()}"\n`).trustedKeys, [okp.getPublicKey()]);
  assert.deepEqual(opts(`trusted_keys: ["${okp.getPublicKey()}"]\n`).trustedKeys, [okp.getPublicKey()]);
  assert.equal(reason('operator: ["x.jwt"]'), 'error parsing operators: unsupported type []interface {}');
  assert.equal(reason(`operator: "${dir}/nope.jwt"`), `error parsing operator JWT: open ${dir}/nope.jwt: no such file or directory`);
  assert.equal(
    reason('resolver: FOO'),
    'error parsing account resolver, should be MEM or  URL("url") or a map containing dir and type state=[FULL|CACHE])',
  );
  assert.equal(reason('resolver { type: full }'), 'dir has no value and needs to point to a directory');
  assert.equal(reason('resolver_preload { X: "nope" }'), 'invalid account JWT');
  assert.equal(reason('resolver_preload: 5'), 'preload should be a map of account_public_key:account_jwt');
  assert.equal(reason('trusted: ["ABC"]'), 'trust key "ABC" required to be a valid public operator nkey');
});

test('unknown top-level keys are errors; variables used elsewhere are not', () => {
  const e = fail('foo: 1\nbar = 2\nport: 4222\n');
  assert.deepEqual(
    e.errors.map((i) => [i.line, i.column, i.reason]),
    [
      [1, 0, 'unknown field "foo"'],
      [2, 1, 'unknown field "bar"'],
    ],
  );
  assert.match(e.message, /c\d+\.conf:1:0: unknown field "foo"\n.*c\d+\.conf:2:1: unknown field "bar"$/);
  assert.equal(opts('PORT: 4333\nport: $PORT\n').port, 4333);
  assert.equal(opts('cluster { X: 6222, port: $X }\n').cluster.port, 6222);
  assert.equal(reason('cluster { X: 1, port: 6222 }'), 'unknown field "X"');
});

test('errors are collected from all keys and located, with the reference text', () => {
  const p = file('port: "abc"\n\n  debug: 5\nmax_sub_tokens: 0\n', 'multi.conf');
  try {
    loadConfigFile(p);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'CONF_INVALID');
    assert.equal(e.file, p);
    assert.equal(e.line, 1);
    assert.equal(
      e.referenceText,
      `${p}:1:0: interface conversion: interface {} is string, not int64\n` +
        `${p}:3:3: interface conversion: interface {} is int64, not bool\n` +
        `${p}:4:1: max_sub_tokens value can not be negative\n`,
    );
  }
});

test('values from an include report the included file', () => {
  file('port: "x"\n', 'incs/bad-port.conf');
  const p = file('include incs/bad-port.conf\n', 'with-include.conf');
  try {
    loadConfigFile(p);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.errors[0].file, join(dir, 'incs/bad-port.conf'));
    assert.equal(e.errors[0].line, 1);
  }
});

test('applyConf works on parsed text and leaves unrelated options alone', () => {
  const o = defaultOptions();
  o.debug = true;
  const res = applyConf(parseConf('port: 5555\n', { env: {} }), o, 'inline.conf');
  assert.deepEqual(res, { errors: [], warnings: [], notices: [] });
  assert.equal(o.port, 5555);
  assert.equal(o.debug, true);
  assert.equal(o.configFile, 'inline.conf');
});

test('loadConfigFile records the config file and starts from defaults', () => {
  const p = file('debug: true\n');
  const { options } = loadConfigFile(p);
  assert.equal(options.configFile, p);
  assert.equal(options.port, DEFAULT_PORT);
});
