// Subsystems built on the core (JetStream today) plug in here, so that the
// core never imports them: an entry point (src/index.ts, src/main.ts)
// registers a loader, and the Server starts what its options ask for
// through the narrow interfaces below. The loader is a dynamic import, so
// a server without JetStream never loads or compiles its code.

import type { Server } from './server.js';
import type { Client } from '../client/client.js';
import type { ClosedReason } from '../client/connection.js';
import type { Account, ServiceExport, ServiceImport } from '../accounts/account.js';
import type { Connection } from '../client/connection.js';

/** What the Server and the monitor need of JetStream. */
export interface JetStreamService {
  /** open the stores and serve $JS.API (after the client listener is up) */
  start(): Promise<void>;
  /** flush and close every store */
  shutdown(): Promise<void>;
  /** the `jetstream` section of /varz (server/monitor.go JetStreamVarz) */
  varz(): Record<string, unknown>;
  /** /jsz (server/monitor.go Jsz), with its query options */
  jsz(opts: JszOptions): Record<string, unknown>;
  /** the account-level figures /accountz shows: whether JetStream is on for it */
  accountEnabled(account: string): boolean;
  /** a client subscribed to `subject`: push consumers waiting for interest there check now */
  subscriptionsAdded(subject: string): void;
  /** accounts were (re)configured: enable JetStream where it is newly configured */
  accountsChanged(): void;
  /** health: null when healthy, else the reference's error text */
  healthError(): string | null;
  /** clustered: this server leads the meta group (a lone server always does); /jsz?leader-only */
  isLeader(): boolean;
}

export interface JszOptions {
  account: string;
  accounts: boolean;
  streams: boolean;
  consumers: boolean;
  config: boolean;
  leaderOnly: boolean;
  offset: number;
  limit: number;
}

export type JetStreamFactory = (server: Server) => Promise<JetStreamService>;

let jetStreamFactory: JetStreamFactory | null = null;

/** Called by an entry point: how to create JetStream when the options enable it. */
export function registerJetStream(factory: JetStreamFactory): void {
  jetStreamFactory = factory;
}

export function getJetStreamFactory(): JetStreamFactory | null {
  return jetStreamFactory;
}

// ---------------------------------------------------------------------------
// The system account's events and requests (src/system/). The Server calls
// these hooks at the points where the reference sends its events
// (server/events.go); with no system module registered they are not called.


export interface SystemService {
  /** subscribe to the $SYS requests, start the STATSZ timer (before the client listener) */
  start(): void;
  /** the SHUTDOWN event, timers stopped; synchronous so the event leaves before routes close */
  shutdown(): void;
  /** a client authenticated (server/auth.go isClientAuthorized → accountConnectEvent) */
  clientConnected(c: Client): void;
  /** a client closed (server/server.go saveClosedClient → accountDisconnectEvent) */
  clientClosed(c: Client, reason: ClosedReason): void;
  /** a client failed authentication (server/client.go authViolation → sendAuthErrorEvent) */
  authError(c: Client): void;
  /** an account's local connection count changed (server/accounts.go addClient/removeClient) */
  accountConnsChanged(acc: Account): void;
  /** the server entered lame duck mode */
  lameDuck(): void;
  /** accounts were (re)configured: the system imports must be added again */
  accountsConfigured(): void;
  /** service latency (server/accounts.go shouldSample): the tracing headers that sample a request to `se`, or null */
  latencySample(se: ServiceExport, hdr: string): Record<string, string[]> | null;
  /** the suffix of a tracked request's reply (".<server hash>.T") */
  latencySuffix(): string;
  /** a sampled request without a reply (400) */
  latencyBadRequest(se: ServiceExport, requestor: Client, share: boolean, header: Record<string, string[]>): void;
  /** the response to a tracked request arrived from `responder` */
  latencyResponse(rsi: ServiceImport, responder: Connection): void;
  /** a tracked request was not delivered (503) or not answered in time (504) */
  latencyBackendError(rsi: ServiceImport, timeout: boolean): void;
  /** the requester stopped listening before the answer to a tracked request came (408) */
  latencyInterestLost(rsi: ServiceImport): void;
  /** a client answered a tracked request another server relayed (its M2 goes to that server) */
  latencyRemoteResponse(responder: Client, reply: string, startMs: number): void;
  /** server/events.go sendInternalMsg: a message of the system account's internal client (the resolver's answers) */
  sendInternal(subject: string, body: Buffer): void;
  /** the ServerInfo header of this server's next $SYS message (one sequence for all of them) */
  serverInfo(): Record<string, unknown>;
}

export type SystemFactory = (server: Server) => Promise<SystemService>;

let systemFactory: SystemFactory | null = null;

/** Called by an entry point: how to create the system account's service. */
export function registerSystem(factory: SystemFactory): void {
  systemFactory = factory;
}

export function getSystemFactory(): SystemFactory | null {
  return systemFactory;
}
