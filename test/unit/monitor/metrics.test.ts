// /metrics: parsed with a strict Prometheus text-format (0.0.4) parser; names
// follow prometheus-nats-exporter; values are read from the counters at
// scrape time.

import test from 'node:test';
import assert from 'node:assert/strict';
import { client, get, startEmbedded } from './helpers.js';
import { flush } from '../../helpers/proto.js';
import { VARZ_NUMERIC_FIELDS } from '../../../src/monitor/metrics.js';

interface Family {
  name: string;
  help: string;
  type: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A strict parser: every sample belongs to a declared family, HELP/TYPE come first, no duplicates. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  let current: Family | null = null;
  const seen = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      assert.match(name, NAME, where);
      assert.ok(!fams.has(name), `duplicate family ${name}`);
      current = { name, help: sp < 0 ? '' : rest.slice(sp + 1), type: '', samples: [] };
      fams.set(name, current);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      assert.ok(current !== null && current.name === name, `TYPE for ${name} follows its HELP (${where})`);
      assert.ok(['counter', 'gauge', 'untyped', 'histogram', 'summary'].includes(type), where);
      assert.equal(current.type, '', `one TYPE per family (${where})`);
      current.type = type;
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment ${where}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed sample ${where}`);
    const [, name, , labelText, valueText] = m;
    assert.ok(current !== null && current.name === name, `sample ${name} outside its family (${where})`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/gy;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const lm = re.exec(labelText);
        assert.ok(lm, `bad labels ${where}`);
        assert.match(lm[1], LABEL);
        assert.ok(!(lm[1] in labels), `duplicate label ${lm[1]}`);
        labels[lm[1]] = lm[2].replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
      }
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    assert.ok(valueText === 'NaN' || !Number.isNaN(value), `bad value ${where}`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seen.has(key), `duplicate series ${where}`);
    seen.add(key);
    current.samples.push({ name, labels, value });
  }
  for (const f of fams.values()) assert.notEqual(f.type, '', `family ${f.name} has a TYPE`);
  return fams;
}

function value(fams: Map<string, Family>, name: string): number {
  const f = fams.get(name);
  assert.ok(f, `metric ${name} present`);
  assert.equal(f.samples.length, 1, `${name} has one series`);
  return f.samples[0].value;
}

test('metrics use the exporter names and read live counters', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());
  const sub = await client(e.srv.port, 'sub');
  const pub = await client(e.srv.port, 'pub');
  t.after(() => {
    sub.socket.destroy();
    pub.socket.destroy();
  });
  await flush(sub, 'SUB m 1\r\n');
  const N = 40;
  await flush(pub, 'PUB m 10\r\n0123456789\r\n'.repeat(N));
  await flush(sub);

  const g = await get(`${e.base}/metrics`);
  assert.equal(g.status, 200);
  assert.equal(g.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const fams = parsePrometheusText(g.text);

  for (const f of VARZ_NUMERIC_FIELDS) {
    const fam = fams.get(`gnatsd_varz_${f}`);
    assert.ok(fam, `gnatsd_varz_${f}`);
    assert.equal(fam.type, 'gauge');
  }
  assert.equal(value(fams, 'gnatsd_varz_in_msgs'), N);
  assert.equal(value(fams, 'gnatsd_varz_out_msgs'), N);
  assert.equal(value(fams, 'gnatsd_varz_in_bytes'), N * 10);
  assert.equal(value(fams, 'gnatsd_varz_out_bytes'), N * 10);
  assert.equal(value(fams, 'gnatsd_varz_connections'), 2);
  assert.equal(value(fams, 'gnatsd_varz_subscriptions'), 1);
  assert.equal(value(fams, 'gnatsd_varz_port'), e.srv.port);
  assert.equal(fams.get('gnatsd_varz_max_subscriptions')!.samples.length, 0, 'omitempty varz field has no sample');
  const version = fams.get('gnatsd_varz_version')!.samples[0];
  assert.deepEqual(version.labels, { server_id: e.srv.serverId, value: '2.9.10' });

  assert.equal(value(fams, 'gnatsd_connz_num_connections'), 2);
  assert.equal(value(fams, 'gnatsd_connz_total'), 2);
  assert.equal(value(fams, 'gnatsd_connz_limit'), 1024);
  assert.equal(value(fams, 'gnatsd_connz_subscriptions'), 1);
  assert.equal(value(fams, 'gnatsd_connz_in_msgs'), N);
  assert.equal(fams.get('gnatsd_connz_in_msgs')!.type, 'counter');
  assert.equal(value(fams, 'gnatsd_connz_out_bytes'), N * 10);

  assert.equal(value(fams, 'gnatsd_routez_num_routes'), 0);
  assert.equal(fams.get('gnatsd_routez_route_info')!.samples.length, 0);

  assert.equal(value(fams, 'gnatsd_subsz_num_subscriptions'), 1);
  assert.ok(value(fams, 'gnatsd_subsz_num_matches') >= 1);

  for (const f of fams.values()) {
    for (const s of f.samples) assert.equal(s.labels.server_id, e.srv.serverId, `${s.name} carries server_id`);
  }

  // a second scrape sees new traffic: values are read at scrape time
  await flush(pub, 'PUB m 1\r\nz\r\n');
  await flush(sub);
  const again = parsePrometheusText((await get(`${e.base}/metrics`)).text);
  assert.equal(value(again, 'gnatsd_varz_in_msgs'), N + 1);
  assert.equal(value(again, 'gnatsd_connz_in_bytes'), N * 10 + 1);
});

test('the strict parser rejects malformed expositions', () => {
  assert.throws(() => parsePrometheusText('x 1\n'));
  assert.throws(() => parsePrometheusText('# HELP a a\n# TYPE a gauge\nb 1\n'));
  assert.throws(() => parsePrometheusText('# HELP a a\n# TYPE a gauge\na{x="1",x="2"} 1\n'));
  assert.throws(() => parsePrometheusText('# HELP a a\n# TYPE a gauge\na one\n'));
  assert.ok(parsePrometheusText('# HELP a a\n# TYPE a gauge\na{x="q\\"z"} 1\n').get('a'));
});
