// decodeConnect against what nats-server 2.9.10 (Go 1.19 encoding/json into
// ClientOpts) does with the same CONNECT JSON: each expected error text is the
// reference's log line for that input, each expected value what its answers
// showed (test/differential/connect.test.ts checks both servers end to end).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectParseError, decodeConnect, defaultConnectOptions, type ConnectOptions } from '../../../src/protocol/connect.js';

function decode(json: string | Buffer, into: ConnectOptions = defaultConnectOptions()): { opts: ConnectOptions; err: string | null } {
  const b = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  try {
    decodeConnect(b, 0, b.length, into);
    return { opts: into, err: null };
  } catch (e) {
    assert.ok(e instanceof ConnectParseError);
    return { opts: into, err: e.message };
  }
}

const field = (f: string, type: string, v = 'number') => `json: cannot unmarshal ${v} into Go struct field ClientOpts.${f} of type ${type}`;

describe('type errors: text of the reference log', () => {
  const cases: [string, string][] = [
    ['{"verbose":"yes","verbose":true}', field('verbose', 'bool', 'string')],
    ['{"protocol":1.0,"verbose":false}', field('protocol', 'int', 'number 1.0')],
    ['{"protocol":1e0,"verbose":false}', field('protocol', 'int', 'number 1e0')],
    ['{"verbose":false,"protocol":1E0}', field('protocol', 'int', 'number 1E0')],
    ['{"protocol":1e100,"verbose":false}', field('protocol', 'int', 'number 1e100')],
    ['{"protocol":99999999999999999999,"verbose":false}', field('protocol', 'int', 'number 99999999999999999999')],
    ['{"protocol":9223372036854775808}', field('protocol', 'int', 'number 9223372036854775808')],
    ['{"protocol":-1.5,"verbose":false}', field('protocol', 'int', 'number -1.5')],
    ['{"verbose":1}', field('verbose', 'bool')],
    ['{"verbose":-1.5e3}', field('verbose', 'bool')],
    ['{"name":1}', field('name', 'string')],
    ['{"n\u212Aey":1,"verbose":false}', field('nkey', 'string')],
    ['{"name":true,"verbose":false}', field('name', 'string', 'bool')],
    ['{"name":{},"verbose":false}', field('name', 'string', 'object')],
    ['{"name":[],"verbose":false}', field('name', 'string', 'array')],
    ['{"protocol":"1","verbose":false}', field('protocol', 'int', 'string')],
    ['{"protocol":true,"verbose":false}', field('protocol', 'int', 'bool')],
    ['{"protocol":{"a":1},"verbose":false}', field('protocol', 'int', 'object')],
    ['{"protocol":[1],"verbose":false}', field('protocol', 'int', 'array')],
    ['{"verbose":false,"echo":"false"}', field('echo', 'bool', 'string')],
    ['{"verbose":false,"tls_required":0}', field('tls_required', 'bool')],
    ['{"verbose":false,"user":1,"pass":2}', field('user', 'string')],
    ['{"verbose":"a","protocol":1.5}', field('verbose', 'bool', 'string')],
    ['{"protocol":1.5,"verbose":"a"}', field('protocol', 'int', 'number 1.5')],
    ['{"verbose":false,"import":1}', field('import', 'server.SubjectPermission')],
    ['{"verbose":false,"import":"x"}', field('import', 'server.SubjectPermission', 'string')],
    ['{"verbose":false,"import":[]}', field('import', 'server.SubjectPermission', 'array')],
    ['{"verbose":false,"import":{"allow":1}}', 'json: cannot unmarshal number into Go struct field SubjectPermission.import.allow of type []string'],
    ['{"verbose":false,"import":{"allow":"x"}}', 'json: cannot unmarshal string into Go struct field SubjectPermission.import.allow of type []string'],
    ['{"verbose":false,"import":{"allow":[1]}}', 'json: cannot unmarshal number into Go struct field SubjectPermission.import.allow of type string'],
    ['{"verbose":false,"import":{"allow":["a",true]}}', 'json: cannot unmarshal bool into Go struct field SubjectPermission.import.allow of type string'],
    ['{"verbose":false,"import":{"allow":["a"],"deny":{}}}', 'json: cannot unmarshal object into Go struct field SubjectPermission.import.deny of type []string'],
    ['{"verbose":false,"export":{"deny":[[]]}}', 'json: cannot unmarshal array into Go struct field SubjectPermission.export.deny of type string'],
    // the error context is reset after a nested object
    ['{"import":{"allow":[]},"verbose":"x"}', field('verbose', 'bool', 'string')],
    ['{"import":{"x":1},"verbose":"x"}', field('verbose', 'bool', 'string')],
    ['{"import":{"allow":[],"deny":["a"]},"protocol":"x"}', field('protocol', 'int', 'string')],
    ['1', 'json: cannot unmarshal number into Go value of type server.ClientOpts'],
    ['"x"', 'json: cannot unmarshal string into Go value of type server.ClientOpts'],
    ['true', 'json: cannot unmarshal bool into Go value of type server.ClientOpts'],
    ['[]', 'json: cannot unmarshal array into Go value of type server.ClientOpts'],
    // syntax errors win over type errors
    ['{"verbose":1,"name":"x"', 'unexpected end of JSON input'],
    ['{"verbose":false}}', "invalid character '}' after top-level value"],
    ['{"verbose":false,"protocol":01}', "invalid character '1' after object key:value pair"],
    ['{"verbose":false,"protocol":-}', "invalid character '}' in numeric literal"],
    // the input ends inside a token: Go's scanner steps a space at the end (scanner.eof)
    ['{"a":-', "invalid character ' ' in numeric literal"],
    ['{"a":1.', "invalid character ' ' after decimal point in numeric literal"],
    ['{"a":1e+', "invalid character ' ' in exponent of numeric literal"],
    ['{"a":tru', "invalid character ' ' in literal true (expecting 'e')"],
    ['n', "invalid character ' ' in literal null (expecting 'u')"],
    ['{"a":"\\', "invalid character ' ' in string escape code"],
    ['{"a":"\\u00', "invalid character ' ' in \\u hexadecimal character escape"],
    ['{"a":"abc', 'unexpected end of JSON input'],
    ['{"a":[1,', 'unexpected end of JSON input'],
    ['-0', 'json: cannot unmarshal number into Go value of type server.ClientOpts'],
    ['[' + '['.repeat(10000) + ']'.repeat(10001), "invalid character '[' exceeded max depth"],
    ['{"verbose":false,"x":' + '['.repeat(10000) + ']'.repeat(10000) + '}', "invalid character '[' exceeded max depth"],
  ];
  for (const [json, err] of cases) {
    it(json.length > 80 ? json.slice(0, 60) + '…' : json, () => {
      assert.equal(decode(json).err, err);
    });
  }
});

