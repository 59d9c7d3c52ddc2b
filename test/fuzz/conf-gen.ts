// Generators of configuration texts for the config fuzzer (not a test file).
//
// Three kinds of input: grammar-shaped texts built from the option names the
// server knows and every value syntax the conf format has; character-level
// mutations of valid configuration files; and short texts over the
// characters that are significant to the lexer.

import fc from 'fast-check';

const TOP_KEYS = [
  'port', 'host', 'listen', 'net', 'client_advertise', 'server_name', 'max_payload', 'max_pending', 'max_control_line',
  'max_connections', 'max_subscriptions', 'ping_interval', 'ping_max', 'write_deadline', 'authorization', 'accounts',
  'cluster', 'tls', 'http', 'http_port', 'https_port', 'monitor_port', 'debug', 'trace', 'logtime', 'log_file',
  'logfile_size_limit', 'syslog', 'remote_syslog', 'pid_file', 'ports_file_dir', 'no_auth_user', 'system_account',
  'no_system_account', 'lame_duck_duration', 'lame_duck_grace_period', 'mappings', 'server_tags', 'websocket',
  'jetstream', 'leafnodes', 'gateway', 'mqtt', 'operator', 'resolver', 'resolver_preload', 'trusted', 'max_sub_tokens',
  'disable_sublist_cache', 'no_header_support', 'connect_error_reports', 'unknown_key', 'include',
];
const INNER_KEYS = [
  'user', 'users', 'password', 'pass', 'token', 'timeout', 'permissions', 'publish', 'subscribe', 'allow', 'deny',
  'allow_responses', 'max', 'expires', 'nkey', 'account', 'accounts', 'exports', 'imports', 'stream', 'service',
  'to', 'prefix', 'response', 'name', 'routes', 'listen', 'port', 'host', 'advertise', 'no_advertise',
  'connect_retries', 'cert_file', 'key_file', 'ca_file', 'verify', 'verify_and_map', 'cipher_suites',
  'handshake_timeout', 'pool_size', 'default_permissions', 'mappings', 'dest', 'weight', 'enabled', 'store_dir',
  'max_mem', 'limits', 'authorization', 'jetstream', 'x',
];

const keyChars = fc.constantFrom('a', 'b', '_', '-', '.', '1', 'é');
const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TOP_KEYS) },
  { weight: 4, arbitrary: fc.constantFrom(...INNER_KEYS) },
  { weight: 1, arbitrary: fc.array(keyChars, { minLength: 1, maxLength: 5 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('"quoted key"', "'sq'", '$', '"', '') },
);
const kvSep = fc.constantFrom(' = ', ': ', ' ', '=', ':', ' : ', '\t');
const lineEnd = fc.constantFrom('\n', '\n', '\n', '; ', ', ', '\r\n', '\n\n', ' # comment\n', ' // c\n');

const intLit = fc.oneof(
  fc.integer({ min: -5, max: 70000 }).map(String),
  fc.constantFrom('0', '-1', '1k', '1K', '64kb', '1MB', '2mib', '1G', '3gb', '1T', '1P', '1E', '8EB', '9223372036854775807', '9223372036854775808', '99999999999999999999999', '1_000', '0x10', '007'),
);
const floatLit = fc.constantFrom('1.5', '0.5', '-2.25', '1e3', '1.5e-3', '3.', '.5', '1.2.3', 'NaN', 'Inf');
const durLit = fc.constantFrom('"2s"', '"100ms"', '"1m30s"', '"-1s"', '"1h"', '"0s"', '"5"', '"bogus"', '"1y"', '"9999999h"', '"1.5s"', '""');
const boolLit = fc.constantFrom('true', 'false', 'yes', 'no', 'on', 'off', 'TRUE', 'Off', 'tRuE');
const strLit = fc.oneof(
  fc.constantFrom('"hello"', "'raw \\n'", 'bare_word', '"esc \\t \\x41 \\" \\\\"', '"bad \\q"', '"\\x4"', '"unterminated', "'unterminated", '"nats://127.0.0.1:4222"', '"127.0.0.1:-1"', '"[::1]:4222"', '"foo.*"', '"foo.>"', '"a..b"', '"$2a$11$abcdefghijklmnopqrstuv"', '"UAFXYZ"', '"OABC"', '""', "''"),
  fc.string({ maxLength: 10, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }).map((s) => JSON.stringify(s)),
);
const dateLit = fc.constantFrom('2006-01-02T15:04:05Z', '2021-13-45T99:99:99Z', '2006-01-02T15:04:05');
const varLit = fc.constantFrom('$FUZZ_A', '$FUZZ_B', '$FUZZ_C', '$FUZZ_D', '$FUZZ_E', '$undefined_var', '$port', '$a', '$x', '$');

const scalar = fc.oneof(
  { weight: 4, arbitrary: intLit },
  { weight: 1, arbitrary: floatLit },
  { weight: 2, arbitrary: durLit },
  { weight: 2, arbitrary: boolLit },
  { weight: 4, arbitrary: strLit },
  { weight: 1, arbitrary: dateLit },
  { weight: 2, arbitrary: varLit },
);

const { value } = fc.letrec<{ value: string; arr: string; map: string; entry: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, scalar, tie('arr'), tie('map')),
  arr: fc
    .tuple(fc.array(tie('value'), { maxLength: 4 }), fc.constantFrom(', ', ',', '\n', ' ', '; '), fc.boolean())
    .map(([vs, s, trailing]) => `[${vs.join(s)}${trailing && vs.length > 0 ? s : ''}]`),
  map: fc
    .tuple(fc.array(tie('entry'), { maxLength: 4 }), fc.constantFrom('\n', ', ', '; ', ' '))
    .map(([es, s]) => `{${s}${es.join(s)}${s}}`),
  entry: fc.tuple(keyArb, kvSep, tie('value')).map(([k, s, v]) => `${k}${s}${v}`),
}));

