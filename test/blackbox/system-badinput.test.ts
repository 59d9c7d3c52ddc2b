// Malformed requests to every $SYS subject the server serves: each gets the
// reference's error answer or none, no handler throws, and the server keeps
// answering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createInbox, headers } from '@nats-io/transport-node';
import { startServer, writeConfig } from '../helpers/servers.js';

const CONFIG = `
accounts {
  A { users [{user: a, password: a}] }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;

test('malformed $SYS requests never break the server', async () => {
  const srv = await startServer('tsnats', ['-c', writeConfig(CONFIG)]);
  try {
    const sys = await connect({ servers: srv.url, user: 'sys', pass: 'sys' });
    const a = await connect({ servers: srv.url, user: 'a', pass: 'a' });
    const id = (sys.info as { server_id: string }).server_id;
    const names = ['STATSZ', 'VARZ', 'CONNZ', 'SUBSZ', 'ROUTEZ', 'GATEWAYZ', 'LEAFZ', 'ACCOUNTZ', 'JSZ', 'HEALTHZ'];
    const subjects = [
      '$SYS.REQ.SERVER.PING',
      ...names.flatMap((n) => [`$SYS.REQ.SERVER.PING.${n}`, `$SYS.REQ.SERVER.${id}.${n}`]),
      ...['SUBSZ', 'CONNZ', 'LEAFZ', 'JSZ', 'INFO', 'CONNS', 'STATZ'].flatMap((n) => [`$SYS.REQ.ACCOUNT.A.${n}`, `$SYS.REQ.ACCOUNT.NOPE.${n}`]),
      '$SYS.REQ.ACCOUNT.PING.STATZ',
      '$SYS.REQ.ACCOUNT.NSUBS',
      '$SYS.REQ.USER.SYS.INFO',
      '$SYS.REQ.USER.INFO',
      `$SYS.SERVER.${id}.STATSZ`,
      '$SYS.SERVER.XYZ.STATSZ',
      '$SYS.SERVER.XYZ.SHUTDOWN',
      '$SYS.SERVER.ACCOUNT.A.CONNS',
      `$SYS._INBOX_.${id}`,
      '$SYS.LATENCY.M2.abcdefgh',
    ];
    const bodies = [
      '',
      '{',
      '}',
      '[',
      'null',
      'true',
      '-1',
      '1e999',
      '"\\ud800"',
      '{"limit":-99999999999999999999,"offset":1e308}',
      '{"sort":"cid","subscriptions":"x","state":99,"cid":18446744073709551616}',
      '{"acc":"A","subject":"","queue":"!!!"}',
      '{"acc":"A","subject":"foo.*","queue":"Zm9v"}',
      '{"account":"A","req_id":"_R_.x.y.T","m2":{"start":"bad","service":"x"}}',
      '{"server":{"id":5,"seq":"x"},"acc":"A"}',
      '{"server":{"id":"OTHER","seq":1},"statsz":{}}',
      '{"test":"foo..bar","subscriptions":true}',
      '{"accounts":["A",null,"NOPE"],"include_unused":true}',
      '{"tags":["x"],"cluster":"c","server_name":"","host":"","domain":"d"}',
      '['.repeat(20000),
      JSON.stringify({ limit: 1, nested: { a: [1, 2, { b: 'c' }] } }),
      randomBytes(512).toString('latin1'),
    ];
    let answers = 0;
    const inbox = createInbox();
    sys.subscribe(`${inbox}.>`, { callback: () => void answers++ });
    a.subscribe(`${inbox}.>`, { callback: () => void answers++ });
    let n = 0;
    for (const subject of subjects) {
      for (const body of bodies) {
        const h = headers();
        if (n % 3 === 0) h.set('Accept-Encoding', n % 2 === 0 ? 'gzip' : 'br');
        if (n % 5 === 0) h.set('Nats-Request-Info', '{not json');
        sys.publish(subject, body, { reply: `${inbox}.${n++}`, headers: h });
        if (subject.startsWith('$SYS.REQ.USER') || subject.includes('PING')) a.publish(subject, body, { reply: `${inbox}.${n++}` });
      }
      sys.publish(subject, '', {});
    }
    await sys.flush();
    await a.flush();
    const health = await sys.request(`$SYS.REQ.SERVER.${id}.HEALTHZ`, '', { timeout: 10_000 });
    assert.deepEqual((health.json() as { data: unknown }).data, { status: 'ok' });
    assert.ok(answers > 0);
    assert.equal(srv.proc.exitCode, null);
    assert.doesNotMatch(srv.stderr(), /internal subscription error|TypeError|RangeError|ReferenceError/);
    await sys.close();
    await a.close();
  } finally {
    await srv.stop();
  }
});
