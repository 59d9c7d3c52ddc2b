// A stream's configuration: decoding a request's JSON as the reference's
// StreamConfig (server/stream.go), the defaults and checks of
// checkStreamCfg, the rules of an update (configUpdateCheck), and the JSON
// the reference answers with, field for field in its order.

import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import { isValidSubject, isValidPublishSubject, subjectsCollide, subjectIsSubsetMatch } from '../subjects/validate.js';
import type { DiscardPolicy, RetentionPolicy, StorageType, StoreConfig } from './store/types.js';

export interface ExternalStream {
  api: string;
  deliver: string;
}

export interface StreamSource {
  name: string;
  optStartSeq: number;
  /** ns, 0 = none */
  optStartTime: number;
  filterSubject: string;
  external: ExternalStream | null;
}

export interface RePublish {
  src: string;
  dest: string;
  headersOnly: boolean;
}

export interface StreamConfig {
  name: string;
  description: string;
  subjects: string[];
  retention: RetentionPolicy;
  maxConsumers: number;
  maxMsgs: number;
  maxBytes: number;
  /** ns */
  maxAge: number;
  maxMsgsPerSubject: number;
  maxMsgSize: number;
  discard: DiscardPolicy;
  storage: StorageType;
  replicas: number;
  noAck: boolean;
  templateOwner: string;
  /** ns */
  duplicateWindow: number;
  placement: { cluster: string; tags: string[] } | null;
  mirror: StreamSource | null;
  sources: StreamSource[];
  republish: RePublish | null;
  allowDirect: boolean;
  mirrorDirect: boolean;
  discardNewPerSubject: boolean;
  sealed: boolean;
  denyDelete: boolean;
  denyPurge: boolean;
  allowRollup: boolean;
}

/** server/jetstream.go isValidName: no blanks, '.', '*', '>' */
export function isValidName(name: string): boolean {
  return name !== '' && !/[ \t\r\n\f.*>]/.test(name);
}

export const JS_MAX_NAME_LEN = 255;
export const JS_MAX_DESCRIPTION_LEN = 4 * 1024;
/** server/stream.go StreamDefaultDuplicatesWindow */
export const DEFAULT_DUPLICATE_WINDOW_NS = 2 * 60 * 1e9;
const STREAM_MAX_REPLICAS = 5;

function decodeSource(o: Record<string, unknown>): StreamSource {
  const ext = J.obj(o, 'external');
  return {
    name: J.str(o, 'name'),
    optStartSeq: J.uint(o, 'opt_start_seq'),
    optStartTime: J.time(o, 'opt_start_time') ?? 0,
    filterSubject: J.str(o, 'filter_subject'),
    external: ext === undefined ? null : { api: J.str(ext, 'api'), deliver: J.str(ext, 'deliver') },
  };
}

