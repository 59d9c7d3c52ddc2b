// Child process of jetstream-store-crash.test.ts (not a test): stores
// messages in a file store as fast as it can and prints, on stdout, what each
// flush callback made durable: "A <last seq of the batch>", "D <seq>" for an
// acknowledged removal; "R <seq>" when a removal is asked (before it is
// durable). The parent kill -9s it at a random moment. Payload and subject
// are functions of the sequence, so the parent can tell intact from invented.
import { FileStore } from '../../src/jetstream/store/file.js';
import type { StoreConfig } from '../../src/jetstream/store/types.js';
import { storeConfig } from '../helpers/store.js';

export const crashCfg: StoreConfig = storeConfig({ name: 'CRASH' });
/** mode 'limit': the stream at max_msgs, its first blocks removed (and their buffers reused) as it goes */
export const CRASH_LIMIT = 300;
export const crashLimitCfg: StoreConfig = storeConfig({ name: 'CRASH', maxMsgs: CRASH_LIMIT });
/**
 * mode 'sized': the stream at max_msgs with no configured block size, so
 * its blocks are sized to what it holds (~1.2 MiB: 1 MiB blocks) and its
 * block buffers are paged (store/pages.ts)
 */
export const CRASH_SIZED = 600;
export const crashSizedCfg: StoreConfig = storeConfig({ name: 'CRASH', maxMsgs: CRASH_SIZED });

export const crashSubject = (seq: number): string => `crash.${seq % 5}`;
export const crashPayload = (seq: number): string => `${seq}:${'p'.repeat(seq % 97)}`;
/** mode 'sized': ~2 KB a message */
export const crashSizedPayload = (seq: number): string => `${crashPayload(seq)}:${'s'.repeat(2000)}`;

async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  const s = await FileStore.open(mode === 'limit' ? crashLimitCfg : mode === 'sized' ? crashSizedCfg : crashCfg, {
    dir: dir!,
    blockSize: mode === 'sized' ? undefined : 16 * 1024,
    syncInterval: mode === 'always' || mode === 'limit' ? 'always' : 60_000,
  });
  const payload = mode === 'sized' ? crashSizedPayload : crashPayload;
  const out = (line: string): void => {
    // stdout to a pipe is synchronous on Linux: printed means delivered
    process.stdout.write(line);
  };
  out(`S ${s.state().lastSeq}\n`);
  const step = (): void => {
    const count = 1 + Math.floor(Math.random() * 40);
    let last = 0;
    for (let i = 0; i < count; i++) {
      const seq = s.state().lastSeq + 1;
      last = s.storeMsg(crashSubject(seq), null, Buffer.from(payload(seq)))[0];
    }
    let removed = 0;
    if (mode !== 'limit' && mode !== 'sized' && Math.random() < 0.3 && last > 10) {
      const victim = 1 + Math.floor(Math.random() * (last - 5));
      out(`R ${victim}\n`);
      if (s.removeMsg(victim)) removed = victim;
    }
    s.flush((err) => {
      if (err) {
        out(`E ${err.message}\n`);
        return;
      }
      out(`A ${last}\n${removed ? `D ${removed}\n` : ''}`);
    });
    setImmediate(step);
  };
  step();
}

if (process.argv[1]?.endsWith('store-crash-child.js')) void main();
