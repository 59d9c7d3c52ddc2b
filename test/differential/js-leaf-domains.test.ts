// JetStream across a leafnode with a domain on each side, in every pairing of
// tsnats and nats-server 2.9.10 (hub/leaf), the reference pairing run the same
// way so a broken expectation shows there first:
//  - `$JS.<domain>.API.>` requests reach the server of that domain from either
//    side; `$JS.API.>` stays local; `$JS.<domain>.API.$KV.>` is the bucket's
//    own subject;
//  - a KV bucket on the leaf mirroring a bucket of the hub's domain (the
//    nats.js test `kv - mirror cross domain`): the mirror follows the origin,
//    reads and writes through the mirror bucket, and the origin bucket used
//    from the leaf through the domain;
//  - a stream sourcing from the other domain, and the hub's log lines about
//    the domain mappings.
// Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { startServer, writeConfig, referenceOnly, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { api, jsPub, sleep, tempStoreDir, waitForValue } from '../helpers/jetstream.js';

const dec = new TextDecoder();

function leafPort(s: RunningServer): number {
  const m = /Listening for leafnode connections on \S+:(\d+)/.exec(s.stderr() + s.stdout());
  if (m === null) throw new Error(`no leafnode listener in the log of ${s.kind}`);
  return Number(m[1]);
}

const waitFor = waitForValue;

interface Pair {
  hub: RunningServer;
  leaf: RunningServer;
  hc: NatsConnection;
  lc: NatsConnection;
  close(): Promise<void>;
}

async function startPair(hubKind: ServerKind, leafKind: ServerKind): Promise<Pair> {
  const hub = await startServer(hubKind, ['-c', writeConfig(`server_name: HUB\njetstream { store_dir: '${tempStoreDir()}', domain: HUB }\nleafnodes { host: 127.0.0.1, port: -1 }\n`)]);
  const leaf = await startServer(leafKind, [
    '-c',
    writeConfig(`server_name: LEAF\njetstream { store_dir: '${tempStoreDir()}', domain: LEAF }\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${leafPort(hub)}" } ] }\n`),
  ]);
  const hc = await connect({ servers: hub.url });
  const lc = await connect({ servers: leaf.url });
  try {
    // the domain API of the other side answers once the leaf connection carries its interest
    await waitFor('the leaf connection', async () => ((await api(lc, '$JS.HUB.API.INFO')).domain === 'HUB' ? true : null));
    await waitFor('the hub side of the leaf connection', async () => ((await api(hc, '$JS.LEAF.API.INFO')).domain === 'LEAF' ? true : null));
  } catch (e) {
    // servers and connections left running kept the test file (and CI) from ever ending
    const tail = (s: RunningServer): string => (s.stderr() + s.stdout()).split('\n').slice(-15).join('\n');
    await Promise.allSettled([hc.close(), lc.close()]);
    await Promise.allSettled([leaf.stop(), hub.stop()]);
    throw new Error(`${(e as Error).message}\n--- ${hubKind} hub log:\n${tail(hub)}\n--- ${leafKind} leaf log:\n${tail(leaf)}`);
  }
  return {
    hub,
    leaf,
    hc,
    lc,
    async close() {
      await Promise.allSettled([hc.close(), lc.close()]);
      await leaf.stop();
      await hub.stop();
    },
  };
}

async function answer(nc: NatsConnection, subject: string, body: unknown = ''): Promise<unknown> {
  try {
    const r = await api(nc, subject, body);
    if (r.error !== undefined) return r.error;
    return { type: r.type, name: (r.config as Record<string, unknown> | undefined)?.name, domain: r.domain, messages: (r.state as Record<string, unknown> | undefined)?.messages };
  } catch (e) {
    return (e as Error).message.includes('503') || (e as Error).message.includes('no responders') ? 'no responders' : 'timeout';
  }
}

