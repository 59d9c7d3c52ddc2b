import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_CACHE_SIZE, Sublist } from '../../../src/subjects/sublist.js';
import { TSub, modelShape, qsub, shape, snapshot, sub } from './helpers.js';

const variants: Array<[string, () => Sublist<TSub>]> = [
  ['cache', () => new Sublist<TSub>()],
  ['no cache', () => new Sublist<TSub>({ cacheSize: 0 })],
];

function ids(subs: TSub[]): number[] {
  return subs.map((s) => s.id).sort((a, b) => a - b);
}

for (const [name, make] of variants) {
  describe(`Sublist (${name})`, () => {
    it('starts empty', () => {
      const s = make();
      assert.equal(s.count(), 0);
      assert.equal(s.numLevels(), 0);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });
      const r = s.match('foo');
      assert.equal(r.psubs.length, 0);
      assert.equal(r.qsubs.length, 0);
    });

    it('counts inserts', () => {
      const s = make();
      for (const subj of ['foo', 'bar', 'foo.bar']) assert.equal(s.insert(sub(subj)), true);
      assert.equal(s.count(), 3);
    });

    it('matches a single-token literal', () => {
      const s = make();
      const a = sub('foo');
      s.insert(a);
      assert.deepEqual(s.match('foo').psubs, [a]);
      assert.equal(s.match('bar').psubs.length, 0);
      // from sublist_test.go (bug #18): a two-token publish does not match a one-token sub
      assert.equal(s.match('foo.bar').psubs.length, 0);
    });

    it('matches multi-token literals', () => {
      const s = make();
      const a = sub('foo.bar.baz');
      s.insert(a);
      assert.deepEqual(s.match('foo.bar.baz').psubs, [a]);
      assert.equal(s.match('foo.bar').psubs.length, 0);
      assert.equal(s.match('foo.bar.baz.qux').psubs.length, 0);
    });

    it('matches partial wildcards', () => {
      const s = make();
      const lsub = sub('a.b.c');
      const psub = sub('a.*.c');
      const endSub = sub('a.b.*');
      s.insert(lsub);
      s.insert(psub);
      s.insert(endSub);
      assert.deepEqual(ids([...s.match('a.b.c').psubs]), ids([lsub, psub, endSub]));
      assert.deepEqual(ids([...s.match('a.x.c').psubs]), ids([psub]));
      assert.deepEqual(ids([...s.match('a.b.x').psubs]), ids([endSub]));
      assert.equal(s.match('a.b').psubs.length, 0);
      assert.equal(s.match('a.b.c.d').psubs.length, 0);
    });

    it('matches full wildcards with one or more trailing tokens', () => {
      const s = make();
      const lsub = sub('a.b.c');
      const fsub = sub('a.>');
      const all = sub('>');
      s.insert(lsub);
      s.insert(fsub);
      s.insert(all);
      assert.deepEqual(ids([...s.match('a.b.c').psubs]), ids([lsub, fsub, all]));
      assert.deepEqual(ids([...s.match('a.b').psubs]), ids([fsub, all]));
      assert.deepEqual(ids([...s.match('a').psubs]), ids([all]));
      assert.deepEqual(ids([...s.match('b.c.d.e').psubs]), ids([all]));
    });

    it('matches mixed wildcards', () => {
      const s = make();
      const a = sub('*.b.>');
      const b = sub('*.*.c');
      const c = sub('a.*.>');
      s.insert(a);
      s.insert(b);
      s.insert(c);
      assert.deepEqual(ids([...s.match('a.b.c').psubs]), ids([a, b, c]));
      assert.deepEqual(ids([...s.match('x.b.c').psubs]), ids([a, b]));
      assert.deepEqual(ids([...s.match('a.x.y.z').psubs]), ids([c]));
      assert.equal(s.match('a.b').psubs.length, 0);
    });

    it('removes subscriptions', () => {
      const s = make();
      const a = sub('a.b.c.d');
      s.insert(a);
      assert.equal(s.count(), 1);
      assert.equal(s.remove(sub('a.b.c.d')), false, 'a different object is not present');
      assert.equal(s.count(), 1);
      assert.equal(s.match('a.b.c.d').psubs.length, 1);
      assert.equal(s.remove(a), true);
      assert.equal(s.count(), 0);
      assert.equal(s.match('a.b.c.d').psubs.length, 0);
      assert.equal(s.remove(a), false, 'second removal');
    });

    it('removes wildcard subscriptions', () => {
      const s = make();
      const a = sub('a.b.c.d');
      const p = sub('a.b.*.d');
      const f = sub('a.b.>');
      s.insert(a);
      s.insert(p);
      s.insert(f);
      assert.equal(s.match('a.b.c.d').psubs.length, 3);
      assert.equal(s.remove(p), true);
      assert.deepEqual(ids([...s.match('a.b.c.d').psubs]), ids([a, f]));
      assert.equal(s.remove(f), true);
      assert.deepEqual(s.match('a.b.c.d').psubs, [a]);
      assert.equal(s.remove(a), true);
      assert.equal(s.count(), 0);
      assert.equal(s.match('a.b.c.d').psubs.length, 0);
    });

    it('prunes the trie when the last subscription goes', () => {
      const s = make();
      const lit = sub('a.b.c.d.e.f');
      s.insert(lit);
      assert.equal(s.numLevels(), 6);
      s.remove(lit);
      assert.equal(s.numLevels(), 0);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });

      const wc = sub('a.b.*.d.e.>');
      s.insert(wc);
      assert.equal(s.numLevels(), 6);
      s.remove(wc);
      assert.equal(s.numLevels(), 0);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });
    });

    it('keeps shared prefixes while other subscriptions need them', () => {
      const s = make();
      const long = sub('a.b.c');
      const short = sub('a.b');
      const q = qsub('a.*', 'g');
      s.insert(long);
      s.insert(short);
      s.insert(q);
      // a, a.b, a.b.c, a.*
      assert.deepEqual(s.debugNodeCounts(), { nodes: 4, levels: 2 });
      s.remove(long);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 3, levels: 1 });
      assert.deepEqual(s.match('a.b').psubs, [short]);
      s.remove(short);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 2, levels: 1 });
      assert.equal(s.match('a.b').qsubs.length, 1);
      s.remove(q);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });
      assert.equal(s.count(), 0);
    });

    it('handles many plain subscriptions on one subject', () => {
      const s = make();
      for (let i = 0; i < 512; i++) s.insert(sub('foo'));
      const r = s.match('foo');
      assert.equal(r.psubs.length, 512);
      const victims = [r.psubs[256]!, r.psubs[0]!, r.psubs[511]!];
      for (const v of victims) assert.equal(s.remove(v), true);
      const r2 = s.match('foo');
      assert.equal(r2.psubs.length, 509);
      for (const v of victims) assert.equal(r2.psubs.includes(v), false);
      assert.equal(r.psubs.length, 512, 'the earlier result was not mutated');
    });

    it('rejects subjects the reference Insert rejects', () => {
      const s = make();
      for (const bad of ['', '.foo', 'foo.', 'foo..bar', 'foo.bar..baz', 'foo.>.bar', '>.>']) {
        assert.equal(s.insert(sub(bad)), false, bad);
        assert.equal(s.insert(qsub(bad, 'q')), false, `queue ${bad}`);
      }
      assert.equal(s.count(), 0);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });
      assert.equal(s.remove(sub('a.b..d')), false);
      assert.equal(s.remove(sub('a.>.b')), false);
    });

    it('treats wildcard characters inside tokens as text', () => {
      const s = make();
      for (const subject of ['foo.*-', 'foo.>-']) {
        const x = sub(subject);
        s.insert(x);
        assert.equal(s.match('foo.bar').psubs.length, 0);
        assert.deepEqual(s.match(subject).psubs, [x]);
        // removing an unrelated sub leaves it alone
        assert.equal(s.remove(sub('foo.bar')), false);
        assert.equal(s.remove(x), true);
      }
      assert.equal(s.count(), 0);
    });

    it('matches nothing for subjects with empty tokens, without caching them', () => {
      const s = make();
      s.insert(sub('>'));
      s.insert(qsub('>', 'queue'));
      for (const subj of ['', '.', '.foo', '..foo', 'foo..', 'foo.', 'foo..bar', 'foo...bar']) {
        const r = s.match(subj);
        assert.equal(r.psubs.length, 0, subj);
        assert.equal(r.qsubs.length, 0, subj);
        assert.equal(s.hasInterest(subj), false, subj);
      }
      assert.equal(s.cacheCount(), 0);
    });

    it('compares wildcard tokens of a published subject as literal text', () => {
      const s = make();
      const star = sub('foo.*');
      const gt = sub('foo.>');
      const lit = sub('foo.bar');
      s.insert(star);
      s.insert(gt);
      s.insert(lit);
      assert.deepEqual(ids([...s.match('foo.*').psubs]), ids([star, gt]));
      assert.deepEqual(ids([...s.match('foo.>').psubs]), ids([star, gt]));
      const later = sub('*.*');
      s.insert(later);
      assert.deepEqual(ids([...s.match('foo.*').psubs]), ids([star, gt, later]));
    });

    it('groups queue subscribers by queue name', () => {
      const s = make();
      const plain = sub('foo');
      const b1 = qsub('foo', 'bar');
      const z1 = qsub('foo', 'baz');
      s.insert(b1);
      let r = s.match('foo');
      assert.deepEqual(shape(r), { psubs: [], qsubs: { bar: [b1.id] } });
      s.insert(z1);
      s.insert(plain);
      r = s.match('foo');
      assert.deepEqual(shape(r), { psubs: [plain.id], qsubs: { bar: [b1.id], baz: [z1.id] } });
      const b2 = qsub('foo', 'bar');
      const z2 = qsub('foo', 'baz');
      s.insert(b2);
      s.insert(z2);
      r = s.match('foo');
      assert.deepEqual(shape(r), {
        psubs: [plain.id],
        qsubs: { bar: [b1.id, b2.id], baz: [z1.id, z2.id] },
      });
      s.remove(plain);
      s.remove(b1);
      r = s.match('foo');
      assert.deepEqual(shape(r), { psubs: [], qsubs: { bar: [b2.id], baz: [z1.id, z2.id] } });
      s.remove(b2);
      r = s.match('foo');
      assert.deepEqual(shape(r), { psubs: [], qsubs: { baz: [z1.id, z2.id] } });
      s.remove(z1);
      s.remove(z2);
      r = s.match('foo');
      assert.deepEqual(shape(r), { psubs: [], qsubs: {} });
      assert.equal(s.count(), 0);
    });

    it('merges one queue group across several matching nodes', () => {
      const s = make();
      const a = qsub('foo.bar', 'g');
      const b = qsub('foo.*', 'g');
      const c = qsub('>', 'g');
      const d = qsub('foo.>', 'h');
      for (const x of [a, b, c, d]) s.insert(x);
      assert.deepEqual(shape(s.match('foo.bar')), {
        psubs: [],
        qsubs: { g: [a.id, b.id, c.id], h: [d.id] },
      });
    });

    it('repeats weighted queue members, and updateRemoteQSub picks up a new weight', () => {
      const s = make();
      const local = qsub('foo', 'g');
      const remote = qsub('foo', 'g', 3);
      s.insert(local);
      s.insert(remote);
      assert.deepEqual(shape(s.match('foo')), { psubs: [], qsubs: { g: [local.id, remote.id, remote.id, remote.id].sort((x, y) => x - y) } });
      const gen = s.genid;
      remote.queueWeight = 1;
      s.updateRemoteQSub(remote);
      assert.ok(s.genid > gen);
      assert.deepEqual(shape(s.match('foo')), { psubs: [], qsubs: { g: [local.id, remote.id] } });
    });

    it('shares one empty result', () => {
      const s = make();
      const r1 = s.match('foo');
      const r2 = s.match('bar');
      assert.equal(r1, r2);
      assert.equal(r1.psubs.length + r1.qsubs.length, 0);
    });

    it('inserting the same object twice is a no-op', () => {
      const s = make();
      const a = sub('foo.*');
      assert.equal(s.insert(a), true);
      s.match('foo.bar');
      const gen = s.genid;
      assert.equal(s.insert(a), true);
      assert.equal(s.genid, gen);
      assert.equal(s.count(), 1);
      assert.deepEqual(s.match('foo.bar').psubs, [a]);
      const q = qsub('foo', 'g');
      s.insert(q);
      s.insert(q);
      assert.equal(s.count(), 2);
      assert.deepEqual(shape(s.match('foo')), { psubs: [], qsubs: { g: [q.id] } });
    });

    it('bumps genid on every change and only then', () => {
      const s = make();
      const g0 = s.genid;
      const a = sub('foo');
      s.insert(a);
      const g1 = s.genid;
      assert.ok(g1 > g0);
      s.match('foo');
      s.hasInterest('foo');
      assert.equal(s.genid, g1);
      assert.equal(s.insert(sub('foo..bar')), false);
      assert.equal(s.genid, g1);
      assert.equal(s.remove(sub('foo')), false);
      assert.equal(s.genid, g1);
      s.remove(a);
      assert.ok(s.genid > g1);
      const g2 = s.genid;
      s.removeBatch([]);
      assert.equal(s.genid, g2);
    });

    it('never mutates a result it handed out', () => {
      const s = make();
      const subs = [sub('a.b'), sub('a.*'), qsub('a.b', 'q'), qsub('>', 'q'), sub('>')];
      for (const x of subs.slice(0, 3)) s.insert(x);
      const r = s.match('a.b');
      const before = snapshot(r);
      s.insert(subs[3]!);
      s.insert(subs[4]!);
      const after = s.match('a.b');
      assert.notEqual(after, r);
      s.remove(subs[0]!);
      s.remove(subs[2]!);
      s.match('a.b');
      s.removeBatch(subs);
      s.match('a.b');
      assert.deepEqual(snapshot(r), before);
      assert.equal(s.count(), 0);
    });

    it('removeBatch removes everything given and skips strangers', () => {
      const s = make();
      const mine = [sub('a'), sub('a.*'), sub('a.>'), qsub('a.b', 'q'), qsub('*.b', 'q')];
      const other = [sub('a'), qsub('a.b', 'q'), sub('>')];
      for (const x of [...mine, ...other]) s.insert(x);
      s.match('a');
      s.match('a.b');
      s.removeBatch(new Set([...mine, sub('not.there')]));
      assert.equal(s.count(), other.length);
      assert.deepEqual(shape(s.match('a')), modelShape(other, 'a'));
      assert.deepEqual(shape(s.match('a.b')), modelShape(other, 'a.b'));
      s.removeBatch(other);
      assert.equal(s.count(), 0);
      assert.deepEqual(s.debugNodeCounts(), { nodes: 0, levels: 0 });
    });

    it('hasInterest agrees with match', () => {
      const s = make();
      const subs = [sub('a.b.c'), qsub('x.*', 'q'), sub('y.>'), sub('m.n')];
      for (const x of subs) s.insert(x);
      const subjects = ['a.b.c', 'a.b', 'a.b.c.d', 'x.1', 'x', 'x.1.2', 'y', 'y.1', 'y.1.2', 'm', 'm.n', 'z'];
      for (const subj of subjects) {
        const r = s.match(subj);
        assert.equal(s.hasInterest(subj), r.psubs.length + r.qsubs.length > 0, subj);
      }
      // also on a fresh sublist, i.e. without any cached results
      const fresh = make();
      for (const x of subs) fresh.insert(x);
      for (const subj of subjects) {
        assert.equal(fresh.hasInterest(subj), modelShape(subs, subj).psubs.length + Object.keys(modelShape(subs, subj).qsubs).length > 0, subj);
      }
    });

    it('all() lists every subscription', () => {
      const s = make();
      const subs = [sub('foo.bar.baz'), sub('foo'), sub('baz'), qsub('foo', 'q'), qsub('foo', 'r'), sub('*.>')];
      for (const x of subs) s.insert(x);
      assert.deepEqual(ids(s.all()), ids(subs));
      s.remove(subs[1]!);
      assert.deepEqual(ids(s.all()), ids(subs.filter((x) => x !== subs[1])));
    });

    it('reverseMatch follows sublist_test.go TestSublistReverseMatch', () => {
      const s = make();
      const foo = sub('foo');
      const bar = sub('bar');
      const fooBar = sub('foo.bar');
      const fooBaz = sub('foo.baz');
      const fooBarBaz = sub('foo.bar.baz');
      for (const x of [foo, bar, fooBar, fooBaz, fooBarBaz]) s.insert(x);
      const rm = (subj: string) => ids([...s.reverseMatch(subj).psubs]);
      assert.deepEqual(rm('foo'), ids([foo]));
      assert.deepEqual(rm('bar'), ids([bar]));
      assert.deepEqual(rm('*'), ids([foo, bar]));
      assert.deepEqual(rm('baz'), []);
      assert.deepEqual(rm('foo.*'), ids([fooBar, fooBaz]));
      assert.deepEqual(rm('*.*'), ids([fooBar, fooBaz]));
      assert.deepEqual(rm('*.bar'), ids([fooBar]));
      assert.deepEqual(rm('*.baz'), ids([fooBaz]));
      assert.deepEqual(rm('bar.*'), []);
      assert.deepEqual(rm('*.bat'), []);
      assert.deepEqual(rm('foo.>'), ids([fooBar, fooBaz, fooBarBaz]));
      assert.deepEqual(rm('>'), ids([foo, bar, fooBar, fooBaz, fooBarBaz]));
      // reference quirk: `*` descends into literal tokens only, `>` takes all
      const wc = sub('foo.*');
      s.insert(wc);
      assert.deepEqual(rm('foo.*'), ids([fooBar, fooBaz]));
      assert.deepEqual(rm('foo.>'), ids([fooBar, fooBaz, fooBarBaz, wc]));
      // ... and does not descend below a `*` node (sublist.go getAllNodes)
      const under = sub('foo.*.qux');
      s.insert(under);
      assert.deepEqual(rm('foo.>'), ids([fooBar, fooBaz, fooBarBaz, wc]));
      assert.deepEqual(rm('>').includes(under.id), false);
    });
  });
}