/** Decode a StreamConfig JSON object; throws JsonDecodeError as Go's Unmarshal would fail. */
export function decodeStreamConfig(raw: Record<string, unknown>): StreamConfig {
  const o = J.folded(raw);
  const mirror = J.obj(o, 'mirror');
  const sourcesRaw = J.field(o, 'sources');
  let sources: StreamSource[] = [];
  if (sourcesRaw !== undefined && sourcesRaw !== null) {
    if (!Array.isArray(sourcesRaw)) throw new J.JsonDecodeError('sources');
    sources = sourcesRaw.map((s) => {
      if (s === null) return decodeSource({});
      if (typeof s !== 'object' || Array.isArray(s)) throw new J.JsonDecodeError('sources');
      return decodeSource(s as Record<string, unknown>);
    });
  }
  const rp = J.obj(o, 'republish');
  const pl = J.obj(o, 'placement');
  return {
    name: J.str(o, 'name'),
    description: J.str(o, 'description'),
    subjects: J.strings(o, 'subjects') ?? [],
    retention: J.oneOf(o, 'retention', ['limits', 'interest', 'workqueue'] as const, 'limits'),
    maxConsumers: J.int(o, 'max_consumers', 0, -(2 ** 63), 2 ** 63),
    maxMsgs: J.int(o, 'max_msgs'),
    maxBytes: J.int(o, 'max_bytes'),
    maxAge: J.int(o, 'max_age'),
    maxMsgsPerSubject: J.int(o, 'max_msgs_per_subject'),
    maxMsgSize: J.int32(o, 'max_msg_size'),
    discard: J.oneOf(o, 'discard', ['old', 'new'] as const, 'old'),
    storage: J.oneOf(o, 'storage', ['file', 'memory'] as const, 'file'),
    replicas: J.int(o, 'num_replicas'),
    noAck: J.bool(o, 'no_ack'),
    templateOwner: J.str(o, 'template_owner'),
    duplicateWindow: J.int(o, 'duplicate_window'),
    placement: pl === undefined ? null : { cluster: J.str(pl, 'cluster'), tags: J.strings(pl, 'tags') ?? [] },
    mirror: mirror === undefined ? null : decodeSource(mirror),
    sources,
    republish: rp === undefined ? null : { src: J.str(rp, 'src'), dest: J.str(rp, 'dest'), headersOnly: J.bool(rp, 'headers_only') },
    allowDirect: J.bool(o, 'allow_direct'),
    mirrorDirect: J.bool(o, 'mirror_direct'),
    discardNewPerSubject: J.bool(o, 'discard_new_per_subject'),
    sealed: J.bool(o, 'sealed'),
    denyDelete: J.bool(o, 'deny_delete'),
    denyPurge: J.bool(o, 'deny_purge'),
    allowRollup: J.bool(o, 'allow_rollup_hdrs'),
  };
}

/** What checkStreamCfg needs to know of the other streams of the account. */
export interface StreamLookup {
  get(name: string): StreamConfig | undefined;
  /** the server's duplicate window limit (jetstream { limits { duplicate_window } }), ns; 0 = none */
  maxDuplicateWindow: number;
  /** account max_bytes_required and the per-storage max stream bytes (0 = none) */
  maxBytesRequired: boolean;
  maxStreamBytes(storage: StorageType): number;
}

function invalid(text: string): ApiError {
  return apiError('JSStreamInvalidConfigF', { err: text });
}

