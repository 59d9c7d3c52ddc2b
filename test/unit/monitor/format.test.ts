// Go formatting helpers: durations, uptimes, times and JSON escaping as the
// reference (Go 1.19) prints them; query decoding with Go's error texts.

import test from 'node:test';
import assert from 'node:assert/strict';
import { goDurationNs, goJSON, goRTT, goTime, myUptime, protoText } from '../../../src/monitor/gofmt.js';
import { BadRequest, ConnState, decodeState, parseGoInt, Query } from '../../../src/monitor/query.js';

test('goDurationNs matches time.Duration.String', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1ns'],
    [999, '999ns'],
    [1_500, '1.5µs'],
    [501_000, '501µs'],
    [1_618_595, '1.618595ms'],
    [2_000_000, '2ms'],
    [1e9, '1s'],
    [1.5e9, '1.5s'],
    [62.345e9, '1m2.345s'],
    [3600e9, '1h0m0s'],
    [3723.000000001e9, '1h2m3.000000001s'],
    [-2_000_000, '-2ms'],
  ];
  for (const [ns, want] of cases) assert.equal(goDurationNs(ns), want, `${ns}ns`);
});

test('goRTT truncates to microseconds below a millisecond', () => {
  assert.equal(goRTT(0), '0s');
  assert.equal(goRTT(0.5017), '501µs');
  assert.equal(goRTT(3), '3ms');
});

test('myUptime uses whole seconds with days and years', () => {
  assert.equal(myUptime(0), '0s');
  assert.equal(myUptime(999), '0s');
  assert.equal(myUptime(62_500), '1m2s');
  assert.equal(myUptime(3_600_000), '1h0m0s');
  assert.equal(myUptime((86400 + 3661) * 1000), '1d1h1m1s');
  assert.equal(myUptime((366 * 86400 + 1) * 1000), '1y1d0h0m1s');
});

test('goTime prints RFC 3339 with trimmed fractional seconds', () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 120);
  assert.equal(goTime(t, true), '2024-01-02T03:04:05.12Z');
  assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5), true), '2024-01-02T03:04:05Z');
  assert.equal(goTime(t + 0.002, true), '2024-01-02T03:04:05.120002Z');
  // local rendering carries the zone offset, or Z when it is zero
  const local = goTime(t, false);
  const off = -new Date(t).getTimezoneOffset();
  if (off === 0) assert.match(local, /Z$/);
  else assert.match(local, /[+-]\d\d:\d\d$/);
  assert.equal(new Date(local).getTime(), t);
});

test('goJSON escapes like encoding/json', () => {
  const s = goJSON({ a: '<b>&</b>', c: '\b\f\n', d: 'x\\by', e: '\u2028' }, 0);
  assert.equal(s, '{"a":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","c":"\\u0008\\u000c\\n","d":"x\\\\by","e":"\\u2028"}');
  assert.deepEqual(JSON.parse(s), { a: '<b>&</b>', c: '\b\f\n', d: 'x\\by', e: '\u2028' });
  assert.equal(goJSON({ a: [], b: {} }), '{\n  "a": [],\n  "b": {}\n}');
});

test('protoText shows latin1-held protocol bytes as UTF-8', () => {
  assert.equal(protoText(Buffer.from('grüße', 'utf8').toString('latin1')), 'grüße');
  assert.equal(protoText('plain'), 'plain');
});

test('Query follows url.ParseQuery and Values.Get', () => {
  const q = new Query('a=1&a=2&b=x+y&c=%41&bad=%zz&semi=1;2&=v&flag');
  assert.equal(q.get('a'), '1');
  assert.equal(q.get('b'), 'x y');
  assert.equal(q.get('c'), 'A');
  assert.equal(q.get('bad'), '');
  assert.equal(q.get('semi'), '');
  assert.equal(q.get(''), 'v');
  assert.equal(q.get('flag'), '');
  assert.equal(q.get('missing'), '');
});

test('decoders give the reference error texts', () => {
  const q = new Query('subs=maybe&limit=x&cid=-1&off=99999999999999999999&ok=T&state=bad');
  assert.throws(() => q.bool('subs'), {
    message: `Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax`,
  });
  assert.throws(() => q.int('limit'), { message: `Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax` });
  assert.throws(() => q.uint64('cid'), {
    message: `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`,
  });
  assert.throws(() => q.int('off'), { message: /value out of range$/ });
  assert.equal(q.bool('ok'), true);
  assert.throws(() => decodeState(q), (e: unknown) => e instanceof BadRequest && e.message === 'Error decoding state for bad');
  assert.equal(decodeState(new Query('state=ANY')), ConnState.All);
  assert.deepEqual(new Query('subs=Detail').subs(), { subs: false, detail: true });
  assert.equal(parseGoInt('+12', true), 12);
  assert.equal(parseGoInt('+12', false), 'invalid syntax');
  assert.equal(parseGoInt('-5', true), -5);
});
