// An account: a subject namespace with its own subject index. Clients of one
// account never see messages of another unless an export/import connects them
// (server/accounts.go). The structures here describe those connections; the
// message path that follows them is in accounts/imports.ts.

import { Sublist } from '../subjects/sublist.js';
import type { Subscription } from '../client/subscription.js';
import type { SubjectTransform } from './transform.js';
import type { SubjectMapping } from './mapping.js';
import type { JetStreamAccountTiers } from '../config/options.js';

/** server/const.go DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD */
export const DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD_MS = 2 * 60 * 1000;

export type ResponseType = 'singleton' | 'stream' | 'chunked';

/** Who may import an export (server/accounts.go exportAuth). Public when null. */
export interface ExportAuth {
  /** names of the accounts allowed to import */
  approved: Set<string> | null;
  /** an activation token is required (operator mode only; nobody qualifies here) */
  tokenReq: boolean;
  /** account_token_position: 1-based token of the subject that must be the importer's name */
  accountPos: number;
  /** tokenReq in operator mode: who may sign activations, which are revoked (actsRevoked) */
  activation?: { issuers: ReadonlySet<string>; revoked: ReadonlyMap<string, number> | null };
}

export class ServiceExport {
  auth: ExportAuth | null = null;
  responseType: ResponseType = 'singleton';
  responseThresholdMs = DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD_MS;
  latency: { subject: string; sampling: number } | null = null;
  /** response-expiry timer, armed while responses are pending */
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly account: Account,
    readonly subject: string,
  ) {}
}

/** A stream import: messages published in `exporter` on `from` appear in `importer` on `to`. */
export class StreamImport {
  invalid = false;
  /** operator mode: expiry (seconds, 0 = never) of the import's activation token; null without one */
  tokenExp: number | null = null;

  constructor(
    readonly importer: Account,
    readonly exporter: Account,
    readonly from: string,
    readonly to: string,
    /** wildcard mapping from `from` to `to`; null when the subject is used as is or `to` is literal */
    readonly tr: SubjectTransform | null,
    /** deliver on the published subject itself (wildcard import without renaming) */
    readonly usePub: boolean,
  ) {}
}

/** A sampled request's response mapping (service latency, src/system/latency.ts). */
export interface ResponseTracking {
  /** the requester */
  rc: import('../client/client.js').Client;
  /** ms timestamp of the request */
  ts: number;
  /** the tracing headers that decided the sampling */
  header: Record<string, string[]>;
  /** the response (or an error result) was reported */
  delivered: boolean;
  /** our measurement, waiting for the responder's server's (M2) */
  m1: unknown;
  /** the responder's server's measurement, when it came first */
  m2: unknown;
}

/**
 * A service import (server/accounts.go serviceImport). Requests: owned by
 * the importing account, `acc` is the exporter, `from` the local subject,
 * `to` the exporter's subject. Responses: owned by the exporter (keyed by
 * the generated `_R_` reply in `from`), `acc` is the requester's account and
 * `to` the requester's own reply subject.
 */
export class ServiceImport {
  /** ms timestamp of the last use (response expiry) */
  ts = 0;
  invalid = false;
  /** operator mode: expiry (seconds, 0 = never) of the import's activation token; null without one */
  tokenExp: number | null = null;
  /** responses only: latency tracking of a sampled request */
  tracking: ResponseTracking | null = null;

  constructor(
    readonly acc: Account,
    readonly from: string,
    readonly to: string,
    readonly tr: SubjectTransform | null,
    readonly usePub: boolean,
    readonly rt: ResponseType,
    readonly se: ServiceExport | null,
    readonly share: boolean,
    readonly response: boolean,
  ) {}
}

/** An entry of the service import index (a Sublist keyed by the import subject). */
export class ServiceImportEntry {
  readonly queue = null;
  constructor(
    readonly subject: string,
    readonly si: ServiceImport,
  ) {}
}

