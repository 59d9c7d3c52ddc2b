import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, ConfigError } from '../../../src/config/load.js';
import { defaultOptions, DEFAULT_JS_SYNC_INTERVAL_MS, type Options } from '../../../src/config/options.js';
import {
  resolveJetStreamConfig,
  prepareStoreDir,
  validateJetStreamOptions,
  systemAccountJetStreamError,
  type SystemProbe,
} from '../../../src/config/jetstream-conf.js';
import { validateOptions } from '../../../src/config/validate.js';
import { jetStreamFromClaims } from '../../../src/auth/jwt.js';
import { getHash } from '../../../src/server/node-hash.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-jsconf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function opts(text: string): Options {
  const p = join(dir, `c${++counter}.conf`);
  writeFileSync(p, text);
  return loadConfigFile(p).options;
}

function reasons(text: string): string[] {
  const p = join(dir, `c${++counter}.conf`);
  writeFileSync(p, text);
  try {
    loadConfigFile(p);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.errors.map((x) => x.reason);
  }
  assert.fail('expected a configuration error');
}

test('jetstream block: every option typed', () => {
  const o = opts(`jetstream {
    store_dir: "/data/js"
    max_memory_store: 1G
    max_file_store: "10G"
    domain: hub
    key: "s3cr3t"
    cipher: AES
    extension_hint: will_extend
    unique_tag: " AZ "
    max_outstanding_catchup: 64M
    sync_interval: "30s"
    limits { max_ack_pending: 100, max_ha_assets: 5, max_request_batch: 50, duplicate_window: "1m" }
  }\n`);
  assert.equal(o.jetstream, true);
  assert.equal(o.storeDir, '/data/js');
  // a bare 1G in a conf file is 10^9 (conf/lex.go), a string "1G" 2^30 (getStorageSize)
  assert.equal(o.jetstreamMaxMemory, 1e9);
  assert.equal(o.jetstreamMaxStore, 10 * 1024 ** 3);
  assert.equal(o.jetstreamDomain, 'hub');
  assert.equal(o.jetstreamKey, 's3cr3t');
  assert.equal(o.jetstreamCipher, 'aes');
  assert.equal(o.jetstreamExtHint, 'will_extend');
  assert.equal(o.jetstreamUniqueTag, 'az');
  assert.equal(o.jetstreamMaxCatchup, 64e6);
  assert.equal(o.jetstreamSyncInterval, 30_000);
  assert.deepEqual(o.jetstreamLimits, { maxAckPending: 100, maxHAAssets: 5, maxRequestBatch: 50, duplicateWindowMs: 60_000 });
});

test('jetstream defaults and short forms', () => {
  const d = defaultOptions();
  assert.equal(d.jetstream, false);
  assert.equal(d.jetstreamMaxMemory, -1);
  assert.equal(d.jetstreamMaxStore, -1);
  assert.equal(d.jetstreamSyncInterval, DEFAULT_JS_SYNC_INTERVAL_MS);
  assert.equal(opts('jetstream: enabled\n').jetstream, true);
  assert.equal(opts('jetstream: disabled\n').jetstream, false);
  assert.equal(opts('jetstream: true\n').jetstream, true);
  assert.equal(opts('jetstream { enabled: false, store_dir: "/x" }\n').jetstream, false);
  assert.equal(opts('store_dir: "/top"\njetstream: true\n').storeDir, '/top');
  assert.equal(opts('jetstream { sync_interval: always }\n').jetstreamSyncInterval, 'always');
  assert.equal(opts('jetstream { max_mem: 0 }\n').jetstreamMaxMemory, 0);
  assert.equal(opts('jetstream { cipher: chachapoly }\n').jetstreamCipher, 'chacha');
  assert.deepEqual(opts('default_js_domain: { A: "x" }\n').jsAccDefaultDomain, { A: 'x' });
});