const includeLine = fc.constantFrom('include inc.conf', 'include "inc.conf"', "include 'missing.conf'", 'include loop.conf', 'include ./', 'include', 'include ../../../../etc/hostname');
const blockLine = fc.tuple(keyArb, fc.constantFrom(' (', '('), fc.array(fc.constantFrom('a b', 'x', ''), { maxLength: 3 }), fc.constantFrom('\n)', ')', '\n  )', '')).map(([k, o, ls, c]) => `${k}${o}\n${ls.join('\n')}${c}`);

const line = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(keyArb, kvSep, value).map(([k, s, v]) => `${k}${s}${v}`) },
  { weight: 1, arbitrary: includeLine },
  { weight: 1, arbitrary: blockLine },
  { weight: 1, arbitrary: fc.constantFrom('# only a comment', '// another', '', '   ', '}', ']', '{', '[', '=', 'key', 'key =') },
);

export const grammarConf: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.tuple(line, lineEnd), { maxLength: 8 }), fc.boolean())
  .map(([ls, bom]) => (bom ? '\ufeff' : '') + ls.map(([l, e]) => l + e).join(''));

/** valid configuration files to mutate */
export const SEED_CONFS: string[] = [
  'port: 4222\nhost: 127.0.0.1\nmax_payload: 1MB\n',
  'listen: 127.0.0.1:-1\nauthorization {\n  user: a\n  password: b\n  timeout: 0.5\n}\n',
  'authorization {\n  users = [\n    {user: a, password: b, permissions: {publish: "foo.>", subscribe: {allow: ["bar", "baz.*"], deny: "baz.x"}}}\n    {user: c, password: d, permissions: {publish: {deny: ">"}, allow_responses: {max: 2, expires: "1m"}}}\n  ]\n}\n',
  'accounts {\n  A {\n    users = [{user: a, password: a}]\n    exports = [{stream: "a.>"}, {service: "svc.*", response: stream}]\n  }\n  B {\n    users = [{user: b, password: b}]\n    imports = [{stream: {account: A, subject: "a.>"}, prefix: p}, {service: {account: A, subject: "svc.x"}, to: "x"}]\n  }\n}\nno_auth_user: a\n',
  'cluster {\n  name: c1\n  listen: 127.0.0.1:-1\n  routes = [nats-route://127.0.0.1:6222, "nats-route://u:p@127.0.0.1:6223"]\n  authorization { user: r, password: s, timeout: 2 }\n}\n',
  'tls {\n  cert_file: "./server.pem"\n  key_file: "./key.pem"\n  ca_file: "./ca.pem"\n  verify: true\n  timeout: 2\n}\n',
  'ping_interval: "2m"\nping_max: 2\nwrite_deadline: "10s"\nmax_pending: 64MB\nmax_connections: 64K\nmax_subscriptions: 0\n',
  'http: 127.0.0.1:8222\nserver_name: $NAME\nNAME = "srv"\nlogtime: false\ndebug: true\ntrace: false\n',
  'mappings = {\n  "foo": "bar"\n  "a.*.*": "b.$2.$1"\n  "w": [{destination: "w1", weight: 40%}, {destination: "w2", weight: "60%"}]\n}\n',
  'include inc.conf\nmax_payload = 100\n# comment\n// comment\nserver_tags: ["a:b", "C"]\n',
  'websocket {\n  port: -1\n  no_tls: true\n}\njetstream {\n  store_dir: /tmp/js\n  max_mem: 1G\n}\nleafnodes { port: -1 }\n',
  'lame_duck_duration: "30s"\nlame_duck_grace_period: "10s"\nsystem_account: SYS\naccounts { SYS { users: [{user: s, password: s}] } }\n',
];

