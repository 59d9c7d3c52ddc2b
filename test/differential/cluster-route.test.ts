// Differential tests of the route protocol: a fake route peer speaks to the
// route port of the reference nats-server and of tsnats (same node
// configuration), and the bytes each sends back are compared after masking
// what identifies the instance (ids, ports, nonce). Frames the reference
// sends because it hosts a system account (RS+ $SYS ...) and its timed
// PINGs are left out of the comparison. With DIFF_ONLY=reference only the
// reference runs (to validate the expectations pinned here).

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { connect as rawConnect, type RawClient } from '../helpers/rawclient.js';
import type { ServerKind } from '../helpers/servers.js';
import { sleep, startNode, waitFor, type ClusterNode, type NodeSpec } from '../blackbox/cluster-helpers.js';

function kinds(): ServerKind[] {
  const only = process.env.DIFF_ONLY;
  if (only === 'reference') return ['reference'];
  if (only === 'tsnats') return ['tsnats'];
  return ['reference', 'tsnats'];
}

const MASKED_INFO = new Set(['server_id', 'server_name', 'go', 'port', 'nonce', 'connect_urls']);

/** INFO JSON with instance-specific values replaced by "<masked>" (key order kept). */
function maskInfo(json: string, extra: string[] = []): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (MASKED_INFO.has(k) || extra.includes(k)) o[k] = '<masked>';
  return JSON.stringify(o);
}

/** A route peer's view: frames from the server, system-account interest and PINGs dropped, INFO masked. */
function normalize(text: string, extraMask: string[] = []): string {
  return text
    .split(/(?<=\r\n)/)
    .filter((l) => !l.startsWith('RS+ $SYS ') && !l.startsWith('RS- $SYS ') && l !== 'PING\r\n')
    .map((l) => {
      const m = /^INFO (\{.*\})( ?)\r\n$/.exec(l);
      return m !== null ? `INFO ${maskInfo(m[1]!, extraMask)}${m[2]}\r\n` : l;
    })
    .join('');
}

/** "[ERR] text" lines with ports, rids and ids masked, from either kind of node. */
function errorLines(n: ClusterNode, from: number): string[] {
  return n
    .log()
    .slice(from)
    .map((l) => /\[(ERR|WRN)\] (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) =>
      `[${m[1]}] ${m[2]}`
        .replace(/(\d+\.\d+\.\d+\.\d+):\d+/g, '$1:<port>')
        .replace(/rid:\d+/g, 'rid:<n>')
        .replace(/\bN[A-Z2-7]{55}\b/g, '<ID>'),
    );
}

interface PeerResult {
  /** normalized bytes the peer received */
  text: string;
  closed: boolean;
  /** error/warning lines the node logged meanwhile */
  errors: string[];
}

const CONNECT_OK = (cluster: string, name = 'NFAKEPEER', extra = '') =>
  `CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${name}","cluster":"${cluster}","lnoc":true${extra}}\r\n`;
const PEER_INFO = (cluster: string, id = 'NFAKEPEER', headers = true) =>
  `INFO {"server_id":"${id}","server_name":"${id}","version":"2.9.10","proto":2,"go":"go1.19","host":"127.0.0.1","port":1,"headers":${headers},"max_payload":1048576,"cluster":"${cluster}","lnoc":true}\r\n`;

/** Connect to the route port and read the server's INFO. */
async function peer(n: ClusterNode): Promise<{ c: RawClient; info: string }> {
  const c = await rawConnect(n.routePort);
  const info = await c.readUntil('\r\n');
  return { c, info };
}

/** Send and wait for the PONG to a PING that follows: everything before it has been processed. */
async function roundTrip(c: RawClient, text: string): Promise<void> {
  await c.send(text + 'PING\r\n');
  await c.readUntil(/PONG\r\n/);
}

async function onBoth(spec: NodeSpec, run: (n: ClusterNode) => Promise<PeerResult>): Promise<Map<ServerKind, PeerResult>> {
  const out = new Map<ServerKind, PeerResult>();
  for (const k of kinds()) {
    const n = await startNode(k, spec);
    try {
      out.set(k, await run(n));
    } finally {
      await n.stop();
    }
  }
  const ref = out.get('reference');
  const ts = out.get('tsnats');
  if (ref !== undefined && ts !== undefined) {
    assert.equal(ts.text, ref.text, 'bytes the route peer received');
    assert.equal(ts.closed, ref.closed, 'connection closed by the server');
    assert.deepEqual(ts.errors, ref.errors, 'error lines logged');
  }
  return out;
}

