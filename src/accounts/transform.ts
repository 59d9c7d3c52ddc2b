// Subject transforms (server/accounts.go transform): rewrite a literal subject
// matched by a source pattern into a destination built from its wildcard
// tokens. Used by wildcard stream/service imports (`$1` / `{{wildcard(1)}}`
// destinations) and by account subject mappings, which also use the other
// mapping functions (partition, split, slice).

import { subjectIsSubsetMatch } from '../subjects/validate.js';

export class TransformError extends Error {
  readonly code = 'ERR_TSNATS_TRANSFORM';
}

const enum Fn {
  None,
  Wildcard,
  Partition,
  SplitFromLeft,
  SplitFromRight,
  SliceFromLeft,
  SliceFromRight,
  Split,
}

interface DestToken {
  fn: Fn;
  literal: string;
  /** source token indexes the function reads */
  src: number[];
  intArg: number;
  strArg: string;
}

const FUNCTIONS: [RegExp, Fn][] = [
  [/\{\{\s*[wW]ildcard\s*\((.*)\)\s*\}\}/, Fn.Wildcard],
  [/\{\{\s*[pP]artition\s*\((.*)\)\s*\}\}/, Fn.Partition],
  [/\{\{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*\}\}/, Fn.SplitFromLeft],
  [/\{\{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*\}\}/, Fn.SplitFromRight],
  [/\{\{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*\}\}/, Fn.SliceFromLeft],
  [/\{\{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*\}\}/, Fn.SliceFromRight],
  [/\{\{\s*[sS]plit\s*\((.*)\)\s*\}\}/, Fn.Split],
];

function atoi(s: string, token: string): number {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new TransformError(`invalid mapping destination: function argument is invalid or of the wrong type in ${token}`);
  return Number(t);
}

/** server/accounts.go indexPlaceHolders: what one destination token does. */
function parseDestToken(token: string): { fn: Fn; wc: number[]; intArg: number; strArg: string } {
  if (token.length > 1 && token[0] === '$') {
    // $1, $2: legacy wildcard references; any other $-token is a literal.
    if (/^[+-]?\d+$/.test(token.slice(1))) return { fn: Fn.Wildcard, wc: [Number(token.slice(1))], intArg: -1, strArg: '' };
    return { fn: Fn.None, wc: [], intArg: -1, strArg: '' };
  }
  if (token.length > 4 && token.startsWith('{{') && token.endsWith('}}')) {
    for (const [re, fn] of FUNCTIONS) {
      const m = re.exec(token);
      if (m === null) continue;
      const args = m[1]!.split(/,\s*/);
      const bad = (what: string): never => {
        throw new TransformError(`invalid mapping destination: ${what} in ${token}`);
      };
      switch (fn) {
        case Fn.Wildcard:
          if (args.length === 1 && args[0] === '') bad('not enough arguments passed to the function');
          if (args.length > 1) bad('too many arguments passed to the function');
          return { fn, wc: [atoi(args[0]!, token)], intArg: -1, strArg: '' };
        case Fn.Partition:
          if (args.length < 2) bad('not enough arguments passed to the function');
          return { fn, wc: args.slice(1).map((a) => atoi(a, token)), intArg: atoi(args[0]!, token), strArg: '' };
        case Fn.Split:
          if (args.length < 2) bad('not enough arguments passed to the function');
          if (args.length > 2) bad('too many arguments passed to the function');
          if (args[1]!.includes(' ') || args[1]!.includes('.')) bad('function argument is invalid or of the wrong type');
          return { fn, wc: [atoi(args[0]!, token)], intArg: -1, strArg: args[1]! };
        default:
          if (args.length < 2) bad('not enough arguments passed to the function');
          if (args.length > 2) bad('too many arguments passed to the function');
          return { fn, wc: [atoi(args[0]!, token)], intArg: atoi(args[1]!, token), strArg: '' };
      }
    }
    throw new TransformError(`invalid mapping destination: unknown function in ${token}`);
  }
  return { fn: Fn.None, wc: [], intArg: -1, strArg: '' };
}

/** server/sublist.go subjectInfo: valid?, tokens, number of `*`, ends with `>`? */
function subjectInfo(subject: string): { ok: boolean; tokens: string[]; npwcs: number; fwc: boolean } {
  if (subject === '') return { ok: false, tokens: [], npwcs: 0, fwc: false };
  const tokens = subject.split('.');
  let npwcs = 0;
  let fwc = false;
  for (const t of tokens) {
    if (t.length === 0 || fwc) return { ok: false, tokens: [], npwcs: 0, fwc: false };
    if (t === '>') fwc = true;
    else if (t === '*') npwcs++;
  }
  return { ok: true, tokens, npwcs, fwc };
}

