// The JetStream API ($JS.API.>) of server/jetstream_api.go: one internal
// subscription per account, requests answered in the order they arrive,
// responses shaped field for field as the reference's (type first, then the
// error, then the payload), API audit and stream advisories.

import type { Account } from '../accounts/account.js';
import { InternalClient } from '../client/internal.js';
import type { Subscription } from '../client/subscription.js';
import type { JetStream } from './service.js';
import type { JsAccount, JsAccountLimits } from './account.js';
import type { Stream } from './stream.js';
import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import { checkStreamConfig, checkStreamUpdate, decodeStreamConfig, sameStreamConfig, type StreamConfig, type StreamLookup } from './stream-config.js';
import { subjectsCollide } from '../subjects/validate.js';
import { statusHeader, H } from './headers.js';
import type { StoredMsg } from './store/types.js';
import { eventId } from './ids.js';
import { orderedInfo } from './cluster/meta-state.js';

/** response types of the stream and account API (jetstream/cluster/meta-api.ts answers some of them) */
export const API_TYPES = {
  accountInfo: 'io.nats.jetstream.api.v1.account_info_response',
  streamCreate: 'io.nats.jetstream.api.v1.stream_create_response',
  streamUpdate: 'io.nats.jetstream.api.v1.stream_update_response',
  streamDelete: 'io.nats.jetstream.api.v1.stream_delete_response',
  streamInfo: 'io.nats.jetstream.api.v1.stream_info_response',
  streamNames: 'io.nats.jetstream.api.v1.stream_names_response',
  streamList: 'io.nats.jetstream.api.v1.stream_list_response',
  streamPurge: 'io.nats.jetstream.api.v1.stream_purge_response',
  msgDelete: 'io.nats.jetstream.api.v1.stream_msg_delete_response',
  msgGet: 'io.nats.jetstream.api.v1.stream_msg_get_response',
  streamSnapshot: 'io.nats.jetstream.api.v1.stream_snapshot_response',
  streamRestore: 'io.nats.jetstream.api.v1.stream_restore_response',
  streamLeaderStepdown: 'io.nats.jetstream.api.v1.stream_leader_stepdown_response',
  streamRemovePeer: 'io.nats.jetstream.api.v1.stream_remove_peer_response',
  metaLeaderStepdown: 'io.nats.jetstream.api.v1.meta_leader_stepdown_response',
  accountPurge: 'io.nats.jetstream.api.v1.account_purge_response',
} as const;
const T = API_TYPES;

/** server/jetstream_api.go JSApiNamesLimit / JSApiListLimit / JSMaxSubjectDetails */
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;
const MAX_SUBJECT_DETAILS = 100_000;

/** A request as handlers see it: the account, the subject's tokens after "$JS.API.", the body. */
export interface ApiRequest {
  jsa: JsAccount;
  subject: string;
  /** tokens after $JS.API */
  tokens: string[];
  reply: string;
  hdr: Buffer | null;
  body: Buffer;
}

/** The consumer part of the API lives in jetstream/consumer-api.ts and registers here. */
export type ConsumerApiHandler = (api: JsApi, req: ApiRequest) => void;

export class JsApi {
  /** per account: the internal client that serves $JS.API there */
  private readonly clients = new Map<string, InternalClient>();
  consumerHandler: ConsumerApiHandler | null = null;

  constructor(readonly js: JetStream) {}

  /** Serve the API in an account where JetStream is enabled. */
  serve(jsa: JsAccount): void {
    // an account that had no JetStream before: its "not enabled" answers stop
    const disabled = this.clients.get(jsa.name);
    if (disabled !== undefined) {
      disabled.closeInternal();
      this.clients.delete(jsa.name);
    }
    this.subscribeApi(jsa.client, (subject, reply, hdr, body) => this.dispatch(jsa, subject, reply, hdr, body), (subject, reply, hdr, body) => {
      // $JS.<domain>.API.$KV.>, .$OBJ.> and .DIRECT.> are mappings to other subjects (server/jetstream_api.go generateJSMappingTable)
      jsa.client.publish(subject, reply, hdr, body);
    });
  }

  /** An account without JetStream: every request answers "jetstream not enabled for account" (server/jetstream_api.go checkJetStream). */
  serveDisabled(acc: Account): void {
    if (this.clients.has(acc.name)) return;
    const ic = new InternalClient(this.js.server, acc, `JetStream API [${acc.name}]`);
    this.clients.set(acc.name, ic);
    this.subscribeApi(ic, (subject, reply) => {
      if (reply === '') return;
      const tokens = subject.split('.').slice(2);
      const type = disabledResponseType(tokens);
      if (type === null) return;
      const o = { type, error: apiError('JSNotEnabledForAccountErr').toJSON(), ...errorFields(type) };
      ic.publish(reply, '', null, Buffer.from(J.toGoJSON(o)));
    });
  }

