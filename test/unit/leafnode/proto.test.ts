import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeLeafConnect,
  decodeLeafInfo,
  leafSubLine,
  leafUnsubKey,
  parseLeafMsgArgs,
  parseLeafSub,
  versionAtLeast,
  type LeafMsgArgs,
} from '../../../src/leafnode/proto.js';
import { parseLeafURL, RemoteLeaf } from '../../../src/leafnode/remote.js';
import { LeafPerms } from '../../../src/leafnode/perms.js';
import { planReload, ReloadError } from '../../../src/config/reload.js';
import { defaultOptions } from '../../../src/config/options.js';
import { defaultLeafnode } from '../../../src/config/features-conf.js';
import { validateOptions } from '../../../src/config/load.js';

function args(): LeafMsgArgs {
  return {
    paBuf: Buffer.alloc(0),
    paSubjStart: 0,
    paSubjEnd: 0,
    paReplyStart: 0,
    paReplyEnd: 0,
    paHdr: -1,
    paHdbStart: 0,
    paHdbEnd: 0,
    paSize: 0,
    paSzbStart: 0,
    paSzbEnd: 0,
    paQueues: new Int32Array(2),
    paNumQueues: 0,
  };
}

const text = (t: LeafMsgArgs, s: number, e: number) => t.paBuf.toString('latin1', s, e);

test('LMSG arguments: plain, with reply, with queues and the reply indicator', () => {
  const t = args();
  let b = Buffer.from('foo 5');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), null);
  assert.equal(text(t, t.paSubjStart, t.paSubjEnd), 'foo');
  assert.equal(t.paSize, 5);
  assert.equal(t.paReplyEnd - t.paReplyStart, 0);
  b = Buffer.from('foo bar 12');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), null);
  assert.equal(text(t, t.paReplyStart, t.paReplyEnd), 'bar');
  assert.equal(t.paSize, 12);
  b = Buffer.from('foo + rep q1 q2 q3 7');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), null);
  assert.equal(text(t, t.paReplyStart, t.paReplyEnd), 'rep');
  assert.equal(t.paNumQueues, 3);
  assert.equal(text(t, t.paQueues[4]!, t.paQueues[5]!), 'q3');
  b = Buffer.from('foo | q1 7');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), null);
  assert.equal(t.paReplyEnd - t.paReplyStart, 0);
  assert.equal(t.paNumQueues, 1);
  b = Buffer.from('foo x q1 7');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), "processLeafMsgArgs Bad or Missing Reply Indicator: 'x'");
  b = Buffer.from('foo');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), "processLeafMsgArgs Parse Error: '[foo]'");
  b = Buffer.from('foo bar');
  assert.equal(parseLeafMsgArgs(false, b, 0, b.length, t), "processLeafMsgArgs Bad or Missing Size: '[foo bar]'");
});

test('HMSG arguments from a leaf carry the header size before the total', () => {
  const t = args();
  let b = Buffer.from('foo 12 14');
  assert.equal(parseLeafMsgArgs(true, b, 0, b.length, t), null);
  assert.equal(t.paHdr, 12);
  assert.equal(t.paSize, 14);
  b = Buffer.from('foo + r q 12 14');
  assert.equal(parseLeafMsgArgs(true, b, 0, b.length, t), null);
  assert.equal(text(t, t.paReplyStart, t.paReplyEnd), 'r');
  assert.equal(t.paNumQueues, 1);
  b = Buffer.from('foo 15 14');
  assert.equal(parseLeafMsgArgs(true, b, 0, b.length, t), "processLeafHeaderMsgArgs Header Size larger then TotalSize: 'foo 15 14'");
});

test('LS+ / LS- arguments and lines', () => {
  assert.deepEqual(parseLeafSub('foo.>'), { subject: 'foo.>', queue: null, weight: 1, key: 'foo.>' });
  assert.deepEqual(parseLeafSub('foo q 3'), { subject: 'foo', queue: 'q', weight: 3, key: 'foo q' });
  assert.equal(parseLeafSub('a b'), "processLeafSub Parse Error: 'a b'");
  assert.equal(leafUnsubKey('foo  q'), 'foo q');
  assert.equal(leafSubLine('foo', 1), 'LS+ foo\r\n');
  assert.equal(leafSubLine('foo q', 4), 'LS+ foo q 4\r\n');
  assert.equal(leafSubLine('foo q', 0), 'LS- foo q\r\n');
});

test('leaf CONNECT and INFO decoding', () => {
  const c = decodeLeafConnect('{"version":"2.9.10","tls_required":false,"server_id":"X","name":"L","is_hub":true,"cluster":"C","headers":true,"deny_pub":["a.>"],"user":"u","pass":"p"}');
  assert.equal(c.name, 'L');
  assert.equal(c.hub, true);
  assert.deepEqual(c.denyPub, ['a.>']);
  assert.equal(c.user, 'u');
  assert.throws(() => decodeLeafConnect('{'));
  const i = decodeLeafInfo('{"server_id":"S","server_name":"H","client_id":4,"nonce":"n","leafnode_urls":["1.2.3.4:7422"],"connect_info":true,"remote_account":"A","import":{"allow":["x"]}}');
  assert.equal(i.cid, 4);
  assert.deepEqual(i.leafnodeUrls, ['1.2.3.4:7422']);
  assert.equal(i.connectInfo, true);
  assert.deepEqual(i.importPerms, { allow: ['x'], deny: undefined });
  assert.equal(decodeLeafInfo('{"server_id":"S"}').leafnodeUrls, null);
});

