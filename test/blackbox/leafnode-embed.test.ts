// The README's embedded-leaf example, run as written (only the package name
// points at this build): a Node program whose own server is a leaf of a
// nats-server 2.9.10 hub, then of a tsnats hub. A client of the hub requests
// edge.ping until the embedded leaf answers, then says bye: the program ends.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { type ServerKind } from '../helpers/servers.js';
import { leafPort, sleep, startHub, waitFor } from '../helpers/leafnodes.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');

function readmeExample(): string {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  const m = /<!-- leaf-example -->\n```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m !== null, 'README has the leaf example');
  return m[1]!;
}

describe('README: the embedded leaf example', () => {
  for (const hubKind of ['reference', 'tsnats'] as ServerKind[]) {
    it(`runs as a leaf of a ${hubKind} hub and answers the hub's request`, async () => {
      const code = readmeExample().replace("from 'tsnats'", `from ${JSON.stringify(pathToFileURL(resolve(root, 'dist', 'src', 'index.js')).href)}`);
      // beside the build, so that @nats-io/transport-node resolves from the worktree's node_modules
      const file = resolve(here, `readme-leaf-example-${hubKind}-${process.pid}.mjs`);
      writeFileSync(file, code);
      const hub = await startHub(hubKind);
      const prog = spawn(process.execPath, [file], { env: { ...process.env, HUB_URL: `nats://127.0.0.1:${leafPort(hub)}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      prog.stdout.on('data', (d: Buffer) => void (out += d.toString()));
      prog.stderr.on('data', (d: Buffer) => void (out += d.toString()));
      const exited = new Promise<number | null>((r) => prog.once('exit', (code) => r(code)));
      const hc = await connect({ servers: hub.url });
      try {
        let answer = '';
        await waitFor('the leaf to answer edge.ping', async () => {
          try {
            answer = (await hc.request('edge.ping', '', { timeout: 300 })).string();
            return true;
          } catch {
            return false;
          }
        }, 20_000);
        assert.equal(answer, 'pong from the edge');
        assert.equal((await hc.request('edge.ping', 'bye', { timeout: 5000 })).string(), 'pong from the edge');
        const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
        assert.equal(code, 0, out);
      } finally {
        prog.kill();
        await hc.close();
        await hub.stop();
        rmSync(file, { force: true });
      }
    });
  }
});
