// Differential tests of config reload (SIGHUP) with JetStream settings: the
// same file change on tsnats and nats-server 2.9.10 gives the same refusal or
// the same "Reloaded: ..." lines (server/reload.go diffOptions: the store
// directory and the memory/store limits of a running JetStream are fixed,
// except when the same reload disables JetStream; the other JetStream fields
// are refused with their Go field name and value; enabling and disabling is
// a "Reloaded: JetStream").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALWAYS_RELOADED as ALWAYS, compareReloadLogs, refused } from '../helpers/reload.js';

const RELOAD_LINE = /\[(?:INF|ERR|WRN)\] (Reload.*|Failed to reload.*|Initiating JetStream Shutdown\.\.\.|JetStream Shutdown|Restarting JetStream)$/;
/** a JetStream shutdown or restart finishes after the reload line */
const both = (before: string, after: string): Promise<string[]> => compareReloadLogs(before, after, { lines: RELOAD_LINE, settleMs: 300 });
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
