import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  formatLogTimestamp,
  formatRFC3339,
  formatRFC3339Micro,
  formatRotationSuffix,
  formatStamp,
  formatStdLogTimestamp,
  goErrnoText,
  goParseURL,
  goPathError,
  goQuote,
  goSplitHostPort,
  localIsUtc,
  systemClock,
  tzifIsUtc,
} from '../../../src/logging/gofmt.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const savedTZ = process.env.TZ;
after(() => {
  if (savedTZ === undefined) delete process.env.TZ;
  else process.env.TZ = savedTZ;
});

// 2006-01-02T15:04:05.000007Z, Go's reference time, plus 7 µs
const REF_US = Date.UTC(2006, 0, 2, 15, 4, 5) * 1000 + 7;

describe('goQuote (strconv.Quote)', () => {
  it('quotes plain text', () => {
    assert.equal(goQuote('abc'), '"abc"');
    assert.equal(goQuote(''), '""');
  });
  it('escapes quotes, backslashes and C escapes', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('\x07\b\f\n\r\t\v'), '"\\a\\b\\f\\n\\r\\t\\v"');
  });
  it('escapes other control characters as \\x', () => {
    assert.equal(goQuote('\x00\x1b\x7f'), '"\\x00\\x1b\\x7f"');
  });
  it('keeps printable unicode and escapes non-printable runes', () => {
    assert.equal(goQuote('héllo 世界 😀'), '"héllo 世界 😀"');
    assert.equal(goQuote('\u00a0'), '"\\u00a0"');
    assert.equal(goQuote('\u200b'), '"\\u200b"');
  });
});

describe('time layouts', () => {
  it('formats the logger timestamp in UTC and local time', () => {
    assert.equal(formatLogTimestamp(REF_US, true), '2006/01/02 15:04:05.000007 ');
    process.env.TZ = 'Asia/Kolkata';
    assert.equal(formatLogTimestamp(REF_US), '2006/01/02 20:34:05.000007 ');
    process.env.TZ = 'UTC';
    assert.equal(formatLogTimestamp(REF_US), '2006/01/02 15:04:05.000007 ');
  });
  it('formats Go default logger time without microseconds', () => {
    assert.equal(formatStdLogTimestamp(REF_US, true), '2006/01/02 15:04:05 ');
  });
  it('formats RFC3339 with Z or a numeric offset', () => {
    process.env.TZ = 'UTC';
    assert.equal(formatRFC3339(REF_US), '2006-01-02T15:04:05Z');
    process.env.TZ = 'Asia/Kolkata';
    assert.equal(formatRFC3339(REF_US), '2006-01-02T20:34:05+05:30');
    process.env.TZ = 'America/New_York';
    assert.equal(formatRFC3339(REF_US), '2006-01-02T10:04:05-05:00');
    assert.equal(formatRFC3339Micro(REF_US), '2006-01-02T15:04:05.000007Z');
  });
  it('formats time.Stamp with a space padded day', () => {
    assert.equal(formatStamp(REF_US, true), 'Jan  2 15:04:05');
    assert.equal(formatStamp(Date.UTC(2020, 11, 25, 1, 2, 3) * 1000, true), 'Dec 25 01:02:03');
  });
  it('formats the rotation suffix with nanoseconds', () => {
    assert.equal(formatRotationSuffix(REF_US + 123_000, true), '.2006.01.02.15.04.05.123007000');
  });
  it('has a microsecond system clock close to Date.now()', () => {
    const us = systemClock();
    assert.ok(Number.isInteger(us));
    assert.ok(Math.abs(us / 1000 - Date.now()) < 50);
    assert.ok(systemClock() >= us);
  });
});

