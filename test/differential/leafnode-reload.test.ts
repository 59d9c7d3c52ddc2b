// Reload of leafnode remotes against nats-server 2.9.10 (server/reload.go
// diffOptions "leafnode"): a remote's tls {} block may change what is in it,
// but adding or removing the block is refused (its TLS timeout is compared),
// with the same text. The reference prints heap addresses for the remotes;
// those are masked before comparing. Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reloadLog } from '../helpers/reload.js';

const LINE = /\[(?:INF|ERR)\] (Reload.*|Failed to reload.*)$/;
const mask = (l: string): string => l.replace(/0xc[0-9a-f]+/g, 'PTR');

async function both(before: string, after: string): Promise<string[]> {
  const [ref, ts] = await Promise.all([reloadLog('reference', before, after, { lines: LINE }), reloadLog('tsnats', before, after, { lines: LINE })]);
  assert.deepEqual(ts.map(mask), ref.map(mask), `reload logs differ\n--- reference ---\n${ref.join('\n')}\n--- tsnats ---\n${ts.join('\n')}`);
  return ref.map(mask);
}

const remote = (extra: string): string => `leafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:4", ${extra} } ] }\n`;
const REFUSED = 'Failed to reload server configuration: config reload not supported for LeafNode: old={ 0    [] 0 <nil> 0 false map[]  false 1s [PTR]  <nil> 0 0 <nil>}, new={ 0    [] 0 <nil> 0 false map[]  false 1s [PTR]  <nil> 0 0 <nil>}';

describe('leafnodes: reload of a remote tls {} block', () => {
  it('adding a tls {} block to a remote that had none is refused', { timeout: 60_000 }, async () => {
    assert.deepEqual(await both(remote(''), remote('tls {}')), [REFUSED]);
  });
  it('adding one with timeout 0 (the default) is refused too', { timeout: 60_000 }, async () => {
    assert.deepEqual(await both(remote(''), remote('tls { timeout: 0 }')), [REFUSED]);
  });
  it('removing the tls {} block of a remote is refused', { timeout: 60_000 }, async () => {
    assert.deepEqual(await both(remote('tls { insecure: true }'), remote('')), [REFUSED]);
  });
  it('changing the tls timeout of a remote is refused', { timeout: 60_000 }, async () => {
    assert.deepEqual(await both(remote('tls { timeout: 3 }'), remote('tls { timeout: 4 }')), [REFUSED]);
  });
  it('changing what is in the block (same timeout) reloads', { timeout: 60_000 }, async () => {
    const log = await both(remote('tls { timeout: 2 }'), remote('tls { insecure: true }'));
    assert.equal(log.at(-1), 'Reloaded server configuration');
  });
  it('turning ws_compression on is refused', { timeout: 60_000 }, async () => {
    const log = await both(remote(''), remote('ws_compression: true'));
    assert.equal(log.length, 1);
    assert.ok(log[0]!.startsWith('Failed to reload server configuration: config reload not supported for LeafNode'));
  });
});