  /** The account now gets its JetStream API through an import: no own answers. */
  stopDisabled(acc: Account): void {
    const ic = this.clients.get(acc.name);
    if (ic === undefined) return;
    ic.closeInternal();
    this.clients.delete(acc.name);
  }

  private subscribeApi(
    ic: InternalClient,
    fn: (subject: string, reply: string, hdr: Buffer | null, body: Buffer) => void,
    /** re-publish under the subject a domain mapping names */
    buckets: ((subject: string, reply: string, hdr: Buffer | null, body: Buffer) => void) | null = null,
  ): void {
    const cb = (_s: Subscription, subject: string, reply: string, hdr: Buffer | null, body: Buffer): void => fn(subject, reply, hdr, body);
    ic.subscribeInternal('$JS.API.>', null, cb);
    const domain = this.js.domain;
    if (domain !== '') {
      // $JS.<domain>.API.> is the same API (server/jetstream_api.go generateJSMappingTable)
      const pre = `$JS.${domain}.API.`;
      ic.subscribeInternal(`${pre}>`, null, (_s, subject, reply, hdr, body) => {
        const rest = subject.slice(pre.length);
        if (rest.startsWith('$KV.') || rest.startsWith('$OBJ.')) {
          if (buckets !== null) buckets(rest, reply, hdr, body);
          return;
        }
        // direct gets are answered by the streams' own subscriptions (and mirrors'): re-addressed to them
        if (rest.startsWith('DIRECT.')) {
          if (buckets !== null) buckets('$JS.API.' + rest, reply, hdr, body);
          return;
        }
        fn('$JS.API.' + rest, reply, hdr, body);
      });
    }
  }

  close(): void {
    for (const ic of this.clients.values()) ic.closeInternal();
    this.clients.clear();
  }

  // --- dispatch -------------------------------------------------------------

  private dispatch(jsa: JsAccount, subject: string, reply: string, hdr: Buffer | null, body: Buffer): void {
    const tokens = subject.split('.').slice(2);
    if (tokens.length === 0) return;
    // Direct gets have their own subscriptions on streams that allow them.
    if (tokens[0] === 'DIRECT') return;
    if (reply === '') return;
    const req: ApiRequest = { jsa, subject, tokens, reply, hdr, body: Buffer.from(body) };
    // clustered: every JetStream server gets every request; the one in charge answers
    const cluster = this.js.cluster;
    if (cluster !== null && !cluster.dispatch(this, req)) return;
    const n = tokens.length;
    const t0 = tokens[0];
    const t1 = tokens[1] ?? '';
    if (t0 === 'INFO' && n === 1) return this.accountInfo(req);
    if (t0 === 'STREAM') {
      switch (t1) {
        case 'CREATE':
          if (n === 3) return this.streamCreate(req);
          return;
        case 'UPDATE':
          if (n === 3) return this.streamUpdate(req);
          return;
        case 'INFO':
          if (n === 3) return this.streamInfo(req);
          return;
        case 'DELETE':
          if (n === 3) return this.streamDelete(req);
          return;
        case 'PURGE':
          if (n === 3) return this.streamPurge(req);
          return;
        case 'NAMES':
          if (n === 2) return this.streamNames(req, false);
          return;
        case 'LIST':
          if (n === 2) return this.streamNames(req, true);
          return;
        case 'MSG':
          if (n === 4 && tokens[2] === 'GET') return this.msgGet(req);
          if (n === 4 && tokens[2] === 'DELETE') return this.msgDelete(req);
          return;
        case 'LEADER':
          if (n === 4 && tokens[2] === 'STEPDOWN') return this.notClustered(req, T.streamLeaderStepdown);
          return;
        case 'PEER':
          if (n === 4 && tokens[2] === 'REMOVE') return this.notClustered(req, T.streamRemovePeer);
          return;
        case 'SNAPSHOT':
        case 'RESTORE':
          if (n === 3 && this.snapshotHandler !== null) return this.snapshotHandler(this, req);
          return;
        default:
          return;
      }
    }
    if (t0 === 'CONSUMER') {
      if (this.consumerHandler !== null) this.consumerHandler(this, req);
      return;
    }
    if (t0 === 'META' && t1 === 'LEADER' && tokens[2] === 'STEPDOWN' && n === 3) return this.notClustered(req, T.metaLeaderStepdown);
    if (t0 === 'ACCOUNT' && t1 === 'PURGE' && n === 3 && this.accountPurgeHandler !== null) return this.accountPurgeHandler(this, req);
  }

