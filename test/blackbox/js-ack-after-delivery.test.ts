// A publish to a stream with a push consumer: the consumer's delivery leaves
// before the publisher's ack. A publisher that reads back through a consumer
// once acked (a mirror on a leaf, a KV watcher) then finds the message there;
// the reference's consumer goroutine races the ack, tsnats sends them in order
// (nats.js "kv - mirror cross domain" lost that race on tsnats and ran twice).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { startJs, stopJs, api } from '../helpers/jetstream.js';

for (const storage of ['file', 'memory']) {
  describe(`JetStream: a push delivery goes out before the publisher's ack (${storage})`, () => {
    it('the MSG to the deliver subject precedes the ack on the same connection', async () => {
      const s = await startJs('tsnats');
      const rc = await rawConnect(s.server.port);
      try {
        await api(s.nc, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s.>'], storage });
        await api(s.nc, '$JS.API.CONSUMER.DURABLE.CREATE.S.D', { stream_name: 'S', config: { durable_name: 'D', deliver_subject: 'dlv', ack_policy: 'none' } });
        await rc.readUntil('\r\n');
        await rc.send('CONNECT {"verbose":false}\r\nSUB dlv 1\r\nSUB ack 2\r\nPING\r\n');
        await rc.readUntil('PONG\r\n');
        for (let i = 1; i <= 3; i++) {
          await rc.send(`PUB s.${i} ack 1\r\nx\r\n`);
          const text = await rc.readUntil(/MSG ack 2 \d+\r\n[^\r]*\r\n/);
          const d = text.indexOf(`MSG s.${i} 1 `);
          assert.ok(d !== -1, `delivery ${i} before its ack: ${JSON.stringify(text)}`);
          assert.ok(d < text.indexOf('MSG ack 2 '));
        }
      } finally {
        rc.close();
        await stopJs(s);
      }
    });
  });
}
