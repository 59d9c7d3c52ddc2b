// The one store interface every stream and consumer uses, whichever store
// is behind it (store/memory.ts, store/file.ts). Shaped after
// server/store.go StreamStore / ConsumerStore of nats-server 2.9, made
// synchronous for Node: a stored message is readable at once; durability
// comes in batches through flush() (group commit: one write, and one sync
// when asked, for everything stored since the last flush).
//
// Timestamps are nanoseconds since the Unix epoch held in a JS number:
// exact to ~256 ns at today's dates, which is all a message time needs.

export type StorageType = 'file' | 'memory';
export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
export type DiscardPolicy = 'old' | 'new';

/** What a store needs to know of its stream's configuration. */
export interface StoreConfig {
  name: string;
  /** the stream's subjects (for the per-subject index nothing is needed from them) */
  subjects: string[];
  storage: StorageType;
  /** -1 = unlimited, for every limit below */
  maxMsgs: number;
  maxBytes: number;
  /** nanoseconds; 0 = unlimited */
  maxAge: number;
  maxMsgsPerSubject: number;
  /** -1 = unlimited */
  maxMsgSize: number;
  discard: DiscardPolicy;
  /** DiscardNew applies per subject too (2.10 discard_new_per_subject) */
  discardNewPerSubject?: boolean;
}

/** One stored message. hdr is the whole NATS/1.0 header block or null. */
export interface StoredMsg {
  subject: string;
  seq: number;
  /** nanoseconds since the Unix epoch */
  ts: number;
  hdr: Buffer | null;
  data: Buffer;
}

/**
 * A message as loadNextMsgView lends it: the header block and the payload
 * are contiguous in the store's bytes, buf[off, off + hl) the headers (hl 0:
 * none) and buf[off + hl, off + size) the payload, which is how a delivery
 * writes them (one MSG/HMSG payload). The object and the bytes are the
 * store's, reused by its next view read: a reader of 10 M messages built
 * a message object, a Buffer view and a boxed timestamp per message, ~180 B
 * of garbage each that made V8 grow its young generation (BENCHMARKS.md,
 * "Session 9").
 */
export interface MsgView {
  subject: string;
  seq: number;
  /** nanoseconds since the Unix epoch */
  ts: number;
  buf: Buffer;
  off: number;
  hl: number;
  size: number;
}

/** server/store.go StreamState (consumer_count is the stream's to fill). */
export interface StreamState {
  msgs: number;
  bytes: number;
  firstSeq: number;
  /** ns; 0 when empty */
  firstTs: number;
  lastSeq: number;
  lastTs: number;
  numSubjects: number;
  /** interior deletes: sequences in [firstSeq, lastSeq] that are gone */
  numDeleted: number;
}

/** server/store.go SimpleState */
export interface SimpleState {
  msgs: number;
  first: number;
  last: number;
}

/** Why a store refused a message (server/store.go errors, same texts). */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export type StoreErrorCode =
  | 'closed'
  | 'not-found'
  | 'eof'
  | 'max-msgs'
  | 'max-bytes'
  | 'max-msgs-per-subject'
  | 'too-large'
  | 'invalid-sequence'
  | 'sequence-mismatch'
  | 'purge-arg-mismatch'
  | 'io';

/** server/store.go error texts */
export const STORE_ERRORS: Record<StoreErrorCode, string> = {
  closed: 'store is closed',
  'not-found': 'no message found',
  eof: 'stream store EOF',
  'max-msgs': 'maximum messages exceeded',
  'max-bytes': 'maximum bytes exceeded',
  'max-msgs-per-subject': 'maximum messages per subject exceeded',
  'too-large': 'message to large',
  'invalid-sequence': 'invalid sequence',
  'sequence-mismatch': 'expected sequence does not match store',
  'purge-arg-mismatch': 'sequence > 1 && keep > 0 not allowed',
  io: 'storage I/O error',
};

export function storeError(code: StoreErrorCode, detail?: string): StoreError {
  if (detail === undefined) return new StoreError(code, STORE_ERRORS[code]);
  // The reference hands the OS error on as it is (filestore.go): a client
  // sees `open /dir/2.blk: no such file or directory` in the PubAck's error.
  return new StoreError(code, code === 'io' ? detail : `${STORE_ERRORS[code]}: ${detail}`);
}

/**
 * Told of every message the store removed on its own (limits, max_age) or
 * was asked to remove: msgs/bytes are the deltas (negative), seq and subject
 * the message's (server/store.go StorageUpdateHandler). Also called with
 * positive deltas when a message is stored.
 */
export type StorageUpdateHandler = (msgs: number, bytes: number, seq: number, subject: string) => void;

export interface StreamStore {
  readonly type: StorageType;
  /**
   * Failed writes so far that dropped stored messages, and the last one's
   * error (file store; absent where writes cannot fail). A message stored
   * before a failure may be gone even when a later flush succeeds.
   */
  readonly writeFailures?: number;
  readonly lastWriteError?: StoreError | null;

