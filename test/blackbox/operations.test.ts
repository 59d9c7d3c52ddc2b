// Process-level operations against the tsnats binary, each checked against
// the reference where its output is deterministic: SIGHUP reload (applied,
// refused, invalid config), lame duck mode, the ports and pid files, and the
// container image's default config started with its exact command line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { serverCommand, startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { tempDir } from '../helpers/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function waitFor(pred: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function logLines(s: RunningServer): string[] {
  return s.stderr().split('\n').map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ''));
}

async function withBoth(fn: (kind: ServerKind) => Promise<void>): Promise<void> {
  for (const kind of ['reference', 'tsnats'] as const) await fn(kind);
}

describe('config reload (SIGHUP)', () => {
  it('applies a new debug setting and max_payload without dropping connections', async () => {
    await withBoth(async (kind) => {
      const file = writeConfig('max_payload: 1000\n');
      const s = await startServer(kind, ['-c', file]);
      try {
        const c = await rawConnect(s.port);
        await c.readUntil('\r\n');
        c.send('CONNECT {"verbose":false,"protocol":1}\r\nSUB foo 1\r\nPING\r\n');
        await c.readUntil('PONG\r\n');
        fs.writeFileSync(file, 'max_payload: 2000\ndebug: true\n');
        s.proc.kill('SIGHUP');
        await waitFor(() => s.stderr().includes('Reloaded server configuration'), 10_000, `${kind} reload`);
        const lines = logLines(s);
        assert.ok(lines.includes('[INF] Reloaded: max_payload = 2000'), `${kind}: ${lines.join('\n')}`);
        assert.ok(lines.includes('[INF] Reloaded: debug = true'), `${kind}: ${lines.join('\n')}`);
        // the old connection still works and a new one sees the new limit
        c.send('PUB foo 3\r\nabc\r\nPING\r\n');
        const got = await c.readUntil('PONG\r\n');
        assert.match(got, /MSG foo 1 3\r\nabc\r\n/);
        const d = await rawConnect(s.port);
        const info = await d.readUntil('\r\n');
        assert.match(info, /"max_payload":2000/);
        c.close();
        d.close();
      } finally {
        await s.stop();
      }
    });
  });

  it('refuses a change the reference cannot reload and keeps running', async () => {
    await withBoth(async (kind) => {
      const file = writeConfig('server_name: a\n');
      const s = await startServer(kind, ['-c', file]);
      try {
        fs.writeFileSync(file, 'server_name: b\n');
        s.proc.kill('SIGHUP');
        await waitFor(() => s.stderr().includes('Failed to reload server configuration'), 10_000, `${kind} refusal`);
        const line = logLines(s).find((l) => l.includes('Failed to reload'));
        assert.equal(line, '[ERR] Failed to reload server configuration: config reload not supported for ServerName: old=a, new=b');
        const c = await rawConnect(s.port);
        assert.match(await c.readUntil('\r\n'), /"server_name":"a"/);
        c.close();
      } finally {
        await s.stop();
      }
    });
  });

  it('rejects an invalid config on reload and keeps the running one', async () => {
    await withBoth(async (kind) => {
      const file = writeConfig('max_payload: 1000\n');
      const s = await startServer(kind, ['-c', file]);
      try {
        fs.writeFileSync(file, 'max_payload: {\n');
        s.proc.kill('SIGHUP');
        await waitFor(() => s.stderr().includes('Failed to reload server configuration'), 10_000, `${kind} invalid`);
        const c = await rawConnect(s.port);
        assert.match(await c.readUntil('\r\n'), /"max_payload":1000/);
        c.close();
        assert.equal(s.proc.exitCode, null);
      } finally {
        await s.stop();
      }
    });
  });

  it('a user whose subscribe permission is removed loses the subscription at once', async () => {
    await withBoth(async (kind) => {
      const conf = (deny: string) =>
        `authorization { users = [ { user: a, password: p, permissions: { subscribe: { allow: [">"] ${deny} } } } ] }\n`;
      const file = writeConfig(conf(''));
      const s = await startServer(kind, ['-c', file]);
      try {
        const c = await rawConnect(s.port);
        await c.readUntil('\r\n');
        c.send('CONNECT {"verbose":false,"user":"a","pass":"p"}\r\nSUB secret 7\r\nPING\r\n');
        await c.readUntil('PONG\r\n');
        fs.writeFileSync(file, conf(', deny: ["secret"]'));
        s.proc.kill('SIGHUP');
        const err = await c.readUntil('\r\n', 10_000);
        assert.equal(err, `-ERR 'Permissions Violation for Subscription to "secret" (sid "7")'\r\n`, kind);
        c.send('PUB secret 1\r\nx\r\nPING\r\n');
        const rest = await c.readUntil('PONG\r\n');
        assert.doesNotMatch(rest, /MSG secret/, kind);
        c.close();
      } finally {
        await s.stop();
      }
    });
  });
});

