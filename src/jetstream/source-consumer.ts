// A mirror or source whose origin is reached through the JetStream API, not
// read from this server's store: `external: { api, deliver }` (another
// account through imports, another domain through a leafnode, another
// server). As server/stream.go setupMirrorConsumer / setSourceConsumer do,
// it asks `<api>.CONSUMER.CREATE.<origin>` for an ephemeral push consumer
// (ack none, flow control, 1 s idle heartbeats, `direct`) that delivers to a
// random subject (under the `deliver` prefix when there is one), stores what
// arrives while tracking the origin's sequences from the ack reply subjects,
// and asks for a new consumer when heartbeats stop, a heartbeat says a
// delivery was missed, or the sequences gap.

import type { Subscription } from '../client/subscription.js';
import type { Stream, SourceLink } from './stream.js';
import type { StreamSource } from './stream-config.js';
import { getHeader, removeHeader, setHeader, H } from './headers.js';
import { nowNs } from './store/types.js';
import { randomId } from './ids.js';
import { getHash } from '../server/node-hash.js';
import { nsToTime, toGoJSON } from './json.js';

/** server/stream.go sourceHealthCheckInterval */
const HEALTH_MS = 1000;
/** server/stream.go sourceConsumerRetryThreshold */
const RETRY_THRESHOLD_MS = 2000;
/** how long a consumer create request is waited for (server/stream.go setupMirrorConsumer) */
const CREATE_TIMEOUT_MS = 5000;
/** server/stream.go dgetCaughtUpThresh: a mirror answers its origin's direct gets once this close */
const DGET_CAUGHT_UP = 10;
/** the ack wait the reference asks for (22 h), ns */
const ACK_WAIT_NS = 22 * 3600 * 1e9;
const CONTROL_PREFIX = Buffer.from('NATS/1.0 100 ');
const EMPTY = Buffer.alloc(0);

/** server/stream.go setIndexName: the name in Nats-Stream-Source headers */
export function sourceIndexName(src: StreamSource): string {
  return src.external === null ? src.name : `${src.name}:${getHash(src.external.api)}`;
}

/** $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending> (server/consumer.go replyInfo); null when not one */
function replyTokens(reply: string): string[] | null {
  if (!reply.startsWith('$JS.ACK.')) return null;
  const t = reply.split('.');
  return t.length === 9 ? t : null;
}

