// The body of the tsnats executable (src/main.ts runs it, bundled or not):
// nats-server's command line (cli/run.ts) around the Server. Config reload
// re-reads the file and re-applies the command line, as the reference's
// Server.Reload does.
import { runCli, type ServerHandle } from './run.js';
import { mergeFlagsForReload, parseFlags } from './flags.js';
import type { loadConfigFile as LoadConfigFile } from '../config/load.js';
import { validateJetStreamOptions } from '../config/jetstream-conf.js';
import { defaultOptions, type Options } from '../config/options.js';
import type { Logger, ManagedLogger } from '../logging/types.js';
import { Server } from '../server/server.js';
import { goErrnoText } from '../logging/gofmt.js';
import { MonitorStartError } from '../monitor/errors.js';
// Subsystems register loaders with the core; their code loads only when configured.
import '../jetstream/index.js';
import '../system/register.js';

async function startServer(opts: Options, logger: Logger): Promise<ServerHandle> {
  // server/server.go NewServer -> validateOptions -> validateJetStreamOptions:
  // printed as "nats-server: <reason>", exit 1. (The other checks of
  // config/validate.ts validateOptions are not applied here yet.)
  const jsProblem = validateJetStreamOptions(opts);
  if (jsProblem !== undefined) throw new Error(jsProblem);
  // the executable's launcher tunes V8 for JetStream (src/tsnats.cts setEagerFeedback)
  if (opts.jetstream) (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for('tsnats.jetStreamFeedback')]?.();
  const server = new Server(opts, logger);
  try {
    await server.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof MonitorStartError) {
      logger.fatal(err.message);
    } else if (err.syscall === 'listen' || err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      // Go's net.Listen error text (server/server.go AcceptLoop)
      const hp = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
      logger.fatal(`Error listening on port: ${hp}, "listen tcp ${hp}: bind: ${goErrnoText(err)}"`);
    } else {
      logger.fatal(err.message);
    }
    throw Object.assign(new Error(err.message), { logged: true });
  }
  let closedResolve!: (code: number) => void;
  const closed = new Promise<number>((r) => (closedResolve = r));
  return {
    async shutdown() {
      await server.shutdown();
    },
    async reload() {
      if (opts.configFile === '') {
        throw new Error('can only reload config when a file is provided using -c or --config');
      }
      const flags = parseFlags(process.argv.slice(2));
      const { options } = await loadConfigFile(opts.configFile, defaultOptions());
      const next = mergeFlagsForReload(options, flags);
      server.reload(next);
      const managed = logger as Partial<ManagedLogger>;
      if (typeof managed.reconfigure === 'function') await managed.reconfigure(server.opts);
    },
    reopenLog() {},
    async lameDuck() {
      await server.lameDuckMode();
      closedResolve(0);
    },
    closed,
  };
}

/**
 * The configuration file parser (config/load.js and what only it imports,
 * ~80 KB of the bundle) is loaded when there is a file to read: a server
 * started with flags only never compiles or holds it (BENCHMARKS.md,
 * "Session 6").
 */
async function loadConfigFile(...args: Parameters<typeof LoadConfigFile>): Promise<ReturnType<typeof LoadConfigFile>> {
  return (await import('../config/load.js')).loadConfigFile(...args);
}

runCli(process.argv.slice(2), { loadConfigFile: (p) => loadConfigFile(p), startServer }).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`nats-server: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
