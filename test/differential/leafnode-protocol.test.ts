// The leafnode port of tsnats and of nats-server 2.9.10 get the same raw
// bytes from a fake leaf; the bytes each answers (INFO contents aside, the
// reference's system-account interest and PINGs left out) and whether it
// closes the connection must match. Then the server still serves clients.
// Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';

function leafPort(s: RunningServer): number {
  const m = /Listening for leafnode connections on \S+:(\d+)/.exec(s.stderr() + s.stdout());
  if (m === null) throw new Error('no leafnode listener');
  return Number(m[1]);
}

function normalize(text: string): string {
  return text
    .split(/(?<=\r\n)/)
    .filter((l) => !l.startsWith('LS+ $SYS.') && l !== 'PING\r\n')
    .map((l) => (l.startsWith('INFO ') ? 'INFO\r\n' : l.replace(/\$LDS\.\w+/, '$LDS.<nuid>')))
    .join('');
}

const CASES: Array<{ name: string; input: string }> = [
  { name: 'PING before CONNECT', input: 'PING\r\n' },
  { name: 'bad CONNECT JSON', input: 'CONNECT {bad\r\n' },
  { name: 'a client on the leafnode port', input: 'CONNECT {"lang":"go","verbose":false}\r\n' },
  { name: 'LS+ and PING', input: 'CONNECT {}\r\nLS+ foo\r\nLS+ bar q 3\r\nLS- foo\r\nPING\r\n' },
  { name: 'LS+ with too many arguments', input: 'CONNECT {}\r\nLS+ a b c d\r\nPING\r\n' },
  { name: 'LS- of unknown interest', input: 'CONNECT {}\r\nLS- nothere\r\nPING\r\n' },
  { name: 'LMSG with a bad size', input: 'CONNECT {}\r\nLMSG foo x\r\n' },
  { name: 'LMSG payload longer than announced', input: 'CONNECT {}\r\nLMSG foo 3\r\nabcde\r\n' },
  { name: 'LMSG with a bad reply indicator', input: 'CONNECT {}\r\nLMSG foo x q 3\r\nabc\r\nPING\r\n' },
  { name: 'HMSG header larger than total', input: 'CONNECT {}\r\nHMSG foo 5 3\r\nabc\r\n' },
  { name: 'PUB is taken as a message', input: 'CONNECT {}\r\nPUB foo 1\r\na\r\nPING\r\n' },
  { name: 'SUB closes', input: 'CONNECT {}\r\nSUB foo 1\r\nPING\r\n' },
  { name: 'own loop detection subject', input: '' },
];

async function exchange(s: RunningServer, input: string): Promise<{ out: string; closed: boolean }> {
  const c = await rawConnect(leafPort(s));
  const info = await c.readUntil('\r\n');
  if (input === '') {
    // Echo the hub's own $LDS subject back: a loop.
    await c.send('CONNECT {}\r\n');
    const got = await c.readUntil(/LS\+ \$LDS\.\S+\r\n/);
    const lds = /LS\+ (\$LDS\.\S+)\r\n/.exec(got)![1]!;
    await c.send(`LS+ ${lds}\r\n`);
    const rest = await c.readFor(300, 3000);
    const closed = await c.waitClosed(2000);
    c.close();
    return { out: normalize(info + got + rest), closed };
  }
  await c.send(input);
  const rest = await c.readFor(300, 3000);
  const closed = await c.waitClosed(700);
  c.close();
  return { out: normalize(info + rest), closed };
}

describe('leafnode port: same answers as nats-server 2.9.10', () => {
  it('every case', async () => {
    const results: Record<ServerKind, Array<{ out: string; closed: boolean }>> = { reference: [], tsnats: [] };
    for (const kind of ['reference', 'tsnats'] as ServerKind[]) {
      const s = await startServer(kind, ['-c', writeConfig('leafnodes { host: 127.0.0.1, port: -1 }\n')]);
      try {
        for (const cs of CASES) results[kind].push(await exchange(s, cs.input));
        // garbage and random bytes do not take the server down
        for (let i = 0; i < 5; i++) {
          const c = await rawConnect(leafPort(s));
          await c.send(randomBytes(200 + i * 100));
          await c.waitClosed(1000);
          c.close();
        }
        const nc = await connect({ servers: s.url });
        nc.subscribe('alive', { callback: (_e, m) => void m.respond('yes') });
        await nc.flush();
        assert.equal(new TextDecoder().decode((await nc.request('alive', '', { timeout: 2000 })).data), 'yes');
        await nc.close();
      } finally {
        await s.stop();
      }
    }
    CASES.forEach((cs, i) => {
      assert.deepEqual(results.tsnats[i], results.reference[i], cs.name);
    });
  });
});
