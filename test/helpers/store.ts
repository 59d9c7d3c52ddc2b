// What the store tests share: a stream config with no limits (file storage
// unless told otherwise) and a promise for a store's next flush.
import type { StoreConfig, StreamStore } from '../../src/jetstream/store/types.js';

/** a config with every limit off; `over` sets what a test needs */
export function storeConfig(over: Partial<StoreConfig> = {}): StoreConfig {
  return {
    name: 'S',
    subjects: ['>'],
    storage: 'file',
    maxMsgs: -1,
    maxBytes: -1,
    maxAge: 0,
    maxMsgsPerSubject: -1,
    maxMsgSize: -1,
    discard: 'old',
    ...over,
  };
}

/** resolves once everything stored so far is written (rejects with the write error) */
export const flushed = (s: Pick<StreamStore, 'flush'>): Promise<void> =>
  new Promise((res, rej) => s.flush((e) => (e ? rej(e) : res())));
