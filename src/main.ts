#!/usr/bin/env node
// The tsnats executable: nats-server's command line (cli/run.ts) around the
// Server. Config reload re-reads the file and re-applies the command line,
// as the reference's Server.Reload does.
import { runCli, type ServerHandle } from './cli/run.js';
import { mergeFlagsForReload, parseFlags } from './cli/flags.js';
import { loadConfigFile } from './config/load.js';
import { validateJetStreamOptions } from './config/jetstream-conf.js';
import { defaultOptions, type Options } from './config/options.js';
import type { Logger, ManagedLogger } from './logging/types.js';
import { Server } from './server/server.js';
import { goErrnoText } from './logging/gofmt.js';
import { MonitorStartError } from './monitor/errors.js';
import './jetstream/index.js';
import './system/register.js';

async function startServer(opts: Options, logger: Logger): Promise<ServerHandle> {
  // server/server.go NewServer -> validateOptions -> validateJetStreamOptions:
  // printed as "nats-server: <reason>", exit 1. (The other checks of
  // config/validate.ts validateOptions are not applied here yet.)
  const jsProblem = validateJetStreamOptions(opts);
  if (jsProblem !== undefined) throw new Error(jsProblem);
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
      const { options } = loadConfigFile(opts.configFile, defaultOptions());
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

runCli(process.argv.slice(2), { loadConfigFile: (p) => loadConfigFile(p), startServer }).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`nats-server: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
