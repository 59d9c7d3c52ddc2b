import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurationError, formatGoDuration, parseGoDuration } from '../../../src/config/duration.js';

test('parses Go duration strings to nanoseconds', () => {
  const cases: [string, bigint][] = [
    ['0', 0n],
    ['2s', 2_000_000_000n],
    ['1m30s', 90_000_000_000n],
    ['100ms', 100_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['-1s', -1_000_000_000n],
    ['+3us', 3_000n],
    ['3µs', 3_000n],
    ['7ns', 7n],
    ['.5s', 500_000_000n],
    ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
  ];
  for (const [s, ns] of cases) assert.equal(parseGoDuration(s), ns, s);
});

test('rejects what Go rejects, with Go messages', () => {
  const cases: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['1', 'time: missing unit in duration "1"'],
    ['2x', 'time: unknown unit "x" in duration "2x"'],
    ['.s', 'time: invalid duration ".s"'],
    ['9999999999999999999h', 'time: invalid duration "9999999999999999999h"'],
  ];
  for (const [s, msg] of cases) {
    assert.throws(() => parseGoDuration(s), (e: unknown) => e instanceof DurationError && e.message === msg, s);
  }
});

test('formats like Go Duration.String', () => {
  const cases: [bigint, string][] = [
    [0n, '0s'],
    [10_000_000_000n, '10s'],
    [90_000_000_000n, '1m30s'],
    [120_000_000_000n, '2m0s'],
    [3_600_000_000_000n, '1h0m0s'],
    [1_500_000_000n, '1.5s'],
    [100_000_000n, '100ms'],
    [1_500_000n, '1.5ms'],
    [3_000n, '3µs'],
    [7n, '7ns'],
    [-1_000_000_000n, '-1s'],
  ];
  for (const [ns, s] of cases) assert.equal(formatGoDuration(ns), s, s);
});