describe('route INFO', () => {
  it('sent first on accept, with the reference fields and order', async () => {
    const r = await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const { c, info } = await peer(n);
      const json = JSON.parse(/^INFO (\{.*\}) \r\n$/.exec(info)![1]!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json), [
        'server_id',
        'server_name',
        'version',
        'proto',
        'go',
        'host',
        'port',
        'headers',
        'max_payload',
        'nonce',
        'cluster',
        'connect_urls',
        'lnoc',
      ]);
      assert.equal(json.proto, 2);
      assert.equal(json.version, '2.9.10');
      assert.equal(json.port, n.routePort);
      assert.match(json.nonce as string, /^[A-Za-z0-9_-]{15}$/);
      assert.deepEqual(json.connect_urls, [`127.0.0.1:${n.clientPort}`]);
      assert.equal(json.server_name, 'X');
      c.close();
      return { text: normalize(info), closed: false, errors: [] };
    });
    assert.ok(r.size > 0);
  });

  it('auth_required with cluster authorization; no connect_urls with no_advertise', async () => {
    await onBoth({ name: 'X', cluster: 'dx', user: 'ru', pass: 'rp', noAdvertise: true }, async (n) => {
      const { c, info } = await peer(n);
      const json = JSON.parse(/^INFO (\{.*\}) \r\n$/.exec(info)![1]!) as Record<string, unknown>;
      assert.equal(json.auth_required, true);
      assert.equal(json.connect_urls, undefined);
      c.close();
      return { text: normalize(info), closed: false, errors: [] };
    });
  });

  it('advertise sets host, port and ip', async () => {
    await onBoth({ name: 'X', cluster: 'dx', advertise: '10.99.99.99:1234' }, async (n) => {
      const { c, info } = await peer(n);
      const json = JSON.parse(/^INFO (\{.*\}) \r\n$/.exec(info)![1]!) as Record<string, unknown>;
      assert.equal(json.host, '10.99.99.99');
      assert.equal(json.port, 1234);
      assert.equal(json.ip, 'nats-route://10.99.99.99:1234/');
      c.close();
      return { text: normalize(info), closed: false, errors: [] };
    });
  });

  it('a generated cluster name is flagged cluster_dynamic', async () => {
    await onBoth({ name: 'X' }, async (n) => {
      const { c, info } = await peer(n);
      const json = JSON.parse(/^INFO (\{.*\}) \r\n$/.exec(info)![1]!) as Record<string, unknown>;
      assert.equal(json.cluster_dynamic, true);
      assert.match(json.cluster as string, /^[A-Za-z0-9]{22}$/);
      c.close();
      return { text: normalize(info, ['cluster']), closed: false, errors: [] };
    });
  });
});

describe('the route a server dials', () => {
  it('sends CONNECT (credentials from the URL) then INFO, before reading anything', async () => {
    // The dialing server reconnects after we drop it: keep every accepted
    // socket to destroy it at the end (an unread socket never sees EOF).
    const accepted: net.Socket[] = [];
    const listener = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const port = (listener.address() as net.AddressInfo).port;
    try {
      await onBoth({ name: 'X', cluster: 'dx', routes: [`nats-route://ru:rp@127.0.0.1:${port}`] }, async () => {
        // (the node may have dialed before we got here: take the first accepted socket)
        await waitFor('the node to dial', () => accepted.length > 0);
        const sock = accepted[0]!;
        let data = '';
        sock.setEncoding('latin1');
        sock.on('data', (d: string) => (data += d));
        await waitFor('CONNECT and INFO', () => (data.match(/\r\n/g) ?? []).length >= 2);
        for (const s of accepted.splice(0)) s.destroy();
        const [connectLine, infoLine] = data.split(/(?<=\r\n)/);
        const connect = JSON.parse(/^CONNECT (\{.*\})\r\n$/.exec(connectLine!)![1]!) as Record<string, unknown>;
        assert.deepEqual(Object.keys(connect), ['echo', 'verbose', 'pedantic', 'user', 'pass', 'tls_required', 'headers', 'name', 'cluster', 'lnoc']);
        assert.equal(connect.user, 'ru');
        assert.equal(connect.pass, 'rp');
        assert.equal(connect.cluster, 'dx');
        connect.name = '<masked>';
        return { text: `CONNECT ${JSON.stringify(connect)}\r\n` + normalize(infoLine!), closed: false, errors: [] };
      });
    } finally {
      for (const s of accepted) s.destroy();
      listener.close();
    }
  });
});

