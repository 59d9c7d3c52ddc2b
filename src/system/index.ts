// The system account service (server/events.go): what a server publishes
// and answers in its system account. The Server creates it through the
// registry in server/features.ts when a system account exists, and calls
// its hooks on client connect/close, authentication errors, account
// connection changes, lame duck mode and shutdown.
//
// Everything goes through one internal client of the system account: its
// subscriptions are ordinary interest, so requests from clients of other
// servers arrive over routes, and what it publishes reaches local
// subscribers, account imports and routes alike. Like the reference's
// internalSendLoop, messages are queued and sent once the current delivery
// is over, never from inside another connection's delivery loop.

import type { Server } from '../server/server.js';
import type { Account, ServiceExport, ServiceImport } from '../accounts/account.js';
import type { Client } from '../client/client.js';
import type { ClosedReason, Connection } from '../client/connection.js';
import { InternalClient, type InternalMsgHandler } from '../client/internal.js';
import type { SystemService } from '../server/features.js';
import type { SystemContext } from './context.js';
import { EventIds, serverInfo } from './info.js';
import { Events } from './events.js';
import { Requests } from './requests.js';
import { setupSystemImports } from './imports.js';
import { startUserInfo } from './userinfo.js';
import { LatencyTracker, getHash } from './latency.js';

interface Pending {
  subject: string;
  reply: string;
  hdr: Buffer | null;
  body: Buffer;
  client: InternalClient;
}

export class SystemAccountService implements SystemService, SystemContext {
  readonly client: InternalClient;
  readonly ids = new EventIds();
  readonly hash: string;
  readonly events: Events;
  private readonly requests: Requests;
  readonly latency: LatencyTracker;
  private readonly queue: Pending[] = [];
  private draining = false;
  private scheduled = false;
  private stopped = false;
  /** internal clients of other accounts (latency results are published in the exporting account) */
  private readonly accountClients = new Map<Account, InternalClient>();

  constructor(
    readonly srv: Server,
    readonly sysAcc: Account,
  ) {
    this.hash = getHash(srv.serverName);
    this.client = new InternalClient(srv, sysAcc, 'System');
    // server/server.go createInternalClient: the system client does not hear itself
    this.client.echo = false;
    this.client.emptyReplySpace = true;
    this.events = new Events(this);
    this.requests = new Requests(this, this.events);
    this.latency = new LatencyTracker(this);
  }

  subscribe(subject: string, handler: InternalMsgHandler, local = false): void {
    const sub = local ? this.client.subscribeLocal(subject, handler) : this.client.subscribeInternal(subject, null, handler);
    if (sub === null) this.srv.logger.error(`Error setting up internal tracking: invalid subject ${JSON.stringify(subject)}`);
  }

  send(subject: string, reply: string, body: Buffer, hdr: Buffer | null = null, acc: Account | null = null): void {
    if (this.stopped) return;
    this.queue.push({ subject, reply, hdr, body, client: acc === null || acc === this.sysAcc ? this.client : this.accountClient(acc) });
    if (!this.scheduled && !this.draining) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private accountClient(acc: Account): InternalClient {
    let c = this.accountClients.get(acc);
    if (c === undefined || c.account !== acc) {
      c = new InternalClient(this.srv, acc, 'Account');
      c.echo = false;
      // internalSendLoop fills every client's message alike (sendInternalAccountMsg)
      c.emptyReplySpace = true;
      this.accountClients.set(acc, c);
    }
    return c;
  }

  private drain(): void {
    this.scheduled = false;
    if (this.draining) return;
    this.draining = true;
    try {
      const q = this.queue;
      while (q.length > 0) {
        const m = q.shift()!;
        try {
          m.client.publish(m.subject, m.reply, m.hdr, m.body);
        } catch (e) {
          this.srv.logger.error(`System - error sending ${m.subject}: ${(e as Error).stack ?? e}`);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  // --- SystemService -------------------------------------------------------------

  start(): void {
    setupSystemImports(this.srv);
    this.events.start();
    this.requests.start();
    startUserInfo(this);
    this.latency.start();
    // server/reload.go: a reload that changes what STATSZ reports (tags, JetStream) announces it
    this.srv.reloadHooks.push((_plan, old) => {
      const o = this.srv.opts;
      const changed = old.jetstream !== o.jetstream || old.tags.length !== o.tags.length || old.tags.some((t, i) => o.tags[i] !== t);
      if (changed && !this.stopped) this.events.sendStatsz(`$SYS.SERVER.${this.srv.serverId}.STATSZ`);
    });
  }

  shutdown(): void {
    if (this.stopped) return;
    this.events.shutdown();
    // the SHUTDOWN event leaves now, while routes are still up
    this.drain();
    this.stopped = true;
    this.latency.stop();
    this.client.closeInternal();
    for (const c of this.accountClients.values()) c.closeInternal();
    this.accountClients.clear();
  }

  clientConnected(c: Client): void {
    if (!this.stopped) this.events.clientConnected(c);
  }

  clientClosed(c: Client, reason: ClosedReason): void {
    if (!this.stopped) this.events.clientClosed(c, reason);
  }

  authError(c: Client): void {
    if (!this.stopped) this.events.authError(c);
  }

  accountConnsChanged(acc: Account): void {
    if (!this.stopped) this.events.accountConnsChanged(acc);
  }

  lameDuck(): void {
    if (!this.stopped) this.events.lameDuck();
  }

  accountsConfigured(): void {
    if (this.stopped) return;
    setupSystemImports(this.srv);
    this.events.trackNewAccounts();
  }

  latencySample(se: ServiceExport, hdr: string): Record<string, string[]> | null {
    return this.stopped ? null : this.latency.sample(se, hdr);
  }

  latencySuffix(): string {
    return this.latency.suffix();
  }

  latencyBadRequest(se: ServiceExport, requestor: Client, share: boolean, header: Record<string, string[]>): void {
    if (!this.stopped) this.latency.badRequest(se, requestor, share, header);
  }

  latencyResponse(rsi: ServiceImport, responder: Connection): void {
    if (!this.stopped) this.latency.response(rsi, responder);
  }

  latencyBackendError(rsi: ServiceImport, timeout: boolean): void {
    if (!this.stopped) this.latency.backendError(rsi, timeout);
  }

  latencyInterestLost(rsi: ServiceImport): void {
    if (!this.stopped) this.latency.interestLost(rsi);
  }

  latencyRemoteResponse(responder: Client, reply: string, startMs: number): void {
    if (!this.stopped) this.latency.remoteResponse(responder, reply, startMs);
  }

  sendInternal(subject: string, body: Buffer): void {
    this.send(subject, '', body);
  }

  serverInfo(): Record<string, unknown> {
    return serverInfo(this.srv);
  }
}

/** The factory src/main.ts and src/index.ts register (server/features.ts registerSystem). */
export async function createSystem(srv: Server): Promise<SystemService> {
  const sys = srv.systemAccount;
  if (sys === null) throw new Error('no system account');
  return new SystemAccountService(srv, sys);
}
