// The JetStream API in clustered mode (server/jetstream_api.go with
// server/jetstream_cluster.go jsClustered*Request): which server answers a
// request, and the meta leader's handlers that change or list the stream
// assignments. Everything else is answered by the local handlers of api.ts
// and consumer-api.ts on the server that runs the stream.

import type { JetStreamCluster } from './meta.js';
import type { ApiRequest, JsApi } from '../api.js';
import type { JsAccount } from '../account.js';
import { API_TYPES as T, errorFields, isEmptyRequest } from '../api.js';
import { apiError, ApiError } from '../errors.js';
import * as J from '../json.js';
import { checkStreamConfig, checkStreamUpdate, decodeStreamConfig, sameStreamConfig, streamConfigJSON, type StreamConfig, type StreamLookup } from '../stream-config.js';
import { subjectsCollide } from '../../subjects/validate.js';
import { nowNs } from '../store/types.js';
import { randomId } from '../ids.js';
import { orderedInfo, selectPeers, type StreamAssignment, type PendingReply } from './meta-state.js';

/** server/jetstream_api.go JSApiNamesLimit / JSApiListLimit */
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;
/** how long the meta leader waits for the infos of a STREAM.LIST */
const LIST_WAIT_MS = 2000;

/** true: the local handler answers; false: answered here or by another server. */
export function clusteredDispatch(c: JetStreamCluster, api: JsApi, req: ApiRequest): boolean {
  const t = req.tokens;
  const n = t.length;
  const t0 = t[0];
  const t1 = t[1] ?? '';
  const leader = c.isMetaLeader();
  if (t0 === 'INFO') return leader;
  if (t0 === 'STREAM') {
    switch (t1) {
      case 'CREATE':
        if (leader && n === 3) streamCreate(c, api, req);
        return false;
      case 'UPDATE':
        if (leader && n === 3) streamUpdate(c, api, req);
        return false;
      case 'DELETE':
        if (leader && n === 3) streamDelete(c, api, req);
        return false;
      case 'NAMES':
      case 'LIST':
        if (leader && n === 2) streamNames(c, api, req, t1 === 'LIST');
        return false;
      case 'MSG':
        return streamScoped(c, req, t[3], leader);
      case 'LEADER':
        if (n === 4 && t[2] === 'STEPDOWN') {
          const name = t[3];
          if (c.state.stream(req.jsa.name, name) === undefined) {
            if (leader) api.respond(req, T.streamLeaderStepdown, apiError('JSStreamNotFoundErr'));
          } else if (c.isStreamLeader(req.jsa.name, name)) {
            const l = c.localStream(req.jsa.name, name);
            l?.group?.stepDown();
            api.respond(req, T.streamLeaderStepdown, null, { success: true });
          }
        }
        return false;
      case 'PEER':
        if (leader && n === 4 && t[2] === 'REMOVE') streamPeerRemove(c, api, req);
        return false;
      case 'RESTORE':
        if (leader) api.respond(req, T.streamRestore, apiError('JSStreamRestoreErrF', { err: 'not supported in clustered mode' }), errorFields(T.streamRestore));
        return false;
      default:
        return streamScoped(c, req, t[2], leader);
    }
  }
  // CONSUMER.<op>.<stream>…, CONSUMER.DURABLE.CREATE.<stream>.…, CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>
  if (t0 === 'CONSUMER') return streamScoped(c, req, t1 === 'DURABLE' || t1 === 'LEADER' ? t[3] : t[2], leader);
  if (t0 === 'META' && t1 === 'LEADER' && t[2] === 'STEPDOWN' && n === 3) {
    if (leader) {
      api.respond(req, T.metaLeaderStepdown, null, { success: true });
      setTimeout(() => c.node?.stepDown(), 50).unref();
    }
    return false;
  }
  return leader;
}

/** A request about one stream: its leader answers; the meta leader when nobody has it. */
function streamScoped(c: JetStreamCluster, req: ApiRequest, name: string | undefined, leader: boolean): boolean {
  if (name === undefined || c.state.stream(req.jsa.name, name) === undefined) return leader;
  return c.isStreamLeader(req.jsa.name, name);
}

/** stream-config.ts's lookup over the assignments instead of the local streams */
function clusterLookup(c: JetStreamCluster, api: JsApi, jsa: JsAccount): StreamLookup {
  const base = api.lookup(jsa);
  return {
    ...base,
    get: (name) => {
      const sa = c.state.stream(jsa.name, name);
      if (sa === undefined) return undefined;
      try {
        return decodeStreamConfig(sa.config);
      } catch {
        return undefined;
      }
    },
  };
}

