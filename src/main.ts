#!/usr/bin/env node
// The tsnats executable. Until the full CLI lands this understands -a/-p/-D/-V.
import { Server } from './server/server.js';
import type { Logger } from './logging/types.js';

function ts(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

const argv = process.argv.slice(2);
const opts: Record<string, unknown> = {};
let debug = false;
let trace = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-a' || a === '--addr') opts.host = argv[++i];
  else if (a === '-p' || a === '--port') opts.port = Number(argv[++i]);
  else if (a === '-D') debug = true;
  else if (a === '-V') trace = true;
  else if (a === '-DV') debug = trace = true;
}
const line = (lvl: string) => (msg: string) => process.stderr.write(`[${process.pid}] ${ts()} [${lvl}] ${msg}\n`);
const logger: Logger = {
  notice: line('INF'),
  warn: line('WRN'),
  error: line('ERR'),
  fatal: line('FTL'),
  debug: debug ? line('DBG') : () => {},
  trace: trace ? line('TRC') : () => {},
  debugEnabled: debug,
  traceEnabled: trace,
};
const server = new Server(opts, logger);
server.start().catch((e) => {
  logger.fatal(String(e));
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    server.shutdown().then(() => process.exit(0));
  });
}
