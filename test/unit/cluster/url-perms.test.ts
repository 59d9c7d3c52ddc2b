// Route URLs (src/cluster/url.ts), route permissions (src/cluster/perms.ts)
// and host:port parsing for advertise.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseRouteURL, redactURL, routeURLFor, urlsEqual, withCredentials, RouteURLError } from '../../../src/cluster/url.js';
import { RoutePerms } from '../../../src/cluster/perms.js';
import { parseHostPort } from '../../../src/cluster/cluster.js';

describe('route URLs', () => {
  it('parses credentials, host and port', () => {
    const u = parseRouteURL('nats-route://ru:p%40ss@10.0.0.1:6222');
    assert.equal(u.scheme, 'nats-route');
    assert.equal(u.user, 'ru');
    assert.equal(u.pass, 'p@ss');
    assert.equal(u.hostname, '10.0.0.1');
    assert.equal(u.port, 6222);
    assert.equal(u.hostPort, '10.0.0.1:6222');
  });

  it('IPv6 hosts keep their brackets in host:port', () => {
    const u = parseRouteURL('nats://[::1]:7000');
    assert.equal(u.hostname, '::1');
    assert.equal(u.hostPort, '[::1]:7000');
    assert.equal(u.port, 7000);
  });

  it('a missing port parses (dialing reports it), a bad one does not', () => {
    assert.equal(parseRouteURL('nats-route://host').port, 0);
    assert.throws(() => parseRouteURL('nats-route://host:x'), RouteURLError);
    assert.throws(() => parseRouteURL('host:6222'), /missing protocol scheme/);
  });

  it('redacts the password as Go does', () => {
    assert.equal(redactURL(parseRouteURL('nats-route://ru:rp@127.0.0.1:1')), 'nats-route://ru:xxxxx@127.0.0.1:1');
    assert.equal(redactURL(parseRouteURL('nats-route://127.0.0.1:1')), 'nats-route://127.0.0.1:1');
  });

  it('URLs built from INFO end with a slash; credentials can be added', () => {
    const u = routeURLFor('1.2.3.4', 6222);
    assert.equal(u.raw, 'nats-route://1.2.3.4:6222/');
    const c = withCredentials(u, 'a', 'b:c');
    assert.equal(c.raw, 'nats-route://a:b%3Ac@1.2.3.4:6222/');
    assert.equal(c.pass, 'b:c');
    assert.equal(parseRouteURL(c.raw).pass, 'b:c');
  });

  it('equality is textual, as reflect.DeepEqual on url.URL', () => {
    assert.ok(urlsEqual(parseRouteURL('nats://a:1'), parseRouteURL('nats://a:1')));
    assert.ok(!urlsEqual(parseRouteURL('nats://a:1'), parseRouteURL('nats://a:1/')));
  });
});

describe('route permissions', () => {
  it('none configured means none enforced', () => {
    assert.equal(RoutePerms.from(undefined), null);
    assert.equal(RoutePerms.from({}), null);
  });

  it('import allow/deny decides what interest we ask for', () => {
    const p = RoutePerms.from({ import: { allow: ['foo.>', 'bar'], deny: ['foo.secret'] } })!;
    assert.ok(p.canImport('foo.x'));
    assert.ok(p.canImport('foo.*'));
    assert.ok(p.canImport('bar'));
    assert.ok(!p.canImport('baz'));
    assert.ok(!p.canImport('foo.secret'));
    assert.ok(p.canExport('anything'));
  });

  it('export decides which peer interest we accept', () => {
    const p = RoutePerms.from({ export: { deny: ['private.>'] } })!;
    assert.ok(p.canExport('public'));
    assert.ok(!p.canExport('private.a'));
    assert.ok(p.canImport('private.a'));
  });
});

describe('advertise host:port', () => {
  it('defaults a missing, 0 or -1 port', () => {
    assert.deepEqual(parseHostPort('example.com', 6222), { host: 'example.com', port: 6222 });
    assert.deepEqual(parseHostPort('example.com:0', 6222), { host: 'example.com', port: 6222 });
    assert.deepEqual(parseHostPort('example.com:7000', 6222), { host: 'example.com', port: 7000 });
    assert.deepEqual(parseHostPort('[::1]:7000', 6222), { host: '::1', port: 7000 });
    assert.throws(() => parseHostPort('h:abc', 1));
  });
});
