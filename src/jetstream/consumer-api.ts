// The consumer part of the JetStream API (server/jetstream_api.go
// jsConsumer*Request): create (legacy ephemeral, durable, and the 2.9
// named form with an optional filter in the subject), info, names, list,
// delete, leader stepdown; and the hooks through which JetStream recreates
// durable consumers at start and tells consumers of removed messages.
// MSG.NEXT is served by each consumer's own subscription (consumer.ts).

import type { JetStream } from './service.js';
import type { JsApi, ApiRequest } from './api.js';
import { isEmptyRequest } from './api.js';
import type { Stream } from './stream.js';
import type { StreamConfig } from './stream-config.js';
import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import { decodeConsumerConfig, type ConsumerConfig, type ConsumerServerLimits } from './consumer-config.js';
import { Consumer, type AddConsumerOptions } from './consumer.js';

const T = {
  create: 'io.nats.jetstream.api.v1.consumer_create_response',
  info: 'io.nats.jetstream.api.v1.consumer_info_response',
  delete: 'io.nats.jetstream.api.v1.consumer_delete_response',
  names: 'io.nats.jetstream.api.v1.consumer_names_response',
  list: 'io.nats.jetstream.api.v1.consumer_list_response',
  stepdown: 'io.nats.jetstream.api.v1.consumer_leader_stepdown_response',
} as const;

/** server/jetstream_api.go JSApiNamesLimit / JSApiListLimit */
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

/** Plug consumers into JetStream: the API handler, recovery, and removed-message notices. */
export function installConsumers(js: JetStream): void {
  const api = js.api;
  api.consumerHandler = handleConsumerApi;
  js.recoverConsumers = (s) => recoverConsumers(js, s);
  js.msgRemoved = (s, seq, subject) => {
    for (const o of s.consumers.values()) if (o instanceof Consumer) o.msgRemoved(seq, subject);
  };
}

/** jetstream { limits { max_request_batch, max_ack_pending } } */
function serverLimits(js: JetStream): ConsumerServerLimits {
  const l = js.server.opts.jetstreamLimits;
  return { maxRequestBatch: l?.maxRequestBatch ?? 0, maxAckPending: l?.maxAckPending ?? 0 };
}

function addOptions(js: JetStream, s: Stream, recovering: boolean, created?: number): AddConsumerOptions {
  return {
    recovering,
    created,
    limits: serverLimits(js),
    sources: (cfg) => sourceSubjects(s, cfg),
  };
}

/** server/stream.go gatherSourceMirrorSubjects for a stream of this account. */
function sourceSubjects(s: Stream, cfg: StreamConfig): { subjects: string[]; hasExt: boolean } {
  const streams = s.jsa.streams;
  const seen = new Set<string>();
  const subjects: string[] = [];
  let hasExt = false;
  const visit = (name: string, external: boolean): void => {
    if (external) {
      hasExt = true;
      return;
    }
    if (seen.has(name)) return;
    seen.add(name);
    const o = streams.get(name);
    if (o === undefined) return;
    subjects.push(...o.cfg.subjects);
    if (o.cfg.mirror !== null) visit(o.cfg.mirror.name, o.cfg.mirror.external !== null);
    for (const src of o.cfg.sources) visit(src.name, src.external !== null);
  };
  if (cfg.mirror !== null) visit(cfg.mirror.name, cfg.mirror.external !== null);
  else for (const src of cfg.sources) visit(src.name, src.external !== null);
  return { subjects, hasExt };
}

function handleConsumerApi(api: JsApi, req: ApiRequest): void {
  const t = req.tokens;
  const n = t.length + 2; // tokens of the whole subject, as the reference counts them
  switch (t[1]) {
    case 'CREATE':
      if (n >= 5) return consumerCreate(api, req);
      return;
    case 'DURABLE':
      if (t[2] === 'CREATE' && n === 7) return consumerCreate(api, req);
      return;
    case 'NAMES':
      if (n === 5) return consumerNames(api, req, false);
      return;
    case 'LIST':
      if (n === 5) return consumerNames(api, req, true);
      return;
    case 'INFO':
      if (n === 6) return consumerInfo(api, req);
      return;
    case 'DELETE':
      if (n === 6) return consumerDelete(api, req);
      return;
    case 'LEADER':
      if (t[2] === 'STEPDOWN' && n === 7) return consumerStepdown(api, req);
      return;
    default:
      return;
  }
}

interface CreateRequest {
  stream: string;
  config: ConsumerConfig;
}

function decodeCreate(o: Record<string, unknown>): CreateRequest {
  const c = J.obj(o, 'config');
  return { stream: J.str(o, 'stream_name'), config: decodeConsumerConfig(c ?? {}) };
}

