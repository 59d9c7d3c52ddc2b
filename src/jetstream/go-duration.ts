// Go's time.Duration text: String() for messages the reference formats
// with %v (pull request limits), ParseDuration for NAK delays ("-NAK 1s").

const UNITS: Array<[string, number]> = [
  ['ns', 1],
  ['us', 1e3],
  ['µs', 1e3],
  ['μs', 1e3],
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
];

/** time.ParseDuration; null where Go returns an error. Result in ns. */
export function parseGoDuration(s: string): number | null {
  let rest = s;
  let neg = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    neg = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest !== '') {
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(rest)!;
    if (m[0] === '' || m[0] === '.') return null;
    const intPart = m[1];
    const frac = m[3] ?? '';
    if (intPart === '' && frac === '') return null;
    rest = rest.slice(m[0].length);
    const um = /^[^0-9.]+/.exec(rest);
    if (um === null) return null;
    const unit = UNITS.find(([u]) => u === um[0]);
    if (unit === undefined) return null;
    rest = rest.slice(um[0].length);
    const v = Number(intPart === '' ? 0 : intPart) + (frac === '' ? 0 : Number('0.' + frac));
    total += v * unit[1];
  }
  if (total > 2 ** 63) return null;
  return Math.round(neg ? -total : total);
}

/** time.Duration.String() */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let d = Math.abs(ns);
  let out: string;
  if (d < 1e9) {
    if (d < 1e3) out = `${d}ns`;
    else if (d < 1e6) out = `${trimFrac(d / 1e3)}µs`;
    else out = `${trimFrac(d / 1e6)}ms`;
  } else {
    const h = Math.floor(d / 3600e9);
    d -= h * 3600e9;
    const m = Math.floor(d / 60e9);
    d -= m * 60e9;
    const s = `${trimFrac(d / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? '-' + out : out;
}

function trimFrac(v: number): string {
  return String(Number(v.toFixed(9)));
}
