// Fault injection: SIGHUP (config reload) sent over and over while messages
// flow, the config file rewritten between signals — including to an invalid
// file, which must be refused with the server running on. Healthy
// subscribers (plain and a queue group) must lose nothing, and the server
// must keep serving. Runs against tsnats and the reference.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { startServer, writeConfig, type ServerKind } from '../helpers/servers.js';
import { Client, SeqCheck, pubFrame, sleep, waitFor } from './util.js';

const MESSAGES = 20_000;
const SIGNALS = 60;

const CONFIGS = [
  'max_connections: 1000\nping_interval: "2m"\nmax_payload: 1MB\n',
  'max_connections: 2000\nping_interval: "3m"\nmax_payload: 2MB\nping_max: 3\n',
  'max_connections: 1500\nping_interval: "2m"\nmax_control_line: 8KB\nwrite_deadline: "5s"\n',
  'max_payload: [\n', // invalid: refused, the running configuration stays
];

const count = (text: string, needle: string) => text.split(needle).length - 1;

for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`${kind}: SIGHUP under load`, () => {
    it(`${SIGNALS} reloads during ${MESSAGES} messages: nothing lost, server alive`, { timeout: 300_000 }, async (t) => {
      const conf = writeConfig(CONFIGS[0]!);
      const server = await startServer(kind, ['-c', conf]);
      try {
        const subs: { c: Client; seq: SeqCheck }[] = [];
        for (let i = 0; i < 3; i++) {
          const c = await Client.open(server.port);
          const seq = new SeqCheck(`sub${i}`);
          c.onMsg = (_s, _sid, p) => seq.take(p);
          c.send('SUB load.> 1\r\n');
          await c.flush();
          subs.push({ c, seq });
        }
        const seen = new Set<number>();
        let queueTotal = 0;
        const queue: Client[] = [];
        for (let i = 0; i < 2; i++) {
          const c = await Client.open(server.port);
          c.onMsg = (_s, _sid, p) => {
            queueTotal++;
            seen.add(Number(p.toString('latin1')));
          };
          c.send('SUB load.x q 1\r\n');
          await c.flush();
          queue.push(c);
        }
        const pub = await Client.open(server.port);

        let stop = false;
        let sent = 0;
        const hups = (async () => {
          for (let i = 0; i < SIGNALS && !stop; i++) {
            writeFileSync(conf, CONFIGS[i % CONFIGS.length]!);
            server.proc.kill('SIGHUP');
            sent++;
            await sleep(25);
          }
        })();
        for (let i = 0; i < MESSAGES; i += 250) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + 250; k++) frames.push(pubFrame('load.x', String(k)));
          pub.send(Buffer.concat(frames));
          await pub.flush();
        }
        await hups;
        stop = true;
        await waitFor('all messages delivered', () => subs.every((s) => s.c.msgs >= MESSAGES) && queueTotal >= MESSAGES, 60_000);
        for (const s of subs) await s.c.flush();
        for (const q of queue) await q.flush();

        for (const s of subs) {
          assert.deepEqual(s.seq.problems, []);
          assert.equal(s.c.msgs, MESSAGES, `${s.seq.label} got every message`);
          assert.equal(s.c.isClosed, false);
        }
        assert.equal(queueTotal, MESSAGES, 'the queue group got each message exactly once');
        assert.equal(seen.size, MESSAGES);
        assert.equal(server.proc.exitCode, null, 'server still running');

        // deterministic tail: an invalid file is refused, a valid one applied
        const errBefore = count(server.stderr(), 'Failed to reload server configuration');
        writeFileSync(conf, CONFIGS[3]!);
        server.proc.kill('SIGHUP');
        await waitFor('refused reload logged', () => count(server.stderr(), 'Failed to reload server configuration') > errBefore, 30_000);
        const okBefore = count(server.stderr(), 'Reloaded server configuration');
        writeFileSync(conf, CONFIGS[1]!);
        server.proc.kill('SIGHUP');
        await waitFor('reload logged', () => count(server.stderr(), 'Reloaded server configuration') > okBefore, 30_000);
        t.diagnostic(`${sent} SIGHUPs during traffic; log: ${count(server.stderr(), 'Reloaded server configuration')} reloads, ${count(server.stderr(), 'Failed to reload')} refused`);

        // still serving: a new client round trip
        const probe = await Client.open(server.port);
        probe.send('SUB probe 1\r\n');
        probe.send(pubFrame('probe', 'x'));
        await probe.flush();
        await waitFor('probe message', () => probe.msgs === 1, 10_000);
        assert.equal(probe.msgs, 1);
        for (const c of [...subs.map((s) => s.c), ...queue, pub, probe]) c.close();
      } finally {
        await server.stop();
      }
    });
  });
}

// Finding F5 (docs/reliability.md, fixed): nats-server 2.9.10 refuses to
// reload max_subscriptions, max_pending and max_sub_tokens ("config reload
// not supported for MaxSubs: old=0, new=100"), and so does tsnats.
describe('F5: options the reference cannot reload', () => {
  for (const line of ['max_subscriptions: 100', 'max_pending: 10MB', 'max_sub_tokens: 8']) {
    it(`${line}: refused like the reference`, { timeout: 60_000 }, async () => {
      const outcome = async (kind: ServerKind): Promise<string> => {
        const conf = writeConfig('max_payload: 1MB\n');
        const server = await startServer(kind, ['-c', conf]);
        try {
          writeFileSync(conf, `max_payload: 1MB\n${line}\n`);
          server.proc.kill('SIGHUP');
          await waitFor('reload outcome', () => /Failed to reload|Reloaded server configuration/.test(server.stderr()), 30_000);
          const m = /\[ERR\] (Failed to reload.*)|\[INF\] (Reloaded server configuration)/.exec(server.stderr())!;
          return m[1] ?? m[2]!;
        } finally {
          await server.stop();
        }
      };
      const [ref, ts] = await Promise.all([outcome('reference'), outcome('tsnats')]);
      assert.equal(ts, ref);
    });
  }
});