/** server/jetstream_api.go jsConsumerCreateRequest */
function consumerCreate(api: JsApi, req: ApiRequest): void {
  // json.Unmarshal of nothing fails, unlike the other requests' empty bodies
  if (req.body.length === 0 || req.body.toString('utf8').trim() === '') return api.respond(req, T.create, apiError('JSInvalidJSONErr'));
  const r = api.parse(req, T.create, decodeCreate);
  if (r === null) return;
  const t = req.tokens;
  const n = t.length + 2;
  let streamName: string;
  let consumerName = '';
  let filtered = '';
  let rt: 'legacyEphemeral' | 'legacyDurable' | 'new';
  if (n === 5) {
    rt = 'legacyEphemeral';
    streamName = t[2];
  } else {
    if (t[1] === 'DURABLE') {
      rt = 'legacyDurable';
      streamName = t[3];
      consumerName = t[4];
    } else {
      rt = 'new';
      streamName = t[2];
      consumerName = t[3];
    }
    if (n > 7) filtered = t.slice(4).join('.');
  }
  const cfg = r.config;
  if (streamName !== r.stream) return api.respond(req, T.create, apiError('JSStreamMismatchErr'));
  if (consumerName !== '' && /[\\/]/.test(consumerName)) return api.respond(req, T.create, apiError('JSConsumerNameContainsPathSeparatorsErr'));
  if (rt === 'legacyDurable') {
    if (cfg.durable === '') return api.respond(req, T.create, apiError('JSConsumerDurableNameNotSetErr'));
    if (consumerName !== cfg.durable) return api.respond(req, T.create, apiError('JSConsumerDurableNameNotMatchSubjectErr'));
  }
  if (rt === 'new') {
    if (cfg.durable !== '' && consumerName !== cfg.durable) return api.respond(req, T.create, apiError('JSConsumerDurableNameNotMatchSubjectErr'));
    cfg.name = consumerName;
  }
  if (rt === 'legacyEphemeral' && cfg.durable !== '') return api.respond(req, T.create, apiError('JSConsumerEphemeralWithDurableNameErr'));
  if (filtered !== '' && cfg.filterSubject !== filtered) return api.respond(req, T.create, apiError('JSConsumerCreateFilterSubjectMismatchErr'));
  // clustered: consumers run on the stream's leader, one copy (jetstream/cluster/meta.ts)
  if (cfg.replicas > 1 && api.js.cluster === null) return api.respond(req, T.create, apiError('JSStreamReplicasNotSupportedErr'));
  const s = req.jsa.streams.get(r.stream);
  if (s === undefined) return api.respond(req, T.create, apiError('JSStreamNotFoundErr'));
  const o = Consumer.add(s, cfg, addOptions(api.js, s, false));
  if (o instanceof ApiError) return api.respond(req, T.create, o);
  if (typeof o === 'string') return api.respond(req, T.create, apiError('JSConsumerCreateErrF', { err: o }));
  api.respond(req, T.create, null, clustered(api, o.info()));
}

function pagedOffset(api: JsApi, req: ApiRequest, type: string, errFields: Record<string, unknown>): number | null {
  if (isEmptyRequest(req.body)) return 0;
  const r = api.parse(req, type, (o) => J.int(o, 'offset'), errFields);
  return r;
}

function sortedConsumers(s: Stream): Consumer[] {
  const obs: Consumer[] = [];
  for (const o of s.consumers.values()) if (o instanceof Consumer && !o.cfg.direct) obs.push(o);
  obs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return obs;
}

/** jsConsumerNamesRequest / jsConsumerListRequest */
function consumerNames(api: JsApi, req: ApiRequest, list: boolean): void {
  const type = list ? T.list : T.names;
  const empty = { total: 0, offset: 0, limit: 0, consumers: [] as unknown[] };
  const off = pagedOffset(api, req, type, empty);
  if (off === null) return;
  const s = req.jsa.streams.get(req.tokens[2]);
  if (s === undefined) return api.respond(req, type, apiError('JSStreamNotFoundErr'), empty);
  const obs = sortedConsumers(s);
  const total = obs.length;
  let offset = off;
  if (offset > total) offset = total;
  // a negative offset slices from 0 in practice (Go would panic; the reference's clients never send one)
  const page = obs.slice(Math.max(0, offset), Math.max(0, offset) + (list ? LIST_LIMIT : NAMES_LIMIT));
  const consumers = list ? page.map((o) => clustered(api, o.info())) : page.map((o) => o.name);
  api.respond(req, type, null, { total, offset, limit: list ? LIST_LIMIT : NAMES_LIMIT, consumers });
}