describe('Go error texts', () => {
  it('maps errno codes to Go strings', () => {
    assert.equal(goErrnoText(Object.assign(new Error('x'), { code: 'ENOENT' })), 'no such file or directory');
    assert.equal(goErrnoText(Object.assign(new Error('x'), { code: 'ESRCH' })), 'no such process');
    assert.equal(goErrnoText(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'connection refused');
    assert.equal(goErrnoText(new Error('odd')), 'odd');
  });
  it('formats a PathError', () => {
    assert.equal(goPathError('open', '/tmp', Object.assign(new Error(), { code: 'EISDIR' })), 'open /tmp: is a directory');
  });
});

describe('goParseURL', () => {
  it('parses scheme, userinfo, host and path', () => {
    assert.deepEqual(goParseURL('nats://u:p%40ss@127.0.0.1:6222/x'), {
      scheme: 'nats',
      opaque: '',
      user: { username: 'u', password: 'p@ss' },
      host: '127.0.0.1:6222',
      path: '/x',
    });
    assert.deepEqual(goParseURL('unix:///dev/log'), { scheme: 'unix', opaque: '', user: undefined, host: '', path: '/dev/log' });
    assert.equal((goParseURL('UDP://h:1') as { scheme: string }).scheme, 'udp');
  });
  it('keeps a user without password apart from an empty password', () => {
    assert.deepEqual((goParseURL('nats://u@h:1') as { user: unknown }).user, { username: 'u' });
    assert.deepEqual((goParseURL('nats://u:@h:1') as { user: unknown }).user, { username: 'u', password: '' });
  });
  it('treats scheme:opaque like Go', () => {
    assert.deepEqual(goParseURL('localhost:514'), { scheme: 'localhost', opaque: '514', host: '', path: '' });
  });
  it('reports the reference error texts', () => {
    assert.equal(goParseURL('127.0.0.1:514'), 'parse "127.0.0.1:514": first path segment in URL cannot contain colon');
    assert.equal(goParseURL(':x'), 'parse ":x": missing protocol scheme');
    assert.equal(goParseURL('nats://127.0.0.1:abc'), 'parse "nats://127.0.0.1:abc": invalid port ":abc" after host');
    assert.equal(goParseURL('nats://[::1]:x'), 'parse "nats://[::1]:x": invalid port ":x" after host');
    assert.equal(goParseURL('nats://u%zz:p@h:1'), 'parse "nats://u%zz:p@h:1": invalid URL escape "%zz"');
  });
});

describe('goSplitHostPort', () => {
  it('splits host and port', () => {
    assert.deepEqual(goSplitHostPort('127.0.0.1:514'), { host: '127.0.0.1', port: '514' });
    assert.deepEqual(goSplitHostPort('[::1]:514'), { host: '::1', port: '514' });
    assert.deepEqual(goSplitHostPort(':514'), { host: '', port: '514' });
  });
  it('reports the reference error texts', () => {
    assert.equal(goSplitHostPort('127.0.0.1'), 'address 127.0.0.1: missing port in address');
    assert.equal(goSplitHostPort(''), 'missing port in address');
    assert.equal(goSplitHostPort('::1:5'), 'address ::1:5: too many colons in address');
    assert.equal(goSplitHostPort('[::1]'), 'address [::1]: missing port in address');
    assert.equal(goSplitHostPort('[::1'), "address [::1: missing ']' in address");
  });
});

/** A TZif file (RFC 8536), version 2: `types` [utoff, isdst], `times` transitions to type 0 or 1, footer rule. */
function tzif(types: [number, number][], times: number[], footer: string, v1Empty = false): Buffer {
  const chars = Buffer.from('ZZZ\0', 'latin1');
  const header = (timecnt: number, typecnt: number): Buffer => {
    const h = Buffer.alloc(44);
    h.write('TZif2', 0, 'latin1');
    [0, 0, 0, timecnt, typecnt, chars.length].forEach((v, i) => h.writeUInt32BE(v, 20 + i * 4));
    return h;
  };
  const ttinfos = (ts: [number, number][]): Buffer =>
    Buffer.concat(ts.map(([off, dst]) => {
      const t = Buffer.alloc(6);
      t.writeInt32BE(off, 0);
      t[4] = dst;
      return t;
    }));
  // a "slim" file's version 1 block: one type, offset 0, whatever the zone
  const v1Types: [number, number][] = v1Empty ? [[0, 0]] : types;
  const v1Times = v1Empty ? [] : times;
  const v1 = Buffer.concat([
    header(v1Times.length, v1Types.length),
    Buffer.concat(v1Times.map((t) => { const b = Buffer.alloc(4); b.writeInt32BE(t, 0); return b; })),
    Buffer.from(v1Times.map((_, i) => i % types.length)),
    ttinfos(v1Types),
    chars,
  ]);
  const v2 = Buffer.concat([
    header(times.length, types.length),
    Buffer.concat(times.map((t) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(t), 0); return b; })),
    Buffer.from(times.map((_, i) => i % types.length)),
    ttinfos(types),
    chars,
  ]);
  return Buffer.concat([v1, v2, Buffer.from(`\n${footer}\n`, 'latin1')]);
}

describe('local time zone is UTC (without ICU)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tzif-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, b: Buffer): string => {
    const f = join(dir, name);
    writeFileSync(f, b);
    return f;
  };
  it('knows a UTC TZif file from zones with an offset, DST or transitions', () => {
    assert.equal(tzifIsUtc(file('utc', tzif([[0, 0]], [], 'UTC0'))), true);
    assert.equal(tzifIsUtc(file('utc-no-footer', tzif([[0, 0]], [], ''))), true);
    assert.equal(tzifIsUtc(file('tokyo', tzif([[32400, 0]], [], 'JST-9'))), false);
    assert.equal(tzifIsUtc(file('berlin-slim', tzif([[3600, 0], [7200, 1]], [-1000, 1000], 'CET-1CEST,M3.5.0,M10.5.0/3', true))), false);
    assert.equal(tzifIsUtc(file('dst-rule-only', tzif([[0, 0]], [], 'GMT0BST,M3.5.0/1,M10.5.0', true))), false);
    assert.equal(tzifIsUtc(file('v1-only', tzif([[0, 0]], [], 'UTC0').subarray(0, 44 + 6 + 4))), false);
    assert.equal(tzifIsUtc(file('garbage', Buffer.from('not a zone file'))), false);
    assert.equal(tzifIsUtc(join(dir, 'missing')), false);
  });
  it('agrees with the system zone files where there are some', () => {
    for (const [zone, utc] of [['Etc/UTC', true], ['UTC', true], ['Europe/Berlin', false], ['Asia/Kolkata', false], ['America/New_York', false]] as const) {
      const f = `/usr/share/zoneinfo/${zone}`;
      if (existsSync(f)) assert.equal(tzifIsUtc(f), utc, zone);
    }
  });
  it('follows TZ, and local timestamps are those of Date either way', () => {
    process.env.TZ = 'UTC';
    assert.equal(localIsUtc(), true);
    process.env.TZ = 'Europe/Berlin';
    assert.equal(localIsUtc(), false);
    assert.equal(formatLogTimestamp(REF_US), '2006/01/02 16:04:05.000007 ');
    delete process.env.TZ;
    const d = new Date(Math.floor(REF_US / 1000));
    const p = (n: number): string => String(n).padStart(2, '0');
    assert.equal(formatStdLogTimestamp(REF_US), `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `);
  });
});
