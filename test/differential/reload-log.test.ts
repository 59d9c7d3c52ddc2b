// Differential tests of what a config reload (SIGHUP) logs: the same file
// change on tsnats and nats-server 2.9.10, and the same "Reloaded: ..." lines
// in the same order (server/reload.go diffOptions walks the Options fields in
// declaration order; users and accounts are never compared, so their lines
// come on every reload: F6), or the same refusal (F5: max_subscriptions,
// max_pending and max_sub_tokens cannot be reloaded).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALWAYS_RELOADED as ALWAYS, compareReloadLogs, refused } from '../helpers/reload.js';

const RELOAD_LINE = /\[(?:INF|ERR)\] (Reload.*|Failed to reload.*|Cluster name updated.*)$/;
const both = (before: string, after: string): Promise<string[]> => compareReloadLogs(before, after, { lines: RELOAD_LINE });
const OK = 'Reloaded server configuration';

describe('reload refusals (F5 and the order of fields)', () => {
  const cases: [string, string, string, string[]][] = [
    ['max_subscriptions', '', 'max_subscriptions: 100\n', refused('MaxSubs: old=0, new=100')],
    ['max_pending', '', 'max_pending: 10MB\n', refused('MaxPending: old=67108864, new=10485760')],
    ['max_sub_tokens', '', 'max_sub_tokens: 8\n', refused('MaxSubTokens: old=0, new=8')],
    ['the first refused field in Options order', '', 'max_pending: 10MB\nmax_subscriptions: 100\nserver_name: x\n', refused('ServerName: old=, new=x')],
    ['lame_duck_duration (a Go duration)', '', 'lame_duck_duration: "30s"\n', refused('LameDuckDuration: old=2m0s, new=30s')],
    ['lame_duck_grace_period', '', 'lame_duck_grace_period: "3s"\n', refused('LameDuckGracePeriod: old=10s, new=3s')],
    ['logfile_size_limit', '', 'logfile_size_limit: 1000\n', refused('LogSizeLimit: old=0, new=1000')],
    ['cluster added: its host', '', 'cluster { listen: "127.0.0.1:-1" }\n', refused('cluster host: old=, new=127.0.0.1')],
  ];
  for (const [name, before, after, expected] of cases) {
    it(name, { timeout: 60_000 }, async () => {
      assert.deepEqual(await both(before, after), expected);
    });
  }
});

describe('reload notices (F6)', () => {
  it('nothing changed: users and accounts still reloaded', { timeout: 60_000 }, async () => {
    assert.deepEqual(await both('', ''), [...ALWAYS, OK]);
  });

  it('several changes: in the Options field order', { timeout: 60_000 }, async () => {
    const after = 'max_payload: 2MB\ndebug: true\ntrace: true\nmax_connections: 10\nping_interval: 500\nclient_advertise: "x:4222"\nwrite_deadline: "2.5s"\n';
    assert.deepEqual(await both('max_payload: 1MB\n', after), [
      'Reload: client_advertise = x:4222',
      'Reloaded: trace = true',
      'Reloaded: debug = true',
      'Reloaded: max_connections = 10',
      ...ALWAYS,
      'Reloaded: ping_interval = 8m20s',
      'Reloaded: max_payload = 2097152',
      'Reloaded: write_deadline = 2.5s',
      OK,
    ]);
  });

  it('authorization users changed', { timeout: 60_000 }, async () => {
    const log = await both('authorization { users: [{user: a, password: b}] }\n', 'authorization { users: [{user: a, password: c}], timeout: 3 }\n');
    assert.ok(log.includes('Reloaded: authorization users'));
    assert.equal(log.filter((l) => l === 'Reloaded: authorization users').length, 1);
  });

  it('a random cluster port is not a change', { timeout: 60_000 }, async () => {
    const conf = 'cluster { listen: "127.0.0.1:-1", name: c }\n';
    assert.deepEqual(await both(conf, conf + 'max_payload: 2MB\n'), [...ALWAYS, 'Reloaded: max_payload = 2097152', OK]);
  });
});