  /** set by jetstream/snapshot.ts */
  snapshotHandler: ConsumerApiHandler | null = null;
  /** set by jetstream/account-purge.ts */
  accountPurgeHandler: ConsumerApiHandler | null = null;

  // --- responses --------------------------------------------------------------

  /** Send a response: `type` first, the error when there is one, then the fields. */
  respond(req: ApiRequest, type: string, err: ApiError | null, fields: Record<string, unknown> = {}): void {
    const o: Record<string, unknown> = { type };
    if (err !== null) o.error = err.toJSON();
    Object.assign(o, fields);
    const text = J.toGoJSON(o);
    req.jsa.apiTotal++;
    if (err !== null) req.jsa.apiErrors++;
    this.outq.push(req, text);
    if (!this.outScheduled) {
      this.outScheduled = true;
      queueMicrotask(this.drainResponses);
    }
  }

  // Responses leave after the request's own delivery is over, as the
  // reference's go through the server's send queue (server/events.go
  // internalSendLoop): a client subscribed to the API subject itself sees
  // the request before the answer (nats.js `jsm - api check ok`). Work that
  // must follow a response (snapshot chunks) is queued with queueMicrotask
  // after respond().
  private readonly outq: (ApiRequest | string)[] = [];
  private outScheduled = false;
  private readonly drainResponses = (): void => {
    this.outScheduled = false;
    const q = this.outq;
    for (let i = 0; i < q.length; i += 2) {
      const req = q[i] as ApiRequest;
      const text = q[i + 1] as string;
      req.jsa.client.publish(req.reply, '', null, Buffer.from(text));
      this.audit(req, text);
    }
    q.length = 0;
    this.js.server.flushDirty();
  };

  /** $JS.EVENT.ADVISORY.API, only when someone listens (server/jetstream_api.go sendJetStreamAPIAuditAdvisory). */
  private audit(req: ApiRequest, response: string): void {
    const subj = '$JS.EVENT.ADVISORY.API';
    if (!hasInterest(req.jsa.account, subj)) return;
    const ev = {
      type: 'io.nats.jetstream.advisory.v1.api_audit',
      id: eventId(),
      timestamp: J.nsToTime(Date.now() * 1e6),
      server: this.js.server.serverName,
      client: { acc: req.jsa.name, server: this.js.server.serverName },
      subject: req.subject,
      request: req.body.toString('utf8'),
      response,
      domain: this.js.domain !== '' ? this.js.domain : undefined,
    };
    req.jsa.client.publish(subj, '', null, Buffer.from(J.toGoJSON(ev)));
  }

  /** $JS.EVENT.ADVISORY.STREAM.<CREATED|DELETED|UPDATED>.<stream> */
  streamAdvisory(jsa: JsAccount, stream: string, action: 'create' | 'delete' | 'modify'): void {
    const kind = action === 'create' ? 'CREATED' : action === 'delete' ? 'DELETED' : 'UPDATED';
    const subj = `$JS.EVENT.ADVISORY.STREAM.${kind}.${stream}`;
    if (!hasInterest(jsa.account, subj)) return;
    const ev: Record<string, unknown> = {
      type: 'io.nats.jetstream.advisory.v1.stream_action',
      id: eventId(),
      timestamp: J.nsToTime(Date.now() * 1e6),
      stream,
      action,
    };
    if (this.js.domain !== '') ev.domain = this.js.domain;
    jsa.client.publish(subj, '', null, Buffer.from(J.toGoJSON(ev)));
  }

  /** A request body parsed as Go would; null (after answering invalid JSON) when it does not parse. */
  parse<R>(req: ApiRequest, type: string, fn: (o: Record<string, unknown>) => R, errFields: Record<string, unknown> = {}): R | null {
    try {
      return fn(J.parseBody(req.body));
    } catch (e) {
      if (e instanceof J.JsonDecodeError) {
        this.respond(req, type, apiError('JSInvalidJSONErr'), errFields);
        return null;
      }
      throw e;
    }
  }

  /**
   * The answer to a create or update the meta log carried to this server
   * (jetstream/cluster/meta.ts): the stream's info, as the local handlers
   * answer them, with the cluster's fields.
   */
  respondStream(s: Stream, p: { subject: string; reply: string; body: string }, kind: 'create' | 'update', extras: Record<string, unknown>): void {
    const req = this.syntheticRequest(s.jsa, p);
    // clustered answers carry cluster and mirror/sources, the lone server's create does not (server/jetstream_cluster.go processStreamAssignment)
    const info = orderedInfo(s.info(), extras);
    delete info.alternates;
    if (kind === 'create') this.respond(req, T.streamCreate, null, { ...info, did_create: true });
    else {
      this.streamAdvisory(s.jsa, s.name, 'modify');
      this.respond(req, T.streamUpdate, null, info);
    }
  }