test('jetstream block errors, as nats-server 2.9.10', () => {
  assert.deepEqual(reasons('jetstream: maybe'), ["Expected 'enabled' or 'disabled' for string value, got 'maybe'"]);
  assert.deepEqual(reasons('jetstream: 5'), ['Expected map, bool or string to define JetStream, got int64']);
  assert.deepEqual(reasons('jetstream { max_file: "1X" }'), ['max_file_store sizes defined as strings must end in K, M, G, T']);
  assert.deepEqual(reasons('jetstream { max_outstanding_catchup: true }'), ['max_outstanding_catchup must be int64 or string']);
  assert.deepEqual(reasons('jetstream { domain: 1 }'), ['interface conversion: interface {} is int64, not string']);
  assert.deepEqual(reasons('jetstream { cipher: "rot13" }'), ['Unknown cipher type: "rot13"']);
  assert.deepEqual(reasons('jetstream { limits: 1 }'), ['Expected a map to define JetStreamLimits, got int64']);
  assert.deepEqual(reasons('jetstream { limits { duplicate_window: "x" } }'), ['time: invalid duration "x"']);
  assert.deepEqual(reasons('jetstream { limits { foo: 1 } }'), ['unknown field "foo"']);
  assert.deepEqual(reasons('jetstream { sync_interval: "soon" }'), ['error parsing sync_interval: time: invalid duration "soon"']);
  assert.deepEqual(reasons('store_dir: "/a"\njetstream { store_dir: "/b" }'), ["Duplicate 'store_dir' configuration"]);
  // a repeated key is one map entry (the last): no duplicate
  assert.equal(opts('store_dir: "/a"\nstore_dir: "/b"\n').storeDir, '/b');
  assert.deepEqual(reasons('default_js_domain: 1'), ['error default_js_domain config: unsupported type int64']);
});

test('account jetstream: typed limits', () => {
  const o = opts(`accounts {
    A { jetstream: enabled }
    B { jetstream { max_mem: 1024, max_file: 2048, max_streams: 3, max_consumers: 4, max_ack_pending: 5,
                    mem_max_stream_bytes: 6, disk_max_stream_bytes: 7, max_bytes_required: true } }
    C { jetstream: disabled }
    D { }
  }\n`);
  const acc = (n: string) => o.accounts.find((a) => a.name === n)!;
  assert.deepEqual(acc('A').jetstream, {
    '': { maxMemory: -1, maxStore: -1, maxStreams: -1, maxConsumers: -1, maxAckPending: -1, memoryMaxStreamBytes: -1, storeMaxStreamBytes: -1, maxBytesRequired: false },
  });
  assert.deepEqual(acc('B').jetstream, {
    '': { maxMemory: 1024, maxStore: 2048, maxStreams: 3, maxConsumers: 4, maxAckPending: 5, memoryMaxStreamBytes: 6, storeMaxStreamBytes: 7, maxBytesRequired: true },
  });
  assert.equal(acc('C').jetstream, null);
  assert.equal(acc('D').jetstream, undefined);
  assert.deepEqual(reasons('accounts { A { jetstream: { max_mem: "1G" } } }'), ['Expected a parseable size for "max_mem", got 1G']);
  assert.deepEqual(reasons('accounts { A { jetstream: { max_bytes: 1 } } }'), ['Expected a parseable bool for "max_bytes", got 1']);
  assert.deepEqual(reasons('accounts { A { jetstream: sometimes } }'), ["Expected 'enabled' or 'disabled' for string value, got 'sometimes'"]);
});

test('account JWT limits: JetStream tiers', () => {
  assert.equal(jetStreamFromClaims({ conn: -1 }), null);
  assert.deepEqual(jetStreamFromClaims({ mem_storage: -1, disk_storage: 1000, streams: 10, consumer: -1 }), {
    '': { maxMemory: -1, maxStore: 1000, maxStreams: 10, maxConsumers: -1, maxAckPending: -1, memoryMaxStreamBytes: -1, storeMaxStreamBytes: -1, maxBytesRequired: false },
  });
  const tiered = jetStreamFromClaims({ tiered_limits: { R1: { disk_storage: 5, max_ack_pending: 9, max_bytes_required: true }, R3: { mem_storage: 0 } } });
  assert.deepEqual(Object.keys(tiered!), ['R1', 'R3']);
  assert.equal(tiered!.R1!.maxStore, 5);
  assert.equal(tiered!.R1!.maxAckPending, 9);
  assert.equal(tiered!.R1!.maxBytesRequired, true);
  // tiers present but none with storage: not enabled, even with untiered storage
  assert.equal(jetStreamFromClaims({ disk_storage: 1, tiered_limits: { R1: { streams: 1 } } }), null);
});