/** server/stream.go checkStreamCfg for a server that is not clustered. Returns the completed config or the error. */
export function checkStreamConfig(config: StreamConfig, lookup: StreamLookup): StreamConfig | ApiError {
  if (!isValidName(config.name)) return invalid("stream name is required and can not contain '.', '*', '>'");
  if (config.name.length > JS_MAX_NAME_LEN) return invalid(`stream name is too long, maximum allowed is ${JS_MAX_NAME_LEN}`);
  if (config.description.length > JS_MAX_DESCRIPTION_LEN) {
    return invalid(`stream description is too long, maximum allowed is ${JS_MAX_DESCRIPTION_LEN}`);
  }
  const cfg: StreamConfig = { ...config, subjects: [...config.subjects], sources: config.sources.map((s) => ({ ...s })) };
  if (cfg.republish !== null) cfg.republish = { ...cfg.republish };
  if (cfg.replicas === 0) cfg.replicas = 1;
  if (cfg.replicas > STREAM_MAX_REPLICAS) return invalid(`maximum replicas is ${STREAM_MAX_REPLICAS}`);
  if (cfg.replicas < 0) return apiError('JSReplicasCountCannotBeNegative');
  if (cfg.maxMsgs === 0) cfg.maxMsgs = -1;
  if (cfg.maxMsgsPerSubject === 0) cfg.maxMsgsPerSubject = -1;
  if (cfg.maxBytes === 0) cfg.maxBytes = -1;
  if (cfg.maxMsgSize === 0) cfg.maxMsgSize = -1;
  if (cfg.maxConsumers === 0) cfg.maxConsumers = -1;
  const limDup = lookup.maxDuplicateWindow;
  if (cfg.duplicateWindow === 0 && cfg.mirror === null) {
    let maxWindow = DEFAULT_DUPLICATE_WINDOW_NS;
    if (limDup > 0 && maxWindow > limDup) maxWindow = limDup;
    cfg.duplicateWindow = cfg.maxAge !== 0 && cfg.maxAge < maxWindow ? cfg.maxAge : maxWindow;
  }
  if (cfg.maxAge > 0 && cfg.maxAge < 100e6) return invalid('max age needs to be >= 100ms');
  if (cfg.duplicateWindow < 0) return invalid('duplicates window can not be negative');
  if (cfg.maxAge !== 0 && cfg.duplicateWindow > cfg.maxAge) return invalid('duplicates window can not be larger then max age');
  if (limDup > 0 && cfg.duplicateWindow > limDup) {
    return invalid(`duplicates window can not be larger then server limit of ${goDuration(limDup)}`);
  }
  if (cfg.duplicateWindow > 0 && cfg.duplicateWindow < 100e6) return invalid('duplicates window needs to be >= 100ms');
  if (cfg.denyPurge && cfg.allowRollup) return invalid('roll-ups require the purge permission');
  if (cfg.discardNewPerSubject) {
    if (cfg.discard !== 'new') return invalid('discard new per subject requires discard new policy to be set');
    if (cfg.maxMsgsPerSubject <= 0) return invalid('discard new per subject requires max msgs per subject > 0');
  }

  const streamSubs: string[] = [];
  const deliveryPrefixes: string[] = [];
  const apiPrefixes: string[] = [];
  const overlaps = (filter: string, subs: string[]): boolean =>
    filter === '' || subs.length === 0 || subs.some((s) => subjectsCollide(s, filter));

  if (cfg.mirror !== null) {
    if (cfg.subjects.length > 0) return apiError('JSMirrorWithSubjectsErr');
    if (cfg.sources.length > 0) return apiError('JSMirrorWithSourcesErr');
    const origin = lookup.get(cfg.mirror.name);
    if (origin !== undefined) {
      streamSubs.push(...origin.subjects);
      if (cfg.maxMsgSize > 0 && origin.maxMsgSize > 0 && cfg.maxMsgSize < origin.maxMsgSize) return apiError('JSMirrorMaxMessageSizeTooBigErr');
      if (!overlaps(cfg.mirror.filterSubject, origin.subjects)) {
        return invalid(`mirror '${cfg.mirror.name}' filter subject '${cfg.mirror.filterSubject}' does not overlap with any origin stream subject`);
      }
      cfg.mirrorDirect = origin.allowDirect;
    }
    if (cfg.mirror.external !== null) {
      if (cfg.mirror.external.deliver !== '') deliveryPrefixes.push(cfg.mirror.external.deliver);
      if (cfg.mirror.external.api !== '') apiPrefixes.push(cfg.mirror.external.api);
    }
  }
  for (const src of cfg.sources) {
    const origin = lookup.get(src.name);
    if (origin !== undefined) {
      streamSubs.push(...origin.subjects);
      if (cfg.maxMsgSize > 0 && origin.maxMsgSize > 0 && cfg.maxMsgSize < origin.maxMsgSize) return apiError('JSSourceMaxMessageSizeTooBigErr');
      if (!overlaps(src.filterSubject, streamSubs)) {
        return invalid(`source '${src.name}' filter subject '${src.filterSubject}' does not overlap with any origin stream subject`);
      }
    }
    if (src.external === null) continue;
    if (src.external.deliver !== '') deliveryPrefixes.push(src.external.deliver);
    if (src.external.api !== '') apiPrefixes.push(src.external.api);
  }
  for (const pfx of deliveryPrefixes) {
    if (!isValidPublishSubject(pfx)) return apiError('JSStreamInvalidExternalDeliverySubjErrF', { prefix: pfx });
    for (const sub of streamSubs) {
      if (subjectsCollide(sub, `${pfx}.${sub}`)) return apiError('JSStreamExternalDelPrefixOverlapsErrF', { prefix: pfx, subject: sub });
    }
  }
  for (const pfx of apiPrefixes) {
    if (!isValidPublishSubject(pfx)) return invalid(`stream external api prefix ${JSON.stringify(pfx)} must be a valid subject without wildcards`);
    if (subjectsCollide(pfx, '$JS.API')) return apiError('JSStreamExternalApiOverlapErrF', { prefix: pfx, subject: '$JS.API' });
  }
  // cycles through sources and mirrors of this account's streams
  const toVisit: StreamConfig[] = [cfg];
  const visited = new Set<string>();
  while (toVisit.length > 0) {
    const c = toVisit.shift()!;
    visited.add(c.name);
    for (const src of c.sources) {
      if (src.external !== null) continue;
      if (visited.has(src.name)) return invalid('detected cycle');
      const o = lookup.get(src.name);
      if (o !== undefined) toVisit.push(o);
    }
    const m = c.mirror;
    if (m !== null && m.external === null) {
      if (visited.has(m.name)) return invalid('detected cycle');
      const o = lookup.get(m.name);
      if (o !== undefined) toVisit.push(o);
    }
  }

  if (cfg.subjects.length === 0) {
    if (cfg.mirror === null && cfg.sources.length === 0) cfg.subjects.push(cfg.name);
  } else {
    if (cfg.mirror !== null) return apiError('JSMirrorWithSubjectsErr');
    const seen = new Set<string>();
    for (const subj of cfg.subjects) {
      if (seen.has(subj)) return invalid('duplicate subjects detected');
      if (subjectIsSubsetMatch(subj, '$JS.API.>')) return invalid('subjects overlap with jetstream api');
      if (!isValidSubject(subj)) return invalid('invalid subject');
      seen.add(subj);
    }
  }
  if (cfg.subjects.length === 0 && cfg.sources.length === 0 && cfg.mirror === null) {
    return invalid('stream needs at least one configured subject or be a source/mirror');
  }
  const limit = lookup.maxStreamBytes(cfg.storage);
  if (lookup.maxBytesRequired && cfg.maxBytes <= 0) return apiError('JSStreamMaxBytesRequired');
  if (limit > 0 && cfg.maxBytes > limit) return apiError('JSStreamMaxStreamBytesExceeded');
  if (cfg.subjects.length > 1) {
    for (const subj of cfg.subjects) {
      for (const t of cfg.subjects) {
        if (t !== subj && subjectsCollide(t, subj)) return invalid(`subject ${JSON.stringify(subj)} overlaps with ${JSON.stringify(t)}`);
      }
    }
  }
  if (cfg.republish !== null) {
    const rp = cfg.republish;
    if (rp.src === '') rp.src = '>';
    if (!cfg.subjects.some((s) => subjectsCollide(rp.src, s))) {
      return invalid('stream configuration for republish source is not valid subset of subjects');
    }
    if (cfg.subjects.some((s) => subjectsCollide(rp.dest, s))) {
      return invalid('stream configuration for republish destination forms a cycle');
    }
    if (!isValidSubject(rp.src) || !isValidPublishSubjectOrWildcardDest(rp.dest)) {
      return invalid('stream configuration for republish not valid');
    }
  }
  return cfg;
}

