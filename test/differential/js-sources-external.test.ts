// Mirrors and sources with `external: { api, deliver }` against nats-server
// 2.9.10: an origin stream in another account reached through service
// imports of `$JS.API.CONSUMER.>` and a stream import of the deliver prefix
// (server/jetstream_helpers_test.go jsClusterMirrorSourceImportsTempl, on
// one server), and an origin in the same account named through an imported
// API prefix. Both servers run the same steps; what the client sees (stream
// state, mirror/source info, stored headers) must agree. Fails (never
// skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer, writeConfig, referenceOnly, type ServerKind } from '../helpers/servers.js';
import { api, jsPub, maskJs, sleep, tempStoreDir, type Step, waitForValue } from '../helpers/jetstream.js';

const CROSS_ACCOUNT = (sd: string): string => `
jetstream { store_dir: '${sd}' }
no_auth_user: dlc
accounts {
  JS {
    jetstream: enabled
    users = [ { user: "rip", pass: "pass" } ]
    exports [
      { service: "$JS.API.CONSUMER.>" }
      { stream: "RI.DELIVER.SYNC.>" }
      { service: "$JS.FC.>" }
    ]
  }
  IA {
    jetstream: enabled
    users = [ { user: "dlc", pass: "pass" } ]
    imports [
      { service: { account: JS, subject: "$JS.API.CONSUMER.>"}, to: "RI.JS.API.CONSUMER.>" }
      { stream: { account: JS, subject: "RI.DELIVER.SYNC.>"} }
      { service: { account: JS, subject: "$JS.FC.>" }}
    ]
  }
  $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
}
`;

/**
 * Two accounts, the importer's prefixes chosen otherwise: the whole API under
 * one prefix, deliveries under another. (An origin in the same account under
 * an API prefix is not served by the reference: its internal clients' requests
 * are not subject to account mappings, and an import from oneself is refused.)
 */
const SAME_SERVER = (sd: string): string => `
jetstream { store_dir: '${sd}' }
accounts {
  A {
    jetstream: enabled
    users = [ { user: "a", pass: "a" } ]
    exports [ { service: "$JS.API.>" }, { stream: "dlv.>" }, { service: "$JS.FC.>" } ]
  }
  B {
    jetstream: enabled
    users = [ { user: "b", pass: "b" } ]
    imports [
      { service: { account: A, subject: "$JS.API.>" }, to: "A.API.>" }
      { stream: { account: A, subject: "dlv.>" } }
      { service: { account: A, subject: "$JS.FC.>" } }
    ]
  }
}
`;

const waitFor = waitForValue;

async function waitMsgs(nc: NatsConnection, stream: string, n: number): Promise<Record<string, unknown>> {
  return waitFor(`${stream} to hold ${n} messages`, async () => {
    const si = await api(nc, `$JS.API.STREAM.INFO.${stream}`);
    const st = si.state as Record<string, unknown> | undefined;
    return st !== undefined && st.messages === n ? si : null;
  });
}

/** mirror/sources info as compared: active (ns since last heard) only as never (-1) or heard */
function activeMasked(x: Record<string, unknown>): Record<string, unknown> {
  return { ...x, active: x.active === -1 ? -1 : typeof x.active === 'number' && x.active >= 0 ? '<heard>' : x.active };
}

function sourceView(si: Record<string, unknown>): unknown {
  const o: Record<string, unknown> = {};
  if (si.mirror !== undefined) o.mirror = activeMasked(si.mirror as Record<string, unknown>);
  // the reference lists sources from a map: in no fixed order
  if (si.sources !== undefined) o.sources = (si.sources as Array<Record<string, unknown>>).map(activeMasked).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return o;
}

function stateView(si: Record<string, unknown>): unknown {
  const st = si.state as Record<string, unknown>;
  return { messages: st.messages, first_seq: st.first_seq, last_seq: st.last_seq, num_deleted: st.num_deleted, consumer_count: st.consumer_count };
}