function overlaps(c: JetStreamCluster, jsa: JsAccount, cfg: StreamConfig): boolean {
  for (const sa of c.state.accountStreams(jsa.name)) {
    if (sa.name === cfg.name) continue;
    const subjects = Array.isArray(sa.config.subjects) ? (sa.config.subjects as string[]) : [];
    if (subjects.some((a) => cfg.subjects.some((b) => subjectsCollide(a, b)))) return true;
  }
  return false;
}

function pendingOf(req: ApiRequest): PendingReply {
  return { subject: req.subject, reply: req.reply, body: req.body.toString('utf8') };
}

function proposeFailed(api: JsApi, req: ApiRequest, type: string): () => void {
  return () => api.respond(req, type, apiError('JSClusterNotAvailErr'));
}

/** server/jetstream_cluster.go jsClusteredStreamRequest */
function streamCreate(c: JetStreamCluster, api: JsApi, req: ApiRequest): void {
  const name = req.tokens[2];
  const cfgIn = api.parse(req, T.streamCreate, decodeStreamConfig);
  if (cfgIn === null) return;
  if (name !== cfgIn.name) return api.respond(req, T.streamCreate, apiError('JSStreamMismatchErr'));
  if (/[\\/]/.test(name)) return api.respond(req, T.streamCreate, apiError('JSStreamNameContainsPathSeparatorsErr'));
  if (cfgIn.sealed) {
    return api.respond(req, T.streamCreate, apiError('JSStreamInvalidConfigF', { err: 'stream configuration for create can not be sealed' }));
  }
  if (cfgIn.mirrorDirect && cfgIn.mirror === null) {
    return api.respond(req, T.streamCreate, apiError('JSStreamInvalidConfigF', { err: 'stream has no mirror but does have mirror direct' }));
  }
  const jsa = req.jsa;
  const checked = checkStreamConfig(cfgIn, clusterLookup(c, api, jsa));
  if (checked instanceof ApiError) return api.respond(req, T.streamCreate, checked);
  const existing = c.state.stream(jsa.name, name);
  if (existing !== undefined) {
    let same = false;
    try {
      same = sameStreamConfig(decodeStreamConfig(existing.config), checked);
    } catch {
      same = false;
    }
    if (!same) return api.respond(req, T.streamCreate, apiError('JSStreamNameExistErr'));
    // already there: its info as the create answer
    const local = c.localStream(jsa.name, name);
    const info = orderedInfo(local !== undefined ? local.stream.info() : remoteInfo(existing), c.streamExtrasOf(existing, false));
    return api.respond(req, T.streamCreate, null, { ...info, did_create: true });
  }
  const l = jsa.limits;
  if (l.maxStreams > 0 && c.streamCount(jsa.name) >= l.maxStreams) return api.respond(req, T.streamCreate, apiError('JSMaximumStreamsLimitErr'));
  if (checked.maxConsumers > 0 && l.maxConsumers > 0 && checked.maxConsumers > l.maxConsumers) return api.respond(req, T.streamCreate, apiError('JSMaximumConsumersLimitErr'));
  if (overlaps(c, jsa, checked)) return api.respond(req, T.streamCreate, apiError('JSStreamSubjectOverlapErr'));
  const cluster = checked.placement !== null && checked.placement.cluster !== '' ? checked.placement.cluster : c.clusterName;
  const peers = selectPeers(c.placementPeers(), Math.max(1, checked.replicas), cluster, checked.placement?.tags ?? [], c.state.load());
  if (typeof peers === 'string') return api.respond(req, T.streamCreate, apiError('JSClusterNoPeersErrF', { err: peers }));
  const sa: StreamAssignment = {
    account: jsa.name,
    name,
    config: streamConfigJSON(checked),
    created: nowNs(),
    group: c.newGroupName(peers.length, checked.storage),
    peers,
    cluster,
  };
  c.propose({ op: 'stream', sa, reply: pendingOf(req) }).catch(proposeFailed(api, req, T.streamCreate));
}

