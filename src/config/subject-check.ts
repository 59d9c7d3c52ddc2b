// The few subject rules the config loader needs to validate permissions,
// exports and imports at load time, as server/sublist.go defines them.
// (Routing-grade subject handling lives in src/subjects.)

import { goQuote } from './values.js';

const PWC = '*';
const FWC = '>';

/** server/sublist.go IsValidSubject */
export function isValidSubject(subject: string): boolean {
  if (subject === '') return false;
  let sawFwc = false;
  for (const t of subject.split('.')) {
    if (t.length === 0 || sawFwc) return false;
    if (t.length > 1) {
      if (/[\t\n\f\r ]/.test(t)) return false;
      continue;
    }
    if (t === FWC) sawFwc = true;
    else if (t === ' ' || t === '\t' || t === '\n' || t === '\r' || t === '\f') return false;
  }
  return true;
}

/** server/sublist.go subjectIsLiteral */
export function subjectIsLiteral(subject: string): boolean {
  for (const t of subject.split('.')) {
    if (t === PWC || t === FWC) return false;
  }
  return true;
}

/**
 * server/sublist.go isSubsetMatch: is every subject matched by `subject`
 * (which may contain wildcards) also matched by `test`?
 */
export function isSubsetMatch(subject: string, test: string): boolean {
  const tokens = subject.split('.');
  const testTokens = test.split('.');
  for (let i = 0; i < testTokens.length; i++) {
    if (i >= tokens.length) return false;
    const t2 = testTokens[i];
    if (t2.length === 0) return false;
    if (t2 === FWC) return true;
    const t1 = tokens[i];
    if (t1.length === 0 || t1 === FWC) return false;
    if (t1 === PWC) {
      if (t2 !== PWC) return false;
      continue;
    }
    if (t2 !== PWC && t1 !== t2) return false;
  }
  return tokens.length === testTokens.length;
}

/** server/opts.go checkPermSubjectArray: a subject, or "subject queue". Returns the error text. */
export function checkPermSubject(s: string): string | undefined {
  if (isValidSubject(s)) return undefined;
  const elements = s.split(/[\t\n\v\f\r \u0085\u00a0]+/).filter((e) => e !== '');
  if (elements.length !== 2) return `subject ${goQuote(s)} is not a valid subject`;
  if (!isValidSubject(elements[0])) return `subject ${goQuote(elements[0])} is not a valid subject`;
  return undefined;
}
