// JetStream for one server (server/jetstream.go): which accounts have it,
// where their streams live on disk, recovery at start, the group-commit
// scheduler shared by every stream, and the JetStreamService face the core
// and the monitor see (server/features.ts).

import fs from 'node:fs';
import path from 'node:path';
import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import type { JetStreamService, JszOptions } from '../server/features.js';
import { JsAccount, limitsFromTiers, tieredOnly, type JsAccountLimits } from './account.js';
import { Stream } from './stream.js';
import { JsApi } from './api.js';
import { installConsumers } from './consumer-api.js';
import { MemoryStore } from './store/memory.js';
import { FileStore, readSmallFile } from './store/file.js';
import type { StreamStore } from './store/types.js';
import { nowNs } from './store/types.js';
import { decodeStreamConfig, storeConfigOf, streamConfigJSON, type StreamConfig } from './stream-config.js';
import { nsToTime, timeToNs, toGoJSON } from './json.js';
import { startSources } from './sources.js';
import { subjectIsSubsetMatch } from '../subjects/validate.js';
import { recheckDeliveryInterest } from './consumer.js';
import { resolveJetStreamConfig, prepareStoreDir, type JetStreamConfig } from '../config/jetstream-conf.js';
import { jetStreamStartLines, JS_STARTING, JS_SHUTDOWN_START, JS_SHUTDOWN_DONE } from './banner.js';
import * as Jsz from './jsz.js';
import { dynamicJetStreamAccountLimits, type JetStreamAccountTiers } from '../config/options.js';
import { snapshotApi } from './snapshot.js';
import { accountPurgeFromAccount, serveAccountPurge } from './account-purge.js';
import type { InternalClient } from '../client/internal.js';
import type { JetStreamCluster } from './cluster/meta.js';

const STREAMS_DIR = 'streams';
const META_FILE = 'meta.inf';


export class JetStream implements JetStreamService {
  readonly accounts = new Map<string, JsAccount>();
  /** store dir and limits as resolved from the options (config/jetstream-conf.ts) */
  readonly config: JetStreamConfig;
  readonly storeDir: string;
  readonly domain: string;
  readonly maxMemory: number;
  readonly maxStore: number;
  readonly syncInterval: 'always' | number;
  readonly api: JsApi;
  /** jetstream { limits { duplicate_window } }, ns; 0 = none */
  readonly maxDuplicateWindow: number;
  /** clustered mode (a cluster port is configured, server/server.go standAloneMode): the meta layer */
  cluster: JetStreamCluster | null = null;
  /**
   * Streams to commit this turn: the first commitN entries. Two arrays
   * taking turns, kept by count: a fresh array per turn (splice) was
   * garbage per message for a publisher that waits for each ack.
   */
  private commitQueue: Array<Stream | null> = [];
  private commitSpare: Array<Stream | null> = [];
  private commitN = 0;
  private commitScheduled = false;
  private started = false;
  /** the system account's $JS.API.ACCOUNT.PURGE.* subscription */
  private purgeClient: InternalClient | null = null;

  constructor(readonly server: Server) {
    const o = server.opts;
    this.config = resolveJetStreamConfig(o);
    this.storeDir = this.config.storeDir;
    this.domain = this.config.domain;
    this.maxMemory = this.config.maxMemory;
    this.maxStore = this.config.maxStore;
    this.syncInterval = o.jetstreamSyncInterval;
    this.maxDuplicateWindow = o.jetstreamLimits.duplicateWindowMs * 1e6;
    this.api = new JsApi(this);
    installConsumers(this);
    this.api.sourcesHook = startSources;
    this.api.snapshotHandler = snapshotApi;
    this.api.accountPurgeHandler = accountPurgeFromAccount;
  }

  /** Bytes reserved by streams with max_bytes, server-wide (server/jetstream.go memReserved/storeReserved). */
  reservedTotal(storage: 'memory' | 'file', jsa: JsAccount | null, except: string | null): number {
    let r = 0;
    for (const a of this.accounts.values()) r += a.reserved(storage, a === jsa ? except : null);
    return r;
  }