/** server/jetstream_cluster.go jsClusteredStreamUpdateRequest */
function streamUpdate(c: JetStreamCluster, api: JsApi, req: ApiRequest): void {
  const ncfg = api.parse(req, T.streamUpdate, decodeStreamConfig);
  if (ncfg === null) return;
  const jsa = req.jsa;
  const lookup = clusterLookup(c, api, jsa);
  const checked0 = checkStreamConfig(ncfg, lookup);
  if (checked0 instanceof ApiError) return api.respond(req, T.streamUpdate, checked0);
  const name = req.tokens[2];
  if (name !== ncfg.name) return api.respond(req, T.streamUpdate, apiError('JSStreamMismatchErr'));
  const sa = c.state.stream(jsa.name, name);
  if (sa === undefined) return api.respond(req, T.streamUpdate, apiError('JSStreamNotFoundErr'));
  let old: StreamConfig;
  try {
    old = decodeStreamConfig(sa.config);
  } catch {
    return api.respond(req, T.streamUpdate, apiError('JSStreamNotFoundErr'));
  }
  const checked = checkStreamUpdate(old, ncfg, lookup);
  if (checked instanceof ApiError) return api.respond(req, T.streamUpdate, checked);
  if (overlaps(c, jsa, checked)) return api.respond(req, T.streamUpdate, apiError('JSStreamSubjectOverlapErr'));
  const want = Math.max(1, checked.replicas);
  let peers = sa.peers;
  let group = sa.group;
  if (want < peers.length) {
    // the stream's leader stays: it has every acknowledged message
    const lead = c.knownLeader(sa);
    if (lead !== null) peers = [lead, ...peers.filter((p) => p !== lead)];
    peers = peers.slice(0, want);
    group = c.newGroupName(want, checked.storage);
  } else if (want > peers.length) {
    const more = selectPeers(
      c.placementPeers().filter((p) => !peers.includes(p.name)),
      want - peers.length,
      sa.cluster,
      checked.placement?.tags ?? [],
      c.state.load(),
    );
    if (typeof more === 'string') return api.respond(req, T.streamUpdate, apiError('JSClusterNoPeersErrF', { err: more }));
    peers = [...peers, ...more];
    group = c.newGroupName(want, checked.storage);
  }
  const nsa: StreamAssignment = { ...sa, config: streamConfigJSON(checked), peers, group };
  c.propose({ op: 'stream', sa: nsa, reply: pendingOf(req), update: true }).catch(proposeFailed(api, req, T.streamUpdate));
}

/** server/jetstream_cluster.go jsClusteredStreamDeleteRequest: the meta leader answers once the removal is committed. */
function streamDelete(c: JetStreamCluster, api: JsApi, req: ApiRequest): void {
  const name = req.tokens[2];
  if (c.state.stream(req.jsa.name, name) === undefined) return api.respond(req, T.streamDelete, apiError('JSStreamNotFoundErr'));
  c.propose({ op: 'remove', account: req.jsa.name, name }).then(
    () => api.respond(req, T.streamDelete, null, { success: true }),
    proposeFailed(api, req, T.streamDelete),
  );
}

/**
 * server/jetstream_api.go jsStreamRemovePeerRequest, jetstream_cluster.go
 * remapStreamAssignment: the peer is replaced by another server that fits the
 * placement; when none is left the stream goes on without it (one replica
 * less than its num_replicas) and the answer is "peer remap failed". The
 * reference changes the Raft group's members and its leader stays; here the
 * remaining peers start a new group on their stored messages, as for a change
 * of num_replicas, and elect a leader among them.
 */
function streamPeerRemove(c: JetStreamCluster, api: JsApi, req: ApiRequest): void {
  const type = T.streamRemovePeer;
  if (isEmptyRequest(req.body)) return api.respond(req, type, apiError('JSBadRequestErr'));
  const r = api.parse(req, type, (o) => ({ peer: J.str(o, 'peer') }));
  if (r === null) return;
  if (r.peer === '') return api.respond(req, type, apiError('JSBadRequestErr'));
  const sa = c.state.stream(req.jsa.name, req.tokens[3]);
  if (sa === undefined) return api.respond(req, type, apiError('JSStreamNotFoundErr'));
  if (!sa.peers.includes(r.peer)) return api.respond(req, type, apiError('JSClusterPeerNotMemberErr'));
  let cfg: StreamConfig;
  try {
    cfg = decodeStreamConfig(sa.config);
  } catch {
    return api.respond(req, type, apiError('JSStreamNotFoundErr'));
  }
  let peers = sa.peers.filter((p) => p !== r.peer);
  const more = selectPeers(
    c.placementPeers().filter((p) => !sa.peers.includes(p.name)),
    1,
    sa.cluster,
    cfg.placement?.tags ?? [],
    c.state.load(),
  );
  const replaced = typeof more !== 'string';
  if (replaced) peers = [...peers, ...more];
  else c.js.server.logger.warn(`JetStream cluster could not replace peer for stream '${sa.account} > ${sa.name}'`);
  const nsa: StreamAssignment = { ...sa, peers, group: c.newGroupName(peers.length, cfg.storage) };
  c.propose({ op: 'stream', sa: nsa, update: true }).then(
    () => api.respond(req, type, replaced ? null : apiError('JSPeerRemapErr'), replaced ? { success: true } : {}),
    proposeFailed(api, req, type),
  );
}

