// Subject syntax and subject-vs-pattern predicates, with the exact semantics
// of nats-server 2.9.10 (server/sublist.go). Subjects are '.'-separated
// tokens; a token that is exactly `*` matches one token, a token that is
// exactly `>` (only allowed last) matches one or more trailing tokens. A
// wildcard character inside a longer token (`foo*`, `>bar`) is plain text.
//
// Go strings are byte strings and these functions index bytes; ours index
// UTF-16 code units. The outcomes are identical because every character
// inspected ('.', '*', '>', ASCII whitespace) is ASCII, and neither UTF-8
// continuation bytes nor UTF-16 surrogates ever equal an ASCII code.

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

// The whitespace set of IsValidSubject ("\t\n\f\r " in sublist.go); '\v' is
// deliberately not in it.
function isSubjectSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/**
 * A subscription subject (wildcards allowed): non-empty, no empty tokens, no
 * whitespace (space, \t, \n, \f, \r), and `>` only as the last token.
 * (sublist.go IsValidSubject)
 */
export function isValidSubject(subject: string): boolean {
  const len = subject.length;
  if (len === 0) return false;
  let tokenStart = 0;
  let sawFwc = false;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      // Any token after a `>` (even a valid one) invalidates the subject.
      if (i === tokenStart || sawFwc) return false;
      if (i - tokenStart === 1 && subject.charCodeAt(tokenStart) === GT) sawFwc = true;
      tokenStart = i + 1;
    } else if (isSubjectSpace(c)) {
      return false;
    }
  }
  return true;
}

/**
 * A subject with no empty tokens and no wildcard token. Unlike
 * isValidSubject this does not look for whitespace (sublist.go
 * IsValidLiteralSubject, which pedantic PUB checking uses).
 */
export function isValidLiteralSubject(subject: string): boolean {
  const len = subject.length;
  let tokenStart = 0;
  for (let i = 0; i <= len; i++) {
    if (i < len && subject.charCodeAt(i) !== DOT) continue;
    const tl = i - tokenStart;
    if (tl === 0) return false;
    if (tl === 1) {
      const c = subject.charCodeAt(tokenStart);
      if (c === STAR || c === GT) return false;
    }
    tokenStart = i + 1;
  }
  return true;
}

/** Valid (isValidSubject) and free of wildcard tokens. (sublist.go IsValidPublishSubject) */
export function isValidPublishSubject(subject: string): boolean {
  return isValidSubject(subject) && subjectIsLiteral(subject);
}

/**
 * True when no token is exactly `*` or `>`. Does not validate anything else
 * (sublist.go subjectIsLiteral): the cache layer relies on it being cheap.
 */
export function subjectIsLiteral(subject: string): boolean {
  const last = subject.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = subject.charCodeAt(i);
    if (
      (c === STAR || c === GT) &&
      (i === 0 || subject.charCodeAt(i - 1) === DOT) &&
      (i === last || subject.charCodeAt(i + 1) === DOT)
    ) {
      return false;
    }
  }
  return true;
}

/** Negation of subjectIsLiteral. */
export function subjectHasWildcard(subject: string): boolean {
  return !subjectIsLiteral(subject);
}

// ---------------------------------------------------------------------------
// Byte-level variants, for validating a subject in place inside a protocol
// buffer without decoding it to a string first. Same semantics as the string
// versions above over bytes [start, end).

/** isValidSubject over bytes [start, end). */
export function isValidSubjectBytes(buf: Uint8Array, start = 0, end = buf.length): boolean {
  if (end <= start) return false;
  let tokenStart = start;
  let sawFwc = false;
  for (let i = start; i <= end; i++) {
    const c = i < end ? buf[i]! : DOT;
    if (c === DOT) {
      if (i === tokenStart || sawFwc) return false;
      if (i - tokenStart === 1 && buf[tokenStart] === GT) sawFwc = true;
      tokenStart = i + 1;
    } else if (isSubjectSpace(c)) {
      return false;
    }
  }
  return true;
}

/** isValidLiteralSubject over bytes [start, end). */
export function isValidLiteralSubjectBytes(buf: Uint8Array, start = 0, end = buf.length): boolean {
  let tokenStart = start;
  for (let i = start; i <= end; i++) {
    if (i < end && buf[i] !== DOT) continue;
    const tl = i - tokenStart;
    if (tl <= 0) return false;
    if (tl === 1) {
      const c = buf[tokenStart];
      if (c === STAR || c === GT) return false;
    }
    tokenStart = i + 1;
  }
  return true;
}