  /** A create or update carried by the meta log failed here. */
  respondTo(jsa: JsAccount, p: { subject: string; reply: string; body: string }, kind: 'create' | 'update', err: string): void {
    const req = this.syntheticRequest(jsa, p);
    if (kind === 'create') this.respond(req, T.streamCreate, apiError('JSStreamCreateErrF', { err }));
    else this.respond(req, T.streamUpdate, apiError('JSStreamUpdateErrF', { err }));
  }

  private syntheticRequest(jsa: JsAccount, p: { subject: string; reply: string; body: string }): ApiRequest {
    return { jsa, subject: p.subject, tokens: p.subject.split('.').slice(2), reply: p.reply, hdr: null, body: Buffer.from(p.body) };
  }

  private notClustered(req: ApiRequest, type: string): void {
    this.respond(req, type, apiError('JSClusterRequiredErr'));
  }

  // --- account -----------------------------------------------------------------

  private accountInfo(req: ApiRequest): void {
    const jsa = req.jsa;
    const streams = this.js.cluster !== null ? this.js.cluster.streamCount(jsa.name) : jsa.streams.size;
    const consumers = jsa.numConsumers();
    const o: Record<string, unknown> = {
      memory: jsa.memoryUsed,
      storage: jsa.storeUsed,
      streams,
      consumers,
      // tiered: the totals carry no limits, each tier its own (server/jetstream.go JetStreamUsage)
      limits: limitsJSON(jsa.tiers === null ? jsa.limits : ZERO_LIMITS),
    };
    if (this.js.domain !== '') o.domain = this.js.domain;
    o.api = { total: jsa.apiTotal, errors: jsa.apiErrors };
    if (jsa.tiers !== null) {
      // Without clustering every stream has one replica: all usage is tier R1's.
      const tiers: Record<string, unknown> = {};
      const names = Object.keys(jsa.tiers);
      if (!names.includes('R1') && (streams > 0 || jsa.memoryUsed > 0 || jsa.storeUsed > 0)) names.push('R1');
      for (const t of names.sort()) {
        const used = t === 'R1';
        tiers[t] = {
          memory: used ? jsa.memoryUsed : 0,
          storage: used ? jsa.storeUsed : 0,
          streams: used ? streams : 0,
          consumers: used ? consumers : 0,
          limits: limitsJSON(jsa.tiers[t] ?? ZERO_LIMITS),
        };
      }
      o.tiers = tiers;
    }
    this.respond(req, T.accountInfo, null, o);
  }

  // --- streams --------------------------------------------------------------------

  lookup(jsa: JsAccount): StreamLookup {
    const js = this.js;
    return {
      get: (name) => jsa.streams.get(name)?.cfg,
      maxDuplicateWindow: js.maxDuplicateWindow,
      maxBytesRequired: jsa.limits.maxBytesRequired,
      maxStreamBytes: (storage) => {
        const v = storage === 'memory' ? jsa.limits.memoryMaxStreamBytes : jsa.limits.storeMaxStreamBytes;
        return v > 0 ? v : 0;
      },
    };
  }

  /** server/jetstream_api.go jsNonClusteredStreamLimitsCheck + jetstream.go checkBytesLimits */
  private limitsCheck(jsa: JsAccount, cfg: StreamConfig, except: string | null): ApiError | null {
    const l = jsa.limits;
    if (except === null && l.maxStreams > 0 && jsa.streams.size >= l.maxStreams) return apiError('JSMaximumStreamsLimitErr');
    if (cfg.maxConsumers > 0 && l.maxConsumers > 0 && cfg.maxConsumers > l.maxConsumers) return apiError('JSMaximumConsumersLimitErr');
    const add = cfg.maxBytes < 0 ? 1 : cfg.maxBytes * Math.max(1, cfg.replicas);
    const reserved = jsa.reserved(cfg.storage, except);
    if (cfg.storage === 'memory') {
      if (l.maxMemory >= 0 && reserved + add > l.maxMemory) return apiError('JSMemoryResourcesExceededErr');
      if (this.js.reservedTotal('memory', jsa, except) + add > this.js.maxMemory) return apiError('JSMemoryResourcesExceededErr');
    } else {
      if (l.maxStore >= 0 && reserved + add > l.maxStore) return apiError('JSStorageResourcesExceededErr');
      if (this.js.reservedTotal('file', jsa, except) + add > this.js.maxStore) return apiError('JSStorageResourcesExceededErr');
    }
    return null;
  }