/** The info of a stream that runs elsewhere, from its assignment (state unknown here). */
function remoteInfo(sa: StreamAssignment): Record<string, unknown> {
  return {
    config: sa.config,
    created: J.nsToTime(sa.created),
    state: { messages: 0, bytes: 0, first_seq: 0, first_ts: '0001-01-01T00:00:00Z', last_seq: 0, last_ts: '0001-01-01T00:00:00Z', consumer_count: 0 },
  };
}

/** jsStreamNamesRequest / jsClusteredStreamListRequest */
function streamNames(c: JetStreamCluster, api: JsApi, req: ApiRequest, list: boolean): void {
  const type = list ? T.streamList : T.streamNames;
  const r = api.parse(req, type, (o) => ({ offset: J.int(o, 'offset'), subject: J.str(o, 'subject') }), errorFields(type));
  if (r === null) return;
  let all = c.state.accountStreams(req.jsa.name);
  if (r.subject !== '') {
    all = all.filter((sa) => Array.isArray(sa.config.subjects) && (sa.config.subjects as string[]).some((s) => subjectsCollide(r.subject, s)));
  }
  const total = all.length;
  let offset = Math.max(0, r.offset);
  if (offset > total) offset = total;
  const limit = list ? LIST_LIMIT : NAMES_LIMIT;
  const page = all.slice(offset, offset + limit);
  if (!list) {
    api.respond(req, type, null, { total, offset, limit, streams: page.length > 0 ? page.map((sa) => sa.name) : null });
    return;
  }
  gatherInfos(c, req.jsa, page).then((infos) => api.respond(req, type, null, { total, offset, limit, streams: infos }));
}

/** The infos of `page`: local ones directly, the others asked of their leaders with STREAM.INFO. */
function gatherInfos(c: JetStreamCluster, jsa: JsAccount, page: StreamAssignment[]): Promise<Record<string, unknown>[]> {
  const infos = new Map<string, Record<string, unknown>>();
  const remote: StreamAssignment[] = [];
  for (const sa of page) {
    const l = c.localStream(jsa.name, sa.name);
    if (l !== undefined && c.isStreamLeader(jsa.name, sa.name)) infos.set(sa.name, orderedInfo(l.stream.info(), c.streamExtras(l.stream, '', false)));
    else remote.push(sa);
  }
  const ordered = (): Record<string, unknown>[] =>
    page.map((sa) => infos.get(sa.name) ?? orderedInfo(remoteInfo(sa), c.streamExtrasOf(sa, false)));
  if (remote.length === 0) return Promise.resolve(ordered());
  return new Promise((resolve) => {
    const inbox = `_INBOX.JSC.${randomId(22)}`;
    let left = remote.length;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (sub !== null) jsa.client.unsubscribe(sub);
      resolve(ordered());
    };
    const sub = jsa.client.subscribeInternal(`${inbox}.*`, null, (_s, subject, _reply, _hdr, body) => {
      const name = remote[Number(subject.slice(inbox.length + 1))]?.name;
      if (name === undefined || infos.has(name)) return;
      try {
        const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        if (o.error === undefined) {
          delete o.type;
          delete o.total;
          delete o.offset;
          delete o.limit;
          delete o.alternates;
          infos.set(name, o);
        }
      } catch {
        // an answer that does not parse: the assignment's view stands in
      }
      if (--left === 0) finish();
    });
    const timer = setTimeout(finish, LIST_WAIT_MS);
    timer.unref();
    remote.forEach((sa, i) => jsa.client.publish(`$JS.API.STREAM.INFO.${sa.name}`, `${inbox}.${i}`, null, Buffer.alloc(0)));
  });
}
