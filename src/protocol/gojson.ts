// Go's encoding/json syntax error texts, for log lines that read like the
// reference's when a client sends malformed CONNECT or INFO JSON (the
// reference logs err.Error() of json.Unmarshal, which checks the whole text
// with its scanner before decoding anything). This is a validator only.
//
// The messages follow encoding/json/scanner.go (Go 1.19, the reference's
// build): "invalid character 'x' <context>", "unexpected end of JSON input",
// and nesting deeper than 10000 is "invalid character '[' exceeded max
// depth". The scan is iterative, so no input can exhaust the JS stack.
// Input that ends inside a number, literal or escape is reported as Go's
// scanner does: it steps a space at the end (scanner.eof), so the text is
// "invalid character ' ' in numeric literal", not "unexpected end".

import { goQuote } from './goquote.js';

/** Go's quoteChar: the offending byte (as a rune) in single quotes, strconv.Quote-escaped. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const q = goQuote(String.fromCharCode(c));
  return `'${q.slice(1, -1)}'`;
}

class GoSyntaxError extends Error {}

/** encoding/json maxNestingDepth */
const MAX_DEPTH = 10000;

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/**
 * Returns Go's error text for invalid JSON, or null when the text is valid
 * JSON as Go's scanner sees it.
 */
export function goJsonSyntaxError(text: string): string | null {
  return goJsonSyntaxErrorBytes(Buffer.from(text, 'utf8'));
}

/** goJsonSyntaxError of the bytes b[start, end) (Go's scanner does not check UTF-8). */
export function goJsonSyntaxErrorBytes(b: Uint8Array, start = 0, end = b.length): string | null {
  let i = start;
  const stack: number[] = [];
  const eof = (): never => {
    throw new GoSyntaxError('unexpected end of JSON input');
  };
  const bad = (c: number, ctx: string): never => {
    throw new GoSyntaxError(`invalid character ${quoteChar(c)} ${ctx}`);
  };
  const skip = () => {
    while (i < end && isSpace(b[i])) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      // at the end Go's scanner steps one more byte, a space (scanner.eof)
      const c = i + k < end ? b[i + k] : 0x20;
      if (c !== word.charCodeAt(k)) bad(c, `in literal ${word} (expecting '${word[k]}')`);
    }
    i += word.length;
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= end) eof();
      const c = b[i];
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        i++;
        const e = i < end ? b[i] : 0x20;
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            const h = i + k < end ? b[i + k] : 0x20;
            const hex = isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46);
            if (!hex) bad(h, 'in \\u hexadecimal character escape');
          }
          i += 5;
          continue;
        }
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          bad(e, 'in string escape code');
        }
        i++;
        continue;
      }
      if (c < 0x20) bad(c, 'in string literal');
      i++;
    }
  };
  const num = () => {
    if (b[i] === 0x2d) {
      i++;
      const c = i < end ? b[i] : 0x20;
      if (!isDigit(c)) bad(c, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < end && isDigit(b[i])) i++;
    if (i < end && b[i] === 0x2e) {
      i++;
      const c = i < end ? b[i] : 0x20;
      if (!isDigit(c)) bad(c, 'after decimal point in numeric literal');
      while (i < end && isDigit(b[i])) i++;
    }
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      const c = i < end ? b[i] : 0x20;
      if (!isDigit(c)) bad(c, 'in exponent of numeric literal');
      while (i < end && isDigit(b[i])) i++;
    }
  };
  /** an object key and its colon; the value follows */
  const key = () => {
    skip();
    if (i >= end) eof();
    if (b[i] !== 0x22) bad(b[i], 'looking for beginning of object key string');
    str();
    skip();
    if (i >= end) eof();
    if (b[i] !== 0x3a) bad(b[i], 'after object key');
    i++;
  };
  const push = (kind: number, c: number) => {
    stack.push(kind);
    if (stack.length > MAX_DEPTH) bad(c, 'exceeded max depth');
    i++;
    skip();
  };
  try {
    // Each turn scans one value (opening containers), then closes what ends after it.
    for (;;) {
      skip();
      if (i >= end) eof();
      const c = b[i];
      if (c === 0x7b) {
        push(IN_OBJECT, c);
        if (i >= end) eof();
        if (b[i] !== 0x7d) {
          key();
          continue;
        }
        i++;
        stack.pop();
      } else if (c === 0x5b) {
        push(IN_ARRAY, c);
        if (i >= end) eof();
        if (b[i] !== 0x5d) continue;
        i++;
        stack.pop();
      } else if (c === 0x22) str();
      else if (c === 0x2d || isDigit(c)) num();
      else if (c === 0x74) literal('true');
      else if (c === 0x66) literal('false');
      else if (c === 0x6e) literal('null');
      else bad(c, 'looking for beginning of value');
      // after a value: a separator or the end of its containers
      let next = false;
      while (!next) {
        skip();
        if (stack.length === 0) {
          if (i < end) bad(b[i], 'after top-level value');
          return null;
        }
        if (i >= end) eof();
        const top = stack[stack.length - 1];
        const d = b[i];
        if (d === 0x2c) {
          i++;
          if (top === IN_OBJECT) key();
          next = true;
        } else if (top === IN_OBJECT && d === 0x7d) {
          i++;
          stack.pop();
        } else if (top === IN_ARRAY && d === 0x5d) {
          i++;
          stack.pop();
        } else bad(d, top === IN_OBJECT ? 'after object key:value pair' : 'after array element');
      }
    }
  } catch (e) {
    if (e instanceof GoSyntaxError) return e.message;
    throw e;
  }
}