const charMutation = fc.oneof(
  fc.record({ k: fc.constant('ins' as const), at: fc.nat(), s: fc.constantFrom('{', '}', '[', ']', '"', "'", '\n', '=', ':', '$', '#', '//', ',', ';', '\\', ' ', '(', ')', '\u0000', '\ufffd', 'é', '0', '-', '.', 'include ') }),
  fc.record({ k: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ k: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat() }),
);
type CharMutation = { k: 'ins'; at: number; s: string } | { k: 'del'; at: number; n: number } | { k: 'dup'; at: number; n: number } | { k: 'cut'; at: number };

export function mutateText(text: string, muts: CharMutation[]): string {
  let t = text;
  for (const m of muts) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    if (m.k === 'ins') t = t.slice(0, at) + m.s + t.slice(at);
    else if (m.k === 'del') t = t.slice(0, at) + t.slice(at + m.n);
    else if (m.k === 'dup') t = t.slice(0, at + m.n) + t.slice(at, at + m.n) + t.slice(at + m.n);
    else t = t.slice(0, at);
  }
  return t;
}

export const mutatedConf: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...SEED_CONFS), fc.array(charMutation, { minLength: 1, maxLength: 5 }))
  .map(([t, ms]) => mutateText(t, ms));

export const lexerSoup: fc.Arbitrary<string> = fc.string({
  maxLength: 40,
  unit: fc.constantFrom('a', 'b', '1', ' ', '\t', '\n', '\r', '{', '}', '[', ']', '(', ')', '"', "'", '=', ':', ',', ';', '#', '/', '$', '\\', '.', '-', 'k', 'B', 'e', 'x', 'T', 'Z', '\u0000', '\u00e9', '\ud83d\ude00'),
});

/** nesting far deeper than any real file */
export const deepConf: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a = ', 'authorization ', 'accounts ', 'cluster ', 'users = ', 'mappings = '), fc.integer({ min: 50, max: 3000 }), fc.constantFrom('[', '{x: ', '{', '[{a: '), fc.boolean())
  .map(([k, n, open, closed]) => {
    const close = open === '[' ? ']' : open === '[{a: ' ? '}]' : '}';
    return k + open.repeat(n) + (open === '{' ? 'x: 1' : '1') + (closed ? close.repeat(n) : '');
  });

export const anyConf: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: grammarConf },
  { weight: 4, arbitrary: mutatedConf },
  { weight: 2, arbitrary: lexerSoup },
  { weight: 1, arbitrary: deepConf },
  { weight: 1, arbitrary: fc.constantFrom(...SEED_CONFS) },
);

/** environment visible to `$VAR` references in fuzzed texts (self- and mutually-referencing on purpose) */
export const FUZZ_ENV: Record<string, string> = {
  FUZZ_A: '1',
  FUZZ_B: '$FUZZ_B',
  FUZZ_C: '[1, $FUZZ_A, {x: $FUZZ_C}]',
  FUZZ_D: '{a: $FUZZ_E}',
  FUZZ_E: '$FUZZ_D',
  NAME: 'srv',
};
