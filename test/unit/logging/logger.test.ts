import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultOptions, type Options } from '../../../src/config/options.js';
import { LoggerError, createLogger, formatGoFatal, type LoggerDeps } from '../../../src/logging/logger.js';

const savedTZ = process.env.TZ;
before(() => {
  process.env.TZ = 'UTC';
});
after(() => {
  if (savedTZ === undefined) delete process.env.TZ;
  else process.env.TZ = savedTZ;
});

// 2023-04-05 06:07:08.000009 UTC, advancing 1 µs per reading
function fixedClock(start = Date.UTC(2023, 3, 5, 6, 7, 8) * 1000 + 9): () => number {
  let t = start;
  return () => t++;
}

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { write: (s: string) => void chunks.push(s), isTTY, text: () => chunks.join(''), chunks };
}

function opts(over: Partial<Options> = {}): Options {
  return { ...defaultOptions(), ...over };
}

function deps(stderr: ReturnType<typeof capture>, extra: Partial<LoggerDeps> = {}): LoggerDeps {
  return { clock: fixedClock(), pid: 4242, stderr, ...extra };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsnats-log-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('stderr lines', () => {
  it('prints [pid] timestamp label message, like logger/log.go', () => {
    const err = capture();
    const log = createLogger(opts(), deps(err));
    log.notice('Starting nats-server');
    log.warn('careful');
    log.error('broken');
    log.fatal('dead');
    assert.equal(
      err.text(),
      '[4242] 2023/04/05 06:07:08.000009 [INF] Starting nats-server\n' +
        '[4242] 2023/04/05 06:07:08.000010 [WRN] careful\n' +
        '[4242] 2023/04/05 06:07:08.000011 [ERR] broken\n' +
        '[4242] 2023/04/05 06:07:08.000012 [FTL] dead\n',
    );
  });

  it('keeps the pid and drops the time with logtime=false (-T=false)', () => {
    const err = capture();
    const log = createLogger(opts({ logtime: false }), deps(err));
    log.notice('hello');
    assert.equal(err.text(), '[4242] [INF] hello\n');
  });

  it('does not add a second newline', () => {
    const err = capture();
    const log = createLogger(opts({ logtime: false }), deps(err));
    log.notice('line\n');
    assert.equal(err.text(), '[4242] [INF] line\n');
  });

  it('uses local time unless logtimeUTC', () => {
    process.env.TZ = 'Asia/Kolkata';
    try {
      const a = capture();
      createLogger(opts(), deps(a)).notice('x');
      assert.equal(a.text(), '[4242] 2023/04/05 11:37:08.000009 [INF] x\n');
      const b = capture();
      createLogger(opts({ logtimeUTC: true }), deps(b)).notice('x');
      assert.equal(b.text(), '[4242] 2023/04/05 06:07:08.000009 [INF] x\n');
    } finally {
      process.env.TZ = 'UTC';
    }
  });

  it('rolls the seconds over correctly with the cached date prefix', () => {
    const err = capture();
    const log = createLogger(opts(), deps(err, { clock: fixedClock(Date.UTC(2023, 11, 31, 23, 59, 59) * 1000 + 999_999) }));
    log.notice('a');
    log.notice('b');
    assert.equal(err.text(), '[4242] 2023/12/31 23:59:59.999999 [INF] a\n[4242] 2024/01/01 00:00:00.000000 [INF] b\n');
  });

  it('colors labels on a terminal', () => {
    const err = capture(true);
    const log = createLogger(opts({ logtime: false, debug: true, trace: true }), deps(err));
    log.notice('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    log.debug('d');
    log.trace('t');
    assert.deepEqual(err.chunks, [
      '[4242] [\x1b[32mINF\x1b[0m] i\n',
      '[4242] [\x1b[0;93mWRN\x1b[0m] w\n',
      '[4242] [\x1b[31mERR\x1b[0m] e\n',
      '[4242] [\x1b[31mFTL\x1b[0m] f\n',
      '[4242] [\x1b[36mDBG\x1b[0m] d\n',
      '[4242] [\x1b[33mTRC\x1b[0m] t\n',
    ]);
  });

  it('gates debug and trace', () => {
    const err = capture();
    const quiet = createLogger(opts({ logtime: false }), deps(err));
    assert.equal(quiet.debugEnabled, false);
    assert.equal(quiet.traceEnabled, false);
    quiet.debug('d');
    quiet.trace('t');
    assert.equal(err.text(), '');
    const loud = createLogger(opts({ logtime: false, debug: true, trace: true }), deps(err));
    assert.equal(loud.debugEnabled, true);
    assert.equal(loud.traceEnabled, true);
    loud.debug('d');
    loud.trace('t');
    assert.equal(err.text(), '[4242] [DBG] d\n[4242] [TRC] t\n');
  });

  it('logs nothing with noLog', () => {
    const err = capture();
    const log = createLogger(opts({ noLog: true, debug: true }), deps(err));
    log.notice('x');
    log.debug('y');
    assert.equal(err.text(), '');
  });

  it('says a re-open is ignored when not logging to a file', () => {
    const err = capture();
    const log = createLogger(opts({ logtime: false }), deps(err));
    log.reopen();
    assert.equal(err.text(), '[4242] [INF] File log re-open ignored, not a file logger\n');
  });
});

describe('JSON lines', () => {
  it('writes one object per line with time, level, msg, pid', () => {
    const err = capture(true);
    const log = createLogger(opts({ logFormat: 'json', debug: true }), deps(err));
    log.notice('hello "world"');
    log.debug('d\n');
    const lines = err.text().split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(JSON.parse(lines[0]), { time: '2023-04-05T06:07:08.000009Z', level: 'info', msg: 'hello "world"', pid: 4242 });
    assert.deepEqual(JSON.parse(lines[1]), { time: '2023-04-05T06:07:08.000010Z', level: 'debug', msg: 'd', pid: 4242 });
    assert.equal(Object.keys(JSON.parse(lines[0])).join(','), 'time,level,msg,pid');
  });

  it('omits the time without logtime', () => {
    const err = capture();
    createLogger(opts({ logFormat: 'json', logtime: false }), deps(err)).warn('w');
    assert.equal(err.text(), '{"level":"warn","msg":"w","pid":4242}\n');
  });
});

describe('log file', () => {
  it('appends plain lines to the file, never to stderr', async () => {
    const file = join(dir, 'plain.log');
    writeFileSync(file, 'previous\n');
    const err = capture(true);
    const log = createLogger(opts({ logFile: file }), deps(err));
    log.notice('one');
    log.error('two');
    await log.close();
    log.notice('after close');
    assert.equal(
      readFileSync(file, 'utf8'),
      'previous\n[4242] 2023/04/05 06:07:08.000009 [INF] one\n[4242] 2023/04/05 06:07:08.000010 [ERR] two\n',
    );
    assert.equal(err.text(), '');
  });

  it('fails to open like the reference', () => {
    assert.throws(
      () => createLogger(opts({ logFile: join(dir, 'missing', 'x.log') }), deps(capture())),
      (e: unknown) =>
        e instanceof LoggerError &&
        e.code === 'LOG_FILE_OPEN' &&
        e.referenceText === `error opening file: open ${join(dir, 'missing', 'x.log')}: no such file or directory`,
    );
    assert.throws(
      () => createLogger(opts({ logFile: dir }), deps(capture())),
      (e: unknown) => e instanceof LoggerError && e.referenceText === `error opening file: open ${dir}: is a directory`,
    );
  });

  it('rotates past the size limit with the reference names and notice', async () => {
    const sub = join(dir, 'rot');
    mkdirSync(sub);
    const file = join(sub, 'nats.log');
    const log = createLogger(opts({ logFile: file, logSizeLimit: 400, logtime: false }), deps(capture()));
    // each line is "[4242] [INF] message NN xxx...\n" = 100 bytes
    const msg = (i: number) => `message ${String(i).padStart(2, '0')} ${'x'.repeat(75)}`;
    assert.equal(Buffer.byteLength(`[4242] [INF] ${msg(0)}\n`), 100);
    for (let i = 0; i < 10; i++) log.notice(msg(i));
    await log.close();
    const backups = readdirSync(sub)
      .filter((n) => n !== 'nats.log')
      .sort();
    assert.equal(backups.length, 2);
    for (const b of backups) assert.match(b, /^nats\.log\.2023\.04\.05\.06\.07\.08\.\d{9}$/);
    const notice = (b: string) => `[4242] [INF] Rotated log, backup saved as "${join(sub, b)}"\r\n`;
    const lines = (from: number, to: number) => {
      let s = '';
      for (let i = from; i <= to; i++) s += `[4242] [INF] ${msg(i)}\n`;
      return s;
    };
    // the rotation notice counts towards the next file's size, as in log.go
    const n = Buffer.byteLength(notice(backups[0]));
    assert.ok(n > 100 && n < 200, `notice is ${n} bytes`);
    // first file: 5 lines (500 > 400); second: notice + 3 lines; third: notice + 2 lines
    assert.equal(readFileSync(join(sub, backups[0]), 'utf8'), lines(0, 4));
    assert.equal(readFileSync(join(sub, backups[1]), 'utf8'), notice(backups[0]) + lines(5, 7));
    assert.equal(readFileSync(file, 'utf8'), notice(backups[1]) + lines(8, 9));
  });

  it('logs "Rotating logfile..." and rotates at once when the file is already too big', async () => {
    const sub = join(dir, 'big');
    mkdirSync(sub);
    const file = join(sub, 'nats.log');
    writeFileSync(file, 'z'.repeat(500));
    const log = createLogger(opts({ logFile: file, logSizeLimit: 300, logtime: false }), deps(capture()));
    log.notice('next');
    await log.close();
    const backups = readdirSync(sub).filter((n) => n !== 'nats.log');
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(join(sub, backups[0]), 'utf8'), 'z'.repeat(500) + '[4242] [INF] Rotating logfile...\n');
    assert.equal(
      readFileSync(file, 'utf8'),
      `[4242] [INF] Rotated log, backup saved as "${join(sub, backups[0])}"\r\n[4242] [INF] next\n`,
    );
  });

  it('keeps at most logMaxFiles files (the active one included)', async () => {
    const sub = join(dir, 'purge');
    mkdirSync(sub);
    const file = join(sub, 'nats.log');
    writeFileSync(join(sub, 'nats.log.unrelated'), 'keep me');
    let t = Date.UTC(2023, 3, 5, 6, 7, 8) * 1000;
    // a clock that moves 1 s per reading so every backup has its own name
    const clock = () => (t += 1_000_000);
    const log = createLogger(opts({ logFile: file, logSizeLimit: 10, logMaxFiles: 3, logtime: false }), deps(capture(), { clock }));
    for (let i = 0; i < 6; i++) log.notice(`message number ${i}`);
    await log.close();
    const backups = readdirSync(sub)
      .filter((n) => /^nats\.log\.\d{4}\./.test(n))
      .sort();
    assert.equal(backups.length, 2);
    assert.ok(readdirSync(sub).includes('nats.log.unrelated'));
    // the newest backups survive: the last one holds "message number 5"
    assert.match(readFileSync(join(sub, backups[1]), 'utf8'), /message number 5\n$/);
  });

  it('reopens the file after it was moved away (SIGUSR1)', async () => {
    const sub = join(dir, 'reopen');
    mkdirSync(sub);
    const file = join(sub, 'nats.log');
    const log = createLogger(opts({ logFile: file, logtime: false }), deps(capture()));
    log.notice('before');
    renameSync(file, file + '.old');
    log.notice('still old');
    log.reopen();
    log.notice('after');
    await log.close();
    assert.equal(readFileSync(file + '.old', 'utf8'), '[4242] [INF] before\n[4242] [INF] still old\n');
    assert.equal(readFileSync(file, 'utf8'), '[4242] [INF] File log re-opened\n[4242] [INF] after\n');
  });

  it('writes JSON lines to the file too', async () => {
    const file = join(dir, 'json.log');
    const log = createLogger(opts({ logFile: file, logFormat: 'json' }), deps(capture()));
    log.notice('x');
    await log.close();
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { time: '2023-04-05T06:07:08.000009Z', level: 'info', msg: 'x', pid: 4242 });
  });
});