describe('interest propagation', () => {
  it('the whole interest when the route registers, then RS+/RS- with queue weights as clients come and go', async () => {
    await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const cl = await rawConnect(n.clientPort);
      await cl.readUntil('\r\n');
      await cl.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nSUB bar q1 2\r\nSUB bar q1 3\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      const { c } = await peer(n);
      await c.send(CONNECT_OK('dx') + PEER_INFO('dx'));
      await roundTrip(c, '');
      // the initial burst comes from a map: compare it sorted
      const burst = normalize(c.received().toString('latin1'))
        .split(/(?<=\r\n)/)
        .filter((l) => l.startsWith('RS'))
        .sort()
        .join('');
      assert.equal(burst, 'RS+ $G bar q1 2\r\nRS+ $G foo\r\n');
      const mark = c.receivedLength;
      const cl2 = await rawConnect(n.clientPort);
      await cl2.readUntil('\r\n');
      await cl2.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB baz.* 1\r\nSUB bar q1 2\r\nSUB foo 3\r\nPING\r\n');
      await cl2.readUntil('PONG\r\n');
      await cl.send('UNSUB 2\r\nUNSUB 3\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      await cl2.send('UNSUB 1 1\r\nPING\r\n'); // auto-unsubscribe limit only: interest stays
      await cl2.readUntil('PONG\r\n');
      cl2.close(); // closing drops baz.*, the last bar q1 and one of two foo
      await cl2.closed;
      await sleep(100);
      await cl.send('UNSUB 1\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      await roundTrip(c, '');
      const text = normalize(c.received().subarray(mark).toString('latin1'));
      assert.equal(
        text,
        'RS+ $G baz.*\r\nRS+ $G bar q1 3\r\nRS+ $G bar q1 2\r\nRS+ $G bar q1 1\r\nRS- $G baz.*\r\nRS- $G bar q1\r\nRS- $G foo\r\nPONG\r\n',
      );
      cl.close();
      c.close();
      return { text, closed: false, errors: [] };
    });
  });

  it('a message reaches the peer only with interest, as RMSG/HMSG with the reference forms', async () => {
    await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const { c } = await peer(n);
      await c.send(CONNECT_OK('dx') + PEER_INFO('dx'));
      await roundTrip(c, 'RS+ $G m.x\r\nRS+ $G m.q grp 2\r\nRS+ $G m.* other 1\r\n');
      const mark = c.receivedLength;
      const cl = await rawConnect(n.clientPort);
      await cl.readUntil('\r\n');
      await cl.send(
        'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n' +
          'PUB m.x 2\r\nhi\r\n' +
          'PUB m.x _INBOX.r 2\r\nhi\r\n' +
          'PUB m.q 3\r\nabc\r\n' +
          'PUB m.q rep 3\r\nabc\r\n' +
          'HPUB m.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'HPUB m.q r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'PUB none 1\r\nx\r\n' +
          'PING\r\n',
      );
      await cl.readUntil('PONG\r\n');
      await roundTrip(c, '');
      const text = normalize(c.received().subarray(mark).toString('latin1'));
      assert.equal(
        text,
        // m.x also matches the peer's "m.* other" group, which only the peer serves
        'RMSG $G m.x | other 2\r\nhi\r\n' +
          'RMSG $G m.x + _INBOX.r other 2\r\nhi\r\n' +
          'RMSG $G m.q | grp other 3\r\nabc\r\n' +
          'RMSG $G m.q + rep grp other 3\r\nabc\r\n' +
          'HMSG $G m.x | other 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'HMSG $G m.q + r grp other 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'PONG\r\n',
      );
      // interest withdrawn: nothing more
      await roundTrip(c, 'RS- $G m.x\r\nRS- $G m.q grp\r\nRS- $G m.* other\r\n');
      const mark2 = c.receivedLength;
      await cl.send('PUB m.x 1\r\nx\r\nPUB m.q 1\r\nx\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      await roundTrip(c, '');
      const text2 = normalize(c.received().subarray(mark2).toString('latin1'));
      assert.equal(text2, 'PONG\r\n');
      cl.close();
      c.close();
      return { text: text + text2, closed: false, errors: [] };
    });
  });

  it('headers are stripped, and the size adjusted, for a peer without header support', async () => {
    await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const { c } = await peer(n);
      await c.send(CONNECT_OK('dx').replace('"headers":true', '"headers":false') + PEER_INFO('dx', 'NFAKEPEER', false));
      await roundTrip(c, 'RS+ $G h.x\r\n');
      const mark = c.receivedLength;
      const cl = await rawConnect(n.clientPort);
      await cl.readUntil('\r\n');
      await cl.send('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB h.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      await roundTrip(c, '');
      const text = normalize(c.received().subarray(mark).toString('latin1'));
      assert.equal(text, 'RMSG $G h.x 2\r\nhi\r\nPONG\r\n');
      cl.close();
      c.close();
      return { text, closed: false, errors: [] };
    });
  });
});