  private streamCreate(req: ApiRequest): void {
    const name = req.tokens[2];
    const cfgIn = this.parse(req, T.streamCreate, decodeStreamConfig);
    if (cfgIn === null) return;
    if (name !== cfgIn.name) return this.respond(req, T.streamCreate, apiError('JSStreamMismatchErr'));
    if (/[\\/]/.test(name)) return this.respond(req, T.streamCreate, apiError('JSStreamNameContainsPathSeparatorsErr'));
    if (cfgIn.sealed) {
      return this.respond(req, T.streamCreate, apiError('JSStreamInvalidConfigF', { err: 'stream configuration for create can not be sealed' }));
    }
    if (cfgIn.mirrorDirect && cfgIn.mirror === null) {
      return this.respond(req, T.streamCreate, apiError('JSStreamInvalidConfigF', { err: 'stream has no mirror but does have mirror direct' }));
    }
    const jsa = req.jsa;
    const existing = jsa.streams.get(name);
    // A repeated create: limits were checked when it was made.
    let err = existing === undefined ? this.limitsCheck(jsa, cfgIn, null) : null;
    if (err !== null) return this.respond(req, T.streamCreate, err);
    const checked = checkStreamConfig(cfgIn, this.lookup(jsa));
    if (checked instanceof ApiError) return this.respond(req, T.streamCreate, checked);
    if (checked.replicas > 1) return this.respond(req, T.streamCreate, apiError('JSStreamReplicasNotSupportedErr'));
    let stream: Stream;
    if (existing !== undefined) {
      if (!sameStreamConfig(existing.cfg, checked)) return this.respond(req, T.streamCreate, apiError('JSStreamNameExistErr'));
      stream = existing;
    } else {
      for (const s of jsa.streams.values()) {
        if (s.cfg.subjects.some((a) => checked.subjects.some((b) => subjectsCollide(a, b)))) {
          return this.respond(req, T.streamCreate, apiError('JSStreamSubjectOverlapErr'));
        }
      }
      try {
        stream = this.js.createStream(jsa, checked);
      } catch (e) {
        this.js.server.logger.warn(`Stream create failed for '${jsa.name} > ${name}': ${(e as Error).message}`);
        err = apiError('JSStreamCreateErrF', { err: 'error creating store for stream' });
        return this.respond(req, T.streamCreate, err);
      }
      if (this.sourcesHook !== null) this.sourcesHook(stream);
      this.streamAdvisory(jsa, name, 'create');
    }
    // config, created and state only: no domain, mirror or sources (server/jetstream_api.go jsStreamCreateRequest)
    const info = stream.info();
    this.respond(req, T.streamCreate, null, { config: info.config, created: info.created, state: info.state, did_create: true });
  }

  /** set by jetstream/sources.ts: start mirroring/sourcing for a new or updated stream */
  sourcesHook: ((s: Stream) => void) | null = null;

  private streamUpdate(req: ApiRequest): void {
    const ncfg = this.parse(req, T.streamUpdate, decodeStreamConfig);
    if (ncfg === null) return;
    const jsa = req.jsa;
    const checked0 = checkStreamConfig(ncfg, this.lookup(jsa));
    if (checked0 instanceof ApiError) return this.respond(req, T.streamUpdate, checked0);
    const name = req.tokens[2];
    if (name !== ncfg.name) return this.respond(req, T.streamUpdate, apiError('JSStreamMismatchErr'));
    const s = jsa.streams.get(name);
    if (s === undefined) return this.respond(req, T.streamUpdate, apiError('JSStreamNotFoundErr'));
    const checked = checkStreamUpdate(s.cfg, ncfg, this.lookup(jsa));
    if (checked instanceof ApiError) return this.respond(req, T.streamUpdate, checked);
    // No replicas check here: 2.9.10 refuses replicas > 1 in single-server
    // mode at create only (stream.go addStream), an update stores them and
    // the stream stays one copy (nats.js `jsm - stream update properties`).
    const lerr = this.limitsCheck(jsa, checked, name);
    if (lerr !== null) return this.respond(req, T.streamUpdate, apiError('JSStreamUpdateErrF', { err: lerr.description }));
    for (const o of jsa.streams.values()) {
      if (o === s) continue;
      if (o.cfg.subjects.some((a) => checked.subjects.some((b) => subjectsCollide(a, b)))) {
        return this.respond(req, T.streamUpdate, apiError('JSStreamSubjectOverlapErr'));
      }
    }
    s.update(checked);
    if (checked.storage === 'file') this.js.writeMeta(this.js.streamDir(jsa, name), checked, s.created);
    if (this.sourcesHook !== null) this.sourcesHook(s);
    this.streamAdvisory(jsa, name, 'modify');
    this.respond(req, T.streamUpdate, null, s.info());
  }