/** A pending response mapping, remembered by the requester's account for cleanup. */
export interface ReverseEntry {
  acc: Account;
  /** the `_R_` subject in `acc` */
  msub: string;
}

/** What /accountz shows about one export. */
export interface ExportInfo {
  type: 'stream' | 'service';
  subject: string;
  tokenReq: boolean;
  accountTokenPosition: number;
  approvedAccounts: string[];
  responseType?: 'Singleton' | 'Stream' | 'Chunked';
  responseThresholdMs?: number;
}

/** What /accountz shows about one import (jwt.Import field names in spirit). */
export interface ImportInfo {
  type: 'stream' | 'service';
  /**
   * streams: the subject in the exporting account; services: the subject in
   * this account (server/monitor.go newExtImport reports serviceImport.from)
   */
  subject: string;
  /** the exporting account (for responses: the requester's account) */
  account: string;
  /** stream imports: the subject in this account */
  localSubject?: string;
  /** service imports: the subject in the exporting account (responses: the requester's reply) */
  to?: string;
  share: boolean;
  invalid: boolean;
}

export class Account {
  readonly sublist: Sublist<Subscription>;
  /** connected clients (kind CLIENT) registered with this account */
  numClients = 0;
  /** its clients on the other servers of the cluster, from their SERVER.CONNS events (server/accounts.go nrclients) */
  remoteClients = 0;
  /** leafnode connections bound to this account here, and on the cluster's other servers (server/accounts.go nleafs, nrleafs) */
  numLeafs = 0;
  remoteLeafs = 0;
  // message counters, updated once per delivery batch
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  slowConsumers = 0;
  /** when the exports/imports were last (re)configured */
  updated = new Date();
  /** the account's limits from the config (`limits {}`); -1 = none. JWT accounts keep theirs in auth/jwt.ts. */
  maxConnections = -1;
  /** `limits { max_leafnodes }`, or the account JWT's limits.leaf */
  maxLeafnodes = -1;
  maxSubs = -1;
  maxPayload = -1;
  /**
   * JetStream limits by tier ('' = untiered), from `accounts { X { jetstream } }`
   * or the account JWT's limits; null = JetStream not enabled for the account
   */
  jetstreamLimits: JetStreamAccountTiers | null = null;

  // --- exports and imports (set up by accounts/imports.ts) -----------------

  /** stream exports by subject; a null value is public */
  streamExports: Map<string, ExportAuth | null> | null = null;
  serviceExports: Map<string, ServiceExport> | null = null;
  /** streams this account imports */
  streamImports: StreamImport[] = [];
  /** services this account imports, by local subject */
  serviceImports: Map<string, ServiceImport> | null = null;
  /** serviceImports indexed for matching published subjects */
  serviceImportIndex: Sublist<ServiceImportEntry> | null = null;
  /** stream imports of other accounts that take from this one */
  streamImporters: StreamImport[] | null = null;
  /** pending service responses routed back to requesters, by `_R_` subject */
  responses: Map<string, ServiceImport> | null = null;
  /** this account's `_R_.xxxxxx.` prefix once it has served a request */
  respPrefix: string | null = null;
  /** requester side: reply subject → response mappings to clean up when interest goes */
  rrMap: Map<string, ReverseEntry[]> | null = null;
  /**
   * A message published here needs cross-account work (importers, service
   * imports, responses). One check on the publish path when false.
   */
  crossAccount = false;
  /** the system account's request handler ($SYS.REQ.* of the NATS-based resolver, accounts/sysreq.ts) */
  sysRequests: ((c: import('../client/client.js').Client, subject: string, reply: string, payload: Buffer) => boolean) | null = null;
  /** timers of the activation tokens that authorized this account's imports */
  activationTimers: NodeJS.Timeout[] | null = null;
  /** subject mappings applied to what clients publish here; null when none */
  mappings: SubjectMapping[] | null = null;