function num(s: string): number {
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

export class ConsumerSource implements SourceLink {
  /** origin sequence of the last message stored */
  private sseq = 0;
  /** consumer delivery sequence of the last message stored */
  private dseq = 0;
  /** the current consumer's name ('' while none) */
  private cname = '';
  private lagN = 0;
  /** ms of the last message or heartbeat; 0 = never heard */
  private last = 0;
  /** ms of the last consumer create request */
  private lreq = 0;
  /** a create request is out */
  private sip = false;
  private err: Record<string, unknown> | null = null;
  private sub: Subscription | null = null;
  private crSub: Subscription | null = null;
  private crTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private health: NodeJS.Timeout | null = null;
  private dsubs: Subscription[] = [];
  /** deliveries that came before the create answer (the reference queues them until it has the consumer's name) */
  private early: Array<{ subject: string; reply: string; hdr: Buffer | null; msg: Buffer }> = [];
  private stopped = false;
  readonly iname: string;

  constructor(
    readonly target: Stream,
    readonly src: StreamSource,
    readonly mirror: boolean,
    /** origin sequence to resume after (sources: from the Nats-Stream-Source headers) */
    resumeSeq: number,
  ) {
    this.iname = sourceIndexName(src);
    this.sseq = resumeSeq;
  }

  start(): void {
    this.setup();
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const s of this.dsubs) this.target.jsa.client.unsubscribe(s);
    this.dsubs = [];
  }

  /** Drop the current consumer's subscriptions (its origin removes it once nobody listens). */
  private cancel(): void {
    const ic = this.target.jsa.client;
    if (this.sub !== null) ic.unsubscribe(this.sub);
    this.sub = null;
    if (this.crSub !== null) ic.unsubscribe(this.crSub);
    this.crSub = null;
    if (this.crTimer !== null) clearTimeout(this.crTimer);
    this.crTimer = null;
    if (this.health !== null) clearInterval(this.health);
    this.health = null;
    this.cname = '';
    this.sip = false;
    this.early = [];
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    const wait = Math.max(0, RETRY_THRESHOLD_MS - (Date.now() - this.lreq)) + 10 + Math.floor(Math.random() * 50);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.setup();
    }, wait);
    this.retryTimer.unref();
  }

  private retry(): void {
    const js = this.target.jsa.js;
    if (js.server.logger.debugEnabled) {
      js.server.logger.debug(`Retrying ${this.mirror ? 'mirror' : 'source'} consumer for '${this.target.jsa.name} > ${this.target.name}'`);
    }
    this.setup();
  }

  /** server/stream.go setupMirrorConsumer / setSourceConsumer */
  private setup(): void {
    if (this.stopped || this.target.closed) return;
    this.cancel();
    const t = this.target;
    const st = t.store.state();
    if (this.mirror) this.sseq = st.lastSeq;
    const now = Date.now();
    if (now - this.lreq < RETRY_THRESHOLD_MS) {
      this.scheduleRetry();
      return;
    }
    this.lreq = now;
    const src = this.src;
    const ext = src.external;
    const dpre = this.mirror ? 'M' : 'S';
    const deliver =
      ext !== null && ext.deliver !== '' ? `${ext.deliver}.${dpre}.${randomId(8)}`.replaceAll('..', '.') : `$JS.${dpre}.${randomId(8)}`;
    const cfg: Record<string, unknown> = { deliver_subject: deliver };
    if (this.mirror) {
      cfg.deliver_policy = 'by_start_sequence';
      cfg.opt_start_seq = st.lastSeq + 1;
      if (st.msgs === 0 && st.firstSeq === 0) {
        cfg.opt_start_seq = 0;
        if (src.optStartSeq > 0) cfg.opt_start_seq = src.optStartSeq;
        else if (src.optStartTime > 0) {
          cfg.deliver_policy = 'by_start_time';
          cfg.opt_start_time = nsToTime(src.optStartTime);
        }
      }
      if (cfg.opt_start_seq === 0) {
        delete cfg.opt_start_seq;
        if (cfg.opt_start_time === undefined) cfg.deliver_policy = 'all';
      }
    } else {
      const seq = this.sseq + 1;
      if (seq <= 1) {
        if (src.optStartSeq > 0) {
          cfg.deliver_policy = 'by_start_sequence';
          cfg.opt_start_seq = src.optStartSeq;
        } else if (src.optStartTime > 0) {
          cfg.deliver_policy = 'by_start_time';
          cfg.opt_start_time = nsToTime(src.optStartTime);
        } else if (st.lastTs > 0 && st.msgs > 0) {
          // recovered with none of this source's messages left: by time (server/stream.go si.start)
          cfg.deliver_policy = 'by_start_time';
          cfg.opt_start_time = nsToTime(st.lastTs);
        }
      } else {
        cfg.deliver_policy = 'by_start_sequence';
        cfg.opt_start_seq = seq;
      }
    }
    Object.assign(cfg, { ack_policy: 'none', ack_wait: ACK_WAIT_NS, max_deliver: 1, idle_heartbeat: HEALTH_MS * 1e6, flow_control: true, direct: true });
    let subject = `$JS.API.CONSUMER.CREATE.${src.name}`;
    if (src.filterSubject !== '') {
      const name = `${this.mirror ? 'mirror' : 'src'}-${randomId(8)}`;
      cfg.name = name;
      cfg.filter_subject = src.filterSubject;
      subject = `$JS.API.CONSUMER.CREATE.${src.name}.${name}.${src.filterSubject}`;
    }
    if (ext !== null) subject = subject.replace('$JS.API', ext.api).replaceAll('..', '.');

    const ic = t.jsa.client;
    const reply = `$JSC.R.${randomId(8)}`;
    this.crSub = ic.subscribeInternal(reply, null, (_s, _subj, _r, _h, body) => this.onCreated(body));
    // The deliver subscription comes first: the consumer may deliver before it answers.
    this.sub = ic.subscribeInternal(deliver, null, this.onMsg);
    if (this.crSub === null || this.sub === null) {
      this.err = { code: 500, err_code: this.mirror ? 10029 : 10045, description: `${this.mirror ? 'mirror' : 'source'} consumer setup failed: invalid subject` };
      this.cancel();
      this.scheduleRetry();
      return;
    }
    this.err = null;
    this.sip = true;
    this.crTimer = setTimeout(() => {
      this.crTimer = null;
      if (this.crSub !== null) ic.unsubscribe(this.crSub);
      this.crSub = null;
      this.sip = false;
      this.scheduleRetry();
    }, CREATE_TIMEOUT_MS);
    this.crTimer.unref();
    ic.publish(subject, reply, null, Buffer.from(toGoJSON({ stream_name: src.name, config: cfg })));
    t.jsa.js.server.flushDirty();
  }

  private onCreated(body: Buffer): void {
    const ic = this.target.jsa.client;
    if (this.crSub !== null) ic.unsubscribe(this.crSub);
    this.crSub = null;
    if (this.crTimer !== null) clearTimeout(this.crTimer);
    this.crTimer = null;
    this.sip = false;
    if (this.stopped || this.sub === null) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.target.jsa.js.server.logger.warn(`JetStream bad ${this.mirror ? 'mirror' : 'source'} consumer create response: ${JSON.stringify(body.toString('latin1'))}`);
      if (this.mirror) this.err = { code: 400, err_code: 10025, description: 'invalid JSON' };
      return;
    }
    const e = r.error as Record<string, unknown> | undefined;
    const name = typeof r.name === 'string' ? r.name : '';
    if (e !== undefined || name === '') {
      this.target.jsa.js.server.logger.warn(`JetStream error response for create ${this.mirror ? 'mirror' : 'source'} consumer: ${goErr(e)}`);
      this.err = e ?? null;
      if (this.sub !== null) ic.unsubscribe(this.sub);
      this.sub = null;
      this.scheduleRetry();
      return;
    }
    const delivered = (r.delivered ?? {}) as Record<string, unknown>;
    const dstream = typeof delivered.stream_seq === 'number' ? delivered.stream_seq : 0;
    this.err = null;
    if (this.mirror) {
      // the origin lost what we have not seen yet (expired, deleted): keep its numbering
      const t = this.target;
      const last = t.store.state().lastSeq;
      if (last < dstream) t.skipMirrored(dstream);
      this.sseq = dstream;
    } else if (this.sseq !== dstream) this.sseq = dstream + 1;
    this.cname = name;
    this.dseq = 0;
    this.last = Date.now();
    this.health = setInterval(this.check, HEALTH_MS);
    this.health.unref();
    const early = this.early;
    this.early = [];
    const sub = this.sub;
    for (const m of early) {
      if (this.sub !== sub || this.stopped) break;
      this.onMsg(sub!, m.subject, m.reply, m.hdr, m.msg);
    }
  }

  private readonly check = (): void => {
    if (this.stopped) return;
    if (Date.now() - this.last > 3 * HEALTH_MS) this.stalled();
  };

  private stalled(): void {
    if (this.mirror) this.retry();
    else this.setup();
  }

  private readonly onMsg = (_s: Subscription, subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void => {
    if (this.stopped) return;
    const control = msg.length === 0 && hdr !== null && hdr.length > CONTROL_PREFIX.length && hdr.subarray(0, CONTROL_PREFIX.length).equals(CONTROL_PREFIX);
    const tok = control ? null : replyTokens(reply);
    if (this.cname === '') {
      if (this.sip && this.early.length < 10_000) this.early.push({ subject, reply, hdr: hdr === null ? null : Buffer.from(hdr), msg: Buffer.from(msg) });
      return;
    }
    // from an older consumer of ours (cross-account imports keep no subscription identity)
    if (!control && (tok === null || tok[3] !== this.cname)) return;
    this.last = Date.now();
    const ic = this.target.jsa.client;
    if (control) {
      if (reply !== '') {
        ic.publish(reply, '', null, EMPTY);
        return;
      }
      const ld = getHeader(hdr, H.LastConsumer);
      const ldseq = ld === null ? 0 : num(ld);
      if (ldseq > 0 && ldseq !== this.dseq) {
        this.retry();
        return;
      }
      const fc = getHeader(hdr, H.ConsumerStalled);
      if (fc !== null && fc !== '') ic.publish(fc, '', null, EMPTY);
      return;
    }
    const t = tok!;
    const dc = num(t[4]);
    const sseq = num(t[5]);
    const dseq = num(t[6]);
    const ts = num(t[7]);
    const pending = num(t[8]);
    if (dc > 1) return;
    if (this.mirror) this.mirrorMsg(subject, hdr, msg, sseq, dseq, ts, pending);
    else this.sourceMsg(subject, hdr, msg, sseq, dseq, pending);
  };

  /** server/stream.go processInboundMirrorMsg */
  private mirrorMsg(subject: string, hdr: Buffer | null, msg: Buffer, sseq: number, dseq: number, ts: number, pending: number): void {
    const t = this.target;
    if (sseq === this.sseq + 1) {
      this.dseq = dseq;
      this.sseq++;
    } else if (sseq <= this.sseq) {
      return;
    } else if (dseq === this.dseq + 1) {
      // the origin expired or deleted what lies between
      t.skipMirrored(sseq - 1);
      this.dseq++;
      this.sseq = sseq;
    } else {
      this.retry();
      return;
    }
    this.lagN = pending === 0 ? 0 : pending - 1;
    if (t.cfg.mirrorDirect && this.dsubs.length === 0 && pending < DGET_CAUGHT_UP) this.subscribeDirect();
    t.storeMirrored(subject, hdr, msg, sseq, ts);
  }

  /** server/stream.go processInboundSourceMsg */
  private sourceMsg(subject: string, hdrIn: Buffer | null, msg: Buffer, sseq: number, dseq: number, pending: number): void {
    if (dseq === this.dseq + 1) {
      this.dseq++;
      this.sseq = sseq;
    } else {
      if (dseq > this.dseq) this.setup();
      return;
    }
    this.lagN = pending === 0 ? 0 : pending - 1;
    let hdr = hdrIn === null ? null : removeHeader(hdrIn, H.StreamSource);
    hdr = setHeader(hdr, H.StreamSource, `${this.iname} ${sseq}`);
    this.target.sourced(subject, hdr, msg);
  }

  /** mirror_direct: answer the origin's direct gets too, in the reference's queue group (server/stream.go subscribeToMirrorDirect) */
  private subscribeDirect(): void {
    const t = this.target;
    const ic = t.jsa.client;
    const pre = `$JS.API.DIRECT.GET.${this.src.name}`;
    for (const subj of [pre, `${pre}.>`]) {
      const s = ic.subscribeInternal(subj, '_sys_', (_s, subject, reply, _h, body) => t.jsa.js.api.directGet(t, subject, reply, body, this.src.name));
      if (s !== null) this.dsubs.push(s);
    }
  }

  /** StreamSourceInfo JSON (server/stream.go sourceInfo) */
  info(): Record<string, unknown> {
    const i: Record<string, unknown> = { name: this.src.name };
    const ext = this.src.external;
    if (ext !== null) i.external = { api: ext.api, deliver: ext.deliver };
    i.lag = this.lagN;
    i.active = this.last === 0 ? -1 : Math.max(0, (Date.now() - this.last) * 1e6);
    if (this.err !== null) i.error = this.err;
    return i;
  }
}

/** the reference logs the ApiError with %+v */
function goErr(e: Record<string, unknown> | undefined): string {
  if (e === undefined) return '<nil>';
  return `&{Code:${String(e.code)} ErrCode:${String(e.err_code ?? 0)} Description:${String(e.description ?? '')}}`;
}