  private streamInfo(req: ApiRequest): void {
    const paged = { total: 0, offset: 0, limit: 0 };
    const r = this.parse(req, T.streamInfo, (o) => ({
      offset: J.int(o, 'offset'),
      deletedDetails: J.bool(o, 'deleted_details'),
      subjectsFilter: J.str(o, 'subjects_filter'),
    }), paged);
    if (r === null) return;
    const s = req.jsa.streams.get(req.tokens[2]);
    if (s === undefined) return this.respond(req, T.streamInfo, apiError('JSStreamNotFoundErr'), paged);
    const info = s.info(r.deletedDetails, '');
    if (r.subjectsFilter !== '') {
      const totals = s.store.subjectsTotals(r.subjectsFilter);
      if (totals.size > 0) {
        const names = [...totals.keys()].sort();
        let offset = Math.max(0, r.offset);
        if (offset > names.length) offset = names.length;
        const end = Math.min(names.length, offset + MAX_SUBJECT_DETAILS);
        const sd: Record<string, number> = {};
        for (const n of names.slice(offset, end)) sd[n] = totals.get(n)!;
        const st = info.state as Record<string, unknown>;
        // "subjects" sits after num_subjects in the reference's StreamState
        const ordered: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(st)) {
          if (k === 'num_deleted' || k === 'deleted' || k === 'consumer_count') continue;
          ordered[k] = v;
        }
        if (end > offset) ordered.subjects = sd;
        for (const k of ['num_deleted', 'deleted', 'consumer_count']) if (k in st) ordered[k] = st[k];
        info.state = ordered;
        paged.total = names.length;
        paged.offset = offset;
        paged.limit = MAX_SUBJECT_DETAILS;
      }
    }
    if (this.js.cluster !== null) return this.respond(req, T.streamInfo, null, orderedInfo({ ...paged, ...info }, this.js.cluster.streamExtras(s, '')));
    this.respond(req, T.streamInfo, null, { ...paged, ...info });
  }

  private streamDelete(req: ApiRequest): void {
    const jsa = req.jsa;
    const name = req.tokens[2];
    const s = jsa.streams.get(name);
    if (s === undefined) return this.respond(req, T.streamDelete, apiError('JSStreamNotFoundErr'));
    void this.js.deleteStream(jsa, s).then(
      () => {
        this.streamAdvisory(jsa, name, 'delete');
        this.respond(req, T.streamDelete, null, { success: true });
      },
      (e: Error) => this.respond(req, T.streamDelete, apiError('JSStreamDeleteErrF', { err: e.message })),
    );
  }

  private streamPurge(req: ApiRequest): void {
    const r = this.parse(req, T.streamPurge, (o) => ({ seq: J.uint(o, 'seq'), filter: J.str(o, 'filter'), keep: J.uint(o, 'keep') }), { purged: 0 });
    if (r === null) return;
    if (r.seq > 0 && r.keep > 0) return this.respond(req, T.streamPurge, apiError('JSBadRequestErr'), { purged: 0 });
    const s = req.jsa.streams.get(req.tokens[2]);
    if (s === undefined) return this.respond(req, T.streamPurge, apiError('JSStreamNotFoundErr'), { purged: 0 });
    if (s.cfg.sealed) return this.respond(req, T.streamPurge, apiError('JSStreamSealedErr'), { purged: 0 });
    if (s.cfg.denyPurge) return this.respond(req, T.streamPurge, apiError('JSStreamPurgeFailedF', { err: 'stream purge not permitted' }), { purged: 0 });
    const purged = s.purge(r.filter, r.seq, r.keep);
    this.respond(req, T.streamPurge, null, { success: true, purged });
  }

  private streamNames(req: ApiRequest, list: boolean): void {
    const type = list ? T.streamList : T.streamNames;
    const empty = errorFields(type);
    const r = this.parse(req, type, (o) => ({ offset: J.int(o, 'offset'), subject: J.str(o, 'subject') }), empty);
    if (r === null) return;
    let streams = [...req.jsa.streams.values()];
    if (r.subject !== '') streams = streams.filter((s) => s.cfg.subjects.some((subj) => subjectsCollide(r.subject, subj)));
    streams.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const total = streams.length;
    let offset = Math.max(0, r.offset);
    if (offset > total) offset = total;
    const limit = list ? LIST_LIMIT : NAMES_LIMIT;
    const page = streams.slice(offset, offset + limit);
    if (list) {
      this.respond(req, type, null, { total, offset, limit, streams: page.map((s) => s.info()) });
    } else {
      this.respond(req, type, null, { total, offset, limit, streams: page.length > 0 ? page.map((s) => s.name) : null });
    }
  }

  private msgGet(req: ApiRequest): void {
    const s0 = req.jsa.streams.get(req.tokens[3]);
    if (req.body.length === 0 || isEmptyRequest(req.body)) return this.respond(req, T.msgGet, apiError('JSBadRequestErr'));
    const r = this.parse(req, T.msgGet, (o) => ({ seq: J.uint(o, 'seq'), last: J.str(o, 'last_by_subj'), next: J.str(o, 'next_by_subj') }));
    if (r === null) return;
    if ((r.seq > 0 && r.last !== '') || (r.seq === 0 && r.last === '' && r.next === '') || (r.last !== '' && r.next !== '')) {
      return this.respond(req, T.msgGet, apiError('JSBadRequestErr'));
    }
    const s = s0;
    if (s === undefined) return this.respond(req, T.msgGet, apiError('JSStreamNotFoundErr'));
    let m: StoredMsg | null;
    if (r.seq > 0 && r.next === '') m = s.store.loadMsg(r.seq);
    else if (r.next !== '') m = s.store.loadNextMsg(r.next, r.seq);
    else m = s.store.loadLastMsg(r.last);
    if (m === null) return this.respond(req, T.msgGet, apiError('JSNoMessageFoundErr'));
    const msg: Record<string, unknown> = { subject: m.subject, seq: m.seq };
    if (m.hdr !== null && m.hdr.length > 0) msg.hdrs = m.hdr.toString('base64');
    if (m.data.length > 0) msg.data = m.data.toString('base64');
    msg.time = J.nsToTime(m.ts);
    this.respond(req, T.msgGet, null, { message: msg });
  }

  private msgDelete(req: ApiRequest): void {
    if (isEmptyRequest(req.body)) return this.respond(req, T.msgDelete, apiError('JSBadRequestErr'));
    const r = this.parse(req, T.msgDelete, (o) => ({ seq: J.uint(o, 'seq'), noErase: J.bool(o, 'no_erase') }));
    if (r === null) return;
    const s = req.jsa.streams.get(req.tokens[3]);
    if (s === undefined) return this.respond(req, T.msgDelete, apiError('JSStreamNotFoundErr'));
    if (s.cfg.sealed) return this.respond(req, T.msgDelete, apiError('JSStreamSealedErr'));
    if (s.cfg.denyDelete) return this.respond(req, T.msgDelete, apiError('JSStreamMsgDeleteFailedF', { err: 'message delete not permitted' }));
    const removed = s.deleteMsg(r.seq, !r.noErase);
    if (!removed) return this.respond(req, T.msgDelete, apiError('JSSequenceNotFoundErrF', { seq: r.seq }));
    this.respond(req, T.msgDelete, null, { success: true });
  }

  // --- direct get ------------------------------------------------------------------

  /**
   * $JS.API.DIRECT.GET.<stream> (JSON request) and
   * $JS.API.DIRECT.GET.<stream>.<subject> (last message on the subject): the
   * message itself with Nats-Stream/-Subject/-Sequence/-Time-Stamp headers,
   * or a status-only answer (server/stream.go processDirectGetRequest).
   */
  /** `name`: the stream named in the subject (a mirror with mirror_direct answers for its origin) */
  directGet(s: Stream, subject: string, reply: string, body: Buffer, name = s.name): void {
    if (reply === '') return;
    const ic = s.jsa.client;
    const pre = `$JS.API.DIRECT.GET.${name}`;
    let m: StoredMsg | null = null;
    if (subject.length > pre.length) {
      const key = subject.slice(pre.length + 1);
      m = s.store.loadLastMsg(key);
    } else {
      if (isEmptyRequest(body)) {
        ic.publish(reply, '', statusHeader(408, 'Empty Request'), EMPTY);
        return;
      }
      let r: { seq: number; last: string; next: string };
      try {
        const o = J.parseBody(body);
        r = { seq: J.uint(o, 'seq'), last: J.str(o, 'last_by_subj'), next: J.str(o, 'next_by_subj') };
      } catch {
        ic.publish(reply, '', statusHeader(408, 'Malformed Request'), EMPTY);
        return;
      }
      if ((r.seq > 0 && r.last !== '') || (r.seq === 0 && r.last === '' && r.next === '') || (r.last !== '' && r.next !== '')) {
        ic.publish(reply, '', statusHeader(408, 'Bad Request'), EMPTY);
        return;
      }
      if (r.seq > 0 && r.next === '') m = s.store.loadMsg(r.seq);
      else if (r.next !== '') m = s.store.loadNextMsg(r.next, r.seq);
      else m = s.store.loadLastMsg(r.last);
    }
    if (m === null) {
      ic.publish(reply, '', statusHeader(404, 'Message Not Found'), EMPTY);
      return;
    }
    let h = m.hdr !== null && m.hdr.length > 0 ? m.hdr.subarray(0, m.hdr.length - 2).toString('latin1') : 'NATS/1.0\r\n';
    h += `${H.Stream}: ${s.name}\r\n${H.Subject}: ${m.subject}\r\n${H.Sequence}: ${m.seq}\r\n${H.TimeStamp}: ${J.nsToTime(m.ts)}\r\n\r\n`;
    ic.publish(reply, '', Buffer.from(h, 'latin1'), m.data);
  }
}