test('versions, URLs and the URL rotation of a remote', () => {
  assert.equal(versionAtLeast('2.9.10', 2, 8, 0), true);
  assert.equal(versionAtLeast('2.7.9', 2, 8, 0), false);
  assert.equal(versionAtLeast('', 2, 8, 0), false);
  const u = parseLeafURL('nats://us%40r:p%3As@h.example:7000');
  assert.deepEqual([u.user, u.pass, u.hostname, u.port], ['us@r', 'p:s', 'h.example', 7000]);
  assert.equal(parseLeafURL('nats-leaf://[::1]').port, 7422);
  const r = new RemoteLeaf({ urls: ['nats://a:1', 'nats://b:2'], account: '', credentials: '', hub: false, denyImports: [], denyExports: [], noRandomize: true });
  assert.equal(r.pickNextURL().hostname, 'a');
  assert.equal(r.pickNextURL().hostname, 'b');
  assert.equal(r.pickNextURL().hostname, 'a');
  r.updateURLs(['c:3', 'a:1']);
  assert.deepEqual(r.urls.map((x) => x.hostname), ['c', 'a', 'b']);
});

test('leaf permissions: deny lists, and wider wildcards than the allow list', () => {
  const p = new LeafPerms({ deny: ['secret.>'] }, { allow: ['foo.bar'] });
  assert.equal(p.canPublish('secret.x'), false);
  assert.equal(p.canPublish('open'), true);
  assert.equal(p.canSubscribe('foo.bar'), true);
  assert.equal(p.canSubscribe('foo.*'), true);
  assert.equal(p.canSubscribe('baz'), false);
  const q = p.withDenies(['x'], ['foo.*']);
  assert.equal(q.canPublish('x'), false);
  assert.equal(q.canSubscribe('foo.*'), false);
});

test('reload: leafnode TLS may change, anything else is refused with the reference text', () => {
  const a = defaultOptions();
  a.leafnode = { ...defaultLeafnode(), port: 7422 };
  const b = defaultOptions();
  b.leafnode = { ...defaultLeafnode(), port: 7422, tls: { timeoutMs: 2000, verify: false, verifyAndMap: false, insecure: false } };
  assert.ok(planReload(a, b).effects.has('tls'));
  const c = defaultOptions();
  c.leafnode = { ...defaultLeafnode(), port: 7422, advertise: 'h:1' };
  assert.throws(
    () => planReload(a, c),
    (e: unknown) =>
      e instanceof ReloadError &&
      e.message.startsWith('config reload not supported for LeafNode: old={0.0.0.0 7422    [] 2 <nil> 2 false map[]  false 1s []  <nil> 0 0 <nil>}, new={0.0.0.0 7422    [] 2 <nil> 2 false map[] h:1 false'),
  );
  const d = defaultOptions();
  d.leafnode = { ...defaultLeafnode(), port: -1 };
  assert.doesNotThrow(() => planReload(a, d));
  // server/reload.go leafRemotesChanged: the same remotes in another order are no change, another URL is
  const remote = (url: string, account = '') => ({ urls: [url], account, credentials: '', hub: false, denyImports: [], denyExports: [], noRandomize: false });
  const e = defaultOptions();
  e.leafnode = { ...defaultLeafnode(), remotes: [remote('nats://h:1'), remote('nats://h:2', 'A')] };
  const f = defaultOptions();
  f.leafnode = { ...defaultLeafnode(), remotes: [remote('nats://h:2', 'A'), remote('nats://h:1', '$G')] };
  assert.doesNotThrow(() => planReload(e, f));
  const g = defaultOptions();
  g.leafnode = { ...defaultLeafnode(), remotes: [remote('nats://h:2', 'A'), remote('nats://h:3')] };
  assert.throws(() => planReload(e, g), (x: unknown) => x instanceof ReloadError && x.message.startsWith('config reload not supported for LeafNode'));
});

test('validation of the leafnodes block (server/leafnode.go validateLeafNode)', () => {
  const o = defaultOptions();
  o.leafnode = { ...defaultLeafnode(), port: 7422, username: 'a', users: [{ username: 'b', password: '', account: '' }] };
  assert.deepEqual(validateOptions(o), ['can not have a single user/pass and a users array']);
  o.leafnode = { ...defaultLeafnode(), remotes: [{ urls: ['nats://h'], account: 'NOPE', credentials: '', hub: false, denyImports: [], denyExports: [], noRandomize: false }] };
  assert.deepEqual(validateOptions(o), ['cannot find local account "NOPE" specified in leafnode remote']);
  o.leafnode = { ...defaultLeafnode(), port: 7422, minVersion: '2.7.0' };
  assert.deepEqual(validateOptions(o), ['the minimum version should be at least 2.8.0']);
});