describe('values: as the reference applies them', () => {
  it('null leaves the earlier value', () => {
    const { opts, err } = decode('{"verbose":false,"verbose":null}');
    assert.equal(err, null);
    assert.equal(opts.verbose, false);
  });
  it('duplicate keys apply in order, the last wins', () => {
    assert.equal(decode('{"verbose":false,"protocol":2,"protocol":1}').opts.protocol, 1);
    assert.equal(decode('{"Verbose":false,"verbose":true}').opts.verbose, true);
    assert.equal(decode('{"verbose":true,"Verbose":false}').opts.verbose, false);
  });
  it('a type error still applies the other members (Go keeps decoding)', () => {
    const { opts, err } = decode('{"verbose":1,"verbose":false,"name":"n","pedantic":"x","echo":false}');
    assert.match(err!, /ClientOpts\.verbose of type bool/);
    assert.equal(opts.verbose, false);
    assert.equal(opts.name, 'n');
    assert.equal(opts.echo, false);
    assert.equal(opts.pedantic, true);
  });
  it('a syntax error decodes nothing', () => {
    const { opts } = decode('{"verbose":false,"name":"n"');
    assert.deepEqual(opts, defaultConnectOptions());
  });
  it('keys fold: ASCII case, ſ (U+017F) = s, K (U+212A) = k; escapes decoded first', () => {
    assert.equal(decode('{"verboſe":false}').opts.verbose, false);
    assert.equal(decode('{"VERBOSE":false}').opts.verbose, false);
    assert.equal(decode('{"\\u0076erbose":false}').opts.verbose, false);
    assert.equal(decode('{"\\u017figner":1}').err, null); // no such field
    assert.equal(decode('{"\\u017fig":"x"}').opts.sig, 'x');
    assert.equal(decode('{"n\u212Aey":"K"}').opts.nkey, 'K');
    assert.equal(decode('{"\u212Aey":1}').err, null); // "key" is no field
    assert.equal(decode('{"verbose\u0130":false}').opts.verbose, true); // İ folds to no ASCII letter
  });
  it('int: the extremes of int64 are accepted, -0 is 0', () => {
    assert.equal(decode('{"protocol":9223372036854775807}').err, null);
    assert.equal(decode('{"protocol":-9223372036854775808}').err, null);
    assert.ok(decode('{"protocol":-9223372036854775808}').opts.protocol < 0);
    assert.ok(Object.is(decode('{"protocol":-0}').opts.protocol, 0));
    assert.equal(decode('{"protocol":1}').opts.protocol, 1);
  });
  it('unknown keys with any value, import/export with good values: ignored', () => {
    const { opts, err } = decode(
      '{"verbose":false,"unknown":{"a":[1,{"b":"c\\"}"}],"d":null},"export":{"ALLOW":["a"],"x":{"y":[1,2,{"z":null}]}},"import":{"allow":null,"deny":[null,"x"]},"import":null,"pedantic":false}',
    );
    assert.equal(err, null);
    assert.equal(opts.verbose, false);
    assert.equal(opts.pedantic, false);
  });
  it('top-level null changes nothing', () => {
    assert.deepEqual(decode('null'), { opts: defaultConnectOptions(), err: null });
    assert.deepEqual(decode(' {} ').opts, defaultConnectOptions());
  });
  it('strings: escapes, surrogate pairs, lone surrogates and invalid UTF-8 as Go', () => {
    assert.equal(decode('{"name":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}').opts.name, 'a"b\\c/d\b\f\n\r\té😀');
    assert.equal(decode('{"name":"x\\ud800y"}').opts.name, 'x\ufffdy');
    assert.equal(decode('{"name":"x\\ud800\\u0041"}').opts.name, 'x\ufffdA');
    assert.equal(decode('{"name":"x\\udc00\\udc00"}').opts.name, 'x\ufffd\ufffd');
    // Go replaces each byte of a truncated sequence (Node would replace it once)
    const raw = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from('e282', 'hex'), Buffer.from('b'), Buffer.from('f09f98', 'hex'), Buffer.from('c€"}')]);
    assert.equal(decode(raw).opts.name, 'a\ufffd\ufffdb\ufffd\ufffd\ufffdc€');
  });
  it('decodes a range of a larger buffer', () => {
    const b = Buffer.from('CONNECT {"verbose":false,"name":"n"}\r\n');
    const o = defaultConnectOptions();
    decodeConnect(b, 8, b.length - 2, o);
    assert.equal(o.name, 'n');
    assert.equal(o.verbose, false);
  });
  it('a second CONNECT decodes over the first', () => {
    const o = defaultConnectOptions();
    decode('{"verbose":false,"name":"a"}', o);
    decode('{"lang":"go"}', o);
    assert.equal(o.verbose, false);
    assert.equal(o.name, 'a');
    assert.equal(o.lang, 'go');
  });
});
