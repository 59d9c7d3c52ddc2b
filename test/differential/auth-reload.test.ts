// Differential tests of authorization changes applied by a config reload
// (SIGHUP): both servers run from the same file, the file is rewritten and
// both are signalled; what connected clients see must match — subscriptions
// the new permissions refuse are removed with an -ERR naming the sid, a user
// whose password changed gets an authorization violation, a removed user is
// disconnected.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { problemLogLines } from '../helpers/diff.js';
import { connectLine, flush, pub, session } from '../helpers/proto.js';
import { sleep, type RawClient } from '../helpers/rawclient.js';
import { referenceOnly, startServer, writeConfig, type RunningServer } from '../helpers/servers.js';

const login = (port: number, user: string, pass: string) => session(port, connectLine({ verbose: false, pedantic: false, user, pass }));

/** waits for the reload notice in the server's log */
async function reloaded(s: RunningServer, from: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (s.stderr().slice(from).includes('Reloaded server configuration')) return;
    await sleep(10);
  }
  assert.fail(`${s.kind}: no "Reloaded server configuration" in ${s.stderr().slice(from)}`);
}

/** what a client sees within the next round trip, or that it was closed */
async function observe(c: RawClient): Promise<string> {
  if (c.isClosed) return `${c.peek().toString('latin1')}<closed>`;
  try {
    return await flush(c, '', 5000);
  } catch {
    const closed = await c.waitClosed(5000);
    return `${c.peek().toString('latin1')}${closed ? '<closed>' : ''}`;
  }
}

async function onBothServers<T>(before: string, after: string, scenario: (s: RunningServer, reload: () => Promise<void>) => Promise<T>): Promise<T> {
  const kinds = referenceOnly() ? (['reference'] as const) : (['reference', 'tsnats'] as const);
  const results = await Promise.all(
    kinds.map(async (kind) => {
      const file = writeConfig(before);
      const s = await startServer(kind, ['-c', file]);
      try {
        return await scenario(s, async () => {
          const from = s.stderr().length;
          writeFileSync(file, after);
          s.proc.kill('SIGHUP');
          await reloaded(s, from);
        });
      } finally {
        await s.stop();
      }
    }),
  );
  if (results.length === 2) assert.deepEqual(results[1], results[0], `outcomes differ\n--- reference ---\n${JSON.stringify(results[0])}\n--- tsnats ---\n${JSON.stringify(results[1])}`);
  return results[0]!;
}

describe('reload: authorization', () => {
  it('subscriptions the new permissions refuse are removed, with the reference\'s -ERR and notice', async () => {
    const before = 'authorization { users = [ { user: u, password: p }, { user: pub, password: pub } ] }\n';
    const after =
      'authorization { users = [ { user: u, password: p, permissions: { subscribe: ["foo.>", "q grp"] } }, { user: pub, password: pub } ] }\n';
    const out = await onBothServers(before, after, async (s, reload) => {
      const u = await login(s.port, 'u', 'p');
      const p = await login(s.port, 'pub', 'pub');
      await flush(u, 'SUB foo.a 1\r\nSUB bar 2\r\nSUB q grp 3\r\nSUB q 4\r\n');
      const from = s.stderr().length;
      await reload();
      const errs = await observe(u);
      await flush(p, pub('bar', 'x') + pub('foo.a', 'y') + pub('q', 'z'));
      const msgs = (await observe(u)).split(/(?=^MSG )/m).sort();
      const notices = s
        .stderr()
        .slice(from)
        .split('\n')
        .filter((l) => l.includes('Removed sub'))
        .map((l) => l.replace(/^.*\[INF\] /, ''));
      u.close();
      p.close();
      return { errs: errs.split('\r\n').sort(), msgs, notices: notices.sort() };
    });
    assert.deepEqual(out.errs, [
      '',
      `-ERR 'Permissions Violation for Subscription to "bar" (sid "2")'`,
      `-ERR 'Permissions Violation for Subscription to "q" (sid "4")'`,
    ]);
    assert.deepEqual(out.notices, ['Removed sub "bar" (sid "2") for User "u" - not authorized', 'Removed sub "q" (sid "4") for User "u" - not authorized']);
  });

  it('a changed password: authorization violation; a removed user: disconnected; others untouched', async () => {
    const before = 'authorization { users = [ { user: a, password: x }, { user: b, password: y }, { user: c, password: z } ] }\n';
    const after = 'authorization { users = [ { user: a, password: new }, { user: c, password: z } ] }\n';
    const out = await onBothServers(before, after, async (s, reload) => {
      const a = await login(s.port, 'a', 'x');
      const b = await login(s.port, 'b', 'y');
      const c = await login(s.port, 'c', 'z');
      const from = s.stderr().length;
      await reload();
      const seen = { a: await observe(a), b: await observe(b), c: await observe(c) };
      await sleep(50);
      const log = problemLogLines(s.stderr().slice(from));
      for (const x of [a, b, c]) x.close();
      return { seen, log };
    });
    assert.deepEqual(out.seen, { a: "-ERR 'Authorization Violation'\r\n<closed>", b: '<closed>', c: '' });
  });

  it('a user moved to another account is disconnected', async () => {
    const before = 'accounts { A: { users: [ { user: u, password: p } ] }, B: {} }\n';
    const after = 'accounts { A: {}, B: { users: [ { user: u, password: p } ] } }\n';
    const out = await onBothServers(before, after, async (s, reload) => {
      const u = await login(s.port, 'u', 'p');
      await reload();
      const seen = await observe(u);
      u.close();
      return seen;
    });
    assert.equal(out, '<closed>');
  });
});
