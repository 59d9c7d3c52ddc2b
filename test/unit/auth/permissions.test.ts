// Unit tests of the permission rules (server/client.go semantics).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientPermissions,
  MAX_PERM_CACHE_SIZE,
  PermissionRules,
  normalizePermissions,
  splitSubjectQueue,
} from '../../../src/auth/permissions.js';

const perms = (p: ConstructorParameters<typeof PermissionRules>[0]) => new ClientPermissions(new PermissionRules(p));

describe('publish', () => {
  it('no publish rules: everything allowed, nothing cached', () => {
    const p = perms({ subscribe: { allow: ['x'] } });
    assert.equal(p.canPublish('anything'), true);
    assert.equal(p.cachedPublishDecisions, 0);
  });

  it('allow list with wildcards; deny wins over allow', () => {
    const p = perms({ publish: { allow: ['foo.*', 'bar.>'], deny: ['foo.secret', 'bar.x.>'] } });
    assert.equal(p.canPublish('foo.a'), true);
    assert.equal(p.canPublish('foo.a.b'), false);
    assert.equal(p.canPublish('foo.secret'), false);
    assert.equal(p.canPublish('bar.y.z'), true);
    assert.equal(p.canPublish('bar.x.y'), false);
    assert.equal(p.canPublish('baz'), false);
  });

  it('deny only: everything else allowed', () => {
    const p = perms({ publish: { deny: ['>'] } });
    assert.equal(p.canPublish('a'), false);
    const q = perms({ publish: { deny: ['a'] } });
    assert.equal(q.canPublish('b'), true);
    assert.equal(q.canPublish('a'), false);
  });

  it('an allow list that is present but empty allows nothing', () => {
    const p = perms({ publish: { allow: [] } });
    assert.equal(p.canPublish('a'), false);
  });

  it('the decision cache stays bounded', () => {
    const p = perms({ publish: { allow: ['s.*'] } });
    for (let i = 0; i < 1000; i++) assert.equal(p.canPublish(`s.${i}`), true);
    assert.ok(p.cachedPublishDecisions <= MAX_PERM_CACHE_SIZE, `cache size ${p.cachedPublishDecisions}`);
    assert.equal(p.canPublish('s.999'), true);
    assert.equal(p.canPublish('t.1'), false);
  });
});

describe('subscribe', () => {
  it('allow and deny with wildcards', () => {
    const p = perms({ subscribe: { allow: ['foo.*', 'bar.>'], deny: ['foo.secret'] } });
    assert.equal(p.canSubscribe('foo.a', null), true);
    assert.equal(p.canSubscribe('foo.secret', null), false);
    assert.equal(p.canSubscribe('bar.a.b', null), true);
    assert.equal(p.canSubscribe('baz', null), false);
  });

  it('reference quirk: a `*` rule also accepts a `>` token of the subscription', () => {
    const p = perms({ subscribe: { allow: ['foo.*'] } });
    assert.equal(p.canSubscribe('foo.>', null), true);
    assert.equal(p.canSubscribe('foo.*', null), true);
    assert.equal(p.canSubscribe('>', null), false);
  });

  it('"subject queue" entries: only that queue group; wildcard queue names', () => {
    const p = perms({ subscribe: { allow: ['jobs v1', 'work.* grp.*', 'both', 'both q'] } });
    assert.equal(p.canSubscribe('jobs', null), false);
    assert.equal(p.canSubscribe('jobs', 'v1'), true);
    assert.equal(p.canSubscribe('jobs', 'v2'), false);
    assert.equal(p.canSubscribe('work.a', 'grp.x'), true);
    assert.equal(p.canSubscribe('work.a', 'grp'), false);
    assert.equal(p.canSubscribe('both', null), true);
    assert.equal(p.canSubscribe('both', 'q'), true);
    assert.equal(p.canSubscribe('both', 'other'), false);
  });

  it('queue deny entries refuse only that group', () => {
    const p = perms({ subscribe: { deny: ['jobs bad'] } });
    assert.equal(p.canSubscribe('jobs', null), true);
    assert.equal(p.canSubscribe('jobs', 'good'), true);
    assert.equal(p.canSubscribe('jobs', 'bad'), false);
  });

  it('an empty subscribe allow list is no restriction', () => {
    const p = perms({ subscribe: { allow: [] } });
    assert.equal(p.canSubscribe('x', null), true);
  });

  it('a wildcard wider than a deny arms the delivery filter', () => {
    const p = perms({ subscribe: { deny: ['foo.bar', 'a.*.c'] } });
    assert.equal(p.canSubscribe('foo.bar', null), false);
    assert.equal(p.filtersDelivery, false);
    assert.equal(p.canSubscribe('unrelated.*', null), true);
    assert.equal(p.filtersDelivery, false, 'no overlap with a deny: no filter');
    assert.equal(p.canSubscribe('foo.*', null), true);
    assert.equal(p.filtersDelivery, true);
    assert.equal(p.deniesDelivery('foo.bar'), true);
    assert.equal(p.deniesDelivery('foo.baz'), false);
    assert.equal(p.deniesDelivery('a.b.c'), true);
    assert.equal(p.deniesDelivery('a.b.d'), false);
    p.resetDenyFilter();
    assert.equal(p.filtersDelivery, false);
  });
});

