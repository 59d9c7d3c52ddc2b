// Mirrors and sources: a stream that copies another stream's messages.
// A mirror keeps the origin's sequence numbers (gaps become deleted slots);
// a sourced stream stores copies under its own sequences with a
// Nats-Stream-Source header ("<origin> <origin seq>", server/stream.go
// genSourceHeader) that lets a restart resume where it stopped.
//
// Origins on this server in the same account are followed directly: the
// origin tells its taps after every commit and the copy reads from its store,
// in slices so a long backlog never holds the event loop. The reference goes
// through an ephemeral consumer even then; reading the store gives the same
// messages, sequences and headers without a delivery, a flow-control round
// trip and a copy per message, and needs no recovery logic since nothing can
// be lost between two streams of one process.
//
// Origins named with `external` (another account through imports, another
// JetStream domain through a leafnode) are reached through the API as the
// reference does: jetstream/source-consumer.ts.

import type { JsAccount } from './account.js';
import type { Stream, StreamTap } from './stream.js';
import type { StreamSource } from './stream-config.js';
import { getHeader, removeHeader, setHeader, H } from './headers.js';
import { subjectIsSubsetMatch } from '../subjects/validate.js';
import { nowNs } from './store/types.js';
import { ConsumerSource, sourceIndexName } from './source-consumer.js';
import { apiError } from './errors.js';

/** messages copied per slice before yielding to the event loop */
const SLICE = 2048;
/** how often an absent origin is looked for again */
const RETRY_MS = 1000;

export class SourceTap implements StreamTap {
  /** the next origin sequence to copy */
  next = 1;
  /** ns of the last message copied or looked at */
  lastActive = 0;
  private origin: Stream | null = null;
  private scheduled = false;
  private retry: NodeJS.Timeout | null = null;
  /** the origin is missing: the error the reference's consumer create would answer */
  private missing = false;
  stopped = false;

  constructor(
    readonly target: Stream,
    readonly src: StreamSource,
    readonly mirror: boolean,
  ) {}

  /** index name used in Nats-Stream-Source headers (server/stream.go setIndexName) */
  get iname(): string {
    return this.src.name;
  }

  start(): void {
    this.attach();
  }

  private attach(): void {
    if (this.stopped) return;
    const jsa: JsAccount = this.target.jsa;
    const o = this.src.external === null ? jsa.streams.get(this.src.name) : undefined;
    if (o === undefined || o.closed) {
      this.origin = null;
      this.missing = true;
      if (this.retry === null) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.attach();
        }, RETRY_MS);
        this.retry.unref();
      }
      return;
    }
    this.origin = o;
    this.missing = false;
    o.taps.add(this);
    if (this.next <= 1) this.next = this.startSeq(o);
    this.signal();
  }

  private startSeq(o: Stream): number {
    if (this.src.optStartSeq > 0) return this.src.optStartSeq;
    if (this.src.optStartTime > 0) return o.store.getSeqFromTime(this.src.optStartTime);
    return 1;
  }

  signal(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.copy);
  }

  private readonly copy = (): void => {
    this.scheduled = false;
    const o = this.origin;
    if (o === null || this.stopped) return;
    if (o.closed) {
      o.taps.delete(this);
      this.attach();
      return;
    }
    const filter = this.src.filterSubject;
    const t = this.target;
    let n = 0;
    while (n < SLICE) {
      const m = o.store.loadNextMsg(filter === '' ? '' : filter, this.next);
      if (m === null) break;
      if (filter !== '' && !subjectIsSubsetMatch(m.subject, filter)) {
        this.next = m.seq + 1;
        continue;
      }
      if (this.mirror) t.storeMirrored(m.subject, m.hdr, m.data, m.seq, m.ts);
      else {
        let hdr = removeHeader(m.hdr, H.StreamSource);
        hdr = setHeader(hdr, H.StreamSource, `${this.iname} ${m.seq}`);
        t.sourced(m.subject, hdr, m.data);
      }
      this.next = m.seq + 1;
      n++;
    }
    this.lastActive = nowNs();
    if (n === SLICE) this.signal();
  };

  /** lag: how many origin messages are not copied yet */
  lag(): number {
    const o = this.origin;
    if (o === null) return 0;
    const last = o.store.state().lastSeq;
    return last >= this.next ? last - this.next + 1 : 0;
  }

  /** StreamSourceInfo JSON */
  info(): Record<string, unknown> {
    const i: Record<string, unknown> = { name: this.src.name };
    if (this.src.external !== null) i.external = { api: this.src.external.api, deliver: this.src.external.deliver };
    i.lag = this.lag();
    i.active = this.lastActive === 0 ? -1 : Math.max(0, nowNs() - this.lastActive);
    if (this.missing) i.error = apiError('JSStreamNotFoundErr').toJSON();
    return i;
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    if (this.origin !== null) this.origin.taps.delete(this);
    this.origin = null;
  }
}

/**
 * (Re)start the mirror or sources of `s` (after create, update or
 * recovery), resuming after what it already holds.
 */
export function startSources(s: Stream): void {
  for (const t of s.sourceTaps) t.stop();
  s.sourceTaps = [];
  const cfg = s.cfg;
  // clustered: an origin that runs on another server is followed through the API, over routes
  const cluster = s.jsa.js.cluster;
  const remote = (src: StreamSource): boolean => src.external !== null || (cluster !== null && !cluster.isLocalStream(s.jsa.name, src.name));
  if (cfg.mirror !== null) {
    if (remote(cfg.mirror)) s.sourceTaps.push(new ConsumerSource(s, cfg.mirror, true, 0));
    else {
      const tap = new SourceTap(s, cfg.mirror, true);
      const last = s.store.state().lastSeq;
      if (last > 0) tap.next = last + 1;
      s.sourceTaps.push(tap);
    }
  }
  for (const src of cfg.sources) {
    if (remote(src)) {
      s.sourceTaps.push(new ConsumerSource(s, src, false, lastSourced(s, sourceIndexName(src))));
      continue;
    }
    const tap = new SourceTap(s, src, false);
    const resume = lastSourced(s, tap.iname);
    if (resume > 0) tap.next = resume + 1;
    s.sourceTaps.push(tap);
  }
  s.sourcesInfo =
    s.sourceTaps.length === 0
      ? null
      : () => {
          const o: Record<string, unknown> = {};
          const mirror = s.sourceTaps.find((t) => t.mirror);
          if (mirror !== undefined) o.mirror = mirror.info();
          const srcs = s.sourceTaps.filter((t) => !t.mirror);
          if (srcs.length > 0) o.sources = srcs.map((t) => t.info());
          return o;
        };
  for (const t of s.sourceTaps) t.start();
}

/** The origin sequence of the newest message copied from `iname`, scanning back from the end (0 when none). */
function lastSourced(s: Stream, iname: string): number {
  const st = s.store.state();
  for (let seq = st.lastSeq; seq >= st.firstSeq && seq > 0; seq--) {
    const m = s.store.loadMsg(seq);
    if (m === null) continue;
    const v = getHeader(m.hdr, H.StreamSource);
    if (v === null) continue;
    const parts = v.split(' ');
    if (parts.length === 2 && parts[0] === iname) return Number(parts[1]) || 0;
  }
  return 0;
}