async function msgGet(nc: NatsConnection, stream: string, seq: number): Promise<unknown> {
  const r = await api(nc, `$JS.API.STREAM.MSG.GET.${stream}`, { seq });
  const m = r.message as Record<string, unknown> | undefined;
  if (m === undefined) return r;
  const hdrs = typeof m.hdrs === 'string' ? Buffer.from(m.hdrs, 'base64').toString('latin1') : '';
  return { subject: m.subject, seq: m.seq, hdrs, data: Buffer.from(String(m.data ?? ''), 'base64').toString() };
}

async function crossAccount(kind: ServerKind): Promise<Step[]> {
  const sd = tempStoreDir();
  const srv = await startServer(kind, ['-c', writeConfig(CROSS_ACCOUNT(sd))]);
  const steps: Step[] = [];
  const ri = await connect({ servers: srv.url, user: 'rip', pass: 'pass' });
  const ia = await connect({ servers: srv.url });
  try {
    steps.push(['origin', (await api(ri, '$JS.API.STREAM.CREATE.TEST', { name: 'TEST', subjects: ['TEST', 'TEST.>'], storage: 'memory' })).error ?? 'ok']);
    await api(ri, '$JS.API.STREAM.CREATE.TEST2', { name: 'TEST2', subjects: ['T2.>'], storage: 'file' });
    for (let i = 1; i <= 300; i++) {
      await jsPub(ri, 'TEST', `m${i}`, i % 10 === 0 ? { 'X-I': String(i) } : undefined);
      await jsPub(ri, i % 3 === 0 ? 'T2.three' : 'T2.other', `t${i}`);
    }
    const mc = await api(ia, '$JS.API.STREAM.CREATE.MY_MIRROR', {
      name: 'MY_MIRROR',
      storage: 'memory',
      mirror: { name: 'TEST', external: { api: 'RI.JS.API', deliver: 'RI.DELIVER.SYNC.MIRRORS' } },
    });
    steps.push(['mirror create', mc.error ?? maskJs(mc.config)]);
    const sc = await api(ia, '$JS.API.STREAM.CREATE.MY_SOURCE', {
      name: 'MY_SOURCE',
      storage: 'file',
      sources: [
        { name: 'TEST', external: { api: 'RI.JS.API', deliver: 'RI.DELIVER.SYNC.SOURCES' } },
        { name: 'TEST2', filter_subject: 'T2.three', external: { api: 'RI.JS.API', deliver: 'RI.DELIVER.SYNC.FILTERED' } },
      ],
    });
    steps.push(['source create', sc.error ?? 'ok']);
    let mi = await waitMsgs(ia, 'MY_MIRROR', 300);
    steps.push(['mirror state', stateView(mi)]);
    steps.push(['mirror info', sourceView(mi)]);
    steps.push(['mirror msg 10', await msgGet(ia, 'MY_MIRROR', 10)]);
    // both sources: 300 + the 100 on TEST.three
    let si = await waitMsgs(ia, 'MY_SOURCE', 400);
    steps.push(['source state', stateView(si)]);
    steps.push(['source info', sourceView(si)]);
    // The first source's header carries the origin sequence under the index name (name:hash of the api prefix).
    // (The two sources interleave as their consumers deliver: the tenth message on TEST, not sequence 10.)
    const first = (await api(ia, '$JS.API.STREAM.MSG.GET.MY_SOURCE', { seq: 1, next_by_subj: 'TEST' })).message as { seq: number };
    let hdr = (await msgGet(ia, 'MY_SOURCE', first.seq)) as { hdrs: string };
    for (let i = 1; i < 10; i++) {
      const next = (await api(ia, '$JS.API.STREAM.MSG.GET.MY_SOURCE', { seq: (hdr as unknown as { seq: number }).seq + 1, next_by_subj: 'TEST' })).message as { seq: number };
      hdr = (await msgGet(ia, 'MY_SOURCE', next.seq)) as { hdrs: string };
    }
    steps.push(['source header', /Nats-Stream-Source: (\S+ \d+)/.exec(hdr.hdrs)?.[1] ?? hdr]);

    // Later messages follow.
    for (let i = 301; i <= 320; i++) await jsPub(ri, 'TEST', `m${i}`);
    mi = await waitFor('mirror last_seq 320', async () => {
      const x = await api(ia, '$JS.API.STREAM.INFO.MY_MIRROR');
      return (x.state as Record<string, unknown>).last_seq === 320 ? x : null;
    });
    steps.push(['mirror after more', (mi.state as Record<string, unknown>).last_seq]);
    si = await waitMsgs(ia, 'MY_SOURCE', 420);
    steps.push(['source after more', (si.state as Record<string, unknown>).messages]);
    // The origin lists no consumer for the mirror and sources (direct consumers).
    const names = await api(ri, '$JS.API.CONSUMER.NAMES.TEST');
    steps.push(['origin consumer names', names.consumers]);

    // A source whose origin does not exist: the consumer create error is reported.
    await api(ia, '$JS.API.STREAM.CREATE.BAD', { name: 'BAD', storage: 'memory', sources: [{ name: 'NOPE', external: { api: 'RI.JS.API', deliver: 'RI.DELIVER.SYNC.BAD' } }] });
    const bad = await waitFor('source error', async () => {
      const x = await api(ia, '$JS.API.STREAM.INFO.BAD');
      const s = (x.sources as Array<Record<string, unknown>> | undefined)?.[0];
      return s?.error !== undefined ? s : null;
    });
    steps.push(['missing origin', activeMasked(bad)]);
  } finally {
    await ri.close();
    await ia.close();
    await srv.stop();
  }
  return steps;
}

