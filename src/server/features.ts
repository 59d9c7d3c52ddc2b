// Subsystems built on the core (JetStream today) plug in here, so that the
// core never imports them: an entry point (src/index.ts, src/main.ts)
// registers a loader, and the Server starts what its options ask for
// through the narrow interfaces below. The loader is a dynamic import, so
// a server without JetStream never loads or compiles its code.

import type { Server } from './server.js';

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
  /** accounts were (re)configured: enable JetStream where it is newly configured */
  accountsChanged(): void;
  /** health: null when healthy, else the reference's error text */
  healthError(): string | null;
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