describe('reconfigure', () => {
  it('switches from stderr to a file and updates debug/trace', async () => {
    const err = capture();
    const file = join(dir, 'reconf.log');
    const log = createLogger(opts({ logtime: false }), deps(err));
    log.debug('hidden');
    await log.reconfigure(opts({ logtime: false, logFile: file, debug: true }));
    assert.equal(log.debugEnabled, true);
    log.debug('shown');
    await log.close();
    assert.equal(err.text(), '');
    assert.equal(readFileSync(file, 'utf8'), '[4242] [DBG] shown\n');
  });
});

describe('formatGoFatal', () => {
  it('prints like Go log.Fatalf with the default logger', () => {
    assert.equal(
      formatGoFatal('error opening file: open /x: no such file or directory', fixedClock()),
      '2023/04/05 06:07:08 error opening file: open /x: no such file or directory\n',
    );
  });
});

describe('batch', () => {
  it('writes the lines logged inside it together, each formatted as on its own', () => {
    const one = capture();
    const plain = createLogger(opts(), deps(one));
    const batched = capture();
    const log = createLogger(opts(), deps(batched));
    for (let i = 0; i < 3; i++) plain.notice(`line ${i}`);
    plain.warn('after');
    const r = log.batch!(() => {
      for (let i = 0; i < 3; i++) log.notice(`line ${i}`);
      // nothing reaches stderr before the batch ends
      assert.equal(batched.chunks.length, 0);
      return 7;
    });
    assert.equal(r, 7);
    assert.equal(batched.chunks.length, 1);
    log.warn('after');
    assert.equal(batched.text(), one.text());
  });

  it('writes what it holds when the function throws, and nests', () => {
    const err = capture();
    const log = createLogger(opts({ logtime: false }), deps(err));
    assert.throws(() =>
      log.batch!(() => {
        log.notice('a');
        log.batch!(() => log.notice('b'));
        assert.equal(err.chunks.length, 0);
        throw new Error('boom');
      }),
    );
    assert.equal(err.text(), '[4242] [INF] a\n[4242] [INF] b\n');
  });

  it('rotates a log file at the same lines as unbatched writes', async () => {
    const sub = join(dir, 'rot-batch');
    mkdirSync(sub);
    const file = join(sub, 'nats.log');
    const log = createLogger(opts({ logFile: file, logSizeLimit: 400, logtime: false }), deps(capture()));
    const msg = (i: number) => `message ${String(i).padStart(2, '0')} ${'x'.repeat(75)}`;
    log.batch!(() => {
      for (let i = 0; i < 10; i++) log.notice(msg(i));
    });
    await log.close();
    const backups = readdirSync(sub)
      .filter((n) => n !== 'nats.log')
      .sort();
    assert.equal(backups.length, 2);
    const notice = (b: string) => `[4242] [INF] Rotated log, backup saved as "${join(sub, b)}"\r\n`;
    const lines = (from: number, to: number) => {
      let s = '';
      for (let i = from; i <= to; i++) s += `[4242] [INF] ${msg(i)}\n`;
      return s;
    };
    assert.equal(readFileSync(join(sub, backups[0]), 'utf8'), lines(0, 4));
    assert.equal(readFileSync(join(sub, backups[1]), 'utf8'), notice(backups[0]) + lines(5, 7));
    assert.equal(readFileSync(file, 'utf8'), notice(backups[1]) + lines(8, 9));
  });
});
