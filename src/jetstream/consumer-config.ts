// A consumer's configuration: decoding a request's JSON as the reference's
// ConsumerConfig (server/consumer.go), the defaults of
// setConsumerConfigDefaults, the checks of checkConsumerCfg, what an update
// may change (checkNewConsumerConfig), and the JSON the reference answers
// with, field for field in its order.

import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import { isValidSubject, subjectHasWildcard, subjectIsLiteral, subjectIsSubsetMatch } from '../subjects/validate.js';
import type { StreamConfig } from './stream-config.js';
import { JS_MAX_DESCRIPTION_LEN } from './stream-config.js';

export type DeliverPolicy = 'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
export type AckPolicy = 'none' | 'all' | 'explicit';
export type ReplayPolicy = 'instant' | 'original';

export interface ConsumerConfig {
  durable: string;
  name: string;
  description: string;
  deliverPolicy: DeliverPolicy;
  optStartSeq: number;
  /** ns; null = not set */
  optStartTime: number | null;
  ackPolicy: AckPolicy;
  /** ns */
  ackWait: number;
  maxDeliver: number;
  /** ns each */
  backoff: number[];
  filterSubject: string;
  replayPolicy: ReplayPolicy;
  /** bits per second */
  rateLimit: number;
  sampleFreq: string;
  maxWaiting: number;
  maxAckPending: number;
  /** ns */
  heartbeat: number;
  flowControl: boolean;
  headersOnly: boolean;
  maxBatch: number;
  /** ns */
  maxExpires: number;
  maxBytes: number;
  deliverSubject: string;
  deliverGroup: string;
  /** ns */
  inactiveThreshold: number;
  replicas: number;
  memStorage: boolean;
  direct: boolean;
}

/** server/consumer.go JsAckWaitDefault, JsDeleteWaitTimeDefault, JsDefaultMaxAckPending; jetstream_api.go JSWaitQueueDefaultMax */
export const ACK_WAIT_DEFAULT_NS = 30e9;
export const DELETE_WAIT_DEFAULT_NS = 5e9;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const WAIT_QUEUE_DEFAULT_MAX = 512;
const JS_MAX_NAME_LEN = 255;

/**
 * A Go enum with UnmarshalJSON: only its strings; null is handed to
 * UnmarshalJSON too and fails (unlike J.oneOf, where null is the default).
 */
function goEnum<T extends string>(o: Record<string, unknown>, name: string, values: readonly T[], def: T, aliases: Record<string, T> = {}): T {
  const v = J.field(o, name);
  if (v === undefined) return def;
  if (typeof v === 'string') {
    if ((values as readonly string[]).includes(v)) return v as T;
    if (v in aliases) return aliases[v];
  }
  throw new J.JsonDecodeError(`json: cannot unmarshal ${name}`);
}