const EMPTY = Buffer.alloc(0);

/** server/jetstream_api.go isEmptyRequest: nothing, or only {} / whitespace */
export function isEmptyRequest(b: Buffer): boolean {
  if (b.length === 0) return true;
  const s = b.toString('utf8').trim();
  if (s === '' || s === '{}') return true;
  try {
    const v = JSON.parse(s) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0;
  } catch {
    return false;
  }
}

const ZERO_LIMITS: JsAccountLimits = {
  maxMemory: 0,
  maxStore: 0,
  maxStreams: 0,
  maxConsumers: 0,
  maxAckPending: 0,
  memoryMaxStreamBytes: 0,
  storeMaxStreamBytes: 0,
  maxBytesRequired: false,
};

/** server/jetstream.go JetStreamAccountLimits as JSON */
function limitsJSON(l: JsAccountLimits): Record<string, unknown> {
  return {
    max_memory: l.maxMemory,
    max_storage: l.maxStore,
    max_streams: l.maxStreams,
    max_consumers: l.maxConsumers,
    max_ack_pending: l.maxAckPending,
    memory_max_stream_bytes: l.memoryMaxStreamBytes,
    storage_max_stream_bytes: l.storeMaxStreamBytes,
    max_bytes_required: l.maxBytesRequired,
  };
}

