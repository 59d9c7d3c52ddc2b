// A tsnats mirror and source of a stream in another JetStream domain across a
// leafnode, when the hub holding the origin goes away: the heartbeats stop,
// the mirror/source asks for a new consumer (server/stream.go retry rules),
// and once the hub is back on the same store it catches up with what was
// published meanwhile, without gaps or duplicates. With a tsnats hub and with
// nats-server 2.9.10 as the hub.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { api, jsPub, sleep, tempStoreDir, waitForValue } from '../helpers/jetstream.js';
import { freePort } from './cluster-helpers.js';

const waitFor = <T>(what: string, fn: () => Promise<T | null>, ms = 30_000): Promise<T> => waitForValue(what, fn, ms);

async function state(nc: NatsConnection, stream: string): Promise<Record<string, unknown>> {
  const si = await api(nc, `$JS.API.STREAM.INFO.${stream}`);
  return si.state as Record<string, unknown>;
}

for (const hubKind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`external mirror and source across a leafnode recover when the ${hubKind} hub comes back`, () => {
    it('catches up after the hub restarts, nothing twice', { timeout: 120_000 }, async () => {
      const lport = await freePort();
      const hubSd = tempStoreDir();
      const hubConf = writeConfig(`server_name: HUB\njetstream { store_dir: '${hubSd}', domain: HUB }\nleafnodes { host: 127.0.0.1, port: ${lport} }\n`);
      let hub: RunningServer = await startServer(hubKind, ['-c', hubConf]);
      const leaf = await startServer('tsnats', [
        '-c',
        writeConfig(`server_name: LEAF\njetstream { store_dir: '${tempStoreDir()}', domain: LEAF }\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${lport}" } ] }\n`),
      ]);
      let hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await api(hc, '$JS.API.STREAM.CREATE.ORIGIN', { name: 'ORIGIN', subjects: ['o.>'], storage: 'file' });
        for (let i = 1; i <= 20; i++) await jsPub(hc, `o.${i % 2}`, `a${i}`);
        await waitFor('the leaf connection', async () => ((await api(lc, '$JS.HUB.API.INFO')).domain === 'HUB' ? true : null));
        await api(lc, '$JS.API.STREAM.CREATE.M', { name: 'M', storage: 'file', mirror: { name: 'ORIGIN', external: { api: '$JS.HUB.API', deliver: '' } } });
        await api(lc, '$JS.API.STREAM.CREATE.S', { name: 'S', storage: 'file', sources: [{ name: 'ORIGIN', external: { api: '$JS.HUB.API', deliver: '' } }] });
        await waitFor('mirror 20', async () => ((await state(lc, 'M')).messages === 20 ? true : null));
        await waitFor('source 20', async () => ((await state(lc, 'S')).messages === 20 ? true : null));

        await hc.close();
        await hub.stop();
        // heartbeats stop: the leaf keeps serving its streams
        await sleep(4000);
        assert.equal((await state(lc, 'M')).messages, 20);
        hub = await startServer(hubKind, ['-c', hubConf]);
        hc = await connect({ servers: hub.url });
        for (let i = 21; i <= 35; i++) await jsPub(hc, `o.${i % 2}`, `a${i}`);
        await waitFor('mirror 35', async () => ((await state(lc, 'M')).last_seq === 35 ? true : null));
        await waitFor('source 35', async () => ((await state(lc, 'S')).messages === 35 ? true : null));
        await sleep(2500);
        const m = await state(lc, 'M');
        const s = await state(lc, 'S');
        assert.deepEqual({ messages: m.messages, first: m.first_seq, last: m.last_seq }, { messages: 35, first: 1, last: 35 });
        assert.deepEqual({ messages: s.messages, last: s.last_seq }, { messages: 35, last: 35 });
        const info = await api(lc, '$JS.API.STREAM.INFO.S');
        const src = (info.sources as Array<Record<string, unknown>>)[0];
        assert.equal(src.error, undefined);
        assert.equal(src.lag, 0);
        // the last sourced message names origin sequence 35
        const last = await api(lc, '$JS.API.STREAM.MSG.GET.S', { seq: 35 });
        const hdrs = Buffer.from(String((last.message as Record<string, unknown>).hdrs), 'base64').toString('latin1');
        assert.match(hdrs, /Nats-Stream-Source: ORIGIN:\w{8} 35\r\n/);
      } finally {
        await Promise.allSettled([hc.close(), lc.close()]);
        await leaf.stop();
        await hub.stop();
      }
    });
  });
}
