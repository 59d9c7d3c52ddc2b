// Differential tests of accounts: isolation, stream exports/imports (public,
// restricted, prefix and `to` renaming, wildcards) and service
// exports/imports (reply mapping through `_R_.` subjects, the
// Nats-Request-Info header, singleton and stream responses). Each scenario
// runs against tsnats and the reference with the same config file; what the
// clients saw must be equal once the generated reply subjects and RTT values
// are masked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differentialScenario } from '../helpers/diff.js';
import { connectLine, flush, hpub, pub, session } from '../helpers/proto.js';
import type { RawClient } from '../helpers/rawclient.js';

const CONFIG = `accounts {
  A: {
    users: [ { user: a, password: a } ]
    exports: [
      { stream: "events.>" }
      { stream: "private.>", accounts: [B] }
      { service: "svc.echo" }
      { service: "svc.stream", response_type: stream }
      { service: "svc.wild.*" }
      { service: "svc.only.b", accounts: [B] }
    ]
  }
  B: {
    users: [ { user: b, password: b } ]
    imports: [
      { stream: { account: A, subject: "events.>" }, prefix: "from_a" }
      { stream: { account: A, subject: "private.>" } }
      { service: { account: A, subject: "svc.echo" }, to: "echo" }
      { service: { account: A, subject: "svc.stream" } }
      { service: { account: A, subject: "svc.wild.*" } }
      { service: { account: A, subject: "svc.only.b" } }
    ]
  }
  C: {
    users: [ { user: c, password: c } ]
    imports: [ { stream: { account: A, subject: "events.x" }, to: "mine.x" } ]
  }
}
authorization { users: [ { user: g, password: g } ] }
`;

/** masks generated `_R_.` replies and RTT values, and the sizes that depend on them */
function mask(s: string): string {
  return s
    .replace(/_R_\.[0-9A-Za-z]{6}\.[0-9A-Za-z]{6}/g, '_R_.<reply>')
    .replace(/"rtt":\d+/g, '"rtt":<rtt>')
    .replace(/^(HMSG \S+ \S+(?: \S+)?) \d+ \d+\r$/gm, '$1 <hdr> <total>\r');
}

async function login(port: number, user: string, extra: Record<string, unknown> = {}): Promise<RawClient> {
  return session(port, connectLine({ verbose: false, pedantic: false, user, pass: user, ...extra }));
}

/**
 * Messages of one connection sorted: the reference keeps the subscriptions
 * of one subject in a Go map, so their delivery order varies run to run.
 */
function sorted(text: string): string[] {
  return text.split(/(?=^H?MSG )/m).filter((x) => x.length > 0).sort();
}

/** the reply subject of the first MSG/HMSG line in `text` */
function replyOf(text: string): string {
  const m = /^H?MSG \S+ \S+ (_R_\.\S+) /m.exec(text);
  assert.ok(m, `no reply subject in ${JSON.stringify(text)}`);
  return m[1]!;
}

describe('accounts: isolation', () => {
  it('subscribers of one account never see another account\'s messages; the global account is separate', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const b = await login(s.port, 'b');
        const g = await login(s.port, 'g');
        await flush(a, 'SUB foo 1\r\n');
        await flush(g, 'SUB foo 1\r\n');
        await flush(b, 'SUB foo 1\r\n');
        const b1 = await flush(b, pub('foo', 'from-b'));
        const g1 = await flush(g, pub('foo', 'from-g'));
        const out = { a: await flush(a), b: b1 + (await flush(b)), g: g1 + (await flush(g)) };
        for (const c of [a, b, g]) c.close();
        return out;
      },
      { config: CONFIG },
    );
    assert.deepEqual(ref, { a: '', b: 'MSG foo 1 6\r\nfrom-b\r\n', g: 'MSG foo 1 6\r\nfrom-g\r\n' });
  });
});

describe('accounts: stream imports', () => {
  it('a public stream import with a prefix, a `to` rename, and a restricted export', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const b = await login(s.port, 'b');
        const c = await login(s.port, 'c');
        await flush(b, 'SUB from_a.events.> 1\r\nSUB events.> 2\r\nSUB private.> 3\r\nSUB > 4\r\n');
        await flush(c, 'SUB mine.x 1\r\nSUB events.> 2\r\nSUB private.> 3\r\n');
        await flush(a, 'SUB events.> 9\r\n' + pub('events.x', 'e1') + pub('events.y.z', 'e2', 'reply.here') + pub('private.p', 'p1') + pub('other', 'o'));
        const out = { a: await flush(a), b: sorted(await flush(b)), c: await flush(c) };
        for (const x of [a, b, c]) x.close();
        return out;
      },
      { config: CONFIG },
    );
    assert.deepEqual(ref.b, [
      'MSG from_a.events.x 1 2\r\ne1\r\n',
      'MSG from_a.events.x 4 2\r\ne1\r\n',
      'MSG from_a.events.y.z 1 reply.here 2\r\ne2\r\n',
      'MSG from_a.events.y.z 4 reply.here 2\r\ne2\r\n',
      'MSG private.p 3 2\r\np1\r\n',
      'MSG private.p 4 2\r\np1\r\n',
    ]);
    assert.equal(ref.c, 'MSG mine.x 1 2\r\ne1\r\n');
  });

  it('a flood on exported subjects reaches only importers, never a non-importing account', async (t) => {
    const N = 500;
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const b = await login(s.port, 'b');
        const g = await login(s.port, 'g');
        await flush(g, 'SUB > 1\r\n');
        await flush(b, 'SUB from_a.> 1\r\n');
        let burst = '';
        for (let i = 0; i < N; i++) burst += pub(i % 2 === 0 ? 'events.flood' : 'private.flood', String(i));
        await flush(a, burst);
        const gotB = await flush(b);
        const gotG = await flush(g);
        for (const x of [a, b, g]) x.close();
        return { b: (gotB.match(/^MSG /gm) ?? []).length, g: gotG };
      },
      { config: CONFIG },
    );
    assert.deepEqual(ref, { b: N / 2, g: '' });
  });
});

