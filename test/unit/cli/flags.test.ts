import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { defaultOptions, type Options } from '../../../src/config/options.js';
import { CliError, FlagError } from '../../../src/cli/errors.js';
import { FLAG_DEFS, mergeFlags, mergeFlagsForReload, parseFlags, routesFromString } from '../../../src/cli/flags.js';

function run(argv: string[], file: Options = defaultOptions()): Options {
  return mergeFlags(file, parseFlags(argv));
}

function get(o: Options, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);
}

describe('parseFlags: every flag of the reference usage', () => {
  // [argv, option path, expected value]
  const table: Array<[string[], string, unknown]> = [
    [['-a', '127.0.0.1'], 'host', '127.0.0.1'],
    [['--addr', '10.0.0.1'], 'host', '10.0.0.1'],
    [['--net=::1'], 'host', '::1'],
    [['-p', '4333'], 'port', 4333],
    [['--port=-1'], 'port', -1],
    [['-n', 'srv'], 'serverName', 'srv'],
    [['--name', 'srv2'], 'serverName', 'srv2'],
    [['--server_name', 'srv3'], 'serverName', 'srv3'],
    [['-P', '/tmp/x.pid'], 'pidFile', '/tmp/x.pid'],
    [['--pid', '/tmp/y.pid'], 'pidFile', '/tmp/y.pid'],
    [['-m', '8333'], 'httpPort', 8333],
    [['--http_port', '8334'], 'httpPort', 8334],
    [['-ms', '8443'], 'httpsPort', 8443],
    [['--https_port', '8444'], 'httpsPort', 8444],
    [['--client_advertise', 'h:1'], 'clientAdvertise', 'h:1'],
    [['--ports_file_dir', '/tmp'], 'portsFileDir', '/tmp'],
    [['-l', '/tmp/a.log'], 'logFile', '/tmp/a.log'],
    [['--log', '/tmp/b.log'], 'logFile', '/tmp/b.log'],
    [['-T=false'], 'logtime', false],
    [['--logtime=false'], 'logtime', false],
    [['-s'], 'syslog', true],
    [['--syslog'], 'syslog', true],
    [['-r', 'udp://h:514'], 'remoteSyslog', 'udp://h:514'],
    [['--remote_syslog', 'tcp://h:514'], 'remoteSyslog', 'tcp://h:514'],
    [['-D'], 'debug', true],
    [['--debug'], 'debug', true],
    [['-V'], 'trace', true],
    [['--trace'], 'trace', true],
    [['-VV'], 'traceVerbose', true],
    [['-DVV'], 'traceVerbose', true],
    [['--log_size_limit', '1_000'], 'logSizeLimit', 1000],
    [['--max_traced_msg_len', '64'], 'maxTracedMsgLen', 64],
    [['--user', 'u'], 'username', 'u'],
    [['--pass', 'p'], 'password', 'p'],
    [['--auth', 't0k'], 'authorization', 't0k'],
    [['--routes', 'nats://a:1', '--cluster', 'nats://0.0.0.0:6333'], 'routes', ['nats://a:1']],
    [['--cluster', 'nats://127.0.0.1:6333'], 'cluster.port', 6333],
    [['--cluster_listen', 'nats://127.0.0.1:6334'], 'cluster.port', 6334],
    [['--cluster_name', 'C'], 'cluster.name', 'C'],
    [['--no_advertise'], 'cluster.noAdvertise', true],
    [['--cluster_advertise', 'h:6'], 'cluster.advertise', 'h:6'],
    [['--connect_retries', '7'], 'cluster.connectRetries', 7],
    [['-js'], 'jetstream', true],
    [['--jetstream'], 'jetstream', true],
    [['-sd', '/data'], 'storeDir', '/data'],
    [['--store_dir', '/data2'], 'storeDir', '/data2'],
    [['--profile', '6060'], 'profPort', 6060],
    [['--tls', '--tlscert', 'c.pem', '--tlskey', 'k.pem'], 'tls', true],
  ];
  for (const [argv, path, want] of table) {
    it(`${argv.join(' ')} -> ${path}`, () => {
      assert.deepEqual(get(run(argv), path), want);
    });
  }

  it('defines every flag name the usage text shows', () => {
    const names = new Set(FLAG_DEFS.flatMap((d) => d.names));
    for (const n of ['a', 'addr', 'net', 'p', 'port', 'n', 'name', 'server_name', 'P', 'pid', 'm', 'http_port', 'ms', 'https_port', 'c', 'config', 't', 'sl', 'signal', 'client_advertise', 'ports_file_dir', 'l', 'log', 'T', 'logtime', 's', 'syslog', 'r', 'remote_syslog', 'D', 'debug', 'V', 'trace', 'VV', 'DV', 'DVV', 'log_size_limit', 'max_traced_msg_len', 'js', 'jetstream', 'sd', 'store_dir', 'user', 'pass', 'auth', 'tls', 'tlscert', 'tlskey', 'tlsverify', 'tlscacert', 'routes', 'cluster', 'cluster_name', 'no_advertise', 'cluster_advertise', 'connect_retries', 'cluster_listen', 'profile', 'h', 'help', 'v', 'version', 'help_tls']) {
      assert.ok(names.has(n), n);
    }
  });

  it('reports control flags separately', () => {
    const p = parseFlags(['-c', 'a.conf', '-t']);
    assert.equal(p.configFile, 'a.conf');
    assert.equal(p.testConfig, true);
    assert.equal(parseFlags(['--config=b.conf']).configFile, 'b.conf');
    assert.equal(parseFlags(['-h']).showHelp, true);
    assert.equal(parseFlags(['--help']).showHelp, true);
    assert.equal(parseFlags(['-v']).showVersion, true);
    assert.equal(parseFlags(['--version']).showVersion, true);
    assert.equal(parseFlags(['--help_tls']).showTlsHelp, true);
    assert.deepEqual(parseFlags(['-sl', 'reload=/run/x.pid']).signal, { command: 'reload', pid: '/run/x.pid', value: 'reload=/run/x.pid' });
    assert.deepEqual(parseFlags(['--signal', 'stop']).signal, { command: 'stop', value: 'stop' });
    assert.equal(parseFlags(['-sl=']).signal, undefined);
  });

  it('accepts `version` and `help` commands, case-insensitively, and nothing else', () => {
    assert.equal(parseFlags(['version']).showVersion, true);
    assert.equal(parseFlags(['-p', '1', 'HELP']).showHelp, true);
    assert.throws(
      () => parseFlags(['-p', '1', 'extra']),
      (e: unknown) => e instanceof CliError && e.code === 'UNRECOGNIZED_COMMAND' && e.message === 'unrecognized command: "extra"',
    );
    assert.throws(() => parseFlags(['-']), (e: unknown) => e instanceof CliError && e.message === 'unrecognized command: "-"');
    // flag-set -v/-h win over a bad command, like the reference
    assert.equal(parseFlags(['-v', 'extra']).showVersion, true);
  });

  it('throws FlagError for what the flag package rejects', () => {
    assert.throws(() => parseFlags(['--bogus']), (e: unknown) => e instanceof FlagError && e.message === 'flag provided but not defined: -bogus');
    assert.throws(() => parseFlags(['-T=maybe']), (e: unknown) => e instanceof FlagError && e.message === 'invalid boolean value "maybe" for -T: parse error');
  });

  it('records the options set and the explicit booleans', () => {
    const p = parseFlags(['-p', '1', '-DV', '-T=false', '--no_advertise', '--cluster', 'nats://h:1']);
    for (const k of ['port', 'debug', 'trace', 'logtime', 'cluster.noAdvertise', 'cluster.host', 'cluster.port']) assert.ok(p.explicitlySet.has(k), k);
    assert.equal(p.explicitlySet.has('host'), false);
    assert.deepEqual(Object.fromEntries(p.explicitBools), { Debug: true, Trace: true, Logtime: false, 'Cluster.NoAdvertise': true });
  });
});

