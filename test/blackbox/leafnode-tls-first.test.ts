// Leafnodes with tls { handshake_first } (nats-server 2.10; 2.9.10 refuses
// the field, so tsnats is on both ends): the hub starts TLS before its INFO,
// the remote handshakes right after the dial and does not upgrade again.
// A 2.9.10 leaf, which waits for the plain INFO, does not get in.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { startServer, writeConfig } from '../helpers/servers.js';
import { interestCrossed, leafPort, serverLog, sleep, waitFor } from '../helpers/leafnodes.js';
import { makeCerts } from './cluster-helpers.js';

describe('leafnodes: tls { handshake_first }', () => {
  it('a handshake_first remote joins a handshake_first hub; messages flow both ways; a plain-INFO leaf does not get in', async () => {
    const c = makeCerts();
    const hub = await startServer('tsnats', [
      '-c',
      writeConfig(`server_name: HUB\nleafnodes { host: 127.0.0.1, port: -1, tls { cert_file: "${c.cert}", key_file: "${c.key}", ca_file: "${c.ca}", timeout: 2, handshake_first: true } }\n`),
    ]);
    const leaf = await startServer('tsnats', [
      '-c',
      writeConfig(`server_name: LEAF\nleafnodes { reconnect: 1, remotes [ { url: "tls://127.0.0.1:${leafPort(hub)}", tls { ca_file: "${c.ca}", handshake_first: true } } ] }\n`),
    ]);
    const hc = await connect({ servers: hub.url });
    const lc = await connect({ servers: leaf.url });
    let old = null;
    try {
      await interestCrossed(lc, hc, 'first.to.hub');
      await interestCrossed(hc, lc, 'first.to.leaf');
      old = await startServer('reference', [
        '-c',
        writeConfig(`server_name: OLD\nleafnodes { reconnect: 1, remotes [ { url: "tls://127.0.0.1:${leafPort(hub)}", tls { ca_file: "${c.ca}" } } ] }\n`),
      ]);
      await waitFor('the hub to drop the plain-INFO leaf', () => serverLog(hub).includes('TLS leafnode handshake error'), 15_000);
      await sleep(500);
      const leafz = serverLog(hub).match(/JetStream Not Extended/g) ?? []; // once per registered leaf
      assert.equal(leafz.length, 1, 'only the handshake_first leaf was registered');
    } finally {
      await hc.close();
      await lc.close();
      await old?.stop();
      await leaf.stop();
      await hub.stop();
    }
  });
});