describe('Sublist cache', () => {
  it('keeps cached results right across literal and wildcard inserts/removes', () => {
    const s = new Sublist<TSub>();
    const lit = sub('a.b.c.d');
    const pwc = sub('a.b.*.d');
    const fwc = sub('a.b.>');
    s.insert(lit);
    assert.deepEqual(s.match('a.b.c.d').psubs, [lit]);
    s.insert(pwc);
    s.insert(fwc);
    assert.equal(s.count(), 3);
    assert.deepEqual(ids([...s.match('a.b.c.d').psubs]), ids([lit, pwc, fwc]));
    s.remove(lit);
    assert.deepEqual(ids([...s.match('a.b.c.d').psubs]), ids([pwc, fwc]));
    s.remove(fwc);
    assert.deepEqual(ids([...s.match('a.b.c.d').psubs]), ids([pwc]));
    s.remove(pwc);
    assert.equal(s.count(), 0);
    // every removal dropped the one entry it matched
    assert.equal(s.cacheCount(), 0);
    assert.equal(s.match('a.b.c.d').psubs.length, 0);
  });

  it('rebuilds cached results a new wildcard subscription matches, in trie-walk order', () => {
    const s = new Sublist<TSub>();
    const w = sub('foo.*');
    const l = sub('foo.bar');
    s.insert(w);
    s.insert(l);
    assert.equal(s.match('foo.baz').psubs.length, 1);
    assert.equal(s.match('foo.bar').psubs.length, 2);
    const statsBefore = s.stats();
    const f = sub('foo.>');
    s.insert(f);
    // walk order: `>` of a level first, then the literal, then `*`
    assert.deepEqual(ids([...s.match('foo.bar').psubs]), ids([f, l, w]));
    assert.deepEqual(ids([...s.match('foo.baz').psubs]), ids([f, w]));
    // both entries were dropped by the insert and rebuilt by these misses
    const after = s.stats();
    assert.equal(after.numMatches - statsBefore.numMatches, 2);
    assert.equal(after.numCache, 2);
    assert.equal(after.cacheHitRate, 0);
    // and are cached again
    s.match('foo.bar');
    assert.equal(s.stats().cacheHitRate, 1 / 5);
  });

  it('drops only the entries a removed subscription could match', () => {
    const s = new Sublist<TSub>();
    const w = sub('foo.*');
    s.insert(w);
    s.insert(sub('bar.baz'));
    s.match('foo.a');
    s.match('foo.b');
    s.match('bar.baz');
    assert.equal(s.cacheCount(), 3);
    s.remove(w);
    assert.equal(s.cacheCount(), 1);
    assert.equal(s.match('foo.a').psubs.length, 0);
  });

  it('stays within its bound', () => {
    const s = new Sublist<TSub>();
    s.insert(sub('>'));
    for (let i = 0; i < 2 * DEFAULT_CACHE_SIZE; i++) {
      assert.equal(s.match(`foo-${i}`).psubs.length, 1);
      assert.ok(s.cacheCount() <= DEFAULT_CACHE_SIZE);
    }
    const small = new Sublist<TSub>({ cacheSize: 4 });
    const x = sub('a.*');
    small.insert(x);
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(small.match(`a.${i % 7}`).psubs, [x]);
      assert.ok(small.cacheCount() <= 4);
    }
  });

  it('stops caching one-off subjects while thrashing, and resumes once hits return', () => {
    const s = new Sublist<TSub>();
    const all = sub('>');
    s.insert(all);
    const hits = (): number => Math.round(s.stats().cacheHitRate * s.stats().numMatches);
    const hot = 'hot.subject';
    s.match(hot);
    // A flood of unique subjects, more than the cache holds: caching every
    // one (and sweeping the oldest half) would evict `hot`.
    for (let i = 0; i < 1500; i++) assert.deepEqual(s.match(`u.${i}`).psubs, [all]);
    assert.ok(s.cacheCount() <= DEFAULT_CACHE_SIZE);
    let h = hits();
    assert.deepEqual(s.match(hot).psubs, [all]);
    assert.equal(hits(), h + 1, 'the hot subject is still cached');

    // Traffic turns mostly into hits: new subjects are cached again.
    for (let k = 0; k < 600; k++) {
      s.match(hot);
      s.match(hot);
      s.match(`v.${k}`);
    }
    for (let i = 0; i < 5; i++) {
      s.match(`w.${i}`);
      h = hits();
      assert.deepEqual(s.match(`w.${i}`).psubs, [all]);
      assert.equal(hits(), h + 1, `w.${i} was cached on its miss`);
    }
  });

  it('removeBatch with many wildcards stays correct', () => {
    const s = new Sublist<TSub>();
    const wild = Array.from({ length: 20 }, (_, i) => sub(`w.${i}.*`));
    const keep = sub('w.3.x');
    for (const x of [...wild, keep]) s.insert(x);
    for (let i = 0; i < 20; i++) s.match(`w.${i}.x`);
    s.removeBatch(wild);
    assert.equal(s.count(), 1);
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(s.match(`w.${i}.x`).psubs, i === 3 ? [keep] : [], `w.${i}.x`);
    }
  });

  it('rejects a bad cacheSize', () => {
    assert.throws(() => new Sublist<TSub>({ cacheSize: -1 }), RangeError);
    assert.throws(() => new Sublist<TSub>({ cacheSize: 1.5 }), RangeError);
    assert.equal(new Sublist<TSub>({ cacheSize: 0 }).cacheEnabled, false);
    assert.equal(new Sublist<TSub>().cacheEnabled, true);
  });
});