  // --- JetStreamService ----------------------------------------------------

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const log = this.server.logger;
    log.notice(JS_STARTING);
    // Stores are not encrypted: starting with a key would leave data in
    // plain text while the operator believes otherwise.
    if (this.server.opts.jetstreamKey !== '') throw new Error('encryption at rest (jetstream { key }) is not supported by tsnats');
    const err = prepareStoreDir(this.storeDir);
    if (err !== null) throw new Error(err);
    const o = this.server.opts;
    for (const line of jetStreamStartLines(this.config, { key: o.jetstreamKey, cipher: o.jetstreamCipher })) log.notice(line);
    // The meta layer exists before the accounts serve the API: their requests
    // are routed through it. Clustered needs configured routes: the
    // reference refuses to start without them ("JetStream cluster requires
    // configured routes or solicited leafnode for the system account"),
    // tsnats keeps such a server a lone JetStream server as it always did.
    if (o.cluster.port !== 0 && o.routes.length > 0) {
      // loaded only when clustered: a lone server never compiles Raft
      const { JetStreamCluster } = await import('./cluster/meta.js');
      this.cluster = new JetStreamCluster(this);
    }
    this.accountsChanged();
    this.purgeClient = serveAccountPurge(this);
    if (this.cluster !== null) await this.cluster.start();
  }

  /**
   * Which accounts get JetStream (server/jetstream.go enableJetStreamAccounts):
   * with no accounts configured, the global account; otherwise those whose
   * configuration (or account JWT) enables it. Every other account still
   * gets API answers ("jetstream not enabled for account").
   */
  accountsChanged(): void {
    if (!this.started) return;
    const srv = this.server;
    const sys = srv.systemAccount;
    const accountCfgs = srv.opts.accounts;
    const globalOnly = accountCfgs.length === 0 || accountCfgs.every((a) => sys !== null && a.name === sys.name);
    for (const acc of srv.accounts.values()) {
      if (acc === sys) continue;
      let limits: JsAccountLimits | null = null;
      let tiers: JetStreamAccountTiers | null = null;
      if (globalOnly && acc === srv.globalAccount) limits = dynamicJetStreamAccountLimits();
      else {
        const cfg = accountCfgs.find((a) => a.name === acc.name);
        limits = limitsFromTiers(cfg?.jetstream);
        if (limits === null) {
          limits = limitsFromTiers(acc.jetstreamLimits);
          tiers = tieredOnly(acc.jetstreamLimits);
        } else tiers = tieredOnly(cfg?.jetstream);
      }
      if (limits !== null) this.enableAccount(acc, limits).tiers = tiers;
      else if (!this.accounts.has(acc.name)) {
        // An account that imports the JetStream API from another account is
        // answered by that account (server/jetstream.go
        // enableJetStreamInfoServiceImportOnly: serviceImportShadowed).
        if (apiImported(acc)) this.api.stopDisabled(acc);
        else this.api.serveDisabled(acc);
      }
    }
  }

  async shutdown(): Promise<void> {
    this.server.logger.notice(JS_SHUTDOWN_START);
    this.cluster?.stop();
    const stops: Promise<void>[] = [];
    for (const jsa of this.accounts.values()) {
      for (const s of jsa.streams.values()) stops.push(s.stop(false));
    }
    await Promise.allSettled(stops);
    for (const jsa of this.accounts.values()) jsa.close();
    this.api.close();
    this.purgeClient?.closeInternal();
    this.purgeClient = null;
    this.server.logger.notice(JS_SHUTDOWN_DONE);
  }

  isLeader(): boolean {
    return this.cluster === null || this.cluster.isMetaLeader();
  }

  varz(): Record<string, unknown> {
    return Jsz.jetStreamVarz(this.view());
  }

  jsz(opts: JszOptions): Record<string, unknown> {
    return Jsz.jsz(this.view(), opts, nsToTime(Date.now() * 1e6));
  }

  /** What the monitoring documents read (jetstream/jsz.ts). */
  private view(): Jsz.JetStreamView {
    let apiTotal = 0;
    let apiErrors = 0;
    for (const a of this.accounts.values()) {
      apiTotal += a.apiTotal;
      apiErrors += a.apiErrors;
    }
    const srv = this.server;
    const o = srv.opts;
    return {
      serverId: srv.serverId,
      serverName: srv.serverName,
      clusterName: srv.clusterName,
      config: { ...this.config, compressOk: o.jetstreamMaxMemory > 0 && o.jetstreamMaxStore > 0 },
      reservedMemory: this.reservedTotal('memory', null, null),
      reservedStore: this.reservedTotal('file', null, null),
      apiTotal,
      apiErrors,
      accounts: () => [...this.accounts.values()].map(accountView),
      meta: this.cluster !== null ? () => this.cluster!.metaJSON() : undefined,
      haAssets: this.cluster !== null ? this.cluster.raftGroups() : 0,
    };
  }

  subscriptionsAdded(subject: string): void {
    recheckDeliveryInterest(subject);
  }

  accountEnabled(account: string): boolean {
    return this.accounts.has(account);
  }

  healthError(): string | null {
    return null;
  }

  // --- figures ---------------------------------------------------------------

  memoryUsed(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.memoryUsed;
    return n;
  }

  storeUsed(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.storeUsed;
    return n;
  }

  // --- accounts and streams ----------------------------------------------------

  enableAccount(acc: Account, limits: JsAccountLimits): JsAccount {
    let jsa = this.accounts.get(acc.name);
    if (jsa !== undefined) {
      jsa.limits = limits;
      return jsa;
    }
    jsa = new JsAccount(this, acc, limits);
    this.accounts.set(acc.name, jsa);
    this.api.serve(jsa);
    this.recoverAccount(jsa);
    return jsa;
  }

  private accountDir(jsa: JsAccount): string {
    return path.join(this.storeDir, jsa.name, STREAMS_DIR);
  }

  /** Streams stored by an earlier run (server/jetstream.go EnableJetStream's recovery walk). */
  private recoverAccount(jsa: JsAccount): void {
    const dir = this.accountDir(jsa);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    const log = this.server.logger;
    // two lines per stream, written together: a write each to a pipe cost
    // more than the rest of a stream's restore
    if (log.batch !== undefined) log.batch(() => this.recoverStreams(jsa, dir, names));
    else this.recoverStreams(jsa, dir, names);
  }

  private recoverStreams(jsa: JsAccount, dir: string, names: string[]): void {
    const log = this.server.logger;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      // `dir` is normalised and a directory entry's name has no separator: what path.join would give
      const sdir = dir + path.sep + name;
      let cfg: StreamConfig;
      let created: number;
      try {
        const meta = JSON.parse(readSmallFile(sdir + path.sep + META_FILE).toString('utf8')) as { config: Record<string, unknown>; created: string };
        cfg = decodeStreamConfig(meta.config);
        created = timeToNs(meta.created);
        if (Number.isNaN(created)) created = nowNs();
      } catch (e) {
        log.warn(`  Error unmarshalling stream metafile "${path.join(sdir, META_FILE)}": ${(e as Error).message}`);
        continue;
      }
      try {
        const store = this.openStore(jsa, cfg, sdir);
        const s = new Stream(jsa, cfg, store, created);
        jsa.streams.set(cfg.name, s);
        s.rebuildDedupe();
        // Clustered, the stream waits for its assignment (meta.ts createLocal,
        // or its stream group): a copy that took publishes, ran consumers or
        // followed sources on its own before it knows whether it leads would
        // diverge from the group's copy.
        const standalone = this.cluster === null;
        if (standalone) s.subscribe();
        const st = store.state();
        // what the store holds counts against the account, as when it was stored
        if (cfg.storage === 'file') jsa.storeUsed += st.bytes;
        log.notice(`  Starting restore for stream '${jsa.name} > ${cfg.name}'`);
        log.notice(`  Restored ${thousands(st.msgs)} messages for stream '${jsa.name} > ${cfg.name}'`);
        if (standalone) {
          this.recoverConsumers?.(s);
          if (cfg.mirror !== null || cfg.sources.length > 0) startSources(s);
        }
      } catch (e) {
        log.warn(`  Error recreating stream ${JSON.stringify(cfg.name)}: ${(e as Error).message}`);
      }
    }
  }

  /** set by the consumer module: recreate a stream's consumers from its store */
  recoverConsumers: ((s: Stream) => void) | null = null;

  /** set by the consumer module: a message left a stream on its own (limits, interest/workqueue acks) */
  msgRemoved: ((s: Stream, seq: number, subject: string) => void) | null = null;

  private openStore(jsa: JsAccount, cfg: StreamConfig, dir: string): StreamStore {
    let store: StreamStore;
    if (cfg.storage === 'memory') store = new MemoryStore(storeConfigOf(cfg));
    else {
      store = new FileStore(storeConfigOf(cfg), {
        dir,
        syncInterval: this.syncInterval,
        log: this.server.logger,
      });
    }
    store.registerStorageUpdates((msgs, bytes, seq, subject) => {
      if (cfg.storage === 'memory') jsa.memoryUsed += bytes;
      else jsa.storeUsed += bytes;
      // one message removed (server/stream.go storeUpdates): consumers adjust pending
      if (msgs === -1 && seq > 0 && this.msgRemoved !== null) {
        const s = jsa.streams.get(cfg.name);
        if (s !== undefined && s.store === store) this.msgRemoved(s, seq, subject);
      }
    });
    return store;
  }

  /** Create a stream from a checked config; writes its meta file for file streams. */
  createStream(jsa: JsAccount, cfg: StreamConfig, created = nowNs()): Stream {
    const sdir = path.join(this.accountDir(jsa), cfg.name);
    if (cfg.storage === 'file') {
      fs.mkdirSync(sdir, { recursive: true });
      this.writeMeta(sdir, cfg, created);
    }
    const store = this.openStore(jsa, cfg, sdir);
    const s = new Stream(jsa, cfg, store, created);
    jsa.streams.set(cfg.name, s);
    s.subscribe();
    return s;
  }

  /** Persist a stream's config (create, update): written whole, then renamed over the old one. */
  writeMeta(sdir: string, cfg: StreamConfig, created: number): void {
    const tmp = path.join(sdir, META_FILE + '.tmp');
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, toGoJSON({ config: streamConfigJSON(cfg), created: nsToTime(created) }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(sdir, META_FILE));
  }

  streamDir(jsa: JsAccount, name: string): string {
    return path.join(this.accountDir(jsa), name);
  }

  async deleteStream(jsa: JsAccount, s: Stream): Promise<void> {
    jsa.streams.delete(s.name);
    // the file store goes without telling each removal (the memory store purges)
    if (s.cfg.storage === 'file') jsa.storeUsed = Math.max(0, jsa.storeUsed - s.store.state().bytes);
    await s.stop(true);
    if (s.cfg.storage === 'file') fs.rmSync(this.streamDir(jsa, s.name), { recursive: true, force: true });
  }

  // --- group commit ------------------------------------------------------------

  /** Commit `s` at the end of this event-loop turn, with every other stream that has work. */
  scheduleCommit(s: Stream): void {
    this.commitQueue[this.commitN++] = s;
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(this.runCommits);
  }

  private readonly runCommits = (): void => {
    this.commitScheduled = false;
    const q = this.commitQueue;
    const n = this.commitN;
    // commits scheduled by these go to the other array, for the next turn
    this.commitQueue = this.commitSpare;
    this.commitSpare = q;
    this.commitN = 0;
    for (let i = 0; i < n; i++) {
      const s = q[i]!;
      q[i] = null;
      s.commit();
    }
  };
}


