import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { TLS_CIPHER_SUITES, TLS_CURVES, tlsHelpOutput, usageOutput, versionOutput } from '../../../src/cli/usage.js';
import { NATS_COMPAT_VERSION } from '../../../src/config/options.js';
import { TSNATS_VERSION } from '../../../src/version.js';

describe('usage texts', () => {
  it('prints the usage framed like fmt.Printf("%s\\n", usageStr)', () => {
    const u = usageOutput();
    assert.ok(u.startsWith('\nUsage: nats-server [options]\n\nServer Options:\n'));
    assert.ok(u.endsWith('        --help_tls                   TLS help\n\n'));
    assert.equal(u.includes('\t'), false);
  });

  it('is the reference version line, with the tsnats version after it', () => {
    assert.equal(versionOutput(), `nats-server: v${NATS_COMPAT_VERSION} (tsnats ${TSNATS_VERSION})\n`);
  });

  it('lists every cipher and curve once, in declaration order', () => {
    const t = tlsHelpOutput();
    assert.equal(TLS_CIPHER_SUITES.length, 24);
    assert.equal(new Set(TLS_CIPHER_SUITES).size, 24);
    const ciphers = t.slice(t.indexOf('Available cipher suites include:\n'), t.indexOf('\nAvailable curve'));
    assert.equal(ciphers, 'Available cipher suites include:\n' + TLS_CIPHER_SUITES.map((c) => `    ${c}\n`).join(''));
    assert.ok(t.endsWith('\nAvailable curve preferences include:\n' + TLS_CURVES.map((c) => `    ${c}\n`).join('')));
    assert.ok(t.startsWith('\nTLS configuration is specified in the tls section of a configuration file:\n'));
  });
});