/** ConsumerInfo in clustered mode: `cluster` before push_bound (server/consumer.go ConsumerInfo; the consumer runs on the stream's leader, here) */
function clustered(api: JsApi, info: Record<string, unknown>): Record<string, unknown> {
  const c = api.js.cluster;
  if (c === null) return info;
  const ci: Record<string, unknown> = {};
  if (c.clusterName !== '') ci.name = c.clusterName;
  ci.leader = c.self;
  const { push_bound: pb, ...rest } = info;
  const o: Record<string, unknown> = { ...rest, cluster: ci };
  if (pb !== undefined) o.push_bound = pb;
  return o;
}

/** jsConsumerInfoRequest */
function consumerInfo(api: JsApi, req: ApiRequest): void {
  if (!isEmptyRequest(req.body)) return api.respond(req, T.info, apiError('JSNotEmptyRequestErr'));
  const s = req.jsa.streams.get(req.tokens[2]);
  if (s === undefined) return api.respond(req, T.info, apiError('JSStreamNotFoundErr'));
  const o = s.consumers.get(req.tokens[3]);
  if (o === undefined) return api.respond(req, T.info, apiError('JSConsumerNotFoundErr'));
  api.respond(req, T.info, null, clustered(api, o.info()));
}

/**
 * jsConsumerLeaderStepDownRequest. Consumers run on their stream's leader
 * (docs/clustering.md), so a consumer's leader moves by handing the stream's
 * leadership over; with one replica there is nobody to hand it to and the
 * reference answers success too.
 */
function consumerStepdown(api: JsApi, req: ApiRequest): void {
  const cluster = api.js.cluster;
  if (cluster === null) return api.respond(req, T.stepdown, apiError('JSClusterRequiredErr'));
  const s = req.jsa.streams.get(req.tokens[3]);
  if (s === undefined) return api.respond(req, T.stepdown, apiError('JSStreamNotFoundErr'));
  if (!s.consumers.has(req.tokens[4])) return api.respond(req, T.stepdown, apiError('JSConsumerNotFoundErr'));
  if (!isEmptyRequest(req.body)) return api.respond(req, T.stepdown, apiError('JSBadRequestErr'));
  api.respond(req, T.stepdown, null, { success: true });
  const group = cluster.localStream(req.jsa.name, s.name)?.group ?? null;
  // after the answer has left: the hand-over stops this server's consumers
  if (group !== null) setImmediate(() => group.stepDown());
}

/** jsConsumerDeleteRequest */
function consumerDelete(api: JsApi, req: ApiRequest): void {
  if (!isEmptyRequest(req.body)) return api.respond(req, T.delete, apiError('JSNotEmptyRequestErr'));
  const s = req.jsa.streams.get(req.tokens[2]);
  if (s === undefined) return api.respond(req, T.delete, apiError('JSStreamNotFoundErr'));
  const o = s.consumers.get(req.tokens[3]);
  if (o === undefined) return api.respond(req, T.delete, apiError('JSConsumerNotFoundErr'));
  // answered once the consumer's store is gone, so that a durable of the same name created next starts afresh
  const done = o instanceof Consumer ? o.delete() : o.stop(true);
  void done.then(() => api.respond(req, T.delete, null, { success: true }));
}

/** Durable consumers a stream's store kept from an earlier run (server/stream.go: the consumer dirs of a restored stream). */
function recoverConsumers(js: JetStream, s: Stream): void {
  const log = js.server.logger;
  let names: string[];
  try {
    names = s.store.consumerNames();
  } catch {
    return;
  }
  for (const name of names) {
    let cfg: ConsumerConfig;
    let created: number;
    try {
      const text = s.store.consumerStore(name).getConfig();
      if (text === null) continue;
      const meta = J.parseBody(Buffer.from(text));
      cfg = decodeConsumerConfig(meta);
      created = typeof meta.created === 'string' ? J.timeToNs(meta.created) : NaN;
      if (Number.isNaN(created)) created = 0;
    } catch (e) {
      log.warn(`  Error unmarshalling consumer metafile for '${s.jsa.name} > ${s.name} > ${name}': ${(e as Error).message}`);
      continue;
    }
    const o = Consumer.add(s, cfg, addOptions(js, s, true, created === 0 ? undefined : created), name);
    if (!(o instanceof Consumer)) {
      const text = o instanceof ApiError ? o.description : o;
      log.warn(`  Error adding consumer '${s.name} > ${name}': ${text}`);
    }
  }
}