/** FNV-1a 32-bit, as Go's hash/fnv New32a. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(s, 'utf8');
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SubjectTransform {
  private readonly dtoks: string[];
  private readonly stoks: string[];
  private readonly dest: DestToken[];

  private constructor(
    readonly src: string,
    readonly destSubject: string,
    stoks: string[],
    dtoks: string[],
    dest: DestToken[],
  ) {
    this.stoks = stoks;
    this.dtoks = dtoks;
    this.dest = dest;
  }

  /** server/accounts.go newTransform: validates both sides; throws TransformError. */
  static create(src: string, dest: string): SubjectTransform {
    const s = subjectInfo(src);
    const d = subjectInfo(dest);
    if (!s.ok || !d.ok || d.npwcs > 0 || s.fwc !== d.fwc) throw new TransformError('invalid subject');
    const out: DestToken[] = [];
    if (s.npwcs > 0 || s.fwc) {
      // wildcard number (1-based) → source token index
      const sti: number[] = [];
      s.tokens.forEach((t, i) => {
        if (t === '*') sti.push(i);
      });
      let nphs = 0;
      for (const token of d.tokens) {
        const p = parseDestToken(token);
        if (p.fn === Fn.None) {
          out.push({ fn: Fn.None, literal: token, src: [], intArg: -1, strArg: '' });
          continue;
        }
        nphs++;
        const src: number[] = [];
        for (const wi of p.wc) {
          if (wi > s.npwcs || wi < 1) {
            throw new TransformError(`invalid mapping destination: wildcard index out of range in ${token}: [${wi}]`);
          }
          src.push(sti[wi - 1]!);
        }
        out.push({ fn: p.fn, literal: token, src, intArg: p.intArg, strArg: p.strArg });
      }
      if (nphs < s.npwcs) throw new TransformError(`invalid mapping destination: not using all of the token wildcard(s) in ${dest}`);
    }
    return new SubjectTransform(src, dest, s.tokens, d.tokens, out);
  }

  /**
   * transform.Match: the destination for a literal subject the source
   * matches; null when it does not match.
   */
  match(subject: string): string | null {
    if ((this.src === '>' || this.src === '') && (this.destSubject === '>' || this.destSubject === '')) return subject;
    const toks = subject.split('.');
    if (toks.some((t) => t.length === 0 || t === '*' || t === '>')) return null;
    if (this.src !== '' && this.src !== '>' && !subjectIsSubsetMatch(subject, this.src)) return null;
    return this.apply(toks);
  }

  /** transform.transformSubject: apply without checking the match. */
  transformSubject(subject: string): string {
    return this.apply(subject.split('.'));
  }

  private apply(tokens: string[]): string {
    if (this.dest.length === 0) return this.destSubject;
    let b = '';
    const li = this.dest.length - 1;
    for (let i = 0; i < this.dest.length; i++) {
      const d = this.dest[i]!;
      if (d.fn === Fn.None) {
        if (this.dtoks[i] === '>') break;
        b += d.literal;
      } else {
        const tok = tokens[d.src[0]!] ?? '';
        switch (d.fn) {
          case Fn.Wildcard:
            b += tok;
            break;
          case Fn.Partition: {
            const key = d.src.map((x) => tokens[x] ?? '').join('');
            b += String(fnv32a(key) % d.intArg);
            break;
          }
          case Fn.SplitFromLeft: {
            const pos = d.intArg;
            b += pos > 0 && pos < tok.length ? tok.slice(0, pos) + '.' + tok.slice(pos) : tok;
            break;
          }
          case Fn.SplitFromRight: {
            const pos = d.intArg;
            b += pos > 0 && pos < tok.length ? tok.slice(0, tok.length - pos) + '.' + tok.slice(tok.length - pos) : tok;
            break;
          }
          case Fn.SliceFromLeft: {
            const size = d.intArg;
            if (size > 0 && size < tok.length) {
              const parts: string[] = [];
              for (let k = 0; k < tok.length; k += size) parts.push(tok.slice(k, k + size));
              b += parts.join('.');
            } else b += tok;
            break;
          }
          case Fn.SliceFromRight: {
            const size = d.intArg;
            if (size > 0 && size < tok.length) {
              const rem = tok.length % size;
              const parts: string[] = rem > 0 ? [tok.slice(0, rem)] : [];
              for (let k = rem; k < tok.length; k += size) parts.push(tok.slice(k, k + size));
              b += parts.join('.');
            } else b += tok;
            break;
          }
          case Fn.Split: {
            const splits = tok.split(d.strArg);
            for (let j = 0; j < splits.length; j++) {
              const part = splits[j]!;
              if (part !== '') b += part;
              if (j < splits.length - 1 && splits[j + 1] !== '' && !(j === 0 && part === '')) b += '.';
            }
            break;
          }
        }
      }
      if (i < li) b += '.';
    }
    // A trailing `>` carries over the source's remaining tokens.
    if (this.dtoks[this.dtoks.length - 1] === '>') {
      const rest: string[] = [];
      for (let i = this.stoks.length - 1; i < tokens.length; i++) rest.push(tokens[i]!);
      b += rest.join('.');
    }
    return b;
  }

  /** transform.reverse: the transform back from destination to source. */
  reverse(): SubjectTransform | null {
    if (!this.dest.some((d) => d.fn !== Fn.None)) {
      try {
        return SubjectTransform.create(this.destSubject, this.src);
      } catch {
        return null;
      }
    }
    const { subject: nsrc, placeholders } = transformUntokenize(this.destSubject);
    const phs = [...placeholders];
    const nda: string[] = [];
    for (const t of this.stoks) {
      if (t === '*') {
        const ph = phs.shift();
        if (ph === undefined) return null;
        nda.push(ph);
      } else nda.push(t);
    }
    try {
      return SubjectTransform.create(nsrc, nda.join('.'));
    } catch {
      return null;
    }
  }
}

/** server/accounts.go transformTokenize: foo.*.* → foo.$1.$2 */
export function transformTokenize(subject: string): string {
  let i = 1;
  return subject
    .split('.')
    .map((t) => (t === '*' ? `$${i++}` : t))
    .join('.');
}

/** server/accounts.go transformUntokenize: foo.$1.$2 → foo.*.* (and the placeholders) */
export function transformUntokenize(subject: string): { subject: string; placeholders: string[] } {
  const placeholders: string[] = [];
  const out = subject.split('.').map((t) => {
    if (t.length > 1 && t[0] === '$' && t[1]! >= '1' && t[1]! <= '9') {
      placeholders.push(t);
      return '*';
    }
    return t;
  });
  return { subject: out.join('.'), placeholders };
}
