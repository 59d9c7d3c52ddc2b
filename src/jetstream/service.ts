// JetStream for one server (server/jetstream.go): which accounts have it,
// where their streams live on disk, recovery at start, the group-commit
// scheduler shared by every stream, and the JetStreamService face the core
// and the monitor see (server/features.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import type { JetStreamService, JszOptions } from '../server/features.js';
import { JsAccount, limitsFromConfig, unlimited, type JsAccountLimits } from './account.js';
import { Stream } from './stream.js';
import { JsApi } from './api.js';
import { installConsumers } from './consumer-api.js';
import { MemoryStore } from './store/memory.js';
import { FileStore } from './store/file.js';
import type { StreamStore } from './store/types.js';
import { nowNs } from './store/types.js';
import { decodeStreamConfig, storeConfigOf, streamConfigJSON, type StreamConfig } from './stream-config.js';
import { nsToTime, timeToNs, toGoJSON } from './json.js';
import { JsonDecodeError } from './json.js';
import { startSources } from './sources.js';
import { snapshotApi } from './snapshot.js';

/** the reference's JetStream directory under store_dir (server/jetstream.go JetStreamStoreDir) */
const JS_DIR = 'jetstream';
const STREAMS_DIR = 'streams';
const META_FILE = 'meta.inf';

/** sync_interval default: the reference syncs every 2 minutes */
const DEFAULT_SYNC_MS = 2 * 60 * 1000;

export class JetStream implements JetStreamService {
  readonly accounts = new Map<string, JsAccount>();
  readonly storeDir: string;
  readonly domain: string;
  readonly maxMemory: number;
  readonly maxStore: number;
  readonly syncInterval: 'always' | number;
  readonly api: JsApi;
  /** jetstream { limits { duplicate_window } }, ns; 0 = none */
  readonly maxDuplicateWindow: number;
  private readonly commitQueue: Stream[] = [];
  private commitScheduled = false;
  private started = false;

  constructor(readonly server: Server) {
    const o = server.opts as unknown as Record<string, unknown>;
    const dir = typeof o.storeDir === 'string' && o.storeDir !== '' ? o.storeDir : path.join(os.tmpdir(), 'nats');
    this.storeDir = path.join(dir, JS_DIR);
    this.domain = typeof o.jetstreamDomain === 'string' ? o.jetstreamDomain : '';
    this.maxMemory = typeof o.jetstreamMaxMemory === 'number' && o.jetstreamMaxMemory > 0 ? o.jetstreamMaxMemory : Math.floor(os.totalmem() * 0.75);
    this.maxStore = typeof o.jetstreamMaxStore === 'number' && o.jetstreamMaxStore > 0 ? o.jetstreamMaxStore : 1024 ** 4;
    const si = o.jetstreamSyncInterval;
    this.syncInterval = si === 'always' ? 'always' : typeof si === 'number' && si > 0 ? si : DEFAULT_SYNC_MS;
    const dw = o.jetstreamMaxDuplicateWindow;
    this.maxDuplicateWindow = typeof dw === 'number' && dw > 0 ? dw : 0;
    this.api = new JsApi(this);
    installConsumers(this);
    this.api.sourcesHook = startSources;
    this.api.snapshotHandler = snapshotApi;
  }

  /** Bytes reserved by streams with max_bytes, server-wide (server/jetstream.go memReserved/storeReserved). */
  reservedTotal(storage: 'memory' | 'file', jsa: JsAccount, except: string | null): number {
    let r = 0;
    for (const a of this.accounts.values()) r += a.reserved(storage, a === jsa ? except : null);
    return r;
  }

