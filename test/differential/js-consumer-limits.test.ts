// Differential test: the server's jetstream { limits { max_request_batch,
// max_ack_pending } } as consumer defaults and checks, and an account's
// max_ack_pending, on tsnats and nats-server 2.9.10.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeConfig } from '../helpers/servers.js';
import { api, startBothJs, stopJs, compareSteps, type JsServer } from '../helpers/jetstream.js';

let ref: JsServer | undefined;
let ts: JsServer | undefined;

before(async () => {
  const conf = writeConfig('jetstream {\n  limits {\n    max_request_batch: 5\n    max_ack_pending: 50\n  }\n}\n');
  [ref, ts] = await startBothJs(['-c', conf]);
});
after(async () => {
  await stopJs(ref);
  await stopJs(ts);
});

const C = (config: Record<string, unknown>): Record<string, unknown> => ({ stream_name: 'LIM', config });

describe('consumer limits from the server config', () => {
  it('defaults and errors', async () => {
    const r = await compareSteps(ref!, ts!, async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.LIM', { name: 'LIM', subjects: ['lim'], storage: 'memory' });
      step('defaults', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.LIM.A', C({ durable_name: 'A', ack_policy: 'explicit' })));
      step('batch over', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.LIM.B', C({ durable_name: 'B', ack_policy: 'explicit', max_batch: 6 })));
      step('ack pending over', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.LIM.B', C({ durable_name: 'B', ack_policy: 'explicit', max_ack_pending: 100 })));
      step('push default', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.LIM.P', C({ durable_name: 'P', ack_policy: 'explicit', deliver_subject: 'lim.p' })));
      await api(nc, '$JS.API.STREAM.DELETE.LIM');
    });
    // the limits did apply (on the reference as on tsnats)
    assert.match(JSON.stringify(r[1][1]), /server limit of 5/);
    assert.match(JSON.stringify(r[0][1]), /"max_ack_pending":50/);
  });
});