function hasInterest(acc: Account, subject: string): boolean {
  const r = acc.sublist.match(subject);
  return r.psubs.length > 0 || r.qsubs.length > 0;
}

/**
 * Fields a response of `type` carries even with an error: the reference's
 * response structs have paging fields and a few others without omitempty.
 */
export function errorFields(type: string): Record<string, unknown> {
  switch (type) {
    case T.streamNames:
      return { total: 0, offset: 0, limit: 0, streams: null };
    case T.streamList:
      // server/jetstream_api.go starts the list response with an empty slice
      return { total: 0, offset: 0, limit: 0, streams: [] };
    case 'io.nats.jetstream.api.v1.consumer_names_response':
    case 'io.nats.jetstream.api.v1.consumer_list_response':
      return { total: 0, offset: 0, limit: 0, consumers: [] };
    case T.streamInfo:
      return { total: 0, offset: 0, limit: 0 };
    case T.streamPurge:
      return { purged: 0 };
    case T.streamRestore:
      return { deliver_subject: '' };
    default:
      return {};
  }
}

/** The response type an account without JetStream answers with, per request subject. */
function disabledResponseType(tokens: string[]): string | null {
  const t0 = tokens[0];
  const t1 = tokens[1] ?? '';
  if (t0 === 'INFO') return T.accountInfo;
  if (t0 === 'STREAM') {
    const m: Record<string, string> = {
      CREATE: T.streamCreate,
      UPDATE: T.streamUpdate,
      INFO: T.streamInfo,
      DELETE: T.streamDelete,
      PURGE: T.streamPurge,
      NAMES: T.streamNames,
      LIST: T.streamList,
      SNAPSHOT: T.streamSnapshot,
      RESTORE: T.streamRestore,
    };
    if (t1 === 'MSG') return tokens[2] === 'GET' ? T.msgGet : T.msgDelete;
    return m[t1] ?? null;
  }
  if (t0 === 'CONSUMER') {
    const m: Record<string, string> = {
      CREATE: 'io.nats.jetstream.api.v1.consumer_create_response',
      DURABLE: 'io.nats.jetstream.api.v1.consumer_create_response',
      INFO: 'io.nats.jetstream.api.v1.consumer_info_response',
      DELETE: 'io.nats.jetstream.api.v1.consumer_delete_response',
      NAMES: 'io.nats.jetstream.api.v1.consumer_names_response',
      LIST: 'io.nats.jetstream.api.v1.consumer_list_response',
    };
    return m[t1] ?? null;
  }
  return null;
}

