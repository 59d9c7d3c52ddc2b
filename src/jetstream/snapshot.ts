// Stream snapshots and restores ($JS.API.STREAM.SNAPSHOT / RESTORE), with
// the reference's exchange (server/jetstream_api.go jsStreamSnapshotRequest,
// streamSnapshot, jsStreamRestoreRequest, processStreamRestore): the
// snapshot answers {config, state} and then sends chunks to the deliver
// subject, each with an ack subject that paces the sender, and an empty
// message at the end; a restore answers a deliver subject, takes chunks
// (each acknowledged with an empty reply) until an empty one, and answers
// that last one with the new stream's info.
//
// The bytes are tsnats' own format (a gzip of framed records: a JSON head
// with the config, state and consumers, then every message), so a snapshot
// of tsnats restores into tsnats; the reference's snapshots (an s2 tar of
// its file store) are not readable here, nor ours there.

import { gzipSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { JsApi, ApiRequest } from './api.js';
import { isEmptyRequest } from './api.js';
import type { Stream } from './stream.js';
import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import { checkStreamConfig, decodeStreamConfig, streamConfigJSON } from './stream-config.js';
import { isValidSubject } from '../subjects/validate.js';
import type { ConsumerState } from './store/types.js';
import { friendlyBytes } from './banner.js';

const MAGIC = Buffer.from('TSNATS-SNAPSHOT-1\n');
const DEFAULT_CHUNK = 128 * 1024;
/** bytes in flight before the sender waits for acks (server/jetstream_api.go defaultSnapshotWindowSize) */
const WINDOW = 8 * 1024 * 1024;
const RESTORE_IDLE_MS = 5000;
/** a restore answer always carries deliver_subject (no omitempty in the reference) */
const NO_DELIVER = { deliver_subject: '' };

const T_SNAPSHOT = 'io.nats.jetstream.api.v1.stream_snapshot_response';
const T_RESTORE = 'io.nats.jetstream.api.v1.stream_restore_response';
const T_CREATE = 'io.nats.jetstream.api.v1.stream_create_response';

interface ConsumerDump {
  name: string;
  config: string | null;
  state: {
    delivered: { consumer_seq: number; stream_seq: number };
    ack_floor: { consumer_seq: number; stream_seq: number };
    pending: Array<[number, number, number]>;
    redelivered: Array<[number, number]>;
  } | null;
}

function nuid(): string {
  return randomBytes(11).toString('hex').toUpperCase();
}

/** The stream's bytes in the snapshot format. */
export function encodeSnapshot(s: Stream, withConsumers: boolean): Buffer {
  const consumers: ConsumerDump[] = [];
  if (withConsumers) {
    for (const name of s.store.consumerNames()) {
      const cs = s.store.consumerStore(name);
      const st = cs.state();
      consumers.push({
        name,
        config: cs.getConfig(),
        state:
          st === null
            ? null
            : {
                delivered: { consumer_seq: st.delivered.consumerSeq, stream_seq: st.delivered.streamSeq },
                ack_floor: { consumer_seq: st.ackFloor.consumerSeq, stream_seq: st.ackFloor.streamSeq },
                pending: [...st.pending].map(([k, v]) => [k, v.sequence, v.ts]),
                redelivered: [...st.redelivered],
              },
      });
    }
  }
  const st = s.store.state();
  const head = Buffer.from(
    JSON.stringify({ config: streamConfigJSON(s.cfg), created: s.created, first_seq: st.firstSeq, last_seq: st.lastSeq, consumers }) + '\n',
  );
  const parts: Buffer[] = [MAGIC, head];
  for (let seq = st.firstSeq; seq > 0; ) {
    const m = s.store.loadNextMsg('', seq);
    if (m === null) break;
    const subj = Buffer.from(m.subject, 'latin1');
    const hdr = m.hdr ?? Buffer.alloc(0);
    const fixed = Buffer.allocUnsafe(28);
    fixed.writeUInt32BE(subj.length, 0);
    fixed.writeUInt32BE(hdr.length, 4);
    fixed.writeUInt32BE(m.data.length, 8);
    fixed.writeDoubleBE(m.seq, 12);
    fixed.writeDoubleBE(m.ts, 20);
    parts.push(fixed, subj, hdr, m.data);
    seq = m.seq + 1;
  }
  return gzipSync(Buffer.concat(parts));
}

interface DecodedSnapshot {
  config: Record<string, unknown>;
  firstSeq: number;
  lastSeq: number;
  consumers: ConsumerDump[];
  msgs: Array<{ subject: string; hdr: Buffer | null; data: Buffer; seq: number; ts: number }>;
}

export function decodeSnapshot(b: Buffer): DecodedSnapshot {
  const raw = gunzipSync(b);
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a tsnats stream snapshot');
  const nl = raw.indexOf(10, MAGIC.length);
  if (nl < 0) throw new Error('truncated snapshot');
  const head = JSON.parse(raw.toString('utf8', MAGIC.length, nl)) as {
    config: Record<string, unknown>;
    first_seq: number;
    last_seq: number;
    consumers: ConsumerDump[];
  };
  const msgs: DecodedSnapshot['msgs'] = [];
  let p = nl + 1;
  while (p < raw.length) {
    if (p + 28 > raw.length) throw new Error('truncated snapshot');
    const sl = raw.readUInt32BE(p);
    const hl = raw.readUInt32BE(p + 4);
    const dl = raw.readUInt32BE(p + 8);
    const seq = raw.readDoubleBE(p + 12);
    const ts = raw.readDoubleBE(p + 20);
    p += 28;
    if (p + sl + hl + dl > raw.length) throw new Error('truncated snapshot');
    const subject = raw.toString('latin1', p, p + sl);
    p += sl;
    const hdr = hl > 0 ? raw.subarray(p, p + hl) : null;
    p += hl;
    const data = raw.subarray(p, p + dl);
    p += dl;
    msgs.push({ subject, hdr, data, seq, ts });
  }
  return { config: head.config, firstSeq: head.first_seq, lastSeq: head.last_seq, consumers: head.consumers ?? [], msgs };
}

/** STREAM.SNAPSHOT and STREAM.RESTORE requests. */
export function snapshotApi(api: JsApi, req: ApiRequest): void {
  if (req.tokens[1] === 'SNAPSHOT') snapshot(api, req);
  else restore(api, req);
}

function snapshot(api: JsApi, req: ApiRequest): void {
  if (isEmptyRequest(req.body)) return api.respond(req, T_SNAPSHOT, apiError('JSBadRequestErr'));
  const s = req.jsa.streams.get(req.tokens[2]);
  if (s === undefined) return api.respond(req, T_SNAPSHOT, apiError('JSStreamNotFoundErr'));
  const r = api.parse(req, T_SNAPSHOT, (o) => ({
    deliver: J.str(o, 'deliver_subject'),
    noConsumers: J.bool(o, 'no_consumers'),
    chunk: J.int(o, 'chunk_size'),
  }));
  if (r === null) return;
  // server/jetstream_api.go checks IsValidSubject: a wildcard deliver subject is accepted
  if (!isValidSubject(r.deliver)) return api.respond(req, T_SNAPSHOT, apiError('JSSnapshotDeliverSubjectInvalidErr'));
  api.js.server.logger.notice(`Starting snapshot for stream '${req.jsa.name} > ${s.name}'`);
  const state = s.stateJSON(false, '');
  const bytes = encodeSnapshot(s, !r.noConsumers);
  api.respond(req, T_SNAPSHOT, null, { config: streamConfigJSON(s.cfg), state });
  // after the response, which leaves in a microtask (JsApi.respond)
  queueMicrotask(() => sendChunks(s, r.deliver, bytes, r.chunk > 0 ? r.chunk : DEFAULT_CHUNK));
}

/** Chunks to the deliver subject, paced by the receiver's acks on $JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>. */
function sendChunks(s: Stream, deliver: string, bytes: Buffer, chunkSize: number): void {
  const ic = s.jsa.client;
  const ackSubj = `$JS.SNAPSHOT.ACK.${s.name}.${nuid()}`;
  let out = 0;
  let off = 0;
  let index = 1;
  let done = false;
  let idle: NodeJS.Timeout | null = null;
  const finish = (): void => {
    if (done) return;
    done = true;
    if (idle !== null) clearTimeout(idle);
    if (sub !== null) ic.unsubscribe(sub);
    ic.publish(deliver, '', null, Buffer.alloc(0));
  };
  const pump = (): void => {
    if (done) return;
    while (off < bytes.length && out < WINDOW) {
      const chunk = bytes.subarray(off, Math.min(bytes.length, off + chunkSize));
      off += chunk.length;
      out += chunk.length;
      ic.publish(deliver, `${ackSubj}.${chunk.length}.${index++}`, null, chunk);
    }
    if (off >= bytes.length) return finish();
    // a receiver that stopped acking: give up after a while, as the reference's lost interest does
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(finish, 10_000);
    idle.unref();
  };
  const sub = ic.subscribeInternal(`${ackSubj}.>`, null, (_s, subject) => {
    const parts = subject.split('.');
    out -= Number(parts[5]) || 0;
    if (out < WINDOW) pump();
  });
  pump();
}

function restore(api: JsApi, req: ApiRequest): void {
  const jsa = req.jsa;
  if (isEmptyRequest(req.body)) return api.respond(req, T_RESTORE, apiError('JSBadRequestErr'), NO_DELIVER);
  const r = api.parse(req, T_RESTORE, (o) => ({ config: decodeStreamConfig(J.obj(o, 'config') ?? {}) }), NO_DELIVER);
  if (r === null) return;
  const name = req.tokens[2];
  if (r.config.name === '') r.config.name = name;
  const checked = checkStreamConfig(r.config, api.lookup(jsa));
  if (checked instanceof ApiError) return api.respond(req, T_RESTORE, checked, NO_DELIVER);
  if (jsa.streams.has(name)) return api.respond(req, T_RESTORE, apiError('JSStreamNameExistRestoreFailedErr'), NO_DELIVER);
  const log = api.js.server.logger;
  log.notice(`Starting restore for stream '${jsa.name} > ${name}'`);
  const start = Date.now();
  const deliver = `$JS.SNAPSHOT.RESTORE.${name}.${nuid()}`;
  const chunks: Buffer[] = [];
  let total = 0;
  let idle: NodeJS.Timeout | null = null;
  const ic = jsa.client;
  const arm = (): void => {
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(() => {
      ic.unsubscribe(sub!);
      log.warn(`restore for stream '${jsa.name} > ${name}' is stalled`);
    }, RESTORE_IDLE_MS);
    idle.unref();
  };
  const sub = ic.subscribeInternal(deliver, null, (_s, _subject, reply, _hdr, msg) => {
    if (reply === '') {
      ic.unsubscribe(sub!);
      if (idle !== null) clearTimeout(idle);
      log.warn(`restore for stream '${jsa.name} > ${name}' requires reply subject for each chunk`);
      return;
    }
    if (msg.length > 0) {
      chunks.push(Buffer.from(msg));
      total += msg.length;
      ic.publish(reply, '', null, Buffer.alloc(0));
      arm();
      return;
    }
    // the last, empty chunk: build the stream and answer with its info
    ic.unsubscribe(sub!);
    if (idle !== null) clearTimeout(idle);
    const took = Date.now() - start;
    let fields: Record<string, unknown> = {};
    let err: ApiError | null = null;
    try {
      const s = rebuild(api, req, checked, decodeSnapshot(Buffer.concat(chunks)));
      fields = { config: streamConfigJSON(s.cfg), created: J.nsToTime(s.created), state: s.stateJSON(false, '') };
      log.notice(`Completed restore of ${friendlyBytes(total)} for stream '${jsa.name} > ${name}' in ${took}ms`);
    } catch (e) {
      err = e instanceof ApiError ? e : apiError('JSStreamRestoreErrF', { err: (e as Error).message });
      log.warn(`Restore failed for ${friendlyBytes(total)} for stream '${name} > ${jsa.name}' in ${took}ms`);
    }
    const o: Record<string, unknown> = { type: T_CREATE };
    if (err !== null) o.error = err.toJSON();
    Object.assign(o, fields);
    ic.publish(reply, '', null, Buffer.from(J.toGoJSON(o)));
    api.js.server.flushDirty();
  });
  if (sub === null) return api.respond(req, T_RESTORE, apiError('JSRestoreSubscribeFailedErrF', { err: 'subscribe failed', subject: deliver }), NO_DELIVER);
  arm();
  api.respond(req, T_RESTORE, null, { deliver_subject: deliver });
}

function rebuild(api: JsApi, req: ApiRequest, cfg: ReturnType<typeof decodeStreamConfig>, snap: DecodedSnapshot): Stream {
  const jsa = req.jsa;
  if (jsa.streams.has(cfg.name)) throw apiError('JSStreamNameExistRestoreFailedErr');
  const s = api.js.createStream(jsa, cfg);
  try {
    const store = s.store;
    for (const m of snap.msgs) {
      const st = store.state();
      if (st.msgs === 0 && m.seq > st.lastSeq + 1) store.compact(m.seq);
      else while (store.state().lastSeq < m.seq - 1) store.skipMsg();
      store.storeRawMsg(m.subject, m.hdr, m.data, m.seq, m.ts);
    }
    // trailing deletes keep the last sequence
    while (store.state().lastSeq < snap.lastSeq) store.skipMsg();
    for (const c of snap.consumers) {
      const cs = store.consumerStore(c.name);
      if (c.config !== null) cs.setConfig(c.config);
      if (c.state !== null) {
        const state: ConsumerState = {
          delivered: { consumerSeq: c.state.delivered.consumer_seq, streamSeq: c.state.delivered.stream_seq },
          ackFloor: { consumerSeq: c.state.ack_floor.consumer_seq, streamSeq: c.state.ack_floor.stream_seq },
          pending: new Map(c.state.pending.map(([k, seq, ts]) => [k, { sequence: seq, ts }])),
          redelivered: new Map(c.state.redelivered),
        };
        cs.update(state);
      }
    }
    s.rebuildDedupe();
    api.js.recoverConsumers?.(s);
  } catch (e) {
    void api.js.deleteStream(jsa, s);
    throw e;
  }
  return s;
}