function accountView(a: JsAccount): Jsz.JsAccountView {
  return {
    name: a.name,
    memoryUsed: a.memoryUsed,
    storeUsed: a.storeUsed,
    apiTotal: a.apiTotal,
    apiErrors: a.apiErrors,
    limits: { '': a.limits },
    streams: () => [...a.streams.values()].map(streamView),
  };
}

function streamView(s: Stream): Jsz.JsStreamView {
  return {
    name: s.name,
    created: nsToTime(s.created),
    config: () => streamConfigJSON(s.cfg),
    state: () => {
      const st = s.store.state();
      return { json: s.stateJSON(false, ''), msgs: st.msgs, bytes: st.bytes, consumers: s.consumers.size };
    },
    consumers: () => s.consumers.values(),
    mirror: () => s.sourceTaps.find((t) => t.mirror)?.info(),
    sources: () => {
      const l = s.sourceTaps.filter((t) => !t.mirror);
      return l.length > 0 ? l.map((t) => t.info()) : undefined;
    },
  };
}

/**
 * 1234567 → "1,234,567" (what toLocaleString('en-US') says): that builds a
 * number formatter per call, tens of microseconds, once per stream restored.
 */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Whether a service import of `acc` covers $JS.API.INFO. */
function apiImported(acc: Account): boolean {
  const imports = acc.serviceImports;
  if (imports === null) return false;
  for (const from of imports.keys()) if (subjectIsSubsetMatch('$JS.API.INFO', from)) return true;
  return false;
}
