// The $SYS.REQ requests a server answers in its system account
// (server/events.go initEventTracking): the monitoring documents for every
// server (…SERVER.PING.<X>) or one (…SERVER.<id>.<X>), the per-account
// ones (…ACCOUNT.<acc>.<X>), the account STATZ ping and NSUBS. The answers
// are ServerAPIResponse envelopes ({server, data} or {server, error}),
// gzip-compressed when the request's Accept-Encoding asks for it.

import { nodeZlib } from '../server/builtins.js';
import type { Server } from '../server/server.js';
import { connz, type ConnzOptions } from '../monitor/connz.js';
import { accountz, gatewayz, healthz, jsz, leafz, routez, subsz, varz, type MonitorState } from '../monitor/endpoints.js';
import { getHeader } from '../accounts/imports.js';
import { goTime, nowMs } from '../monitor/gofmt.js';
import { InternalClient } from '../client/internal.js';
import { subjectIsLiteral, subjectIsSubsetMatch } from '../subjects/validate.js';
import { Kind } from '../client/connection.js';
import type { Subscription } from '../client/subscription.js';
import type { SystemContext } from './context.js';
import { apiResponse, encode, serverInfo } from './info.js';
import { snappyFrame } from './snappy.js';
import { accountStat, type Events } from './events.js';
import { bool, decodeOptions, int, OptionsError, str, strs, type FieldSpec } from './options.js';

/** server/events.go errSkipZreq: this server does not answer */
class SkipRequest extends Error {}

/** A handler that failed after producing a typed nil: the reference's answer keeps "data":null. */
class TypedNilError extends Error {}

type Producer = (o: Record<string, unknown>, subject: string) => unknown;

interface Endpoint {
  struct: string;
  spec: FieldSpec;
  produce: Producer;
}

const CONNZ_FIELDS: FieldSpec = {
  sort: 'sortopt',
  auth: 'bool',
  subscriptions: 'bool',
  subscriptions_detail: 'bool',
  offset: 'int',
  limit: 'int',
  cid: 'uint64',
  mqtt_client: 'string',
  state: 'connstate',
  user: 'string',
  acc: 'string',
  filter_subject: 'string',
};
const SUBSZ_FIELDS: FieldSpec = { offset: 'int', limit: 'int', subscriptions: 'bool', account: 'string', test: 'string' };
const ROUTEZ_FIELDS: FieldSpec = { subscriptions: 'bool', subscriptions_detail: 'bool' };
const GATEWAYZ_FIELDS: FieldSpec = { name: 'string', accounts: 'bool', account_name: 'string' };
const LEAFZ_FIELDS: FieldSpec = { subscriptions: 'bool', account: 'string' };
const ACCOUNTZ_FIELDS: FieldSpec = { account: 'string' };
const STATZ_FIELDS: FieldSpec = { accounts: 'strings', include_unused: 'bool' };
const JSZ_FIELDS: FieldSpec = {
  account: 'string',
  accounts: 'bool',
  streams: 'bool',
  consumer: 'bool',
  config: 'bool',
  leader_only: 'bool',
  offset: 'int',
  limit: 'int',
};
const HEALTHZ_FIELDS: FieldSpec = { 'js-enabled-only': 'bool', 'js-server-only': 'bool' };

/** Run a monitor function whose reference returns (*T, error): an error leaves "data":null. */
function typed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SkipRequest) throw e;
    throw new TypedNilError((e as Error).message);
  }
}

function connzOptions(o: Record<string, unknown>): ConnzOptions {
  return {
    sort: str(o, 'sort'),
    auth: bool(o, 'auth'),
    subs: bool(o, 'subscriptions') || bool(o, 'subscriptions_detail'),
    subsDetail: bool(o, 'subscriptions_detail'),
    offset: int(o, 'offset'),
    limit: int(o, 'limit'),
    cid: int(o, 'cid'),
    state: int(o, 'state') as ConnzOptions['state'],
    user: str(o, 'user'),
    acc: str(o, 'acc'),
    mqttClient: str(o, 'mqtt_client'),
  };
}

export class Requests {
  private readonly monitorState: MonitorState;