  constructor(
    readonly name: string,
    cacheSize: number,
  ) {
    this.sublist = new Sublist<Subscription>({ cacheSize });
  }

  /**
   * By a published subject's first byte: 1 when the import path might apply
   * to it (mayImportAt is worth asking), 0 when it cannot; all 0 when
   * `crossAccount` is false. Every account imports the system account's
   * `$SYS.REQ` subjects, so without this each client publish paid the
   * calls into mayImportAt and Sublist.mayMatchAt: ~3 ns of ~35 per 16 B
   * publish in-process, 10% of pub-only throughput.
   */
  importGate = new Uint8Array(256);

  /** Recompute `crossAccount` and `importGate` after imports, exports or responses changed. */
  refreshCrossAccount(): void {
    this.crossAccount =
      this.streamImporters !== null || this.serviceImportIndex !== null || this.respPrefix !== null || this.sysRequests !== null;
    const gate = this.importGate;
    // any subject may match a stream importer's (possibly wildcard) subject
    gate.fill(this.streamImporters !== null ? 1 : 0);
    if (this.sysRequests !== null) gate[0x24 /* $ */] = 1;
    if (this.respPrefix !== null) gate[0x5f /* _ of _R_. */] = 1;
    const idx = this.serviceImportIndex;
    if (idx !== null) {
      const toks = idx.firstTokens();
      if (toks === null) gate.fill(1);
      else {
        for (const t of toks) {
          const c = t.charCodeAt(0);
          // a non-ASCII first character: which byte a publisher sends for it is not ours to guess
          if (c > 0x7f) gate.fill(1);
          else gate[c] = 1;
        }
      }
    }
  }

  // --- accessors for /accountz -----------------------------------------------

  /** Number of subscriptions in the account's index. */
  get numSubscriptions(): number {
    return this.sublist.count();
  }

  exportsInfo(): ExportInfo[] {
    const out: ExportInfo[] = [];
    for (const [subject, se] of this.serviceExports ?? []) {
      out.push({
        type: 'service',
        subject,
        tokenReq: se.auth?.tokenReq ?? false,
        accountTokenPosition: se.auth?.accountPos ?? 0,
        approvedAccounts: [...(se.auth?.approved ?? [])],
        responseType: se.responseType === 'singleton' ? 'Singleton' : se.responseType === 'stream' ? 'Stream' : 'Chunked',
        responseThresholdMs: se.responseThresholdMs,
      });
    }
    for (const [subject, ea] of this.streamExports ?? []) {
      out.push({
        type: 'stream',
        subject,
        tokenReq: ea?.tokenReq ?? false,
        accountTokenPosition: ea?.accountPos ?? 0,
        approvedAccounts: [...(ea?.approved ?? [])],
      });
    }
    return out;
  }

  importsInfo(): ImportInfo[] {
    const out: ImportInfo[] = [];
    for (const im of this.streamImports) {
      out.push({
        type: 'stream',
        subject: im.from,
        account: im.exporter.name,
        localSubject: im.to,
        share: false,
        invalid: im.invalid,
      });
    }
    for (const si of this.serviceImports?.values() ?? []) out.push(serviceImportInfo(si));
    return out;
  }

  /** Pending response mappings by `_R_` subject. */
  responsesInfo(): Record<string, ImportInfo> {
    const out: Record<string, ImportInfo> = {};
    for (const [k, si] of this.responses ?? []) out[k] = serviceImportInfo(si);
    return out;
  }

  /** Number of responses pending in this account as an exporter. */
  get numPendingResponses(): number {
    return this.responses === null ? 0 : this.responses.size;
  }

  /** Number of reply subjects this account is waiting on as a requester. */
  get numPendingReverseResponses(): number {
    return this.rrMap === null ? 0 : this.rrMap.size;
  }
}

function serviceImportInfo(si: ServiceImport): ImportInfo {
  return { type: 'service', subject: si.from, account: si.acc.name, to: si.to, share: si.share, invalid: si.invalid };
}
