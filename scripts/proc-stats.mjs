// Helpers the soak scripts share: a process's memory from /proc, percentiles.
import { readFileSync } from 'node:fs';

/** RSS and peak RSS (VmHWM) of `pid` in bytes; -1 when it is gone. */
export function rss(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]) * 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]) * 1024 };
  } catch {
    return { rss: -1, hwm: -1 };
  }
}

/** The p-th percentile of an ascending array (NaN when empty). */
export function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