function durations(o: Record<string, unknown>, name: string): number[] {
  const v = J.field(o, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new J.JsonDecodeError(name);
  return v.map((d) => {
    if (d === null) return 0;
    if (typeof d !== 'number' || !Number.isInteger(d)) throw new J.JsonDecodeError(name);
    return d;
  });
}

/** Decode a ConsumerConfig JSON object; throws JsonDecodeError where Go's Unmarshal fails. */
export function decodeConsumerConfig(o: Record<string, unknown>): ConsumerConfig {
  return {
    durable: J.str(o, 'durable_name'),
    name: J.str(o, 'name'),
    description: J.str(o, 'description'),
    deliverPolicy: goEnum(o, 'deliver_policy', ['all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'] as const, 'all', {
      undefined: 'all',
    }),
    optStartSeq: J.uint(o, 'opt_start_seq'),
    optStartTime: J.time(o, 'opt_start_time') ?? null,
    ackPolicy: goEnum(o, 'ack_policy', ['none', 'all', 'explicit'] as const, 'none'),
    ackWait: J.int(o, 'ack_wait'),
    maxDeliver: J.int(o, 'max_deliver'),
    backoff: durations(o, 'backoff'),
    filterSubject: J.str(o, 'filter_subject'),
    replayPolicy: goEnum(o, 'replay_policy', ['instant', 'original'] as const, 'instant'),
    rateLimit: J.uint(o, 'rate_limit_bps'),
    sampleFreq: J.str(o, 'sample_freq'),
    maxWaiting: J.int(o, 'max_waiting'),
    maxAckPending: J.int(o, 'max_ack_pending'),
    heartbeat: J.int(o, 'idle_heartbeat'),
    flowControl: J.bool(o, 'flow_control'),
    headersOnly: J.bool(o, 'headers_only'),
    maxBatch: J.int(o, 'max_batch'),
    maxExpires: J.int(o, 'max_expires'),
    maxBytes: J.int(o, 'max_bytes'),
    deliverSubject: J.str(o, 'deliver_subject'),
    deliverGroup: J.str(o, 'deliver_group'),
    inactiveThreshold: J.int(o, 'inactive_threshold'),
    replicas: J.int(o, 'num_replicas'),
    memStorage: J.bool(o, 'mem_storage'),
    direct: J.bool(o, 'direct'),
  };
}

/** The reference's ConsumerConfig JSON (field order and omitempty of server/consumer.go). */
export function consumerConfigJSON(c: ConsumerConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (c.durable !== '') o.durable_name = c.durable;
  if (c.name !== '') o.name = c.name;
  if (c.description !== '') o.description = c.description;
  o.deliver_policy = c.deliverPolicy;
  if (c.optStartSeq !== 0) o.opt_start_seq = c.optStartSeq;
  if (c.optStartTime !== null) o.opt_start_time = J.nsToTime(c.optStartTime);
  o.ack_policy = c.ackPolicy;
  if (c.ackWait !== 0) o.ack_wait = c.ackWait;
  if (c.maxDeliver !== 0) o.max_deliver = c.maxDeliver;
  if (c.backoff.length > 0) o.backoff = c.backoff;
  if (c.filterSubject !== '') o.filter_subject = c.filterSubject;
  o.replay_policy = c.replayPolicy;
  if (c.rateLimit !== 0) o.rate_limit_bps = c.rateLimit;
  if (c.sampleFreq !== '') o.sample_freq = c.sampleFreq;
  if (c.maxWaiting !== 0) o.max_waiting = c.maxWaiting;
  if (c.maxAckPending !== 0) o.max_ack_pending = c.maxAckPending;
  if (c.heartbeat !== 0) o.idle_heartbeat = c.heartbeat;
  if (c.flowControl) o.flow_control = true;
  if (c.headersOnly) o.headers_only = true;
  if (c.maxBatch !== 0) o.max_batch = c.maxBatch;
  if (c.maxExpires !== 0) o.max_expires = c.maxExpires;
  if (c.maxBytes !== 0) o.max_bytes = c.maxBytes;
  if (c.deliverSubject !== '') o.deliver_subject = c.deliverSubject;
  if (c.deliverGroup !== '') o.deliver_group = c.deliverGroup;
  if (c.inactiveThreshold !== 0) o.inactive_threshold = c.inactiveThreshold;
  o.num_replicas = c.replicas;
  if (c.memStorage) o.mem_storage = true;
  if (c.direct) o.direct = true;
  return o;
}

/** Server-wide limits (jetstream { limits { max_request_batch, max_ack_pending } }), 0 = none. */
export interface ConsumerServerLimits {
  maxRequestBatch: number;
  maxAckPending: number;
}

/** server/consumer.go setConsumerConfigDefaults; `accMaxAckPending` is the account's limit (-1/0 = none). */
export function setConsumerDefaults(c: ConsumerConfig, srv: ConsumerServerLimits, accMaxAckPending: number): void {
  if (c.deliverSubject === '' && c.maxWaiting === 0) c.maxWaiting = WAIT_QUEUE_DEFAULT_MAX;
  if (c.ackWait === 0 && (c.ackPolicy === 'explicit' || c.ackPolicy === 'all')) c.ackWait = ACK_WAIT_DEFAULT_NS;
  if (c.maxDeliver === 0) c.maxDeliver = -1;
  if (c.backoff.length > 0) c.ackWait = c.backoff[0];
  if ((c.ackPolicy === 'explicit' || c.ackPolicy === 'all') && c.maxAckPending === 0) {
    let p = DEFAULT_MAX_ACK_PENDING;
    if (srv.maxAckPending > 0 && srv.maxAckPending < p) p = srv.maxAckPending;
    if (accMaxAckPending > 0 && accMaxAckPending < p) p = accMaxAckPending;
    c.maxAckPending = p;
  }
  if (c.deliverSubject === '' && c.maxBatch === 0 && srv.maxRequestBatch > 0) c.maxBatch = srv.maxRequestBatch;
}

/** server/consumer.go validFilteredSubject */
export function validFilteredSubject(filter: string, subjects: string[]): boolean {
  if (!isValidSubject(filter)) return false;
  const wc = subjectHasWildcard(filter);
  for (const s of subjects) {
    if (subjectIsSubsetMatch(filter, s)) return true;
    if (wc && subjectIsSubsetMatch(s, filter)) return true;
  }
  return false;
}

/** Origin subjects of a stream's sources/mirror, and whether one is external (server/stream.go gatherSourceMirrorSubjects). */
export type SourceSubjects = (cfg: StreamConfig) => { subjects: string[]; hasExt: boolean };

function invalidPolicy(text: string): ApiError {
  return apiError('JSConsumerInvalidPolicyErrF', { err: text });
}

/** server/consumer.go checkConsumerCfg (not clustered); null when fine. */
export function checkConsumerConfig(
  c: ConsumerConfig,
  srv: ConsumerServerLimits,
  scfg: StreamConfig,
  accMaxAckPending: number,
  recovering: boolean,
  sources: SourceSubjects,
): ApiError | null {
  if (c.replicas > 0 && c.replicas > scfg.replicas) return apiError('JSConsumerReplicasExceedsStream');
  if (c.replicas < 0) return apiError('JSReplicasCountCannotBeNegative');
  if (c.backoff.length > 0 && c.maxDeliver <= c.backoff.length) return apiError('JSConsumerMaxDeliverBackoffErr');
  if (c.description.length > JS_MAX_DESCRIPTION_LEN) return apiError('JSConsumerDescriptionTooLongErrF', { max: JS_MAX_DESCRIPTION_LEN });
  if (c.deliverSubject !== '') {
    if (!subjectIsLiteral(c.deliverSubject)) return apiError('JSConsumerDeliverToWildcardsErr');
    if (!isValidSubject(c.deliverSubject)) return apiError('JSConsumerInvalidDeliverSubject');
    if (scfg.subjects.some((s) => subjectIsSubsetMatch(c.deliverSubject, s))) return apiError('JSConsumerDeliverCycleErr');
    if (c.maxWaiting !== 0) return apiError('JSConsumerPushMaxWaitingErr');
    if (c.maxAckPending > 0 && c.ackPolicy === 'none') return apiError('JSConsumerMaxPendingAckPolicyRequiredErr');
    if (c.heartbeat > 0 && c.heartbeat < 100e6) return apiError('JSConsumerSmallHeartbeatErr');
  } else {
    if (c.ackPolicy === 'none' && scfg.retention === 'workqueue') return apiError('JSConsumerPullRequiresAckErr');
    if (c.rateLimit > 0) return apiError('JSConsumerPullWithRateLimitErr');
    if (c.maxWaiting < 0) return apiError('JSConsumerMaxWaitingNegativeErr');
    if (c.heartbeat > 0) return apiError('JSConsumerHBRequiresPushErr');
    if (c.flowControl) return apiError('JSConsumerFCRequiresPushErr');
    if (c.maxBatch < 0) return apiError('JSConsumerMaxRequestBatchNegativeErr');
    if (c.maxExpires !== 0 && c.maxExpires < 1e6) return apiError('JSConsumerMaxRequestExpiresToSmall');
    if (srv.maxRequestBatch > 0 && c.maxBatch > srv.maxRequestBatch) return apiError('JSConsumerMaxRequestBatchExceededF', { limit: srv.maxRequestBatch });
  }
  if (srv.maxAckPending > 0 && c.maxAckPending > srv.maxAckPending) return apiError('JSConsumerMaxPendingAckExcessErrF', { limit: srv.maxAckPending });
  if (accMaxAckPending > 0 && c.maxAckPending > accMaxAckPending) return apiError('JSConsumerMaxPendingAckExcessErrF', { limit: accMaxAckPending });
  if (c.direct) {
    if (c.deliverSubject === '') return apiError('JSConsumerDirectRequiresPushErr');
    if (c.durable !== '') return apiError('JSConsumerDirectRequiresEphemeralErr');
  }
  if (c.filterSubject !== '') {
    let subjects = [...scfg.subjects];
    let hasExt = recovering;
    if (!recovering) {
      const g = sources(scfg);
      subjects = subjects.concat(g.subjects);
      hasExt = g.hasExt;
    }
    if (!hasExt && !validFilteredSubject(c.filterSubject, subjects)) return apiError('JSConsumerFilterNotSubsetErr');
  }
  const badStart = (dp: string, start: string): ApiError =>
    invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional start ${start} is also set`);
  const notSet = (dp: string, what: string): ApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  const hasTime = c.optStartTime !== null;
  switch (c.deliverPolicy) {
    case 'all':
      if (c.optStartSeq > 0) return badStart('all', 'sequence');
      if (hasTime) return badStart('all', 'time');
      break;
    case 'last':
      if (c.optStartSeq > 0) return badStart('last', 'sequence');
      if (hasTime) return badStart('last', 'time');
      break;
    case 'last_per_subject':
      if (c.optStartSeq > 0) return badStart('last per subject', 'sequence');
      if (hasTime) return badStart('last per subject', 'time');
      if (c.filterSubject === '') return notSet('last per subject', 'filter subject');
      break;
    case 'new':
      if (c.optStartSeq > 0) return badStart('new', 'sequence');
      if (hasTime) return badStart('new', 'time');
      break;
    case 'by_start_sequence':
      if (c.optStartSeq === 0) return notSet('by start sequence', 'start sequence');
      if (hasTime) return badStart('by start sequence', 'time');
      break;
    case 'by_start_time':
      if (!hasTime) return notSet('by start time', 'start time');
      if (c.optStartSeq !== 0) return badStart('by start time', 'start sequence');
      break;
  }
  if (c.sampleFreq !== '') {
    const err = sampleFreqError(c.sampleFreq);
    if (err !== null) return apiError('JSConsumerInvalidSamplingErrF', { err });
  }
  if (c.flowControl && c.heartbeat === 0) return apiError('JSConsumerWithFlowControlNeedsHeartbeats');
  if (c.durable !== '' && c.name !== '' && c.name !== c.durable) return apiError('JSConsumerCreateDurableAndNameMismatch');
  return null;
}

/** The sampling percentage of sample_freq ("50" or "50%"); -1 when invalid. */
export function sampleFreqOf(s: string): number {
  const t = s.endsWith('%') ? s.slice(0, -1) : s;
  if (!/^[+-]?[0-9]+$/.test(t)) return -1;
  const n = Number(t);
  return n < 0 || !Number.isSafeInteger(n) ? -1 : n;
}

/**
 * The text Go's strconv.Atoi error (or nil, for a negative value) gives in
 * NewJSConsumerInvalidSamplingError; null when the value is fine.
 */
function sampleFreqError(s: string): string | null {
  const t = s.endsWith('%') ? s.slice(0, -1) : s;
  if (/^[+-]?[0-9]+$/.test(t)) {
    const n = Number(t);
    if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 63) return `strconv.Atoi: parsing ${goQuote(t)}: value out of range`;
    // checkConsumerCfg rejects a negative value with a nil error: Go prints %!s(<nil>)
    return n < 0 ? '%!s(<nil>)' : null;
  }
  return `strconv.Atoi: parsing ${goQuote(t)}: invalid syntax`;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** server/consumer.go isValidName for consumer names (same rule as streams). */
export function isValidConsumerName(name: string): boolean {
  return name !== '' && !/[ \t\r\n\f.*>]/.test(name);
}

export { JS_MAX_NAME_LEN };

/** reflect.DeepEqual of two configs */
export function sameConsumerConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return JSON.stringify(consumerConfigJSON(a)) === JSON.stringify(consumerConfigJSON(b));
}

/** server/consumer.go configsEqualSansDelivery */
export function configsEqualSansDelivery(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return sameConsumerConfig({ ...a, deliverSubject: '' }, { ...b, deliverSubject: '' });
}

/**
 * server/consumer.go checkNewConsumerConfig: null when `next` may replace
 * `cur`, else the reason (a plain error text, or an ApiError).
 * `deliverHasInterest` tells whether cur's deliver subject is still listened to.
 */
export function checkConsumerUpdate(cur: ConsumerConfig, next: ConsumerConfig, deliverHasInterest: (s: string) => boolean): string | ApiError | null {
  if (sameConsumerConfig(cur, next)) return null;
  if (cur.deliverPolicy !== next.deliverPolicy) return 'deliver policy can not be updated';
  if (cur.optStartSeq !== next.optStartSeq) return 'start sequence can not be updated';
  // OptStartTime is a pointer: compared by address in the reference, so any set value differs
  if (cur.optStartTime !== null || next.optStartTime !== null) return 'start time can not be updated';
  if (cur.ackPolicy !== next.ackPolicy) return 'ack policy can not be updated';
  if (cur.replayPolicy !== next.replayPolicy) return 'replay policy can not be updated';
  if (cur.heartbeat !== next.heartbeat) return 'heart beats can not be updated';
  if (cur.flowControl !== next.flowControl) return 'flow control can not be updated';
  if (cur.maxWaiting !== next.maxWaiting) return 'max waiting can not be updated';
  if (cur.deliverSubject !== next.deliverSubject) {
    if (cur.deliverSubject === '') return 'can not update pull consumer to push based';
    if (next.deliverSubject === '') return 'can not update push consumer to pull based';
    if (deliverHasInterest(cur.deliverSubject)) return apiError('JSConsumerNameExistErr');
  }
  if (next.backoff.length > 0 && next.maxDeliver <= next.backoff.length) return apiError('JSConsumerMaxDeliverBackoffErr');
  return null;
}
