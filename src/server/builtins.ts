// Node built-ins that only some configurations use, loaded on first use.
// A static `import` of them is paid by every start: node:tls alone is ~13 ms
// of module compilation on the 2-vCPU bench machine, node:crypto ~6 ms,
// node:zlib ~5 ms, node:os ~0.5 ms and 0.35 MB, node:worker_threads, node:dgram, node:dns/promises and
// node:child_process ~1 ms each, while a plain server (no TLS, no syslog, no
// account resolver) needs none of them. `require` keeps call sites
// synchronous; the type-only imports cost nothing at run time.
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import type * as Crypto from 'node:crypto';
import type * as WorkerThreads from 'node:worker_threads';
import type * as Dgram from 'node:dgram';
import type * as DnsPromises from 'node:dns/promises';
import type * as ChildProcess from 'node:child_process';
import type * as Zlib from 'node:zlib';
import type * as Os from 'node:os';

const require = createRequire(import.meta.url);

let tls: typeof Tls | undefined;
let crypto: typeof Crypto | undefined;
let workerThreads: typeof WorkerThreads | undefined;
let dgram: typeof Dgram | undefined;
let dnsPromises: typeof DnsPromises | undefined;
let childProcess: typeof ChildProcess | undefined;
let zlib: typeof Zlib | undefined;
let os: typeof Os | undefined;

export const nodeTls = (): typeof Tls => (tls ??= require('node:tls') as typeof Tls);
export const nodeCrypto = (): typeof Crypto => (crypto ??= require('node:crypto') as typeof Crypto);
export const nodeWorkerThreads = (): typeof WorkerThreads =>
  (workerThreads ??= require('node:worker_threads') as typeof WorkerThreads);
export const nodeDgram = (): typeof Dgram => (dgram ??= require('node:dgram') as typeof Dgram);
export const nodeDnsPromises = (): typeof DnsPromises => (dnsPromises ??= require('node:dns/promises') as typeof DnsPromises);
export const nodeChildProcess = (): typeof ChildProcess =>
  (childProcess ??= require('node:child_process') as typeof ChildProcess);
export const nodeZlib = (): typeof Zlib => (zlib ??= require('node:zlib') as typeof Zlib);
export const nodeOs = (): typeof Os => (os ??= require('node:os') as typeof Os);