describe('mergeFlags precedence', () => {
  function fileOpts(): Options {
    const o = defaultOptions();
    o.port = 5222;
    o.host = '10.1.1.1';
    o.logtime = true;
    o.debug = true;
    o.serverName = 'from-file';
    o.logFile = '/var/log/file.log';
    o.cluster.port = 6222;
    o.cluster.host = '10.1.1.1';
    o.cluster.username = 'fu';
    o.cluster.password = 'fp';
    return o;
  }

  it('keeps the file values that no flag overrides', () => {
    const o = run(['-p', '7222'], fileOpts());
    assert.equal(o.port, 7222);
    assert.equal(o.host, '10.1.1.1');
    assert.equal(o.serverName, 'from-file');
    assert.equal(o.debug, true);
    assert.equal(o.logFile, '/var/log/file.log');
  });

  it('lets every given flag win, false booleans and zero values included', () => {
    const o = run(['-T=false', '-D=false', '-p', '0', '-n', ''], fileOpts());
    assert.equal(o.logtime, false);
    assert.equal(o.debug, false);
    assert.equal(o.port, 0);
    assert.equal(o.serverName, '');
  });

  it('does not modify the file options', () => {
    const f = fileOpts();
    run(['-p', '1', '--cluster', 'nats://h:2'], f);
    assert.equal(f.port, 5222);
    assert.equal(f.cluster.port, 6222);
  });

  it('records the config file', () => {
    assert.equal(mergeFlags(defaultOptions(), parseFlags(['-c', 'x.conf'])).configFile, 'x.conf');
  });

  it('expands -DV, -VV and -DVV, after the plain flags (Visit order)', () => {
    const dv = run(['-DV']);
    assert.deepEqual([dv.debug, dv.trace, dv.traceVerbose], [true, true, false]);
    const vv = run(['-VV']);
    assert.deepEqual([vv.debug, vv.trace, vv.traceVerbose], [false, true, true]);
    const dvv = run(['-DVV']);
    assert.deepEqual([dvv.debug, dvv.trace, dvv.traceVerbose], [true, true, true]);
    // -DV=false is applied after -D whatever the command line order
    const off = run(['-DV=false', '-D'], fileOpts());
    assert.equal(off.debug, false);
    assert.equal(off.trace, false);
  });

  it('takes the cluster listen address and credentials from --cluster', () => {
    const o = run(['--cluster', 'nats://ru:rp@127.0.0.1:6333'], fileOpts());
    assert.equal(o.cluster.host, '127.0.0.1');
    assert.equal(o.cluster.port, 6333);
    assert.equal(o.cluster.username, 'ru');
    assert.equal(o.cluster.password, 'rp');
  });

  it('clears the file route credentials when --cluster has none', () => {
    const o = run(['--cluster', 'nats://127.0.0.1:6333'], fileOpts());
    assert.equal(o.cluster.username, undefined);
    assert.equal(o.cluster.password, undefined);
  });

  it('maps :-1 to a random cluster port, and an empty --cluster turns clustering off', () => {
    assert.equal(run(['--cluster', 'nats://127.0.0.1:-1']).cluster.port, -1);
    assert.equal(run(['--cluster', ''], fileOpts()).cluster.port, 0);
    // reference quirk: the second visit sees the rewritten ":0"
    assert.equal(run(['--cluster', 'nats://h:-1', '--cluster_listen', 'nats://h:-1']).cluster.port, 0);
  });

  it('reports --cluster errors like the reference', () => {
    const fails = (v: string, msg: string) =>
      assert.throws(() => run(['--cluster', v]), (e: unknown) => e instanceof CliError && e.message === msg, v);
    fails('nats://u@h:1', 'expected cluster password to be set');
    fails('foo', 'missing port in address');
    fails('nats://127.0.0.1', 'address 127.0.0.1: missing port in address');
    fails('nats://127.0.0.1:', 'EOF');
    fails('nats://127.0.0.1:abc', 'parse "nats://127.0.0.1:abc": invalid port ":abc" after host');
    fails('127.0.0.1:5000', 'parse "127.0.0.1:5000": first path segment in URL cannot contain colon');
  });

  it('splits --routes and needs a cluster for them', () => {
    const o = run(['--routes', 'nats://a:1, nats://b:2', '--cluster', 'nats://127.0.0.1:6333']);
    assert.deepEqual(o.routes, ['nats://a:1', 'nats://b:2']);
    assert.throws(
      () => run(['--routes', 'nats://a:1']),
      (e: unknown) => e instanceof CliError && e.message === 'solicited routes require cluster capabilities, e.g. --cluster',
    );
    // a cluster port from the config file is enough
    assert.deepEqual(run(['--routes', 'nats://a:1'], fileOpts()).routes, ['nats://a:1']);
    assert.deepEqual(routesFromString(' x ,y'), ['x', 'y']);
  });

  it('builds a TLS block from the TLS flags, replacing the file one', () => {
    const f = defaultOptions();
    f.tls = true;
    f.tlsConfig = { certFile: 'old.pem', keyFile: 'old.key', verify: false, verifyAndMap: true, insecure: false, timeoutMs: 5000, cipherSuites: ['X'] };
    const o = run(['--tlsverify', '--tlscert', 'c.pem', '--tlskey', 'k.pem', '--tlscacert', 'ca.pem'], f);
    assert.deepEqual(o.tlsConfig, { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', verify: true, verifyAndMap: false, insecure: false, timeoutMs: 5000 });
  });

  it('removes TLS with --tls=false, whatever other TLS flags say', () => {
    const f = defaultOptions();
    f.tls = true;
    f.tlsConfig = { certFile: 'a', keyFile: 'b', verify: false, verifyAndMap: false, insecure: false, timeoutMs: 2000 };
    const o = run(['--tls=false', '--tlscert', 'c.pem'], f);
    assert.equal(o.tls, false);
    assert.equal(o.tlsConfig, undefined);
  });

  it('requires a certificate and a key for flag TLS', () => {
    assert.throws(() => run(['--tls']), (e: unknown) => e instanceof CliError && e.message === 'TLS Server certificate must be present and valid');
    assert.throws(() => run(['--tlsverify', '--tlscert', 'x']), (e: unknown) => e instanceof CliError && e.message === 'TLS Server private key must be present and valid');
  });
});

describe('mergeFlagsForReload (MergeOptions + applyBoolFlags)', () => {
  it('re-applies the fields MergeOptions knows and the explicit booleans', () => {
    const parsed = parseFlags(['-p', '4333', '-D', '-T=false', '--user', 'u', '--routes', 'nats://r:1', '--cluster', 'nats://h:6333']);
    const file = defaultOptions();
    file.port = 1;
    file.logtime = true;
    const o = mergeFlagsForReload(file, parsed);
    assert.equal(o.port, 4333);
    assert.equal(o.debug, true);
    assert.equal(o.logtime, false);
    assert.equal(o.username, 'u');
    assert.deepEqual(o.routes, ['nats://r:1']);
  });

  it('keeps the file value for flags MergeOptions ignores (reference quirk)', () => {
    const parsed = parseFlags(['-n', 'from-flag', '-ms', '9443', '--cluster', 'nats://h:6333', '-js']);
    const file = defaultOptions();
    file.serverName = 'from-file';
    const o = mergeFlagsForReload(file, parsed);
    assert.equal(o.serverName, 'from-file');
    assert.equal(o.httpsPort, 0);
    assert.equal(o.cluster.port, 0);
    assert.equal(o.jetstream, false);
  });

  it('leaves booleans that were not given to the file', () => {
    const file = defaultOptions();
    file.logtime = false;
    file.debug = true;
    const o = mergeFlagsForReload(file, parseFlags(['-p', '1']));
    assert.equal(o.logtime, false);
    assert.equal(o.debug, true);
  });
});