function isValidPublishSubjectOrWildcardDest(dest: string): boolean {
  // a transform destination may carry {{wildcard(n)}} or $n placeholders
  return dest !== '' && isValidSubject(dest.replace(/\{\{[^}]*\}\}/g, 'x'));
}

/** server/stream.go configUpdateCheck (limits aside): the new config or the error. */
export function checkStreamUpdate(old: StreamConfig, next: StreamConfig, lookup: StreamLookup): StreamConfig | ApiError {
  const r = checkStreamConfig(next, lookup);
  if (r instanceof ApiError) return r;
  const cfg = r;
  if (cfg.name !== old.name) return invalid('stream configuration name must match original');
  if (cfg.maxConsumers !== old.maxConsumers) return invalid('stream configuration update can not change MaxConsumers');
  if (cfg.storage !== old.storage) return invalid('stream configuration update can not change storage type');
  if (cfg.retention !== old.retention) return invalid('stream configuration update can not change retention policy');
  if (old.templateOwner !== '') return invalid('stream configuration update not allowed on template owned stream');
  if (cfg.templateOwner !== '') return invalid('stream configuration update can not be owned by a template');
  if (!cfg.sealed && old.sealed) return invalid('stream configuration update can not unseal a sealed stream');
  if (!cfg.denyDelete && old.denyDelete) return invalid('stream configuration update can not cancel deny message deletes');
  if (!cfg.denyPurge && old.denyPurge) return invalid('stream configuration update can not cancel deny purge');
  if (JSON.stringify(cfg.mirror) !== JSON.stringify(old.mirror)) return apiError('JSStreamMirrorNotUpdatableErr');
  if (JSON.stringify(cfg.republish) !== JSON.stringify(old.republish)) return invalid('stream configuration update can not change RePublish');
  if (cfg.sealed) {
    cfg.maxAge = 0;
    cfg.discard = 'new';
    cfg.denyDelete = true;
    cfg.denyPurge = true;
    cfg.allowRollup = false;
  }
  return cfg;
}

