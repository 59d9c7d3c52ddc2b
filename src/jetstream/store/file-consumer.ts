// A file stream's consumer state: one JSON file per consumer (config and
// state), replaced atomically (write a temporary file, then rename) in
// batches: update() only marks the state dirty; a write happens at most every
// WRITE_DELAY ms, or at once when someone flushes. A new config is written at
// once (writeSync).

import * as fs from 'node:fs';
import {
  cloneConsumerState,
  consumerStateFromJson,
  consumerStateToJson,
  type ConsumerStateJson,
} from './consumer.js';
import { storeError, type ConsumerState, type ConsumerStore } from './types.js';

const WRITE_DELAY = 20;

export function consumerFileName(name: string): string {
  return `${encodeURIComponent(name)}.json`;
}

export function consumerNameOfFile(file: string): string | null {
  if (!file.endsWith('.json')) return null;
  try {
    return decodeURIComponent(file.slice(0, -5));
  } catch {
    return null;
  }
}

interface ConsumerFile {
  config: string | null;
  state: ConsumerStateJson | null;
}

export class FileConsumerStore implements ConsumerStore {
  private cfg: string | null = null;
  private st: ConsumerState | null = null;
  private dirty = false;
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private cbs: ((err: Error | null) => void)[] = [];
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly syncAlways: boolean,
    private readonly onDelete: () => void,
  ) {
    let raw: string | null = null;
    try {
      raw = fs.readFileSync(path, 'utf8');
    } catch {
      // new consumer
    }
    if (raw !== null) {
      try {
        const j = JSON.parse(raw) as ConsumerFile;
        this.cfg = j.config ?? null;
        this.st = j.state ? consumerStateFromJson(j.state) : null;
      } catch {
        // a torn file cannot happen (rename), a hand-edited one is ignored
      }
    }
  }

  setConfig(cfgJson: string): void {
    const changed = this.cfg !== cfgJson;
    this.cfg = cfgJson;
    if (changed && !this.closed && this.writeSync()) return;
    this.markDirty();
  }

  /**
   * A new or changed config is on disk before the API answers, as the
   * reference writes a consumer's meta file synchronously
   * (server/filestore.go writeConsumerMeta): a server killed right after
   * still knows the consumer. Once per create/update, never per message.
   * false when the write failed (the batched write will retry).
   */
  private writeSync(): boolean {
    const body: ConsumerFile = { config: this.cfg, state: this.st === null ? null : consumerStateToJson(this.st) };
    // not the batched write's temporary file, which may be open right now
    const tmp = `${this.path}.cfg.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, JSON.stringify(body));
        if (this.syncAlways) fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.path);
    } catch {
      return false;
    }
    // A batched write under way carries the old config: write again after it.
    if (this.writing) this.dirty = true;
    return true;
  }

  getConfig(): string | null {
    return this.cfg;
  }

  update(state: ConsumerState): void {
    this.st = cloneConsumerState(state);
    this.markDirty();
  }

  state(): ConsumerState | null {
    return this.st === null ? null : cloneConsumerState(this.st);
  }

  private markDirty(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer === null && !this.writing) {
      this.timer = setTimeout(this.write, WRITE_DELAY);
      this.timer.unref();
    }
  }

  flush(cb: (err: Error | null) => void): void {
    if (!this.dirty && !this.writing) {
      queueMicrotask(() => cb(null));
      return;
    }
    this.cbs.push(cb);
    if (!this.writing) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.write();
    }
  }

  private write = (): void => {
    this.timer = null;
    if (this.writing || this.closed) return;
    this.writing = true;
    this.dirty = false;
    const cbs = this.cbs;
    this.cbs = [];
    const body: ConsumerFile = { config: this.cfg, state: this.st === null ? null : consumerStateToJson(this.st) };
    const tmp = `${this.path}.tmp`;
    const data = JSON.stringify(body);
    const finish = (err: Error | null): void => {
      this.writing = false;
      const e = err === null ? null : storeError('io', err.message);
      for (const cb of cbs) cb(e);
      if (this.dirty || this.cbs.length > 0) {
        if (this.cbs.length > 0) this.write();
        else this.markDirtyAgain();
      }
    };
    fs.open(tmp, 'w', (err, fd) => {
      if (err) return finish(err);
      fs.write(fd, data, 0, 'utf8', (err2) => {
        const close = (err3: Error | null): void => {
          fs.close(fd, () => {
            if (err3) return finish(err3);
            fs.rename(tmp, this.path, (err4) => finish(err4));
          });
        };
        if (err2) return close(err2);
        if (this.syncAlways) fs.fdatasync(fd, (e) => close(e));
        else close(null);
      });
    });
  };

  private markDirtyAgain(): void {
    this.dirty = false;
    this.markDirty();
  }

  /** stop() ran: writes are no longer made */
  isStopped(): boolean {
    return this.closed;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    if (this.dirty || this.writing) await new Promise<void>((res) => this.flush(() => res()));
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  async delete(): Promise<void> {
    if (this.writing) await new Promise<void>((res) => this.flush(() => res()));
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.st = null;
    this.cfg = null;
    await fs.promises.rm(this.path, { force: true });
    this.onDelete();
  }
}

export { storeError };
