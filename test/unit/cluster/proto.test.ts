// Route protocol argument parsing and encoding (src/cluster/proto.ts), with
// the forms and error texts of server/route.go in nats-server 2.9.10.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  decodePeerConnect,
  decodeRouteInfo,
  marshalInfo,
  parseRemoteSub,
  parseRemoteUnsub,
  parseRoutedArgs,
  routeConnectJSON,
  routeNonce,
  RoutedOp,
  subProto,
  type RoutedArgs,
} from '../../../src/cluster/proto.js';
import { randomBytes } from 'node:crypto';

function pa(): RoutedArgs {
  return {
    paBuf: Buffer.alloc(0),
    paOriginStart: 0,
    paOriginEnd: 0,
    paAccStart: 0,
    paAccEnd: 0,
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

interface Parsed {
  origin?: string;
  account: string;
  subject: string;
  reply?: string;
  queues: string[];
  hdr: number;
  size: number;
}

function parse(op: RoutedOp, line: string): Parsed | string {
  const buf = Buffer.from('xx' + line + 'yy', 'latin1');
  const p = pa();
  const err = parseRoutedArgs(op, buf, 2, 2 + line.length, p);
  if (err !== null) return err;
  const s = (a: number, b: number) => buf.toString('latin1', a, b);
  const out: Parsed = {
    account: s(p.paAccStart, p.paAccEnd),
    subject: s(p.paSubjStart, p.paSubjEnd),
    queues: [],
    hdr: p.paHdr,
    size: p.paSize,
  };
  if (p.paOriginEnd > p.paOriginStart) out.origin = s(p.paOriginStart, p.paOriginEnd);
  if (p.paReplyEnd > p.paReplyStart) out.reply = s(p.paReplyStart, p.paReplyEnd);
  for (let k = 0; k < p.paNumQueues; k++) out.queues.push(s(p.paQueues[2 * k], p.paQueues[2 * k + 1]));
  return out;
}

describe('RMSG arguments', () => {
  it('account, subject, size', () => {
    assert.deepEqual(parse(RoutedOp.RMSG, '$G foo.bar 11'), { account: '$G', subject: 'foo.bar', queues: [], hdr: -1, size: 11 });
  });

  it('with a reply', () => {
    assert.deepEqual(parse(RoutedOp.RMSG, '$G foo _INBOX.x 2'), {
      account: '$G',
      subject: 'foo',
      reply: '_INBOX.x',
      queues: [],
      hdr: -1,
      size: 2,
    });
  });

  it('"+ reply queues" and "| queues"', () => {
    assert.deepEqual(parse(RoutedOp.RMSG, '$G foo + r q1 q2 5'), {
      account: '$G',
      subject: 'foo',
      reply: 'r',
      queues: ['q1', 'q2'],
      hdr: -1,
      size: 5,
    });
    assert.deepEqual(parse(RoutedOp.RMSG, '$G foo | q1 0'), { account: '$G', subject: 'foo', queues: ['q1'], hdr: -1, size: 0 });
  });

  it('many queue names grow the offsets array', () => {
    const qs = Array.from({ length: 100 }, (_, i) => `q${i}`);
    const r = parse(RoutedOp.RMSG, `A s | ${qs.join(' ')} 3`);
    assert.ok(typeof r !== 'string');
    assert.deepEqual(r.queues, qs);
  });

  it('tabs and repeated blanks separate arguments', () => {
    const r = parse(RoutedOp.RMSG, 'A\t s  +  r\tq 7');
    assert.ok(typeof r !== 'string');
    assert.equal(r.reply, 'r');
    assert.deepEqual(r.queues, ['q']);
    assert.equal(r.size, 7);
  });

  it('errors carry the reference texts', () => {
    assert.equal(parse(RoutedOp.RMSG, '$G'), "processRoutedMsgArgs Parse Error: '[$G]'");
    assert.equal(parse(RoutedOp.RMSG, '$G foo x'), "processRoutedMsgArgs Bad or Missing Size: '[$G foo x]'");
    assert.equal(parse(RoutedOp.RMSG, '$G foo ? q 2'), "processRoutedMsgArgs Bad or Missing Reply Indicator: '?'");
    assert.equal(parse(RoutedOp.RMSG, '$G foo ++ q 2'), "processRoutedMsgArgs Bad or Missing Reply Indicator: '++'");
    assert.equal(parse(RoutedOp.RMSG, '$G foo 1234567890'), "processRoutedMsgArgs Bad or Missing Size: '[$G foo 1234567890]'");
  });
});

describe('HMSG and LMSG arguments', () => {
  it('HMSG: header and total size, optional reply and queues', () => {
    assert.deepEqual(parse(RoutedOp.HMSG, '$G foo 12 14'), { account: '$G', subject: 'foo', queues: [], hdr: 12, size: 14 });
    assert.deepEqual(parse(RoutedOp.HMSG, '$G foo r 12 14'), { account: '$G', subject: 'foo', reply: 'r', queues: [], hdr: 12, size: 14 });
    assert.deepEqual(parse(RoutedOp.HMSG, '$G foo + r g 12 14'), {
      account: '$G',
      subject: 'foo',
      reply: 'r',
      queues: ['g'],
      hdr: 12,
      size: 14,
    });
  });

  it('HMSG errors', () => {
    assert.equal(parse(RoutedOp.HMSG, '$G foo 12'), "processRoutedHeaderMsgArgs Parse Error: '[$G foo 12]'");
    assert.equal(parse(RoutedOp.HMSG, '$G foo x 14'), "processRoutedHeaderMsgArgs Bad or Missing Header Size: '$G foo x 14'");
    assert.equal(parse(RoutedOp.HMSG, '$G foo 20 14'), "processRoutedHeaderMsgArgs Header Size larger then TotalSize: '$G foo 20 14'");
  });

  it('LMSG: origin cluster first', () => {
    assert.deepEqual(parse(RoutedOp.LMSG, 'leaf1 $G foo 0 2'), { origin: 'leaf1', account: '$G', subject: 'foo', queues: [], hdr: 0, size: 2 });
    assert.deepEqual(parse(RoutedOp.LMSG, 'leaf1 $G foo | g h 0 2'), {
      origin: 'leaf1',
      account: '$G',
      subject: 'foo',
      queues: ['g', 'h'],
      hdr: 0,
      size: 2,
    });
    assert.equal(parse(RoutedOp.LMSG, 'o $G foo 2'), "processRoutedOriginClusterMsgArgs Parse Error: '[o $G foo 2]'");
  });
});

describe('RS+ / RS- / LS+', () => {
  it('plain interest: the key is the whole line', () => {
    assert.deepEqual(parseRemoteSub('$G foo.*', false), {
      origin: null,
      account: '$G',
      subject: 'foo.*',
      queue: null,
      weight: 0,
      key: '$G foo.*',
    });
  });

  it('queue interest: the key drops the weight', () => {
    assert.deepEqual(parseRemoteSub('$G foo bar 12', false), {
      origin: null,
      account: '$G',
      subject: 'foo',
      queue: 'bar',
      weight: 12,
      key: '$G foo bar',
    });
  });

  it('LS+ carries the origin, which the key leaves out', () => {
    const r = parseRemoteSub('leafc $G foo bar 3', true);
    assert.ok(typeof r !== 'string');
    assert.equal(r.origin, 'leafc');
    assert.equal(r.key, '$G foo bar');
    assert.equal(r.weight, 3);
  });

  it('wrong argument counts are errors', () => {
    assert.equal(parseRemoteSub('$G', false), "processRemoteSub Parse Error: '$G'");
    assert.equal(parseRemoteSub('$G foo q', false), "processRemoteSub Parse Error: '$G foo q'");
    assert.deepEqual(parseRemoteUnsub('$G foo q'), { account: '$G', subject: 'foo', queue: 'q' });
    assert.deepEqual(parseRemoteUnsub('$G foo'), { account: '$G', subject: 'foo', queue: null });
    assert.equal(typeof parseRemoteUnsub('$G'), 'string');
  });

  it('encodes RS+ with weights and RS- without', () => {
    assert.equal(subProto(true, '$G', 'foo', null, 1), 'RS+ $G foo\r\n');
    assert.equal(subProto(true, '$G', 'foo', 'q', 3), 'RS+ $G foo q 3\r\n');
    assert.equal(subProto(false, '$G', 'foo', 'q', 0), 'RS- $G foo q\r\n');
    assert.equal(subProto(false, 'ACC', 'a.>', null, 0), 'RS- ACC a.>\r\n');
  });
});

describe('CONNECT and INFO', () => {
  it('CONNECT has the reference field order; credentials and cluster_dynamic only when set', () => {
    assert.equal(
      routeConnectJSON({ user: 'u', pass: 'p', tlsRequired: false, headers: true, name: 'NID', cluster: 'c', dynamic: true }),
      '{"echo":true,"verbose":false,"pedantic":false,"user":"u","pass":"p","tls_required":false,"headers":true,"name":"NID","cluster":"c","cluster_dynamic":true,"lnoc":true}',
    );
    assert.equal(
      routeConnectJSON({ user: '', pass: '', tlsRequired: true, headers: true, name: 'NID', cluster: 'c', dynamic: false }),
      '{"echo":true,"verbose":false,"pedantic":false,"tls_required":true,"headers":true,"name":"NID","cluster":"c","lnoc":true}',
    );
  });

  it('peer CONNECT: keys case-insensitive, unknown keys ignored, wrong types refused', () => {
    const pc = decodePeerConnect('{"NAME":"x","cluster":"c","cluster_dynamic":true,"lnoc":true,"compression":"s2_fast","lang":"go"}');
    assert.equal(pc.name, 'x');
    assert.equal(pc.dynamic, true);
    assert.equal(pc.lang, 'go');
    assert.throws(() => decodePeerConnect('{"user":1}'), /cannot unmarshal number into Go struct field clientOpts.user of type string/);
    assert.throws(() => decodePeerConnect('{bad'));
  });

  it('INFO round trip keeps Go struct order and omits empty fields', () => {
    const text =
      '{"lnoc":true,"connect_urls":["1.2.3.4:4222"],"cluster":"c","server_id":"S","server_name":"n","version":"2.10.7","proto":1,"go":"go1.21","host":"h","port":6222,"headers":true,"max_payload":1048576,"route_pool_size":3,"compression":"accept","nonce":"abc"}';
    const info = decodeRouteInfo(text);
    assert.equal((info as unknown as Record<string, unknown>).route_pool_size, undefined);
    info.nonce = undefined;
    info.ip = 'nats-route://1.2.3.4:6222/';
    assert.equal(
      marshalInfo(info),
      '{"server_id":"S","server_name":"n","version":"2.10.7","proto":1,"go":"go1.21","host":"h","port":6222,"headers":true,"max_payload":1048576,"ip":"nats-route://1.2.3.4:6222/","cluster":"c","connect_urls":["1.2.3.4:4222"],"lnoc":true}',
    );
  });

  it('INFO with a wrong type is an error', () => {
    assert.throws(() => decodeRouteInfo('{"port":"x"}'), /cannot unmarshal string into Go struct field Info.port of type int/);
    assert.throws(() => decodeRouteInfo('[1]'), /cannot unmarshal array/);
  });

  it('permissions marshal as {allow,deny}', () => {
    const info = decodeRouteInfo('{"server_id":"S","import":{"allow":["a.>"]},"export":{"deny":["b"]}}');
    assert.match(marshalInfo(info), /"import":\{"allow":\["a\.>"\]\},"export":\{"deny":\["b"\]\}/);
  });

  it('nonce is 15 url-safe characters', () => {
    const n = routeNonce(randomBytes);
    assert.match(n, /^[A-Za-z0-9_-]{15}$/);
  });
});
