// What /routez, /varz and /metrics need to know about cluster routes. The
// cluster module fills it in by setting `server.routeInfoProvider`; until then
// the monitor reports no routes, as the reference does with clustering off.

import type { SubjectPermission } from '../config/options.js';

/** One subscription as a route (or client) holds it. */
export interface MonitoredSub {
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: string;
  /** messages delivered through it */
  readonly nm: number;
  /** auto-unsubscribe limit, 0 = none */
  readonly max: number;
}

/**
 * A live route connection, as /routez reports it (server/monitor.go
 * RouteInfo). A route class that extends Connection already has most of
 * these fields under the same names.
 */
export interface MonitoredRoute {
  /** route id ("rid"), from the same counter as client ids */
  readonly cid: number;
  /** server id of the peer */
  readonly remoteId: string;
  /** we dialed it (true) or accepted it (false) */
  readonly didSolicit: boolean;
  /** it is one of the configured `routes` (not discovered through gossip) */
  readonly isConfigured: boolean;
  readonly host: string;
  readonly port: number;
  readonly start: Date;
  /** ms timestamp of the last read */
  readonly lastActivity: number;
  /** last measured round trip in ms (fractions allowed), 0 = unknown */
  readonly rttMs: number;
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** bytes queued for the peer and not yet written */
  pendingBytes(): number;
  /** the subscriptions the peer registered with us (RS+) */
  subscriptions(): Iterable<MonitoredSub>;
  /** how many subscriptions() would yield */
  numSubs(): number;
  /** the permissions that apply to this route, if any */
  readonly importPermissions?: SubjectPermission;
  readonly exportPermissions?: SubjectPermission;
}

export interface RouteInfoProvider {
  /** every live route, in any order */
  routes(): Iterable<MonitoredRoute>;
  /** number of live routes (varz "routes") */
  numRoutes(): number;
  /** number of distinct remote servers (varz "remotes") */
  numRemotes(): number;
  /** client URLs learned from the cluster (varz "connect_urls"), if any */
  connectURLs?(): string[];
}