describe('Sublist stats', () => {
  it('reports the cache hit rate like sublist_test.go TestSublistAddCacheHitRate', () => {
    const s1 = new Sublist<TSub>();
    s1.insert(sub('foo'));
    for (let i = 0; i < 4; i++) s1.match('foo');
    assert.equal(s1.stats().cacheHitRate, 0.75);
    const s2 = new Sublist<TSub>();
    s2.insert(sub('bar'));
    for (let i = 0; i < 4; i++) s2.match('bar');
    assert.equal(s2.stats().cacheHitRate, 0.75);
    assert.equal(Sublist.aggregateStats([s1, s2]).cacheHitRate, 0.75);
  });

  it('reports counters and fanout over cached results', () => {
    const s = new Sublist<TSub>();
    const subs = [sub('foo'), sub('foo'), qsub('foo', 'a'), qsub('foo', 'a'), qsub('foo', 'b'), sub('bar')];
    for (const x of subs) s.insert(x);
    s.remove(subs[5]!);
    s.match('foo'); // fanout 2 plain + 2 groups = 4
    s.match('bar'); // 0
    s.match('foo');
    s.match('foo..x'); // invalid: counted, not cached
    assert.deepEqual(s.stats(), {
      numSubs: 5,
      numCache: 2,
      numInserts: 6,
      numRemoves: 1,
      numMatches: 4,
      cacheHitRate: 0.25,
      maxFanout: 4,
      avgFanout: 2,
    });
  });

  it('reports no cache and no fanout without a cache', () => {
    const s = new Sublist<TSub>({ cacheSize: 0 });
    for (const x of ['foo', 'bar', 'baz', 'foo.bar.baz']) s.insert(sub(x));
    s.match('a.b.c');
    s.match('bar');
    const st = s.stats();
    assert.equal(st.numCache, 0);
    assert.equal(st.numMatches, 2);
    assert.equal(st.cacheHitRate, 0);
    assert.equal(st.maxFanout, 0);
    assert.equal(st.avgFanout, 0);
  });

  it('aggregates several sublists like SublistStats.add', () => {
    const a = new Sublist<TSub>();
    const b = new Sublist<TSub>();
    a.insert(sub('x'));
    a.insert(sub('x'));
    b.insert(sub('y'));
    a.match('x'); // fanout 2
    b.match('y'); // fanout 1
    b.match('z'); // fanout 0
    b.match('y');
    assert.deepEqual(Sublist.aggregateStats([a, b]), {
      numSubs: 3,
      numCache: 3,
      numInserts: 3,
      numRemoves: 0,
      numMatches: 4,
      cacheHitRate: 0.25,
      maxFanout: 2,
      avgFanout: 1,
    });
    assert.deepEqual(Sublist.aggregateStats([]), {
      numSubs: 0,
      numCache: 0,
      numInserts: 0,
      numRemoves: 0,
      numMatches: 0,
      cacheHitRate: 0,
      maxFanout: 0,
      avgFanout: 0,
    });
  });
});