describe('routed messages to local clients', () => {
  it('plain subscribers always; queue members only for the groups the RMSG names', async () => {
    await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const cl = await rawConnect(n.clientPort);
      await cl.readUntil('\r\n');
      await cl.send('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB foo 1\r\nSUB bar q1 2\r\nSUB f.> 3\r\nPING\r\n');
      await cl.readUntil('PONG\r\n');
      const { c } = await peer(n);
      await c.send(CONNECT_OK('dx') + PEER_INFO('dx'));
      await roundTrip(
        c,
        'RMSG $G foo 2\r\nab\r\n' +
          'RMSG $G foo reply.1 2\r\nab\r\n' +
          'RMSG $G bar | q1 2\r\ncd\r\n' +
          'RMSG $G bar + r.2 q1 2\r\ncd\r\n' +
          'RMSG $G bar 2\r\nno\r\n' +
          'RMSG $G bar | other 2\r\nno\r\n' +
          'HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'LMSG leafc $G f.x 0 2\r\nlm\r\n' +
          'RMSG $NOPE foo 2\r\nno\r\n' +
          'PUB foo 2\r\nno\r\n',
      );
      await cl.send('PING\r\n');
      const got = await cl.readUntil('PONG\r\n');
      assert.equal(
        got,
        'MSG foo 1 2\r\nab\r\n' +
          'MSG foo 1 reply.1 2\r\nab\r\n' +
          'MSG bar 2 2\r\ncd\r\n' +
          'MSG bar 2 r.2 2\r\ncd\r\n' +
          'HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
          'MSG f.x 3 2\r\nlm\r\n' +
          'PONG\r\n',
      );
      cl.close();
      c.close();
      return { text: got, closed: false, errors: [] };
    });
  });
});

interface BadCase {
  title: string;
  spec?: Partial<NodeSpec>;
  /** what the peer sends after reading INFO; a function gets the INFO line */
  send: string | ((info: string) => string);
  /** wait for the close (or this long of quiet) */
  quietMs?: number;
  expect: { text: string; closed: boolean };
}