  /**
   * Store a message with the next sequence; returns [seq, ts]. Applies the
   * limits (discard old removes the oldest, discard new throws max-msgs /
   * max-bytes / max-msgs-per-subject). `ts` of 0 means now.
   */
  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts?: number): [number, number];
  /** Store at a given sequence (mirrors, restores); seq must be > last. */
  storeRawMsg(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: number): void;
  /** Take the next sequence without a message (a deleted slot). */
  skipMsg(): number;

  /** null when the sequence is gone or never existed. */
  loadMsg(seq: number): StoredMsg | null;
  /**
   * The first message with seq >= start whose subject matches `filter`
   * ('' or '>' = any; wildcards allowed). null when none.
   */
  loadNextMsg(filter: string, start: number): StoredMsg | null;
  /**
   * loadNextMsg for a reader that is done with the message before it calls
   * the store again, a consumer delivering it: the store's own bytes and a
   * result object it reuses (MsgView), valid until then, instead of a copy
   * and three objects per message.
   */
  loadNextMsgView(filter: string, start: number): MsgView | null;
  /** The last message on a subject (wildcards allowed: the last of any matching). */
  loadLastMsg(subject: string): StoredMsg | null;
  /** loadLastMsg's sequence (0: none), from the index: the message is not read */
  lastSeqOf(subject: string): number;

  removeMsg(seq: number): boolean;
  /** remove and overwrite the bytes (file store: on disk too) */
  eraseMsg(seq: number): boolean;
  /** remove everything; sequences continue. Returns the count purged. */
  purge(): number;
  /**
   * server/store.go PurgeEx: messages on `subject` (wildcards allowed, ''
   * = all) below `seq` (0 = no bound), keeping the newest `keep` (0 = none).
   */
  purgeEx(subject: string, seq: number, keep: number): number;
  /** remove everything below seq; first becomes seq. Returns the count purged. */
  compact(seq: number): number;

  /** the first sequence stored at or after ts (ns); last+1 when none */
  getSeqFromTime(ts: number): number;
  /** counts for `subject` (wildcards allowed) from sequence `seq` on */
  filteredState(seq: number, subject: string): SimpleState;
  /** per-subject state of subjects matching filter ('' = all) */
  subjectsState(filter: string): Map<string, SimpleState>;
  /** per-subject message counts of subjects matching filter ('' = all) */
  subjectsTotals(filter: string): Map<string, number>;
  /** the interior deletes, ascending (for deleted_details) */
  deletedSeqs(): number[];
  state(): StreamState;

  registerStorageUpdates(cb: StorageUpdateHandler): void;
  /** new limits apply at once (a lowered limit removes what exceeds it) */
  updateConfig(cfg: StoreConfig): void;

  /**
   * Group commit: everything stored or removed so far is written (and, when
   * the store syncs always, synced) before `cb` runs. Calls made in the same
   * event-loop turn share one write. The memory store calls back at once.
   * An error means the batch may not be durable: its acks must not go out.
   */
  flush(cb: (err: Error | null) => void): void;
  /**
   * True when flush would call back at once without an error: everything
   * stored or removed so far is written (and synced where the store syncs
   * always). A caller that gets true goes on without flush and its
   * callback, which cost a deferred call per batch, i.e. per message for a
   * publisher that waits for each ack.
   */
  flushed(): boolean;

  /** a consumer's persistent state, kept with this stream */
  consumerStore(name: string): ConsumerStore;
  /** names of the consumers whose state this store holds (recovery) */
  consumerNames(): string[];

  /** flush and close */
  stop(): Promise<void>;
  /** close and remove everything */
  delete(): Promise<void>;
}

/** server/store.go ConsumerState, with sequences as numbers. */
export interface ConsumerState {
  delivered: { consumerSeq: number; streamSeq: number };
  ackFloor: { consumerSeq: number; streamSeq: number };
  /** stream seq → { consumer seq, delivery time ns } of messages awaiting an ack */
  pending: Map<number, { sequence: number; ts: number }>;
  /** stream seq → delivery count, for counts > 1 */
  redelivered: Map<number, number>;
}

export interface ConsumerStore {
  /** the consumer's configuration as JSON, kept beside its state */
  setConfig(cfgJson: string): void;
  getConfig(): string | null;
  /** the whole state; written off the hot path (batched), durable after the next flush */
  update(state: ConsumerState): void;
  /** the last state written or recovered, null when none */
  state(): ConsumerState | null;
  flush(cb: (err: Error | null) => void): void;
  stop(): Promise<void>;
  delete(): Promise<void>;
}

/** Options every store constructor takes besides its config. */
export interface StoreOptions {
  /** file store: the stream's directory */
  dir?: string;
  /** file store: 'always' syncs before flush() calls back; a number = ms between periodic syncs */
  syncInterval?: 'always' | number;
  /** file store: block size in bytes */
  blockSize?: number;
  /** file store, tests: the last block's write window (default 64 KiB; see FileStore.slideWindow) */
  windowBytes?: number;
  /** for log lines about recovery (dropped bytes, corrupt records) */
  log?: { notice(s: string): void; warn(s: string): void; error(s: string): void };
}

/** nanoseconds now, strictly increasing within this process */
let lastNs = 0;
export function nowNs(): number {
  let ns = Date.now() * 1e6;
  if (ns <= lastNs) ns = lastNs + 1000;
  lastNs = ns;
  return ns;
}

/** server/memstore.go memStoreMsgSize */
export function memStoreMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  return subject.length + (hdr === null ? 0 : hdr.length) + data.length + 16;
}

/** server/filestore.go fileStoreMsgSize */
export function fileStoreMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  if (hdr === null || hdr.length === 0) return 22 + subject.length + data.length + 8;
  return 22 + subject.length + 4 + hdr.length + data.length + 8;
}