/** A file-backed external source across a restart: it resumes after the last origin sequence it stored, nothing twice. */
async function restart(kind: ServerKind): Promise<Step[]> {
  const sd = tempStoreDir();
  const conf = writeConfig(CROSS_ACCOUNT(sd));
  let srv = await startServer(kind, ['-c', conf]);
  const steps: Step[] = [];
  let ri = await connect({ servers: srv.url, user: 'rip', pass: 'pass' });
  let ia = await connect({ servers: srv.url });
  try {
    await api(ri, '$JS.API.STREAM.CREATE.ORIG', { name: 'ORIG', subjects: ['orig.>'], storage: 'file' });
    for (let i = 1; i <= 40; i++) await jsPub(ri, `orig.${i % 4}`, `a${i}`);
    await api(ia, '$JS.API.STREAM.CREATE.COPY', {
      name: 'COPY',
      storage: 'file',
      subjects: ['copy.>'],
      sources: [{ name: 'ORIG', external: { api: 'RI.JS.API', deliver: 'RI.DELIVER.SYNC.R' } }],
    });
    await waitMsgs(ia, 'COPY', 40);
    await jsPub(ia, 'copy.own', 'own');
    await ri.close();
    await ia.close();
    await srv.stop();
    srv = await startServer(kind, ['-c', conf]);
    ri = await connect({ servers: srv.url, user: 'rip', pass: 'pass' });
    ia = await connect({ servers: srv.url });
    for (let i = 41; i <= 50; i++) await jsPub(ri, `orig.${i % 4}`, `a${i}`);
    const si = await waitMsgs(ia, 'COPY', 51);
    steps.push(['after restart', stateView(si)]);
    await sleep(1500);
    const again = await api(ia, '$JS.API.STREAM.INFO.COPY');
    steps.push(['nothing sourced twice', stateView(again)]);
    steps.push(['last header', ((await msgGet(ia, 'COPY', 51)) as { hdrs: string }).hdrs.replace(/^[\s\S]*Nats-Stream-Source: (\S+ \d+)[\s\S]*$/, '$1')]);
  } finally {
    await ri.close();
    await ia.close();
    await srv.stop();
  }
  return steps;
}