/** Whether two configs are the same as far as a repeated CREATE is concerned (reflect.DeepEqual). */
export function sameStreamConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(streamConfigJSON(a)) === JSON.stringify(streamConfigJSON(b));
}

function sourceJSON(s: StreamSource): Record<string, unknown> {
  const o: Record<string, unknown> = { name: s.name };
  if (s.optStartSeq !== 0) o.opt_start_seq = s.optStartSeq;
  if (s.optStartTime !== 0) o.opt_start_time = J.nsToTime(s.optStartTime);
  if (s.filterSubject !== '') o.filter_subject = s.filterSubject;
  if (s.external !== null) o.external = { api: s.external.api, deliver: s.external.deliver };
  return o;
}

/** The reference's StreamConfig JSON (field order and omitempty as server/stream.go). */
export function streamConfigJSON(c: StreamConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: c.name };
  if (c.description !== '') o.description = c.description;
  if (c.subjects.length > 0) o.subjects = c.subjects;
  o.retention = c.retention;
  o.max_consumers = c.maxConsumers;
  o.max_msgs = c.maxMsgs;
  o.max_bytes = c.maxBytes;
  o.max_age = c.maxAge;
  o.max_msgs_per_subject = c.maxMsgsPerSubject;
  if (c.maxMsgSize !== 0) o.max_msg_size = c.maxMsgSize;
  o.discard = c.discard;
  o.storage = c.storage;
  o.num_replicas = c.replicas;
  if (c.noAck) o.no_ack = true;
  if (c.templateOwner !== '') o.template_owner = c.templateOwner;
  if (c.duplicateWindow !== 0) o.duplicate_window = c.duplicateWindow;
  if (c.placement !== null) {
    // server/jetstream_cluster.go Placement: both fields omitempty
    const p: Record<string, unknown> = {};
    if (c.placement.cluster !== '') p.cluster = c.placement.cluster;
    if (c.placement.tags.length > 0) p.tags = c.placement.tags;
    o.placement = p;
  }
  if (c.mirror !== null) o.mirror = sourceJSON(c.mirror);
  if (c.sources.length > 0) o.sources = c.sources.map(sourceJSON);
  if (c.republish !== null) {
    const r: Record<string, unknown> = {};
    if (c.republish.src !== '') r.src = c.republish.src;
    r.dest = c.republish.dest;
    if (c.republish.headersOnly) r.headers_only = true;
    o.republish = r;
  }
  o.allow_direct = c.allowDirect;
  o.mirror_direct = c.mirrorDirect;
  if (c.discardNewPerSubject) o.discard_new_per_subject = true;
  o.sealed = c.sealed;
  o.deny_delete = c.denyDelete;
  o.deny_purge = c.denyPurge;
  o.allow_rollup_hdrs = c.allowRollup;
  return o;
}

/** What the store is told of a stream's config. */
export function storeConfigOf(c: StreamConfig): StoreConfig {
  return {
    name: c.name,
    subjects: c.subjects,
    storage: c.storage,
    maxMsgs: c.maxMsgs,
    maxBytes: c.maxBytes,
    maxAge: c.maxAge,
    maxMsgsPerSubject: c.maxMsgsPerSubject,
    maxMsgSize: c.maxMsgSize,
    discard: c.discard,
    discardNewPerSubject: c.discardNewPerSubject,
  };
}

/** Go's time.Duration String() for a whole number of ns (used in a few error texts). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const parts: string[] = [];
  let rest = ns;
  const h = Math.floor(rest / 3600e9);
  rest -= h * 3600e9;
  const m = Math.floor(rest / 60e9);
  rest -= m * 60e9;
  const s = rest / 1e9;
  if (h > 0) parts.push(`${h}h`);
  if (h > 0 || m > 0) parts.push(`${m}m`);
  parts.push(`${Number(s.toFixed(9))}s`);
  return parts.join('');
}
