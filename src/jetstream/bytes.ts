// Byte counts as the reference prints them in log lines (server/jetstream.go friendlyBytes).

/** 1536 → "1.50 KB", 17.66 GiB → "17.66 GB"; below 1 KiB: "N B". */
export function friendlyBytes(bytes: number): string {
  const base = 1024;
  if (bytes < base) return `${bytes} B`;
  const pre = ['K', 'M', 'G', 'T', 'P', 'E'];
  const exp = Math.floor(Math.log(bytes) / Math.log(base));
  return `${(bytes / base ** exp).toFixed(2)} ${pre[exp - 1]}B`;
}