test('start-up validation texts', () => {
  const v = (text: string, extra: Partial<Options> = {}) => validateOptions({ ...opts(text), ...extra })[0];
  assert.equal(v('jetstream { domain: "a.b" }'), 'invalid domain name: may not contain ., * or >');
  assert.equal(v('jetstream { domain: "a b" }'), 'invalid domain name: derived "$JS.a b.API.>" is not a valid subject');
  assert.equal(v('jetstream: true\ncluster { port: -1 }'), 'jetstream cluster requires `server_name` to be set');
  assert.equal(v('jetstream: true\nserver_name: s\ncluster { port: -1 }'), 'jetstream cluster requires `cluster.name` to be set');
  assert.equal(v('jetstream { extension_hint: x }\nserver_name: s\ncluster { name: c, port: -1 }'), "expected 'no_extend' for string value, got 'x'");
  assert.equal(v('default_js_domain: { B: "x" }'), 'in non operator mode, `default_js_domain` references non existing account "B"');
  assert.equal(v('accounts { B { jetstream: enabled } }\ndefault_js_domain: { B: "x" }'), 'default_js_domain contains account name "B" with enabled JetStream');
  assert.equal(v('accounts { B {} }\ndefault_js_domain: { B: "a b" }'), 'default_js_domain contains account "B" with invalid domain name "a b"');
  assert.equal(v('accounts { B {} }\nsystem_account: B\ndefault_js_domain: { B: "x" }'), 'system account "B" can not be in default_js_domain');
  assert.equal(validateJetStreamOptions(opts('jetstream { domain: hub }')), undefined);
  assert.equal(systemAccountJetStreamError(opts('accounts { S { jetstream: enabled } }\nsystem_account: S\njetstream: true')), 'Not allowed to enable JetStream on the system account');
  assert.equal(systemAccountJetStreamError(opts('accounts { S { jetstream: enabled } }\nsystem_account: S')), undefined);
});

test('resolveJetStreamConfig: dynamic limits and store dir as the reference', () => {
  const probe: SystemProbe = { totalMemory: () => 1000, diskAvailable: () => 4001, tmpdir: () => join(dir, 'tmp') };
  let c = resolveJetStreamConfig({ ...defaultOptions(), jetstream: true, storeDir: join(dir, 'sd') }, probe);
  assert.deepEqual(c, { maxMemory: 750, maxStore: 3000, storeDir: join(dir, 'sd', 'jetstream'), domain: '', compressOk: false });
  assert.ok(existsSync(join(dir, 'sd', 'jetstream')), 'diskAvailable creates the directory');
  c = resolveJetStreamConfig({ ...defaultOptions(), jetstream: true }, probe);
  assert.equal(c.storeDir, join(dir, 'tmp', 'nats', 'jetstream'));
  c = resolveJetStreamConfig({ ...defaultOptions(), jetstreamMaxMemory: 0, jetstreamMaxStore: 7 }, probe);
  assert.equal(c.maxMemory, 0);
  assert.equal(c.maxStore, 7);
  // both given: no "nats" level under tmp
  c = resolveJetStreamConfig({ ...defaultOptions(), jetstreamMaxMemory: 5, jetstreamMaxStore: 7, jetstreamDomain: 'd' }, probe);
  assert.deepEqual(c, { maxMemory: 5, maxStore: 7, storeDir: join(dir, 'tmp', 'jetstream'), domain: 'd', compressOk: true });
  const unknown: SystemProbe = { totalMemory: () => 0, diskAvailable: () => null, tmpdir: () => join(dir, 'tmp') };
  c = resolveJetStreamConfig({ ...defaultOptions() }, unknown);
  assert.equal(c.maxMemory, 256 * 1024 * 1024);
  assert.equal(c.maxStore, 1024 ** 4);
});

test('prepareStoreDir: the reference start failures', () => {
  const f = join(dir, 'file');
  writeFileSync(f, 'x');
  assert.equal(prepareStoreDir(f), 'storage directory is not a directory');
  assert.equal(prepareStoreDir(join(f, 'jetstream')), 'storage directory is not a directory');
  assert.equal(prepareStoreDir('/proc/tsnats-no/jetstream'), 'could not create storage directory - mkdir /proc/tsnats-no: no such file or directory');
  const ok = join(dir, 'ok', 'jetstream');
  assert.equal(prepareStoreDir(ok), null);
  assert.ok(statSync(ok).isDirectory());
  assert.equal(prepareStoreDir(ok), null);
});

test('node hash: server/events.go getHash', () => {
  assert.equal(getHash('ND7CEMXEPUL5YWHQGHU7ISPU2EXEUSMZZIMS2NZBXYK2YAROVHHMT24S'), '0lICA3Kc');
  assert.equal(getHash('x').length, 8);
});