describe('lame duck mode (SIGUSR2)', () => {
  it('stops accepting, sends INFO ldm to protocol-1 clients, closes them and exits', async () => {
    await withBoth(async (kind) => {
      // 30s is the reference's minimum; one client is closed right after the grace period
      const file = writeConfig('lame_duck_duration: "30s"\nlame_duck_grace_period: "200ms"\n');
      const s = await startServer(kind, ['-c', file]);
      const c = await rawConnect(s.port);
      await c.readUntil('\r\n');
      c.send('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');
      await c.readUntil('PONG\r\n');
      s.proc.kill('SIGUSR2');
      const info = await c.readUntil(/INFO .*\r\n/, 10_000);
      assert.match(info, /"ldm":true/, kind);
      await c.expectClosed(10_000);
      const code = await s.exited;
      assert.equal(code, 0, `${kind} exit code`);
      const lines = logLines(s);
      assert.ok(lines.includes('[INF] Entering lame duck mode, stop accepting new clients'), kind);
      assert.ok(lines.includes('[INF] Closing existing clients'), kind);
    });
  });
});

describe('ports and pid files', () => {
  it('writes <ports_file_dir>/nats-server_<pid>.ports with the listening URLs and removes it at exit', async () => {
    const dir = tempDir('tsnats-ports-');
    const pidFile = path.join(dir, 'server.pid');
    const s = await startServer('tsnats', ['--ports_file_dir', dir, '-P', pidFile, '-m', '-1', '--http_port', '-1']);
    try {
      const file = path.join(dir, `nats-server_${s.proc.pid}.ports`);
      let ports: { nats: string[]; monitoring?: string[] } | null = null;
      await waitFor(
        () => {
          try {
            ports = JSON.parse(fs.readFileSync(file, 'utf8'));
            return true;
          } catch {
            return false;
          }
        },
        5000,
        'ports file',
      );
      ports = ports!;
      assert.deepEqual(ports.nats, [`nats://127.0.0.1:${s.port}`]);
      assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(s.proc.pid));
    } finally {
      await s.stop('SIGINT');
    }
    assert.equal(fs.existsSync(path.join(dir, `nats-server_${s.proc.pid}.ports`)), false);
  });
});

describe('container defaults', () => {
  it('docker/nats-server.conf is valid for the reference and for tsnats', async () => {
    const conf = path.join(root, 'docker', 'nats-server.conf');
    for (const kind of ['reference', 'tsnats'] as const) {
      const cmd = serverCommand(kind);
      const r = spawnSync(cmd[0], [...cmd.slice(1), '-t', '-c', conf], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
      assert.equal(r.stderr.replace(/^\S+: /, ''), `configuration file ${conf} is valid\n`, kind);
    }
  });

  it('the image command line starts with the default config (ports moved off the defaults)', async () => {
    // The image runs `tsnats --config /nats-server.conf`; flags override the
    // fixed ports so the test never binds 4222/6222/8222.
    const conf = path.join(root, 'docker', 'nats-server.conf');
    const s = await startServer('tsnats', ['--config', conf, '-p', '-1', '-m', '-1', '--cluster', 'nats://127.0.0.1:-1']);
    try {
      const lines = logLines(s);
      assert.ok(lines.some((l) => l.startsWith('[INF] Listening for client connections on')), lines.join('\n'));
      assert.ok(lines.some((l) => l.startsWith('[INF] Starting http monitor on')), lines.join('\n'));
      const c = await rawConnect(s.port);
      assert.match(await c.readUntil('\r\n'), /^INFO /);
      c.close();
    } finally {
      await s.stop();
    }
  });
});