describe('allow_responses', () => {
  it('turns off the blanket publish allow and fills defaults', () => {
    const n = normalizePermissions({ response: { maxMsgs: 0, expiresMs: 0 } });
    assert.deepEqual(n.publish, { allow: [] });
    assert.deepEqual(n.response, { maxMsgs: 1, expiresMs: 120_000 });
    const kept = normalizePermissions({ publish: { allow: ['x'] }, response: { maxMsgs: 3, expiresMs: 10 } });
    assert.deepEqual(kept.publish, { allow: ['x'] });
  });

  it('a delivered reply subject may be answered max times', () => {
    const p = perms({ response: { maxMsgs: 2, expiresMs: 60_000 } });
    assert.equal(p.canPublish('_INBOX.1'), false);
    p.trackReply('_INBOX.1');
    assert.equal(p.canPublish('_INBOX.1'), true);
    assert.equal(p.canPublish('_INBOX.1'), true);
    assert.equal(p.canPublish('_INBOX.1'), false);
    assert.equal(p.grantedReplies, 0);
  });

  it('a grant expires', () => {
    const p = perms({ response: { maxMsgs: -1, expiresMs: 1000 } });
    p.trackReply('r');
    p.replies!.get('r')!.t -= 5000;
    assert.equal(p.canPublish('r'), false);
  });

  it('negative max: unlimited responses', () => {
    const p = perms({ response: { maxMsgs: -1, expiresMs: 60_000 } });
    p.trackReply('r');
    for (let i = 0; i < 10; i++) assert.equal(p.canPublish('r'), true);
  });

  it('statically allowed subjects still work alongside', () => {
    const p = perms({ publish: { allow: ['ok'] }, response: { maxMsgs: 1, expiresMs: 60_000 } });
    assert.equal(p.canPublish('ok'), true);
    assert.equal(p.canPublish('no'), false);
  });

  it('the tracked replies stay bounded under a flood of unanswered requests', () => {
    const p = perms({ response: { maxMsgs: 1, expiresMs: 3_600_000 } });
    for (let i = 0; i < 100_000; i++) p.trackReply(`inbox.${i}`);
    assert.ok(p.grantedReplies <= 64 * 1024 + 4096, `${p.grantedReplies} grants kept`);
    assert.equal(p.canPublish('inbox.99999'), true);
  });
});

describe('splitSubjectQueue', () => {
  it('splits on blanks, at most two fields', () => {
    assert.deepEqual(splitSubjectQueue('foo'), { subject: 'foo', queue: null });
    assert.deepEqual(splitSubjectQueue('  foo   q '), { subject: 'foo', queue: 'q' });
    assert.equal(splitSubjectQueue('a b c'), null);
  });

  it('a bad entry is reported and skipped', () => {
    const errors: string[] = [];
    const rules = new PermissionRules({ subscribe: { allow: ['a b c', 'ok'] } }, (m) => errors.push(m));
    assert.deepEqual(errors, ['invalid subject-queue "a b c"']);
    const p = new ClientPermissions(rules);
    assert.equal(p.canSubscribe('ok', null), true);
    assert.equal(p.canSubscribe('a', null), false);
  });
});