describe('accounts: service imports', () => {
  async function request(
    port: number,
    opts: { subject: string; responderSubject: string; responses: string[]; responderHeaders?: boolean; hpub?: boolean },
  ) {
    const a = await login(port, 'a', opts.responderHeaders ? { headers: true } : {});
    const b = await login(port, 'b', { headers: true });
    await flush(a, `SUB ${opts.responderSubject} 1\r\n`);
    await flush(b, 'SUB inbox.> 7\r\n');
    const req = opts.hpub ? hpub(opts.subject, 'NATS/1.0\r\nX-Id: 1\r\n\r\n', 'ping', 'inbox.1') : pub(opts.subject, 'ping', 'inbox.1');
    await flush(b, req);
    const got = await flush(a);
    let answered = '';
    if (opts.responses.length > 0) {
      const reply = replyOf(got);
      answered = await flush(a, opts.responses.map((r) => pub(reply, r)).join(''));
    }
    const back = await flush(b);
    a.close();
    b.close();
    return { responder: mask(got), answered, requester: back };
  }

  it('a request crosses to the exporter with an _R_ reply and the response comes back on the requester\'s reply', async (t) => {
    const { ref } = await differentialScenario(t, (s) => request(s.port, { subject: 'echo', responderSubject: 'svc.echo', responses: ['pong'] }), {
      config: CONFIG,
    });
    assert.equal(ref.responder, 'MSG svc.echo 1 _R_.<reply> 4\r\nping\r\n');
    assert.equal(ref.requester, 'MSG inbox.1 7 4\r\npong\r\n');
  });

  it('a responder with headers sees Nats-Request-Info naming the requesting account', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => request(s.port, { subject: 'echo', responderSubject: 'svc.echo', responses: ['pong'], responderHeaders: true }),
      { config: CONFIG },
    );
    assert.equal(ref.responder, 'HMSG svc.echo 1 _R_.<reply> <hdr> <total>\r\nNATS/1.0\r\nNats-Request-Info: {"acc":"B","rtt":<rtt>}\r\n\r\nping\r\n');
  });

  it('the requester\'s own headers are kept and the info header appended', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => request(s.port, { subject: 'echo', responderSubject: 'svc.echo', responses: [], responderHeaders: true, hpub: true }),
      { config: CONFIG },
    );
    assert.equal(
      ref.responder,
      'HMSG svc.echo 1 _R_.<reply> <hdr> <total>\r\nNATS/1.0\r\nX-Id: 1\r\nNats-Request-Info: {"acc":"B","rtt":<rtt>}\r\n\r\nping\r\n',
    );
  });

  it('singleton: only the first response is routed back', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => request(s.port, { subject: 'echo', responderSubject: 'svc.echo', responses: ['r1', 'r2', 'r3'] }),
      { config: CONFIG },
    );
    assert.equal(ref.requester, 'MSG inbox.1 7 2\r\nr1\r\n');
  });

  it('response_type stream: every response is routed back', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => request(s.port, { subject: 'svc.stream', responderSubject: 'svc.stream', responses: ['r1', 'r2', 'r3'] }),
      { config: CONFIG },
    );
    assert.equal(ref.requester, 'MSG inbox.1 7 2\r\nr1\r\nMSG inbox.1 7 2\r\nr2\r\nMSG inbox.1 7 2\r\nr3\r\n');
  });

  it('a wildcard service import keeps the published subject', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => request(s.port, { subject: 'svc.wild.abc', responderSubject: 'svc.wild.*', responses: ['ok'] }),
      { config: CONFIG },
    );
    assert.equal(ref.responder, 'MSG svc.wild.abc 1 _R_.<reply> 4\r\nping\r\n');
    assert.equal(ref.requester, 'MSG inbox.1 7 2\r\nok\r\n');
  });

  it('a request without a reply is delivered without one', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const b = await login(s.port, 'b');
        await flush(a, 'SUB svc.echo 1\r\n');
        await flush(b, pub('echo', 'fire'));
        const got = await flush(a);
        a.close();
        b.close();
        return got;
      },
      { config: CONFIG },
    );
    assert.equal(ref, 'MSG svc.echo 1 4\r\nfire\r\n');
  });

  it('no responder in the exporting account: nothing comes back (the import counts as interest)', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const b = await login(s.port, 'b', { headers: true, no_responders: true });
        const got = await flush(b, 'SUB inbox.> 7\r\n' + pub('echo', 'x', 'inbox.1'));
        b.close();
        return got;
      },
      { config: CONFIG },
    );
    assert.equal(ref, '');
  });

  it('the responder cannot publish into the importer directly, only through the mapped reply', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const b = await login(s.port, 'b');
        await flush(b, 'SUB inbox.> 7\r\n');
        await flush(a, pub('inbox.1', 'direct') + pub('_R_.abcdef.ghijkl', 'guess'));
        const got = await flush(b);
        a.close();
        b.close();
        return got;
      },
      { config: CONFIG },
    );
    assert.equal(ref, '');
  });
});