  // --- JetStreamService ----------------------------------------------------

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const log = this.server.logger;
    log.notice('Starting JetStream');
    fs.mkdirSync(this.storeDir, { recursive: true });
    this.accountsChanged();
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
      if (globalOnly && acc === srv.globalAccount) limits = unlimited();
      else {
        const cfg = accountCfgs.find((a) => a.name === acc.name);
        limits = cfg !== undefined ? limitsFromConfig(cfg.jetstream) : null;
        const jwtLimits = (acc as unknown as { jetstreamLimits?: unknown }).jetstreamLimits;
        if (limits === null && jwtLimits !== undefined) limits = limitsFromConfig(jwtLimits);
      }
      if (limits !== null) this.enableAccount(acc, limits);
      else if (!this.accounts.has(acc.name)) this.api.serveDisabled(acc);
    }
  }

  async shutdown(): Promise<void> {
    this.server.logger.notice('Initiating JetStream Shutdown...');
    const stops: Promise<void>[] = [];
    for (const jsa of this.accounts.values()) {
      for (const s of jsa.streams.values()) stops.push(s.stop(false));
    }
    await Promise.allSettled(stops);
    for (const jsa of this.accounts.values()) jsa.close();
    this.api.close();
    this.server.logger.notice('JetStream Shutdown');
  }

  varz(): Record<string, unknown> {
    return {
      config: this.configJSON(),
      stats: this.statsJSON(),
    };
  }

  jsz(opts: JszOptions): Record<string, unknown> {
    const o: Record<string, unknown> = {
      server_id: this.server.serverId,
      now: new Date().toISOString(),
      config: this.configJSON(),
      ...this.statsJSON(),
      streams: this.totalStreams(),
      consumers: this.totalConsumers(),
      messages: this.totalMessages(),
      bytes: this.memoryUsed() + this.storeUsed(),
    };
    if (opts.accounts || opts.streams || opts.consumers || opts.account !== '') {
      const details: Record<string, unknown>[] = [];
      for (const jsa of this.accounts.values()) {
        if (opts.account !== '' && jsa.name !== opts.account) continue;
        const d: Record<string, unknown> = {
          name: jsa.name,
          id: jsa.name,
          memory: jsa.memoryUsed,
          storage: jsa.storeUsed,
          accounts: 1,
          api: { total: jsa.apiTotal, errors: jsa.apiErrors },
        };
        if (opts.streams || opts.consumers) {
          d.stream_detail = [...jsa.streams.values()].map((s) => {
            const sd: Record<string, unknown> = { name: s.name, created: nsToTime(s.created), state: s.stateJSON(false, '') };
            if (opts.config) sd.config = streamConfigJSON(s.cfg);
            if (opts.consumers) sd.consumer_detail = [...s.consumers.values()].map((c) => c.info());
            return sd;
          });
        }
        details.push(d);
      }
      o.account_details = details;
    }
    return o;
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

  private totalStreams(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.streams.size;
    return n;
  }

  private totalConsumers(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.numConsumers();
    return n;
  }

  private totalMessages(): number {
    let n = 0;
    for (const a of this.accounts.values()) for (const s of a.streams.values()) n += s.store.state().msgs;
    return n;
  }

  configJSON(): Record<string, unknown> {
    const c: Record<string, unknown> = {
      max_memory: this.maxMemory,
      max_storage: this.maxStore,
      store_dir: this.storeDir,
    };
    if (this.domain !== '') c.domain = this.domain;
    return c;
  }

  statsJSON(): Record<string, unknown> {
    let total = 0;
    let errors = 0;
    for (const a of this.accounts.values()) {
      total += a.apiTotal;
      errors += a.apiErrors;
    }
    return {
      memory: this.memoryUsed(),
      storage: this.storeUsed(),
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: this.accounts.size,
      ha_assets: 0,
      api: { total, errors },
    };
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
    for (const name of names) {
      const sdir = path.join(dir, name);
      let cfg: StreamConfig;
      let created: number;
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(sdir, META_FILE), 'utf8')) as { config: Record<string, unknown>; created: string };
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
        s.subscribe();
        const st = store.state();
        log.notice(`  Starting restore for stream '${jsa.name} > ${cfg.name}'`);
        log.notice(`  Restored ${st.msgs.toLocaleString('en-US')} messages for stream '${jsa.name} > ${cfg.name}'`);
        this.recoverConsumers?.(s);
        if (cfg.mirror !== null || cfg.sources.length > 0) startSources(s);
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
  createStream(jsa: JsAccount, cfg: StreamConfig): Stream {
    const sdir = path.join(this.accountDir(jsa), cfg.name);
    const created = nowNs();
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
    await s.stop(true);
    if (s.cfg.storage === 'file') fs.rmSync(this.streamDir(jsa, s.name), { recursive: true, force: true });
  }

  // --- group commit ------------------------------------------------------------

  /** Commit `s` at the end of this event-loop turn, with every other stream that has work. */
  scheduleCommit(s: Stream): void {
    this.commitQueue.push(s);
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(this.runCommits);
  }

  private readonly runCommits = (): void => {
    this.commitScheduled = false;
    const q = this.commitQueue.splice(0);
    for (const s of q) s.commit();
  };
}

export { JsonDecodeError };
