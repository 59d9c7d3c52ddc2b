// Go's encoding/json syntax error texts, for log lines that read like the
// reference's when a client sends malformed CONNECT or INFO JSON (the
// reference logs err.Error() of json.Unmarshal). This is a validator only:
// values are decoded with JSON.parse once the text is known to be valid.
//
// The messages follow encoding/json/scanner.go: "invalid character 'x'
// <context>" and "unexpected end of JSON input".

/** Go's quoteChar: the offending byte in single quotes with Go escapes. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const special: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (special[c] !== undefined) return `'${special[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80) return `'${String.fromCharCode(c)}'`;
  return `'${String.fromCharCode(c)}'`;
}

class GoSyntaxError extends Error {}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Returns Go's error text for invalid JSON, or null when the text is valid
 * JSON as Go's scanner sees it.
 */
export function goJsonSyntaxError(text: string): string | null {
  const b = Buffer.from(text, 'utf8');
  let i = 0;
  const eof = () => {
    throw new GoSyntaxError('unexpected end of JSON input');
  };
  const bad = (c: number, ctx: string) => {
    throw new GoSyntaxError(`invalid character ${quoteChar(c)} ${ctx}`);
  };
  const skip = () => {
    while (i < b.length && isSpace(b[i])) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      if (i + k >= b.length) eof();
      if (b[i + k] !== word.charCodeAt(k)) bad(b[i + k], `in literal ${word} (expecting '${word[k]}')`);
    }
    i += word.length;
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= b.length) eof();
      const c = b[i];
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        i++;
        if (i >= b.length) eof();
        const e = b[i];
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= b.length) eof();
            const h = b[i + k];
            const hex = isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46);
            if (!hex) bad(h, 'in \\u hexadecimal character escape');
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) bad(e, 'in string escape code');
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
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad(b[i], 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < b.length && isDigit(b[i])) i++;
    if (i < b.length && b[i] === 0x2e) {
      i++;
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad(b[i], 'after decimal point in numeric literal');
      while (i < b.length && isDigit(b[i])) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad(b[i], 'in exponent of numeric literal');
      while (i < b.length && isDigit(b[i])) i++;
    }
  };
  const value = (): void => {
    skip();
    if (i >= b.length) eof();
    const c = b[i];
    if (c === 0x7b) return obj();
    if (c === 0x5b) return arr();
    if (c === 0x22) return str();
    if (c === 0x2d || isDigit(c)) return num();
    if (c === 0x74) return literal('true');
    if (c === 0x66) return literal('false');
    if (c === 0x6e) return literal('null');
    bad(c, 'looking for beginning of value');
  };
  const obj = () => {
    i++;
    skip();
    if (i >= b.length) eof();
    if (b[i] === 0x7d) {
      i++;
      return;
    }
    for (;;) {
      skip();
      if (i >= b.length) eof();
      if (b[i] !== 0x22) bad(b[i], 'looking for beginning of object key string');
      str();
      skip();
      if (i >= b.length) eof();
      if (b[i] !== 0x3a) bad(b[i], 'after object key');
      i++;
      value();
      skip();
      if (i >= b.length) eof();
      if (b[i] === 0x2c) {
        i++;
        continue;
      }
      if (b[i] === 0x7d) {
        i++;
        return;
      }
      bad(b[i], 'after object key:value pair');
    }
  };
  const arr = () => {
    i++;
    skip();
    if (i >= b.length) eof();
    if (b[i] === 0x5d) {
      i++;
      return;
    }
    for (;;) {
      value();
      skip();
      if (i >= b.length) eof();
      if (b[i] === 0x2c) {
        i++;
        continue;
      }
      if (b[i] === 0x5d) {
        i++;
        return;
      }
      bad(b[i], 'after array element');
    }
  };
  try {
    value();
    skip();
    if (i < b.length) bad(b[i], 'after top-level value');
    return null;
  } catch (e) {
    if (e instanceof GoSyntaxError) return e.message;
    throw e;
  }
}