  constructor(
    private readonly ctx: SystemContext,
    private readonly events: Events,
  ) {
    const srv = ctx.srv;
    const own = { srv, reqStats: new Map<string, number>(), cpuPercent: () => events.cpuPercent() };
    // /varz over the system account reports the HTTP monitor's request counts when it runs
    this.monitorState = {
      srv,
      get reqStats() {
        return srv.monitor?.reqStats ?? own.reqStats;
      },
      cpuPercent: () => events.cpuPercent(),
    };
  }

  start(): void {
    const { ctx } = this;
    const srv = ctx.srv;
    const id = srv.serverId;
    const statsz = (_s: Subscription, _subject: string, reply: string, _h: Buffer | null, msg: Buffer): void => this.statszReq(reply, msg);
    // the old form of the STATSZ ping, kept by the reference for backward compatibility
    ctx.subscribe('$SYS.REQ.SERVER.PING', statsz);
    const server: Record<string, Endpoint> = {
      VARZ: { struct: 'VarzEventOptions', spec: {}, produce: () => typed(() => varz(this.monitorState)) },
      SUBSZ: {
        struct: 'SubszEventOptions',
        spec: SUBSZ_FIELDS,
        produce: (o) => typed(() => fullSubsz(srv, bool(o, 'subscriptions'), int(o, 'offset'), int(o, 'limit'), str(o, 'account'), str(o, 'test'))),
      },
      CONNZ: { struct: 'ConnzEventOptions', spec: CONNZ_FIELDS, produce: (o) => typed(() => connz(srv, connzOptions(o))) },
      ROUTEZ: {
        struct: 'RoutezEventOptions',
        spec: ROUTEZ_FIELDS,
        produce: (o) => typed(() => routez(srv, bool(o, 'subscriptions') || bool(o, 'subscriptions_detail'), bool(o, 'subscriptions_detail'))),
      },
      GATEWAYZ: { struct: 'GatewayzEventOptions', spec: GATEWAYZ_FIELDS, produce: () => typed(() => gatewayz(srv)) },
      LEAFZ: { struct: 'LeafzEventOptions', spec: LEAFZ_FIELDS, produce: (o) => typed(() => leafz(srv, bool(o, 'subscriptions'), str(o, 'account'))) },
      ACCOUNTZ: { struct: 'AccountzEventOptions', spec: ACCOUNTZ_FIELDS, produce: (o) => typed(() => withSystemImports(srv, accountz(srv, str(o, 'account')))) },
      JSZ: { struct: 'JszEventOptions', spec: JSZ_FIELDS, produce: (o) => this.jsz(o) },
      HEALTHZ: {
        struct: 'HealthzEventOptions',
        spec: HEALTHZ_FIELDS,
        produce: (o) => healthz(srv, { jsEnabledOnly: bool(o, 'js-enabled-only'), jsServerOnly: bool(o, 'js-server-only') }),
      },
    };
    for (const subj of [`$SYS.REQ.SERVER.${id}.STATSZ`, '$SYS.REQ.SERVER.PING.STATSZ']) {
      ctx.subscribe(subj, statsz);
    }
    for (const [name, ep] of Object.entries(server)) {
      const h = (_s: Subscription, subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void => this.zReq(ep, subject, reply, hdr, msg);
      ctx.subscribe(`$SYS.REQ.SERVER.${id}.${name}`, h);
      ctx.subscribe(`$SYS.REQ.SERVER.PING.${name}`, h);
    }

    const account: Record<string, Endpoint> = {
      SUBSZ: {
        struct: 'SubszEventOptions',
        spec: SUBSZ_FIELDS,
        produce: (o, subject) => {
          const acc = extractAccount(subject);
          return typed(() => fullSubsz(srv, true, int(o, 'offset'), int(o, 'limit'), acc, str(o, 'test')));
        },
      },
      CONNZ: {
        struct: 'ConnzEventOptions',
        spec: CONNZ_FIELDS,
        produce: (o, subject) => {
          const acc = extractAccount(subject);
          return typed(() => connz(srv, { ...connzOptions(o), acc }));
        },
      },
      LEAFZ: {
        struct: 'LeafzEventOptions',
        spec: LEAFZ_FIELDS,
        produce: (o, subject) => {
          // server/events.go: the account of the subject replaces the option's
          const acc = extractAccount(subject);
          return typed(() => leafz(srv, bool(o, 'subscriptions'), acc));
        },
      },
      JSZ: {
        struct: 'JszEventOptions',
        spec: JSZ_FIELDS,
        produce: (o, subject) => {
          const acc = extractAccount(subject);
          return typed(() => {
            const js = srv.jetstream;
            if (js === null) throw new Error('jetstream not enabled');
            if (!srv.accounts.has(acc)) throw new Error(`account ${JSON.stringify(acc)} not found`);
            if (!js.accountEnabled(acc)) throw new Error(`account ${JSON.stringify(acc)} not jetstream enabled`);
            // server/monitor.go JszAccount: the account's AccountDetail alone; consumers only inside streams
            const streams = bool(o, 'streams');
            const doc = js.jsz({ ...jszOptions({}), account: acc, accounts: true, streams, consumers: streams && bool(o, 'consumer'), config: bool(o, 'config') });
            const details = doc.account_details as unknown[] | undefined;
            if (details === undefined || details.length === 0) throw new Error(`account ${JSON.stringify(acc)} not jetstream enabled`);
            return details[0];
          });
        },
      },
      INFO: {
        struct: 'AccInfoEventOptions',
        spec: {},
        produce: (_o, subject) => {
          const acc = extractAccount(subject);
          return typed(() => (withSystemImports(srv, accountz(srv, acc)) as { account_detail: unknown }).account_detail);
        },
      },
      STATZ: {
        struct: 'AccountStatzEventOptions',
        spec: STATZ_FIELDS,
        produce: (o, subject) => {
          const acc = extractAccount(subject);
          // the account PING subject is answered by its own subscription
          if (acc === 'PING') throw new SkipRequest();
          return this.accountStatz([acc], bool(o, 'include_unused'));
        },
      },
    };
    for (const [name, ep] of Object.entries(account)) {
      ctx.subscribe(`$SYS.REQ.ACCOUNT.*.${name}`, (_s, subject, reply, hdr, msg) => this.zReq(ep, subject, reply, hdr, msg));
    }
    ctx.subscribe('$SYS.REQ.ACCOUNT.*.CONNS', (_s, subject, reply, _h, msg) => this.connsRequest(subject, reply, msg));
    const statzPing: Endpoint = {
      struct: 'AccountStatzEventOptions',
      spec: STATZ_FIELDS,
      produce: (o) => this.accountStatz(strs(o, 'accounts'), bool(o, 'include_unused')),
    };
    ctx.subscribe('$SYS.REQ.ACCOUNT.PING.STATZ', (_s, subject, reply, hdr, msg) => this.zReq(statzPing, subject, reply, hdr, msg));
    ctx.subscribe('$SYS.REQ.ACCOUNT.NSUBS', (_s, _subject, reply, _h, msg) => this.nsubsRequest(reply, msg));
    // server/events.go debugSubscribers: local only, answered with the cluster's count
    ctx.subscribe('$SYS.DEBUG.SUBSCRIBERS', (_s, _subject, reply, hdr, msg) => this.debugSubscribers(reply, hdr, msg), true);
    ctx.subscribe(`$SYS._INBOX.${this.ctx.hash}.*`, (_s, subject, _r, _h, msg) => this.inboxReply(subject, msg));
  }

  /** /jsz: JetStream's own, or the document the reference shows with it off. */
  private jsz(o: Record<string, unknown>): unknown {
    const srv = this.ctx.srv;
    const js = srv.jetstream;
    if (js === null) {
      if (bool(o, 'leader_only')) throw new SkipRequest();
      return jsz(srv, false);
    }
    // a clustered server that does not lead the meta group: no answer (server/monitor.go Jsz errSkipZreq)
    if (bool(o, 'leader_only') && !js.isLeader()) throw new SkipRequest();
    return typed(() => js.jsz(jszOptions(o)));
  }

  /** server/monitor.go AccountStatz; nothing to say is no answer (errSkipZreq). */
  private accountStatz(names: string[], includeUnused: boolean): unknown {
    const srv = this.ctx.srv;
    const list: unknown[] = [];
    const accs = names.length === 0 ? [...srv.accounts.values()] : names.map((n) => srv.accounts.get(n));
    for (const a of accs) {
      if (a === undefined) continue;
      // server/monitor.go AccountStatz: numLocalConnections counts clients, not leafnodes
      if (includeUnused || a.numClients !== 0) list.push(accountStat(a, srv));
    }
    if (list.length === 0 && !includeUnused) throw new SkipRequest();
    return { server_id: srv.serverId, now: goNow(), account_statz: list };
  }

  /** server/events.go statszReq: no reply means "publish on our STATSZ subject". */
  private statszReq(reply: string, msg: Buffer): void {
    const srv = this.ctx.srv;
    const to = reply !== '' ? reply : `$SYS.SERVER.${srv.serverId}.STATSZ`;
    if (msg.length > 0) {
      let o: Record<string, unknown>;
      try {
        o = decodeOptions(msg, 'StatszEventOptions', {});
      } catch (e) {
        this.ctx.send(to, '', encode({ server: serverInfo(srv), error: { code: 400, description: (e as Error).message } }));
        return;
      }
      if (filtered(srv, o)) return;
    }
    this.events.sendStatsz(to);
  }

  /** server/events.go zReq */
  private zReq(ep: Endpoint, subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void {
    if (reply === '') return;
    const srv = this.ctx.srv;
    let o: Record<string, unknown> = {};
    let error: { code: number; description: string } | null = null;
    let dataNull = false;
    let data: unknown = undefined;
    try {
      o = decodeOptions(msg, ep.struct, ep.spec);
    } catch (e) {
      if (!(e instanceof OptionsError)) throw e;
      error = { code: 400, description: e.message };
    }
    if (error === null) {
      if (msg.length > 0 && filtered(srv, o)) return;
      try {
        data = ep.produce(o, subject);
      } catch (e) {
        if (e instanceof SkipRequest) return;
        dataNull = e instanceof TypedNilError;
        error = { code: 500, description: (e as Error).message };
      }
    }
    const body = encode(apiResponse(srv, data, error, dataNull));
    const enc = error === null && hdr !== null ? acceptEncoding(hdr) : null;
    if (enc === 'snappy') {
      this.ctx.send(reply, '', snappyFrame(body), Buffer.from('NATS/1.0\r\nContent-Encoding: snappy\r\n\r\n', 'latin1'));
    } else if (enc === 'gzip') {
      this.ctx.send(reply, '', nodeZlib().gzipSync(body), Buffer.from('NATS/1.0\r\nContent-Encoding: gzip\r\n\r\n', 'latin1'));
    } else if (enc === 'identity') {
      this.ctx.send(reply, '', body, Buffer.from('NATS/1.0\r\nContent-Encoding: identity\r\n\r\n', 'latin1'));
    } else {
      this.ctx.send(reply, '', body);
    }
  }

  /** server/events.go connsRequest: our count of an account, when we have connections in it. */
  private connsRequest(subject: string, reply: string, msg: Buffer): void {
    const srv = this.ctx.srv;
    const tk = subject.split('.');
    if (tk.length !== 5) return;
    const name = tk[3]!;
    let acc = name;
    if (msg.length > 0) {
      try {
        const m = JSON.parse(msg.toString('utf8')) as Record<string, unknown>;
        if (m === null || typeof m !== 'object') throw new Error('not an object');
        acc = typeof m.acc === 'string' ? m.acc : '';
      } catch (e) {
        srv.logger.error(`SYSTEM - Error unmarshalling account connections request message: ${(e as Error).message}`);
        return;
      }
    }
    if (acc !== name) {
      srv.logger.error('SYSTEM - Error unmarshalled account does not match subject');
      return;
    }
    const a = srv.accounts.get(acc);
    if (a === undefined || a.numClients === 0 || reply === '') return;
    this.events.sendAccConnsUpdate(a, [reply]);
  }

  /** answers to our own requests ($SYS._INBOX.<hash>.<id>), by inbox */
  private readonly inboxes = new Map<string, (msg: Buffer) => void>();

  private inboxReply(subject: string, msg: Buffer): void {
    this.inboxes.get(subject)?.(msg);
  }

  /**
   * server/events.go debugSubscribers: the number of subscribers of a
   * subject (and optional queue group, "subject queue") in the requester's
   * account, here and, asked with NSUBS, on the other servers (500 ms).
   */
  private debugSubscribers(reply: string, hdr: Buffer | null, msg: Buffer): void {
    const srv = this.ctx.srv;
    const src = this.ctx.client.source;
    if (reply === '' || src === null || (src as unknown as { kind: number }).kind !== Kind.CLIENT) return;
    let accName = (src as unknown as { account: { name: string } }).account.name;
    if (hdr !== null) {
      const v = getHeader(hdr.toString('latin1'), 'Nats-Request-Info');
      if (v !== null) {
        try {
          const ci = JSON.parse(v) as { acc?: unknown; svc?: unknown };
          if (typeof ci.svc === 'string' && ci.svc !== '') accName = ci.svc;
          else if (typeof ci.acc === 'string' && ci.acc !== '') accName = ci.acc;
        } catch {
          return;
        }
      }
    }
    const acc = srv.accounts.get(accName);
    if (acc === undefined) return;
    const args = msg.toString('latin1').trim().split(' ');
    const subject = args[0] ?? '';
    const queue = args.length > 1 ? args[1]! : null;
    let n = this.countSubs(acc, subject, queue);
    const expected = this.events.servers.size;
    if (expected === 0) {
      this.ctx.send(reply, '', Buffer.from(String(n)));
      return;
    }
    const inbox = `$SYS._INBOX.${this.ctx.hash}.${randomToken(8)}`;
    let got = 0;
    const finish = (): void => {
      if (!this.inboxes.delete(inbox)) return;
      clearTimeout(timer);
      this.ctx.send(reply, '', Buffer.from(String(n)));
    };
    const timer = setTimeout(finish, 500);
    timer.unref();
    this.inboxes.set(inbox, (m) => {
      const v = Number.parseInt(m.toString('latin1'), 10);
      if (Number.isSafeInteger(v)) n += v;
      if (++got >= expected) finish();
    });
    const req: Record<string, unknown> = { acc: acc.name, subject };
    if (queue !== null) req.queue = Buffer.from(queue, 'latin1').toString('base64');
    this.ctx.send('$SYS.REQ.ACCOUNT.NSUBS', inbox, encode(req));
  }

  /** server/events.go totalSubs: client subscriptions of `acc` matching `subject` (and `queue`). */
  private countSubs(acc: import('../accounts/account.js').Account, subject: string, queue: string | null): number {
    let n = 0;
    const counts = (s: Subscription): boolean => s.client.kind === Kind.CLIENT && !(s.client instanceof InternalClient);
    if (subject !== '' && subjectIsLiteral(subject)) {
      const r = acc.sublist.match(subject);
      if (queue === null) for (const s of r.psubs) if (counts(s)) n++;
      for (const q of r.qsubs) for (const s of q) if (counts(s) && (queue === null || s.queue === queue)) n++;
    } else {
      for (const s of acc.sublist.all()) {
        if (!counts(s) || !subjectIsSubsetMatch(s.subject, subject)) continue;
        if (queue !== null && s.queue !== queue) continue;
        n++;
      }
    }
    return n;
  }

  /** server/events.go nsubsRequest: how many local client subscriptions match. */
  private nsubsRequest(reply: string, msg: Buffer): void {
    const srv = this.ctx.srv;
    if (msg.length === 0) {
      srv.logger.error('SYSTEM - request requires a body');
      return;
    }
    let m: Record<string, unknown>;
    let queue: string | null = null;
    try {
      m = decodeOptions(msg, 'accNumSubsReq', { acc: 'string', subject: 'string', queue: 'bytes' });
      if (typeof m.queue === 'string') queue = m.queue;
    } catch (e) {
      srv.logger.error(`SYSTEM - Error unmarshalling account nsubs request message: ${(e as Error).message}`);
      return;
    }
    const acc = srv.accounts.get(str(m, 'acc'));
    if (acc === undefined || acc.numClients === 0) return;
    const n = this.countSubs(acc, str(m, 'subject'), queue);
    if (reply !== '') this.ctx.send(reply, '', Buffer.from(String(n)));
  }
}

function jszOptions(o: Record<string, unknown>): import('../server/features.js').JszOptions {
  let limit = int(o, 'limit');
  if (limit === 0) limit = 1024;
  const consumers = bool(o, 'consumer');
  const streams = bool(o, 'streams') || consumers;
  return {
    account: str(o, 'account'),
    accounts: bool(o, 'accounts') || streams,
    streams,
    consumers,
    config: bool(o, 'config'),
    leaderOnly: bool(o, 'leader_only'),
    offset: int(o, 'offset'),
    limit,
  };
}

/**
 * server/monitor.go Subsz as the system requests get it: the whole struct
 * (server_id, now, total, offset, limit) even without a page, unlike /subsz.
 */
function fullSubsz(srv: Server, subs: boolean, offset: number, limit: number, acc: string, test: string): Record<string, unknown> {
  const r = subsz(srv, { subs, offset, limit, acc, test });
  if (r.server_id !== undefined) return r;
  return {
    server_id: srv.serverId,
    now: goNow(),
    ...r,
    total: 0,
    offset: Math.max(0, offset),
    limit: limit <= 0 ? 1024 : limit,
  };
}

/**
 * /accountz builds an account's imports from its configuration; the
 * reference lists what the account holds, which includes the imports of the
 * system account's services (2.9.10's three; USER.INFO is 2.10's and left out).
 */
function withSystemImports(srv: Server, doc: Record<string, unknown>): Record<string, unknown> {
  const d = doc.account_detail as Record<string, unknown> | undefined;
  const sys = srv.systemAccount;
  if (d === undefined || sys === null) return doc;
  const acc = srv.accounts.get(d.account_name as string);
  if (acc === undefined || acc === sys) return doc;
  const extra: Record<string, unknown>[] = [];
  for (const si of acc.serviceImports?.values() ?? []) {
    if (si.acc !== sys || si.from === '$SYS.REQ.USER.INFO' || !si.from.startsWith('$SYS.REQ.')) continue;
    if (!si.to.startsWith(`$SYS.REQ.ACCOUNT.${acc.name}.`)) continue;
    extra.push({ subject: si.from, account: sys.name, to: si.to, type: 'service', invalid: false, share: false, tracking: false });
  }
  if (extra.length === 0) return doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === 'sublist_stats' && d.imports === undefined) out.imports = extra;
    out[k] = k === 'imports' ? [...(v as unknown[]), ...extra] : v;
  }
  return { ...doc, account_detail: out };
}

