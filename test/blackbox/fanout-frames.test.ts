// Fan-out frames: when several subscribers get the same message, writeMsg
// copies the frame it built for the previous one when sid and header mode
// agree (client.ts fanFrame). Every subscriber must still get exactly its own
// bytes: equal and different sids, with and without headers (stripped HMSG),
// reply subjects, payloads on both sides of the short-copy threshold.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect as netConnect, type Socket } from 'node:net';
import { Server } from '../../src/index.js';

interface Sub {
  sock: Socket;
  data: Buffer[];
}

async function open(port: number, headers: boolean, subs: string[]): Promise<Sub> {
  const sock = netConnect({ port, host: '127.0.0.1' });
  const s: Sub = { sock, data: [] };
  await new Promise<void>((res) => sock.once('data', () => res()));
  sock.on('data', (d: Buffer) => s.data.push(d));
  sock.write(`CONNECT {"verbose":false,"pedantic":false,"headers":${headers}}\r\n${subs.join('')}PING\r\n`);
  await waitFor(s, 'PONG\r\n');
  s.data = [];
  return s;
}

function text(s: Sub): string {
  return Buffer.concat(s.data).toString('latin1');
}

async function waitFor(s: Sub, tail: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (text(s).endsWith(tail)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${JSON.stringify(tail)} in ${JSON.stringify(text(s).slice(-200))}`);
}

describe('fan-out frames', () => {
  it('each subscriber gets exactly its own MSG/HMSG bytes', async () => {
    const server = new Server({ host: '127.0.0.1', port: -1 });
    await server.start();
    const socks: Socket[] = [];
    try {
      const port = server.port;
      // a, b: headers, sid 1; c: no headers, sid 1; d: headers, sid 7 (wildcard); e: headers, sid 1 again
      const a = await open(port, true, ['SUB fan.x 1\r\n']);
      const b = await open(port, true, ['SUB fan.x 1\r\n']);
      const c = await open(port, false, ['SUB fan.x 1\r\n']);
      const d = await open(port, true, ['SUB fan.* 7\r\n']);
      const e = await open(port, true, ['SUB fan.> 1\r\n']);
      const all = [a, b, c, d, e];
      socks.push(...all.map((x) => x.sock));
      const pub = netConnect({ port, host: '127.0.0.1' });
      socks.push(pub);
      await new Promise<void>((res) => pub.once('data', () => res()));
      pub.write('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n');

      const hdr = 'NATS/1.0\r\nK: v\r\n\r\n';
      const sizes = [0, 3, 7, 8, 31, 128, 255, 256, 511, 600, 2000];
      const expect = new Map<Sub, string>(all.map((x) => [x, '']));
      let wire = '';
      for (const n of sizes) {
        const p = 'p'.repeat(n);
        wire += `PUB fan.x ${n}\r\n${p}\r\n`;
        wire += `PUB fan.x re.ply.${n} ${n}\r\n${p}\r\n`;
        wire += `HPUB fan.x ${hdr.length} ${hdr.length + n}\r\n${hdr}${p}\r\n`;
        wire += `HPUB fan.x in.box ${hdr.length} ${hdr.length + n}\r\n${hdr}${p}\r\n`;
        for (const x of all) {
          const sid = x === d ? '7' : '1';
          let t = `MSG fan.x ${sid} ${n}\r\n${p}\r\n`;
          t += `MSG fan.x ${sid} re.ply.${n} ${n}\r\n${p}\r\n`;
          if (x === c) {
            t += `MSG fan.x ${sid} ${n}\r\n${p}\r\n`;
            t += `MSG fan.x ${sid} in.box ${n}\r\n${p}\r\n`;
          } else {
            t += `HMSG fan.x ${sid} ${hdr.length} ${hdr.length + n}\r\n${hdr}${p}\r\n`;
            t += `HMSG fan.x ${sid} in.box ${hdr.length} ${hdr.length + n}\r\n${hdr}${p}\r\n`;
          }
          expect.set(x, expect.get(x)! + t);
        }
      }
      // twice: once in one write (one read, the fan-out cache across messages), once byte-split
      pub.write(wire);
      const half = Math.floor(wire.length / 2);
      pub.write(wire.slice(0, half));
      await new Promise((r) => setTimeout(r, 20));
      pub.write(wire.slice(half) + 'PING\r\n');
      for (const x of all) {
        x.sock.write('PING\r\n');
      }
      for (const x of all) {
        const want = expect.get(x)!;
        for (let i = 0; i < 500 && text(x).length < 2 * want.length; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(text(x).replace('PONG\r\n', ''), want + want);
      }
    } finally {
      for (const s of socks) s.destroy();
      await server.shutdown();
    }
  });
});