/** subjectIsLiteral over bytes [start, end). */
export function subjectIsLiteralBytes(buf: Uint8Array, start = 0, end = buf.length): boolean {
  const last = end - 1;
  for (let i = start; i <= last; i++) {
    const c = buf[i];
    if (
      (c === STAR || c === GT) &&
      (i === start || buf[i - 1] === DOT) &&
      (i === last || buf[i + 1] === DOT)
    ) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Matching predicates.

/**
 * Does the literal subject `literal` match the (possibly wildcard) subject
 * `pattern`? Character-level scan used by the match cache and by the
 * monitor's `test` filter (sublist.go matchLiteral). `literal` is taken as
 * is: a `*` or `>` in it is just a character.
 */
export function matchLiteral(literal: string, pattern: string): boolean {
  const ll = literal.length;
  const pl = pattern.length;
  let li = 0;
  for (let pi = 0; pi < pl; pi++) {
    if (li >= ll) return false;
    const c = pattern.charCodeAt(pi);
    if ((c === STAR || c === GT) && (pi === 0 || pattern.charCodeAt(pi - 1) === DOT)) {
      if (pi === pl - 1) {
        // `>` last: anything non-empty that remains matches. `*` last: the
        // rest of the literal must be a single token.
        return c === GT || literal.indexOf('.', li) === -1;
      }
      if (c === STAR && pattern.charCodeAt(pi + 1) === DOT) {
        const dot = literal.indexOf('.', li);
        if (dot === -1) return false;
        // Both sides now sit on a '.', which the comparison below accepts.
        li = dot;
        pi++;
      }
    }
    if (pattern.charCodeAt(pi) !== literal.charCodeAt(li)) return false;
    li++;
  }
  return li >= ll;
}

function hasWildcardToken(tokens: string[]): { pwc: boolean; fwc: boolean } {
  let pwc = false;
  let fwc = false;
  for (const t of tokens) {
    if (t === '*') pwc = true;
    else if (t === '>') fwc = true;
  }
  return { pwc, fwc };
}

// Token-wise "could these two match the same token?" Reference quirk
// (sublist.go tokensCanMatch): a token merely *starting* with '*' or '>' is
// treated as a wildcard here.
function tokensCanMatch(t1: string, t2: string): boolean {
  if (t1.length === 0 || t2.length === 0) return false;
  const c1 = t1.charCodeAt(0);
  const c2 = t2.charCodeAt(0);
  if (c1 === STAR || c2 === STAR || c1 === GT || c2 === GT) return true;
  return t1 === t2;
}

/**
 * Could some literal subject match both subjects? (sublist.go SubjectsCollide)
 */
export function subjectsCollide(subj1: string, subj2: string): boolean {
  if (subj1 === subj2) return true;
  const toks1 = subj1.split('.');
  const toks2 = subj2.split('.');
  const w1 = hasWildcardToken(toks1);
  const w2 = hasWildcardToken(toks2);
  const lit1 = !(w1.pwc || w1.fwc);
  const lit2 = !(w2.pwc || w2.fwc);
  if (lit1 && lit2) return false;
  if (lit1) return isSubsetMatchTokenized(toks1, toks2);
  if (lit2) return isSubsetMatchTokenized(toks2, toks1);
  const n1 = toks1.length;
  const n2 = toks2.length;
  if (n1 !== n2) {
    // Only a `>` lets the shorter one reach the longer one's extra tokens.
    if ((n1 < n2 && !w1.fwc) || (n2 < n1 && !w2.fwc)) return false;
  }
  const stop = Math.min(n1, n2);
  for (let i = 0; i < stop; i++) {
    if (!tokensCanMatch(toks1[i]!, toks2[i]!)) return false;
  }
  return true;
}

/**
 * Is every subject matched by `subject` also matched by `test`? Both may hold
 * wildcards: `foo.*` is a subset of `>`, `*.*` and `foo.*` but not of
 * `foo.bar`. (sublist.go subjectIsSubsetMatch)
 */
export function subjectIsSubsetMatch(subject: string, test: string): boolean {
  return isSubsetMatchTokenized(subject.split('.'), test.split('.'));
}

// sublist.go isSubsetMatchTokenized. Reference quirk kept: a `test` token
// that merely starts with '*' (e.g. "*x") accepts any literal token.
function isSubsetMatchTokenized(tokens: string[], test: string[]): boolean {
  const n = tokens.length;
  for (let i = 0; i < test.length; i++) {
    if (i >= n) return false;
    const t2 = test[i]!;
    if (t2.length === 0) return false;
    if (t2 === '>') return true;
    const t1 = tokens[i]!;
    if (t1.length === 0 || t1 === '>') return false;
    if (t1 === '*') {
      if (t2 !== '*') return false;
      continue;
    }
    if (t2.charCodeAt(0) !== STAR && t1 !== t2) return false;
  }
  return n === test.length;
}

/** Number of tokens; 0 for the empty string. (sublist.go numTokens) */
export function numTokens(subject: string): number {
  if (subject.length === 0) return 0;
  let n = 1;
  for (let i = subject.indexOf('.'); i !== -1; i = subject.indexOf('.', i + 1)) n++;
  return n;
}

/**
 * The number of tokens of subject[from..]; -1 when one is empty (a subject
 * that matches nothing). Client and InternalClient compare it when they
 * reuse a match for a subject that differs only in its last tokens.
 */
export function tailTokens(subject: string, from: number): number {
  const end = subject.length;
  if (from >= end || subject.charCodeAt(end - 1) === DOT) return -1;
  let n = 1;
  for (let i = from; i < end; i++) {
    if (subject.charCodeAt(i) !== DOT) continue;
    if (i === from || subject.charCodeAt(i - 1) === DOT) return -1;
    n++;
  }
  return n;
}

/** tailTokens of the subject in buf[from, end) */
export function tailTokensBytes(buf: Uint8Array, from: number, end: number): number {
  if (from >= end || buf[end - 1] === DOT) return -1;
  let n = 1;
  for (let i = from; i < end; i++) {
    if (buf[i] !== DOT) continue;
    if (i === from || buf[i - 1] === DOT) return -1;
    n++;
  }
  return n;
}

/** The 1-based index-th token, or '' when out of range. (sublist.go tokenAt) */
export function tokenAt(subject: string, index: number): string {
  if (index < 1) return '';
  let start = 0;
  for (let ti = 1; ; ti++) {
    const dot = subject.indexOf('.', start);
    if (ti === index) return dot === -1 ? subject.slice(start) : subject.slice(start, dot);
    if (dot === -1) return '';
    start = dot + 1;
  }
}