/** server/events.go extractAccount: the account token of $SYS.REQ.ACCOUNT.<acc>.<X>. */
function extractAccount(subject: string): string {
  const tk = subject.split('.');
  if (tk.length !== 5) throw new Error(`subject ${JSON.stringify(subject)} is malformed`);
  return tk[3]!;
}

/** server/events.go filterRequest: true when the request is not for this server. */
function filtered(srv: Server, o: Record<string, unknown>): boolean {
  const name = str(o, 'server_name');
  if (name !== '' && !srv.serverName.includes(name)) return true;
  const host = str(o, 'host');
  if (host !== '' && !srv.opts.host.includes(host)) return true;
  const cluster = str(o, 'cluster');
  if (cluster !== '' && !srv.clusterName.includes(cluster)) return true;
  for (const t of strs(o, 'tags')) if (!srv.opts.tags.includes(t)) return true;
  const domain = str(o, 'domain');
  if (domain !== '' && domain !== jsDomain(srv)) return true;
  return false;
}

function jsDomain(srv: Server): string {
  const d = (srv.opts as unknown as { jetstreamDomain?: unknown }).jetstreamDomain;
  return typeof d === 'string' ? d : '';
}

/** server/events.go getAcceptEncoding: snappy/s2 first, then gzip. */
function acceptEncoding(hdr: Buffer): 'snappy' | 'gzip' | 'identity' | null {
  const v = getHeader(hdr.toString('latin1'), 'Accept-Encoding');
  if (v === null || v === '') return null;
  const ae = v.toLowerCase();
  if (ae.includes('snappy') || ae.includes('s2')) return 'snappy';
  if (ae.includes('gzip')) return 'gzip';
  return 'identity';
}

function randomToken(n: number): string {
  const digits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (let i = 0; i < n; i++) out += digits[Math.floor(Math.random() * 62)];
  return out;
}

function goNow(): string {
  return goTime(nowMs(), true);
}
