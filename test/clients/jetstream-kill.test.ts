// A server killed (SIGKILL, no shutdown) right after JetStream answered must
// still know what it answered about, as nats-server 2.9.10 does (the nats.js
// suite's test servers are always stopped that way): consumers made just
// before the kill exist after the restart and resume delivering.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInbox } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { onBoth, within } from './dual.js';

describe('jetstream after SIGKILL (official client)', () => {
  it('consumers created just before the kill survive it; a push consumer delivers what was published after the restart', async () => {
    const r = await onBoth(
      async (t) => {
        let nc = await t.connect();
        let jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'S', subjects: ['s'] });
        await jetstream(nc).publish('s', 'a');
        const inbox = createInbox();
        await jsm.consumers.add('S', { durable_name: 'push', ack_policy: AckPolicy.Explicit, deliver_subject: inbox });
        await jsm.consumers.add('S', { durable_name: 'pull', ack_policy: AckPolicy.Explicit });
        await nc.close();
        await t.stop('SIGKILL');
        await t.start();
        nc = await t.connect();
        jsm = await jetstreamManager(nc);
        const names: string[] = [];
        for await (const ci of jsm.consumers.list('S')) names.push(ci.name);
        const got: number[] = [];
        const done = new Promise<void>((res) => {
          nc.subscribe(inbox, {
            callback: (_e, m) => {
              got.push(Number(m.reply?.split('.')[5]));
              m.respond();
              if (got.includes(2)) res();
            },
          });
        });
        await jetstream(nc).publish('s', 'b');
        await within(done, 'the message published after the restart');
        return { names: names.sort(), got: [...new Set(got)].sort() };
      },
      { jetstream: true },
    );
    assert.deepEqual(r, { names: ['pull', 'push'], got: [1, 2] });
  });

  it('ephemeral consumers of a file stream survive the kill (mem_storage ones do not); a KV watcher resumes after it', async () => {
    const r = await onBoth(
      async (t) => {
        let nc = await t.connect();
        let jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'E', subjects: ['e'] });
        const pull = await jsm.consumers.add('E', { ack_policy: AckPolicy.Explicit, inactive_threshold: 60_000_000_000 });
        const mem = await jsm.consumers.add('E', { ack_policy: AckPolicy.Explicit, inactive_threshold: 60_000_000_000, mem_storage: true });
        const named = await jsm.consumers.add('E', { name: 'named', ack_policy: AckPolicy.None, inactive_threshold: 60_000_000_000 });
        await jetstream(nc).publish('e', 'x');
        await nc.close();
        // the nats.js suite's kv - watcher on server restart: the watcher's
        // ephemeral push consumer must still be there when the client comes back
        const wc = await t.connect({ reconnectTimeWait: 100, maxReconnectAttempts: -1 });
        const kv = await new Kvm(wc).create('A');
        const iter = await kv.watch();
        const first = (async () => {
          for await (const e of iter) return { key: e.key, value: e.string() };
          return null;
        })();
        await wc.flush();
        await t.stop('SIGKILL');
        await t.start();
        let put = false;
        for (let i = 0; i < 40 && !put; i++) {
          put = await kv.put('hello', 'world').then(
            () => true,
            () => new Promise<boolean>((res) => setTimeout(() => res(false), 250)),
          );
        }
        const seen = await within(first, 'the watcher to see the put after the restart');
        nc = await t.connect();
        jsm = await jetstreamManager(nc);
        const infos = new Map<string, { pending: number; durable: boolean }>();
        for await (const ci of jsm.consumers.list('E')) infos.set(ci.name, { pending: ci.num_pending, durable: ci.config.durable_name !== undefined });
        return {
          seen,
          pull: infos.get(pull.name) ?? null,
          mem: infos.get(mem.name) ?? null,
          named: infos.get(named.name) ?? null,
          count: infos.size,
        };
      },
      { jetstream: true },
    );
    assert.deepEqual(r, {
      seen: { key: 'hello', value: 'world' },
      pull: { pending: 1, durable: false },
      mem: null,
      named: { pending: 1, durable: false },
      count: 2,
    });
  });
});