async function sameAccount(kind: ServerKind): Promise<Step[]> {
  const sd = tempStoreDir();
  const srv = await startServer(kind, ['-c', writeConfig(SAME_SERVER(sd))]);
  const steps: Step[] = [];
  const oc = await connect({ servers: srv.url, user: 'a', pass: 'a' });
  const nc = await connect({ servers: srv.url, user: 'b', pass: 'b' });
  try {
    await api(oc, '$JS.API.STREAM.CREATE.ORIGIN', { name: 'ORIGIN', subjects: ['o.>'], storage: 'memory' });
    for (let i = 1; i <= 50; i++) await jsPub(oc, `o.${i % 5}`, `v${i}`);
    // The importer reaches the origin's API under its prefix.
    const oi = await api(nc, 'A.API.STREAM.INFO.ORIGIN');
    steps.push(['origin info through the import', stateView(oi)]);
    // a mirror and a source through the API prefix, not the store (streams - mirrors in nats.js does the same with a domain)
    const m = await api(nc, '$JS.API.STREAM.CREATE.M', { name: 'M', storage: 'memory', mirror: { name: 'ORIGIN', opt_start_seq: 11, external: { api: 'A.API', deliver: 'dlv.m' } } });
    steps.push(['mirror create', m.error ?? maskJs(m.mirror ?? 'none')]);
    const s = await api(nc, '$JS.API.STREAM.CREATE.S', {
      name: 'S',
      storage: 'memory',
      subjects: ['s.>'],
      sources: [{ name: 'ORIGIN', filter_subject: 'o.1', external: { api: 'A.API', deliver: 'dlv' } }],
    });
    steps.push(['source create', s.error ?? 'ok']);
    const mi = await waitMsgs(nc, 'M', 40);
    steps.push(['mirror state', stateView(mi)]);
    steps.push(['mirror info', sourceView(mi)]);
    const si = await waitMsgs(nc, 'S', 10);
    steps.push(['source info', sourceView(si)]);
    steps.push(['source msg', await msgGet(nc, 'S', 1)]);
    await jsPub(nc, 's.own', 'own');
    await jsPub(oc, 'o.1', 'late');
    const si2 = await waitMsgs(nc, 'S', 12);
    steps.push(['source state', stateView(si2)]);
    // purge of the origin: the mirror goes on from where the origin is
    await api(oc, '$JS.API.STREAM.PURGE.ORIGIN', {});
    await jsPub(oc, 'o.2', 'after purge');
    const mi2 = await waitFor('mirror last 52', async () => {
      const x = await api(nc, '$JS.API.STREAM.INFO.M');
      return (x.state as Record<string, unknown>).last_seq === 52 ? x : null;
    });
    steps.push(['mirror after purge', stateView(mi2)]);
    // A local (not external) mirror of a stream that does not exist reports the reference's error too.
    await api(nc, '$JS.API.STREAM.CREATE.LM', { name: 'LM', storage: 'memory', mirror: { name: 'NOPE' } });
    const lm = await waitFor('local mirror error', async () => {
      const x = await api(nc, '$JS.API.STREAM.INFO.LM');
      const m = x.mirror as Record<string, unknown> | undefined;
      return m?.error !== undefined ? m : null;
    });
    steps.push(['missing local origin', activeMasked(lm)]);
    // Update that drops the source: info no longer lists it
    const u = await api(nc, '$JS.API.STREAM.UPDATE.S', { name: 'S', storage: 'memory', subjects: ['s.>'] });
    steps.push(['source removed', u.error ?? (u.sources === undefined ? 'no sources' : u.sources)]);
  } finally {
    await oc.close();
    await nc.close();
    await srv.stop();
  }
  return steps;
}

async function compare(fn: (k: ServerKind) => Promise<Step[]>): Promise<void> {
  const r = await fn('reference');
  const t = await fn(referenceOnly() ? 'reference' : 'tsnats');
  for (let i = 0; i < Math.max(r.length, t.length); i++) assert.deepEqual(t[i], r[i], `step ${r[i]?.[0] ?? t[i]?.[0]}`);
}

describe('JetStream external mirrors and sources (differential)', () => {
  it('cross-account mirror and sources through imports of $JS.API.CONSUMER.> and the deliver prefix', { timeout: 120_000 }, async () => {
    await compare(crossAccount);
  });

  it('a file-backed cross-account source resumes after a restart without duplicates', { timeout: 120_000 }, async () => {
    await compare(restart);
  });

  it('another account under other prefixes: mirror with start sequence, filtered source, origin purge, source removed', { timeout: 120_000 }, async () => {
    await compare(sameAccount);
  });
});