/** The domain API across the leaf connection, both ways. */
async function domainApi(p: Pair): Promise<Array<[string, unknown]>> {
  const steps: Array<[string, unknown]> = [];
  await api(p.hc, '$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h.>'], storage: 'memory' });
  await api(p.lc, '$JS.API.STREAM.CREATE.L', { name: 'L', subjects: ['l.>'], storage: 'memory' });
  await jsPub(p.hc, 'h.1', 'x');
  steps.push(['hub asks the leaf domain', await answer(p.hc, '$JS.LEAF.API.STREAM.INFO.L')]);
  steps.push(['leaf asks the hub domain', await answer(p.lc, '$JS.HUB.API.STREAM.INFO.H')]);
  steps.push(['hub asks its own domain', await answer(p.hc, '$JS.HUB.API.STREAM.INFO.H')]);
  steps.push(['$JS.API stays local (hub)', await answer(p.hc, '$JS.API.STREAM.INFO.L')]);
  steps.push(['$JS.API stays local (leaf)', await answer(p.lc, '$JS.API.STREAM.INFO.H')]);
  steps.push(['create on the hub from the leaf', await answer(p.lc, '$JS.HUB.API.STREAM.CREATE.FROMLEAF', { name: 'FROMLEAF', subjects: ['fl'], storage: 'memory' })]);
  steps.push(['hub sees it', await answer(p.hc, '$JS.API.STREAM.INFO.FROMLEAF')]);
  // $JS.<domain>.API.$KV.> reaches the bucket's subjects of that domain
  await api(p.hc, '$JS.API.STREAM.CREATE.KV_B', { name: 'KV_B', subjects: ['$KV.B.>'], storage: 'memory', max_msgs_per_subject: 1, allow_rollup_hdrs: true });
  const ack = await api(p.lc, '$JS.HUB.API.$KV.B.k', 'v');
  steps.push(['kv put through the domain', ack]);
  steps.push(['unknown domain', await answer(p.hc, '$JS.NOPE.API.INFO')]);
  return steps;
}

function entry(e: KvEntry | null): unknown {
  return e === null ? null : { key: e.key, value: dec.decode(e.value), op: e.operation, revision: e.revision };
}

/** nats.js kv_test.ts "kv - mirror cross domain", as steps. */
async function kvMirror(p: Pair): Promise<Array<[string, unknown]>> {
  const steps: Array<[string, unknown]> = [];
  const js = jetstream(p.hc);
  const kv = await new Kvm(js).create('TEST');
  await kv.put('name', 'derek');
  await kv.put('age', '22');
  await kv.put('v', 'v');
  await kv.delete('v');

  const ljs = jetstream(p.lc);
  await new Kvm(ljs).create('MIRROR', { mirror: { name: 'TEST', domain: 'HUB' } });
  const ljsm = await jetstreamManager(p.lc);
  let si = await ljsm.streams.info('KV_MIRROR');
  steps.push(['mirror config', { mirror: si.config.mirror, mirror_direct: si.config.mirror_direct, allow_direct: si.config.allow_direct }]);
  si = await waitFor('the mirror to catch up', async () => {
    const x = await ljsm.streams.info('KV_MIRROR');
    return x.state.messages === 3 ? x : null;
  });
  steps.push(['mirror state', { messages: si.state.messages, first_seq: si.state.first_seq, last_seq: si.state.last_seq }]);
  steps.push(['mirror info', { name: si.mirror?.name, external: (si.mirror as unknown as Record<string, unknown> | undefined)?.external, lag: si.mirror?.lag, heard: (si.mirror?.active ?? -1) >= 0 }]);

  async function exercise(b: KV, name: string): Promise<unknown[]> {
    const out: unknown[] = [];
    const hist: string[] = [];
    for await (const e of await b.history()) hist.push(`${e.key}:${e.operation}`);
    out.push(hist.sort());
    out.push(entry(await b.get('name')));
    await b.put('name', name);
    out.push(entry(await waitFor(`name=${name}`, async () => {
      const e = await b.get('name');
      return e !== null && dec.decode(e.value) === name ? e : null;
    })));
    await b.put('v', 'v');
    await b.delete('v');
    const keys: string[] = [];
    for await (const k of await b.keys()) keys.push(k);
    out.push(keys.sort());
    return out;
  }

  const mkv = await new Kvm(ljs).create('MIRROR');
  steps.push(['through the mirror bucket', await exercise(mkv, 'rip')]);
  // the write went to the origin: the hub has it
  steps.push(['hub after the mirror write', entry(await kv.get('name'))]);

  // the origin bucket used from the leaf through its domain
  const rjs = jetstream(p.lc, { domain: 'HUB' });
  const rkv = await new Kvm(rjs).create('TEST');
  steps.push(['through the origin bucket', await exercise(rkv, 'ivan')]);
  const last = await waitFor('the mirror to follow', async () => {
    const x = await ljsm.streams.info('KV_MIRROR');
    return x.state.last_seq === 10 ? x : null;
  });
  steps.push(['mirror followed', { messages: last.state.messages, last_seq: last.state.last_seq }]);

  // a stream on the hub sourcing from the leaf's domain
  await api(p.lc, '$JS.API.STREAM.CREATE.LS', { name: 'LS', subjects: ['ls.>'], storage: 'file' });
  for (let i = 0; i < 25; i++) await jsPub(p.lc, `ls.${i % 3}`, `n${i}`);
  await api(p.hc, '$JS.API.STREAM.CREATE.AGG', { name: 'AGG', storage: 'file', sources: [{ name: 'LS', external: { api: '$JS.LEAF.API', deliver: '' } }] });
  const agg = await waitFor('the source', async () => {
    const x = await api(p.hc, '$JS.API.STREAM.INFO.AGG');
    return (x.state as Record<string, unknown>).messages === 25 ? x : null;
  });
  const src = (agg.sources as Array<Record<string, unknown>>)[0];
  steps.push(['source from the leaf domain', { name: src.name, external: src.external, lag: src.lag, error: src.error }]);
  const m = await api(p.hc, '$JS.API.STREAM.MSG.GET.AGG', { seq: 25 });
  const hdrs = Buffer.from(String((m.message as Record<string, unknown>).hdrs), 'base64').toString('latin1');
  steps.push(['source header', /Nats-Stream-Source: (\S+ \d+)/.exec(hdrs)?.[1]]);
  return steps;
}

