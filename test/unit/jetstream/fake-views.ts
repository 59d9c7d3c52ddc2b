// Fake read-only JetStream views (src/jetstream/jsz.ts) for unit tests.
import type { JetStreamView, JsAccountView, JsStreamView, JsConsumerView } from '../../../src/jetstream/jsz.js';
import { dynamicJetStreamAccountLimits } from '../../../src/config/options.js';

export function fakeConsumer(name: string, stream: string, extra: Record<string, unknown> = {}): JsConsumerView {
  return {
    info: () => ({
      stream_name: stream,
      name,
      created: '2026-01-02T03:04:05.5Z',
      config: { durable_name: name, description: `desc of ${name}`, ack_policy: 'explicit' },
      delivered: { consumer_seq: 3, stream_seq: 7 },
      ack_floor: { consumer_seq: 2, stream_seq: 6 },
      num_ack_pending: 1,
      num_redelivered: 0,
      num_waiting: 2,
      num_pending: 4,
      ...extra,
    }),
  };
}

export function fakeStream(name: string, msgs: number, bytes: number, consumers: JsConsumerView[] = []): JsStreamView {
  return {
    name,
    created: '2026-01-02T03:04:05.123456789Z',
    config: () => ({ name, subjects: [`${name}.>`], storage: 'file' }),
    state: () => ({
      json: { messages: msgs, bytes, first_seq: 1, first_ts: '2026-01-02T03:04:05Z', last_seq: msgs, last_ts: '2026-01-02T03:04:06Z', consumer_count: consumers.length },
      msgs,
      bytes,
      consumers: consumers.length,
    }),
    consumers: () => consumers,
  };
}

export function fakeAccount(name: string, streams: JsStreamView[], extra: Partial<JsAccountView> = {}): JsAccountView {
  return {
    name,
    memoryUsed: 10,
    storeUsed: 20,
    apiTotal: 5,
    apiErrors: 1,
    limits: { '': dynamicJetStreamAccountLimits() },
    streams: () => streams,
    ...extra,
  };
}

export function fakeJetStream(accounts: JsAccountView[], extra: Partial<JetStreamView> = {}): JetStreamView {
  return {
    serverId: 'NSERVER',
    serverName: 'srv-a',
    clusterName: '',
    config: { maxMemory: 1000, maxStore: 2000, storeDir: '/sd/jetstream', domain: '' },
    reservedMemory: 0,
    reservedStore: 0,
    apiTotal: 7,
    apiErrors: 2,
    accounts: () => accounts,
    ...extra,
  };
}