const bad: BadCase[] = [
  {
    title: 'garbage before CONNECT, no authorization',
    send: 'XYZ foo\r\n',
    expect: { text: "-ERR 'Unknown Protocol Operation'\r\n", closed: true },
  },
  {
    title: 'garbage before CONNECT with authorization',
    spec: { user: 'ru', pass: 'rp' },
    send: 'XYZ foo\r\n',
    expect: { text: "-ERR 'Authorization Violation'\r\n", closed: true },
  },
  {
    title: 'RS+ before CONNECT with authorization',
    spec: { user: 'ru', pass: 'rp' },
    send: 'RS+ $G foo\r\n',
    expect: { text: "-ERR 'Authorization Violation'\r\n", closed: true },
  },
  {
    title: 'wrong credentials',
    spec: { user: 'ru', pass: 'rp' },
    send: CONNECT_OK('dx', 'N1', ',"user":"ru","pass":"wrong"'),
    expect: { text: "-ERR 'Authorization Violation'\r\n", closed: true },
  },
  {
    title: 'a client dialing the route port',
    send: 'CONNECT {"verbose":false,"pedantic":false,"lang":"node","version":"3.0.0","protocol":1}\r\nPING\r\n',
    expect: { text: "-ERR 'attempted to connect to route port'\r\n", closed: true },
  },
  {
    title: 'a client dialing the route port of a server with route authorization',
    spec: { user: 'ru', pass: 'rp' },
    send: 'CONNECT {"verbose":false,"lang":"go"}\r\n',
    expect: { text: "-ERR 'Authorization Violation'\r\n", closed: true },
  },
  {
    title: 'a gateway dialing the route port',
    send: 'CONNECT {"gateway":"gw1","name":"N1"}\r\n',
    expect: { text: `-ERR 'Rejecting connection from gateway "gw1" on the Route port'\r\n`, closed: true },
  },
  {
    title: 'wrong cluster name',
    send: CONNECT_OK('zzz'),
    expect: { text: `-ERR 'Rejecting connection, cluster name "zzz" does not match "dx"'\r\n`, closed: true },
  },
  {
    title: 'wrong cluster name in INFO only',
    send: PEER_INFO('zzz'),
    expect: { text: '', closed: true },
  },
  {
    title: 'no CONNECT within the authorization timeout',
    spec: { user: 'ru', pass: 'rp', authTimeoutSec: 1 },
    send: '',
    quietMs: 2500,
    expect: { text: "-ERR 'Authentication Timeout'\r\n", closed: true },
  },
  {
    title: 'CONNECT that is not JSON',
    send: 'CONNECT {bad\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'INFO that is not JSON',
    send: CONNECT_OK('dx') + 'INFO {bad\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'RMSG with too few arguments',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RMSG $G\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'RMSG with a bad size',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RMSG $G foo x\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'RMSG with a bad queue marker',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RMSG $G foo * q 2\r\nab\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'HMSG whose header is larger than the message',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'HMSG $G foo 9 2\r\nab\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'RS+ with a wrong argument count',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RS+ $G\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'RS+ for an unknown account is ignored',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RS+ NOACC foo\r\nPING\r\n',
    expect: { text: 'PONG\r\n', closed: false },
  },
  {
    title: 'an -ERR from the peer',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + "-ERR 'boom'\r\n",
    expect: { text: '', closed: true },
  },
  {
    title: 'PUB and SUB on a route are parsed and ignored',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'PUB foo 2\r\nhi\r\nSUB foo 1\r\nPING\r\n',
    expect: { text: 'PONG\r\n', closed: false },
  },
  {
    title: 'UNSUB on a route is read as RS- (valid arguments)',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'RS+ $G foo\r\nUNSUB $G foo\r\nPING\r\n',
    expect: { text: 'PONG\r\n', closed: false },
  },
  {
    title: 'UNSUB on a route is read as RS- (client arguments close it)',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'UNSUB 1\r\nPING\r\n',
    expect: { text: '', closed: true },
  },
  {
    title: 'MSG is not a route verb',
    send: CONNECT_OK('dx') + PEER_INFO('dx') + 'MSG foo 1 2\r\nhi\r\n',
    expect: { text: "-ERR 'Unknown Protocol Operation'\r\n", closed: true },
  },
  {
    title: 'a route to itself is dropped',
    send: (info) => {
      const id = (JSON.parse(/^INFO (\{.*\}) \r\n$/.exec(info)![1]!) as { server_id: string }).server_id;
      return CONNECT_OK('dx', id) + PEER_INFO('dx', id);
    },
    expect: { text: '', closed: true },
  },
];

describe('bad input on the route port: the reference answer, no crash, clean close', () => {
  for (const bc of bad) {
    it(bc.title, async () => {
      await onBoth({ name: 'X', cluster: 'dx', ...bc.spec }, async (n) => {
        const from = n.log().length;
        const { c, info } = await peer(n);
        const mark = c.receivedLength;
        await c.send(typeof bc.send === 'function' ? bc.send(info) : bc.send);
        await c.readFor(bc.quietMs ?? 400, 8000);
        if (bc.expect.closed) await c.waitClosed(3000);
        const text = normalize(c.received().subarray(mark).toString('latin1'));
        assert.equal(text, bc.expect.text);
        assert.equal(c.isClosed, bc.expect.closed);
        c.close();
        // the node still accepts routes and clients afterwards
        const again = await peer(n);
        assert.match(again.info, /^INFO /);
        again.c.close();
        await sleep(100);
        return { text, closed: c.isClosed, errors: errorLines(n, from) };
      });
    });
  }
});

describe('duplicate routes', () => {
  it('a second connection from the same server id is dropped, the first one stays', async () => {
    await onBoth({ name: 'X', cluster: 'dx' }, async (n) => {
      const first = await peer(n);
      await first.c.send(CONNECT_OK('dx', 'NDUP') + PEER_INFO('dx', 'NDUP'));
      await roundTrip(first.c, '');
      const second = await peer(n);
      await second.c.send(CONNECT_OK('dx', 'NDUP') + PEER_INFO('dx', 'NDUP'));
      await second.c.waitClosed(3000);
      assert.equal(second.c.isClosed, true);
      // the first still works
      await roundTrip(first.c, 'RS+ $G dup\r\n');
      assert.equal(first.c.isClosed, false);
      first.c.close();
      const text = normalize(second.c.received().toString('latin1').replace(/^INFO [^\r]*\r\n/, ''));
      return { text, closed: second.c.isClosed, errors: [] };
    });
  });
});
