// The URL account resolver of operator mode (server/accounts.go
// URLAccResolver): `resolver: URL("http://host:port/jwt/v1/accounts/")`
// fetches an account JWT with GET <url><account public key> when the
// server first needs the account (a client's login, an import, the system
// account at startup), with the reference's 1.9 s timeout.
//
// The reference fetches synchronously inside the connection's goroutine.
// tsnats' authentication is synchronous as well, so the fetch runs in a
// worker thread while the caller waits on an Atomics.wait over shared
// memory: the event loop is blocked for the round trip (bounded by the
// timeout) the first time an account is needed; known accounts are served
// from memory afterwards.

import type { Worker } from 'node:worker_threads';
import { nodeWorkerThreads } from '../server/builtins.js';

/** server/const.go DEFAULT_ACCOUNT_FETCH_TIMEOUT */
export const ACCOUNT_FETCH_TIMEOUT_MS = 1900;
/** the largest account JWT accepted */
const MAX_BODY = 1 << 20;
/** an idle worker goes away after this long */
const IDLE_MS = 10_000;

// ctl[0]: 0 pending, 1 done; ctl[1]: 0 body, 1 error text; ctl[2]: byte length
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ctl = new Int32Array(workerData.ctl);
const data = new Uint8Array(workerData.data);
function finish(kind, text) {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > data.length) { kind = 1; bytes = Buffer.from('account JWT too large', 'utf8'); }
  data.set(bytes);
  ctl[1] = kind;
  ctl[2] = bytes.length;
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
}
function goError(url, e) {
  const c = e && e.cause ? e.cause : e;
  const code = c && c.code;
  let host = '';
  try { const u = new URL(url); host = u.hostname + ':' + (u.port || (u.protocol === 'https:' ? '443' : '80')); } catch {}
  if (code === 'ECONNREFUSED') return 'Get ' + JSON.stringify(url) + ': dial tcp ' + host + ': connect: connection refused';
  if (code === 'ENOTFOUND') return 'Get ' + JSON.stringify(url) + ': dial tcp: lookup ' + host.replace(/:\\d+$/, '') + ': no such host';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'Get ' + JSON.stringify(url) + ': EOF';
  if (e && e.name === 'AbortError') return 'Get ' + JSON.stringify(url) + ': context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
  return 'Get ' + JSON.stringify(url) + ': ' + String((c && c.message) || e);
}
parentPort.on('message', async ({ url, shown, timeoutMs }) => {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    // user:password@ in the URL becomes basic auth, as Go's http.Client does
    const u = new URL(url);
    const headers = {};
    if (u.username !== '' || u.password !== '') {
      headers.authorization = 'Basic ' + Buffer.from(decodeURIComponent(u.username) + ':' + decodeURIComponent(u.password)).toString('base64');
      u.username = '';
      u.password = '';
    }
    const res = await fetch(u, { signal: ac.signal, redirect: 'follow', headers });
    if (res.status !== 200) {
      finish(1, 'could not fetch <' + JSON.stringify(shown) + '>: ' + res.status + ' ' + res.statusText);
      res.body?.cancel().catch(() => {});
      return;
    }
    finish(0, await res.text());
  } catch (e) {
    finish(1, 'could not fetch <' + JSON.stringify(shown) + '>: ' + goError(shown, e));
  } finally {
    clearTimeout(t);
  }
});
`;

/** server/util.go redactURLString: a password in the URL shows as xxxxx. */
export function redactURL(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = 'xxxxx';
    return u.toString();
  } catch {
    return url;
  }
}

export class UrlAccountResolver {
  readonly url: string;
  private worker: Worker | null = null;
  private idle: NodeJS.Timeout | null = null;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private readonly data = new Uint8Array(new SharedArrayBuffer(MAX_BODY));

  constructor(url: string) {
    this.url = url.endsWith('/') ? url : url + '/';
  }

  /** GET <url><name>: the body, or throws an Error with the reference's text. */
  fetch(name: string, timeoutMs = ACCOUNT_FETCH_TIMEOUT_MS): string {
    const url = this.url + name;
    const w = this.ensureWorker();
    Atomics.store(this.ctl, 0, 0);
    w.postMessage({ url, shown: redactURL(url), timeoutMs });
    // the worker aborts at timeoutMs; the margin covers its start-up
    const r = Atomics.wait(this.ctl, 0, 0, timeoutMs + 3000);
    if (r === 'timed-out') {
      this.close();
      throw new Error(`could not fetch <${JSON.stringify(redactURL(url))}>: Get ${JSON.stringify(redactURL(url))}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
    }
    const text = Buffer.from(this.data.subarray(0, this.ctl[2])).toString('utf8');
    if (this.ctl[1] !== 0) throw new Error(text);
    return text;
  }

  close(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    const w = this.worker;
    this.worker = null;
    if (w !== null) void w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(), IDLE_MS);
    this.idle.unref();
    if (this.worker === null) {
      this.worker = new (nodeWorkerThreads().Worker)(WORKER_SOURCE, { eval: true, workerData: { ctl: this.ctl.buffer, data: this.data.buffer } });
      this.worker.unref();
      this.worker.on('error', () => this.close());
    }
    return this.worker;
  }
}