describe('Sublist.mayMatch', () => {
  it('is false only where match finds nothing', () => {
    const subjects = ['$SYS.REQ.SERVER.PING.CONNZ', '$SYS', '_INBOX.abc.*', 'foo.bar', 'foobar.x', 'a.b', 'b.c', 'c.>', 'd', 'e.f'];
    const pubs = ['$SYS', '$SYS.REQ.SERVER.PING.CONNZ', '$SYSX.REQ', '$SY', '_INBOX.abc.1', '_INBOXX.abc.1', 'foo', 'foo.bar', 'foob.x', 'foobar.x', 'c.d', 'c', 'd', 'd.e', 'e', 'zzz.y', '$JS.ACK.S.C.1.2.3.4.5'];
    // a root with up to four first tokens is scanned in place; more take the Map lookup
    for (const n of [3, 4, 5, subjects.length]) {
      const s = new Sublist<TSub>();
      for (const subj of subjects.slice(0, n)) s.insert(sub(subj));
      for (const p of pubs) {
        const r = s.match(p);
        if (r.psubs.length > 0 || r.qsubs.length > 0) assert.equal(s.mayMatch(p), true, `${n} subs, ${p}`);
        // the byte form, inside a larger buffer: never false where the string form says true
        const b = Buffer.from(`PUB ${p} 5`, 'latin1');
        if (s.mayMatch(p)) assert.equal(s.mayMatchAt(b, 4, 4 + p.length), true, `${n} subs, ${p} (bytes)`);
        if (n <= 4) assert.equal(s.mayMatchAt(b, 4, 4 + p.length), s.mayMatch(p), `${n} subs, ${p} (bytes, scanned)`);
      }
      assert.equal(s.mayMatch('zzz.y'), false);
      assert.equal(s.mayMatch('$SYSX.REQ'), false);
      assert.equal(s.mayMatch('$SY'), false);
    }
    const w = new Sublist<TSub>();
    w.insert(sub('*.x'));
    assert.equal(w.mayMatch('anything.x'), true);
  });
});
