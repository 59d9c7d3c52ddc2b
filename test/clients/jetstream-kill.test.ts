// A server killed (SIGKILL, no shutdown) right after JetStream answered must
// still know what it answered about, as nats-server 2.9.10 does (the nats.js
// suite's test servers are always stopped that way): consumers made just
// before the kill exist after the restart and resume delivering.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInbox } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
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
});
