// Differential tests of config reload (SIGHUP) with JetStream settings: the
// same file change on tsnats and nats-server 2.9.10 gives the same refusal or
// the same "Reloaded: ..." lines (server/reload.go diffOptions: the store
// directory and the memory/store limits of a running JetStream are fixed,
// except when the same reload disables JetStream; the other JetStream fields
// are refused with their Go field name and value; enabling and disabling is
// a "Reloaded: JetStream").

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sleep } from '../helpers/rawclient.js';
import { referenceOnly, startServer, writeConfig, type ServerKind } from '../helpers/servers.js';

const RELOAD_LINE = /\[(?:INF|ERR|WRN)\] (Reload.*|Failed to reload.*|Initiating JetStream Shutdown\.\.\.|JetStream Shutdown|Restarting JetStream)$/;

/** one server's reload lines; %SD% in the configs is a store dir of its own */
async function reloadLog(kind: ServerKind, before: string, after: string): Promise<string[]> {
  const sd = mkdtempSync(join(tmpdir(), `tsnats-jsreload-${kind}-`));
  const file = writeConfig(before.replaceAll('%SD%', sd));
  const s = await startServer(kind, ['-c', file]);
  try {
    const from = s.stderr().length;
    writeFileSync(file, after.replaceAll('%SD%', sd));
    s.proc.kill('SIGHUP');
    for (let i = 0; i < 1000 && !/Reloaded server configuration|Failed to reload/.test(s.stderr().slice(from)); i++) await sleep(10);
    await sleep(300); // a JetStream shutdown or restart finishes after the reload line
    return s
      .stderr()
      .slice(from)
      .split('\n')
      .map((l) => RELOAD_LINE.exec(l.replace(/\r$/, ''))?.[1])
      .filter((l): l is string => l !== undefined);
  } finally {
    await s.stop();
  }
}

async function both(before: string, after: string): Promise<string[]> {
  const [ref, ts] = await Promise.all([
    reloadLog('reference', before, after),
    referenceOnly() ? Promise.resolve(undefined) : reloadLog('tsnats', before, after),
  ]);
  if (ts !== undefined) assert.deepEqual(ts, ref, `reload logs differ\n--- reference ---\n${ref.join('\n')}\n--- tsnats ---\n${ts.join('\n')}`);
  return ref;
}

const refused = (text: string) => [`Failed to reload server configuration: config reload not supported for ${text}`];
const ALWAYS = ['Reloaded: authorization users', 'Reloaded: accounts'];
const JS = 'jetstream { store_dir: "%SD%" }\n';

describe('reload: JetStream settings', () => {
  const cases: [string, string, string, string[]][] = [
    ['store dir of a running JetStream', JS, 'jetstream { store_dir: "%SD%/other" }\n', refused('jetstream storage directory')],
    ['store dir dropped while JetStream stays on', JS, 'jetstream: enabled\n', refused('jetstream storage dir')],
    ['dynamic memory limit set', JS, 'jetstream { store_dir: "%SD%", max_mem: 1G }\n', refused('jetstream dynamic max memory and store')],
    ['memory limit changed', 'jetstream { store_dir: "%SD%", max_mem: 1G }\n', 'jetstream { store_dir: "%SD%", max_mem: 2G }\n', refused('jetstream max memory and store')],
    ['memory limit dropped', 'jetstream { store_dir: "%SD%", max_file: 1G }\n', 'jetstream { store_dir: "%SD%" }\n', refused('jetstream max memory and max store')],
    ['domain', JS, 'jetstream { store_dir: "%SD%", domain: x }\n', refused('JetStreamDomain: old=, new=x')],
    ['limits', JS, 'jetstream { store_dir: "%SD%", limits { max_ack_pending: 10, duplicate_window: "1m" } }\n', refused('JetStreamLimits: old={0 0 0 0s}, new={0 10 0 1m0s}')],
    ['cipher', JS, 'jetstream { store_dir: "%SD%", cipher: aes }\n', refused('JetStreamCipher: old=ChaCha20-Poly1305, new=AES-GCM')],
    ['unique_tag', JS, 'jetstream { store_dir: "%SD%", unique_tag: az }\n', refused('JetStreamUniqueTag: old=, new=az')],
    ['default_js_domain', 'accounts { A {} }\n', 'accounts { A {} }\ndefault_js_domain { A: x }\n', refused('JsAccDefaultDomain: old=map[], new=map[A:x]')],
    ['store dir while JetStream is off', 'jetstream { store_dir: "%SD%", enabled: false }\n', 'jetstream { store_dir: "%SD%/b", enabled: false }\n', [...ALWAYS, 'Reloaded server configuration']],
    ['disabling', JS, 'jetstream { store_dir: "%SD%", enabled: false }\n', [...ALWAYS, 'Reloaded: JetStream', 'Initiating JetStream Shutdown...', 'JetStream Shutdown', 'Reloaded server configuration']],
    ['disabling and dropping the limits', 'jetstream { store_dir: "%SD%", max_mem: 1G }\n', 'jetstream { enabled: false }\n', [...ALWAYS, 'Reloaded: JetStream', 'Initiating JetStream Shutdown...', 'JetStream Shutdown', 'Reloaded server configuration']],
  ];
  for (const [name, before, after, expected] of cases) {
    it(name, { timeout: 60_000 }, async () => {
      assert.deepEqual(await both(before, after), expected);
    });
  }

  it('enabling', { timeout: 60_000 }, async () => {
    const lines = await both('jetstream { store_dir: "%SD%", enabled: false }\n', JS);
    assert.deepEqual(lines.slice(0, 4), [...ALWAYS, 'Reloaded: JetStream', 'Restarting JetStream']);
    assert.ok(lines.includes('Reloaded server configuration'));
  });
});