describe('accounts: system account', () => {
  it('only a system account with users: anonymous clients still connect (into $G)', async (t) => {
    const config = 'accounts { SYS: { users: [ { user: sys, password: sys } ] } }\nsystem_account: SYS\n';
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const anon = await session(s.port, connectLine({ verbose: false }));
        const sys = await login(s.port, 'sys');
        await flush(anon, 'SUB x 1\r\n');
        await flush(sys, pub('x', 'sys'));
        const out = { anon: await flush(anon, pub('x', 'anon')) };
        anon.close();
        sys.close();
        return out;
      },
      { config },
    );
    assert.deepEqual(ref, { anon: 'MSG x 1 4\r\nanon\r\n' });
  });
});



describe('accounts: subject mappings', () => {
  const config = `mappings {
  "orders.*": "o.$1"
  "plain": "p2"
  "swap.*.*": "s.{{wildcard(2)}}.{{wildcard(1)}}"
  "all": [ { dest: "all.one", weight: 100 } ]
}
accounts {
  A: { users: [ { user: a, password: a, permissions: { publish: ["in.>", "mapped.>", "secret"] } } ], mappings: { "in.*": "mapped.$1", "secret": "denied" } }
}
authorization { users: [ { user: g, password: g } ] }
`;

  it('a publish is delivered on the mapped subject; unmapped subjects are left alone', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const g = await login(s.port, 'g');
        const got = await flush(
          g,
          'SUB > 1\r\n' + pub('orders.42', 'a') + pub('plain', 'b') + pub('swap.x.y', 'c', 'r.1') + pub('all', 'd') + pub('orders.1.2', 'e'),
        );
        g.close();
        return got;
      },
      { config },
    );
    assert.equal(
      ref,
      'MSG o.42 1 1\r\na\r\nMSG p2 1 1\r\nb\r\nMSG s.y.x 1 r.1 1\r\nc\r\nMSG all.one 1 1\r\nd\r\nMSG orders.1.2 1 1\r\ne\r\n',
    );
  });

  it('account mappings, and permissions apply to the mapped subject', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a');
        const got = await flush(a, 'SUB > 1\r\n' + pub('in.x', '1') + pub('secret', '2'));
        a.close();
        return got;
      },
      { config },
    );
    assert.equal(ref, `MSG mapped.x 1 1\r\n1\r\n-ERR 'Permissions Violation for Publish to "denied"'\r\n`);
  });
});

describe('accounts: service import sharing', () => {
  const config = `accounts {
  A: { users: [ { user: a, password: a } ], exports: [ { service: "shared" } ] }
  B: { users: [ { user: b, password: b } ], imports: [ { service: { account: A, subject: "shared" }, share: true } ] }
}
`;

  it('share: true sends the requester\'s details in Nats-Request-Info', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, 'a', { headers: true });
        const b = await session(s.port, connectLine({ verbose: false, pedantic: false, user: 'b', pass: 'b', name: 'req', lang: 'raw', version: '9.9' }));
        await flush(a, 'SUB shared 1\r\n');
        await flush(b, pub('shared', 'x', 'inbox.1'));
        const got = await flush(a);
        a.close();
        b.close();
        const m = /Nats-Request-Info: (\{.*\})\r\n/.exec(got);
        assert.ok(m, got);
        const info = JSON.parse(m[1]!) as Record<string, unknown>;
        return {
          keys: Object.keys(info),
          fixed: { acc: info.acc, user: info.user, name: info.name, lang: info.lang, ver: info.ver, kind: info.kind, client_type: info.client_type, host: info.host },
          startIsTime: typeof info.start === 'string' && !Number.isNaN(Date.parse(info.start)),
        };
      },
      { config },
    );
    assert.deepEqual(ref.fixed, { acc: 'B', user: 'b', name: 'req', lang: 'raw', ver: '9.9', kind: 'Client', client_type: 'nats', host: '127.0.0.1' });
  });
});
