// Cluster nodes for black-box and differential tests: the same node
// description runs as an embedded tsnats Server or as a reference
// nats-server process (config file). Not a test file itself.
//
// tsnats nodes are embedded (new Server) so that each test controls their
// lifecycle and reads their state; their log lines are captured. Reference
// nodes are spawned with a generated config; their route port is read from
// the "Listening for route connections" line.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Server } from '../../src/server/server.js';
import { defaultOptions, type Options } from '../../src/config/options.js';
import type { Logger } from '../../src/logging/types.js';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';

export interface NodeSpec {
  /** server_name */
  name: string;
  /** cluster name; '' or undefined = none configured (dynamic) */
  cluster?: string;
  /** route URLs to dial */
  routes?: string[];
  /** client port; default random */
  clientPort?: number;
  /** route port; default random */
  routePort?: number;
  /** cluster authorization */
  user?: string;
  pass?: string;
  authTimeoutSec?: number;
  noAdvertise?: boolean;
  /** cluster advertise host[:port] */
  advertise?: string;
  connectRetries?: number;
  /** `extra`: more lines inside the tls block (config-file nodes only: reference, or tsnats with `process`) */
  tls?: { cert: string; key: string; ca: string; timeoutSec?: number; extra?: string };
  /** extra top-level config lines (reference) and the matching options (tsnats) */
  extraConf?: string;
  extraOpts?: Partial<Options>;
  /** tsnats only: run `node dist/src/main.js -c <conf>` instead of embedding */
  process?: boolean;
}

export interface ClusterNode {
  readonly kind: ServerKind;
  readonly spec: NodeSpec;
  readonly clientPort: number;
  readonly routePort: number;
  /** nats://127.0.0.1:<client port> */
  readonly url: string;
  /** nats-route://127.0.0.1:<route port> (with credentials when the spec has them) */
  readonly routeURL: string;
  /** the embedded server (tsnats, unless spec.process) */
  readonly server: Server | null;
  /** the process (reference, or tsnats with spec.process) */
  readonly proc: RunningServer | null;
  /** log lines so far */
  log(): string[];
  stop(): Promise<void>;
}

/**
 * A port nothing listens on, for a server whose port must be known before
 * it starts (routes, leafnode remotes). Taken at random below the kernel's
 * ephemeral range: a port from listen(0) is in that range, where the local
 * end of any outgoing connection (the suite's other tests make thousands)
 * may take it before the server binds it (a leafnode differential test
 * failed with "connection refused" so, its server gone).
 */