const PAIRS: Array<[ServerKind, ServerKind]> = [
  ['tsnats', 'tsnats'],
  ['reference', 'tsnats'],
  ['tsnats', 'reference'],
];

async function run(fn: (p: Pair) => Promise<Array<[string, unknown]>>, hub: ServerKind, leaf: ServerKind): Promise<Array<[string, unknown]>> {
  const p = await startPair(hub, leaf);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

describe('JetStream domains across a leafnode', () => {
  let refApi: Array<[string, unknown]> | null = null;
  let refKv: Array<[string, unknown]> | null = null;

  it('reference hub and leaf (the expectations)', { timeout: 120_000 }, async () => {
    refApi = await run(domainApi, 'reference', 'reference');
    refKv = await run(kvMirror, 'reference', 'reference');
    assert.deepEqual(refApi[0], ['hub asks the leaf domain', { type: 'io.nats.jetstream.api.v1.stream_info_response', name: 'L', domain: 'LEAF', messages: 0 }]);
  });

  for (const [hub, leaf] of PAIRS) {
    const name = referenceOnly() ? 'reference' : `${hub} hub, ${leaf} leaf`;
    it(`${name}: domain API both ways, KV mirror across domains, source from the other domain`, { timeout: 180_000 }, async () => {
      assert.ok(refApi !== null && refKv !== null, 'the reference run failed');
      const h = referenceOnly() ? 'reference' : hub;
      const l = referenceOnly() ? 'reference' : leaf;
      const a = await run(domainApi, h, l);
      for (let i = 0; i < Math.max(a.length, refApi.length); i++) assert.deepEqual(a[i], refApi[i], `step ${refApi[i]?.[0]}`);
      const k = await run(kvMirror, h, l);
      for (let i = 0; i < Math.max(k.length, refKv.length); i++) assert.deepEqual(k[i], refKv[i], `step ${refKv[i]?.[0]}`);
    });
  }

  it('tsnats hub logs the domain mappings and the outgoing deny as the reference does', { timeout: 60_000 }, async () => {
    const grab = (s: RunningServer): string[] =>
      (s.stderr() + s.stdout())
        .split('\n')
        .filter((l) => /Domain Mapping|adding deny|Adding deny/.test(l))
        .map((l) => l.replace(/^.*\[INF\] [\d.:]+ - lid:\d+ - /, ''))
        .sort();
    const r = await startPair('reference', 'reference');
    const rl = grab(r.hub);
    await r.close();
    const t = await startPair(referenceOnly() ? 'reference' : 'tsnats', 'reference');
    const tl = grab(t.hub);
    await t.close();
    // (startPair stops its servers itself when the leaf connection never carries the API)
    assert.equal(rl.length, 11);
    assert.deepEqual(tl, rl);
  });
});
