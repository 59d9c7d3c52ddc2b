// Differential reload checks: the same config change (SIGHUP) on tsnats and
// nats-server 2.9.10 must log the same reload lines in the same order.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tempStoreDir } from './jetstream.js';
import { sleep } from './rawclient.js';
import { referenceOnly, startServer, writeConfig, type ServerKind } from './servers.js';

export interface ReloadLogOptions {
  /** picks the compared part (group 1) out of each log line */
  lines: RegExp;
  /** how long lines may trail the reload outcome (a JetStream restart does) */
  settleMs?: number;
}

/**
 * One server's reload lines: start on `before`, rewrite the file to `after`,
 * SIGHUP, wait for the outcome. `%SD%` in either config is a store directory
 * of this server's own.
 */
export async function reloadLog(kind: ServerKind, before: string, after: string, opts: ReloadLogOptions): Promise<string[]> {
  const sd = before.includes('%SD%') || after.includes('%SD%') ? tempStoreDir() : '';
  const file = writeConfig(before.replaceAll('%SD%', sd));
  const s = await startServer(kind, ['-c', file]);
  try {
    const from = s.stderr().length;
    writeFileSync(file, after.replaceAll('%SD%', sd));
    s.proc.kill('SIGHUP');
    for (let i = 0; i < 1000 && !/Reloaded server configuration|Failed to reload/.test(s.stderr().slice(from)); i++) await sleep(10);
    await sleep(opts.settleMs ?? 100);
    return s
      .stderr()
      .slice(from)
      .split('\n')
      .map((l) => opts.lines.exec(l.replace(/\r$/, ''))?.[1])
      .filter((l): l is string => l !== undefined);
  } finally {
    await s.stop();
  }
}

/** Both servers' reload lines, asserted equal; returns the reference's. */
export async function compareReloadLogs(before: string, after: string, opts: ReloadLogOptions): Promise<string[]> {
  const [ref, ts] = await Promise.all([
    reloadLog('reference', before, after, opts),
    referenceOnly() ? Promise.resolve(undefined) : reloadLog('tsnats', before, after, opts),
  ]);
  if (ts !== undefined) assert.deepEqual(ts, ref, `reload logs differ\n--- reference ---\n${ref.join('\n')}\n--- tsnats ---\n${ts.join('\n')}`);
  return ref;
}

/** The refusal line of a field diffOptions cannot reload. */
export const refused = (text: string): string[] => [`Failed to reload server configuration: config reload not supported for ${text}`];

/** server/reload.go never compares users and accounts: these come on every reload. */
export const ALWAYS_RELOADED = ['Reloaded: authorization users', 'Reloaded: accounts'];