export async function freePort(): Promise<number> {
  let lo = 32768;
  try {
    lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]) || lo;
  } catch {
    // not Linux: the usual start of the range
  }
  const base = 10000;
  for (let i = 0; lo - base > 1000 && i < 50; i++) {
    const p = base + Math.floor(Math.random() * (lo - base));
    if (await listens(p)) return p;
  }
  return listenAny();
}

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function listenAny(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function confFor(spec: NodeSpec): string {
  const lines: string[] = [`server_name: ${JSON.stringify(spec.name)}`, `listen: "127.0.0.1:${spec.clientPort ?? -1}"`];
  if (spec.extraConf !== undefined) lines.push(spec.extraConf);
  lines.push('cluster {');
  if (spec.cluster) lines.push(`  name: ${JSON.stringify(spec.cluster)}`);
  lines.push(`  listen: "127.0.0.1:${spec.routePort ?? -1}"`);
  if (spec.user !== undefined) {
    lines.push(`  authorization { user: ${JSON.stringify(spec.user)}, password: ${JSON.stringify(spec.pass ?? '')}${spec.authTimeoutSec !== undefined ? `, timeout: ${spec.authTimeoutSec}` : ''} }`);
  }
  if (spec.noAdvertise) lines.push('  no_advertise: true');
  if (spec.advertise !== undefined) lines.push(`  advertise: ${JSON.stringify(spec.advertise)}`);
  if (spec.connectRetries !== undefined) lines.push(`  connect_retries: ${spec.connectRetries}`);
  if (spec.tls !== undefined) {
    lines.push(
      `  tls { cert_file: ${JSON.stringify(spec.tls.cert)}, key_file: ${JSON.stringify(spec.tls.key)}, ca_file: ${JSON.stringify(spec.tls.ca)}${spec.tls.timeoutSec !== undefined ? `, timeout: ${spec.tls.timeoutSec}` : ''}${spec.tls.extra !== undefined ? `\n    ${spec.tls.extra}\n  ` : ' '}}`,
    );
  }
  if (spec.routes !== undefined && spec.routes.length > 0) lines.push(`  routes: [${spec.routes.map((r) => JSON.stringify(r)).join(', ')}]`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function optionsFor(spec: NodeSpec, logger: Logger): Server {
  const d = defaultOptions();
  const opts: Options = {
    ...d,
    serverName: spec.name,
    host: '127.0.0.1',
    port: spec.clientPort ?? -1,
    cluster: {
      ...d.cluster,
      name: spec.cluster ?? '',
      host: '127.0.0.1',
      port: spec.routePort ?? -1,
      username: spec.user,
      password: spec.pass,
      authTimeoutMs: (spec.authTimeoutSec ?? 2) * 1000,
      authTimeoutSet: spec.authTimeoutSec !== undefined,
      noAdvertise: spec.noAdvertise ?? false,
      advertise: spec.advertise ?? '',
      connectRetries: spec.connectRetries ?? 0,
      tls:
        spec.tls !== undefined
          ? {
              certFile: spec.tls.cert,
              keyFile: spec.tls.key,
              caFile: spec.tls.ca,
              verify: true,
              verifyAndMap: false,
              insecure: false,
              timeoutMs: (spec.tls.timeoutSec ?? 2) * 1000,
            }
          : undefined,
    },
    routes: spec.routes ?? [],
    ...spec.extraOpts,
  };
  return new Server(opts, logger);
}

function captureLogger(name: string, lines: string[]): Logger {
  const echo = process.env.CLUSTER_LOG === '1';
  const line = (lvl: string) => (msg: string) => {
    const l = `[${lvl}] ${msg}`;
    lines.push(l);
    if (echo) process.stderr.write(`[${name}] ${l}\n`);
  };
  return {
    notice: line('INF'),
    warn: line('WRN'),
    error: line('ERR'),
    fatal: line('FTL'),
    debug: line('DBG'),
    trace: () => {},
    debugEnabled: true,
    traceEnabled: false,
  };
}

const ROUTE_LISTEN_RE = /Listening for route connections on (\S+)\r?\n/;

export async function startNode(kind: ServerKind, spec: NodeSpec): Promise<ClusterNode> {
  const withCreds = (port: number) =>
    spec.user !== undefined
      ? `nats-route://${encodeURIComponent(spec.user)}:${encodeURIComponent(spec.pass ?? '')}@127.0.0.1:${port}`
      : `nats-route://127.0.0.1:${port}`;
  if (kind === 'tsnats' && spec.process !== true) {
    const lines: string[] = [];
    let server: Server | null = null;
    // A fixed port may still be held by a just-stopped node: retry a little.
    for (let attempt = 0; ; attempt++) {
      server = optionsFor(spec, captureLogger(spec.name, lines));
      try {
        await server.start();
        break;
      } catch (e) {
        await server.shutdown().catch(() => undefined);
        if (attempt >= 20) throw e;
        await sleep(100);
      }
    }
    const s = server;
    const routePort = s.cluster!.port;
    return {
      kind,
      spec,
      clientPort: s.port,
      routePort,
      url: `nats://127.0.0.1:${s.port}`,
      routeURL: withCreds(routePort),
      server: s,
      proc: null,
      log: () => lines,
      stop: () => s.shutdown(),
    };
  }
  const conf = writeConfig(confFor(spec));
  let proc: RunningServer | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      proc = await startServer(kind, ['-c', conf, '-D'], { defaultArgs: false });
      break;
    } catch (e) {
      if (attempt >= 20) throw e;
      await sleep(100);
    }
  }
  const p = proc;
  await waitFor(`${spec.name} route listener`, () => ROUTE_LISTEN_RE.test(p.stderr()) || p.proc.exitCode !== null, 10_000);
  const m = ROUTE_LISTEN_RE.exec(p.stderr());
  if (m === null) throw new Error(`${kind} node ${spec.name} did not listen for routes:\n${p.stderr()}`);
  const routePort = Number(m[1].slice(m[1].lastIndexOf(':') + 1));
  return {
    kind,
    spec,
    clientPort: p.port,
    routePort,
    url: p.url,
    routeURL: withCreds(routePort),
    server: null,
    proc: p,
    log: () => p.stderr().split('\n').filter((l) => l !== ''),
    stop: async () => {
      await p.stop();
    },
  };
}

/** Start the same node again on the ports it had. */
export function restartNode(n: ClusterNode): Promise<ClusterNode> {
  return startNode(n.kind, { ...n.spec, clientPort: n.clientPort, routePort: n.routePort });
}

/** Log lines that contain `text`. */
export function logged(n: ClusterNode, text: string | RegExp): string[] {
  return n.log().filter((l) => (typeof text === 'string' ? l.includes(text) : text.test(l)));
}

export interface TestCerts {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  /** a second, unrelated CA and a certificate it signed */
  otherCa: string;
  otherCert: string;
  otherKey: string;
}

/** A CA and a certificate for 127.0.0.1/localhost (both server and client use), made with openssl. */
export function makeCerts(): TestCerts {
  const dir = tempDir('tsnats-cluster-tls-');
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ext = join(dir, 'ext.cnf');
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  for (const prefix of ['', 'other-']) {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${prefix}ca-key.pem`, '-out', `${prefix}ca.pem`, '-days', '2', '-subj', `/CN=${prefix}test-ca`]);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${prefix}key.pem`, '-out', `${prefix}req.pem`, '-subj', '/CN=localhost']);
    run([
      'x509',
      '-req',
      '-in',
      `${prefix}req.pem`,
      '-CA',
      `${prefix}ca.pem`,
      '-CAkey',
      `${prefix}ca-key.pem`,
      '-CAcreateserial',
      '-out',
      `${prefix}cert.pem`,
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
  }
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    otherCert: join(dir, 'other-cert.pem'),
    otherKey: join(dir, 'other-key.pem'),
  };
}

/** Accounts A and SYS (the system account) for the system-account cluster tests. */
export const SYSTEM_ACCOUNTS = `
accounts {
  A { users [{user: a, password: a}] }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;

/** Every answer to a request on `subject` within `ms` (a $SYS PING is answered once per server). */
export async function gatherReplies(nc: NatsConnection, subject: string, body = '', ms = 1500): Promise<Msg[]> {
  const inbox = createInbox();
  const out: Msg[] = [];
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void out.push(m) });
  await nc.flush();
  nc.publish(subject, body, { reply: inbox });
  await sleep(ms);
  sub.unsubscribe();
  return out;
}
