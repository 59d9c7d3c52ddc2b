// Go's strconv.Quote (what fmt's %q prints for a string or []byte), for log
// lines that carry client bytes the way the reference prints them: the
// parser error snippet (server/parser.go protoSnippet) and the client's
// name/lang/version in the log prefix (server/client.go processConnect).
//
// Also Go's utf8.DecodeRune, which both need: Go accepts only well-formed
// UTF-8 and takes every other byte alone as an error (RuneError, width 1),
// where Node's decoder replaces a whole truncated sequence at once.

/**
 * Decodes one rune at b[i] (i < end) like Go's utf8.DecodeRune. Returns
 * (width << 21) | rune; an invalid or truncated sequence gives width 1 and
 * rune 0xFFFD.
 */
export function decodeRuneGo(b: Uint8Array, i: number, end: number): number {
  const c0 = b[i];
  if (c0 < 0x80) return (1 << 21) | c0;
  const bad = (1 << 21) | 0xfffd;
  if (c0 < 0xc2 || c0 > 0xf4) return bad;
  const c1 = i + 1 < end ? b[i + 1] : -1;
  if (c0 < 0xe0) {
    if (c1 < 0x80 || c1 > 0xbf) return bad;
    return (2 << 21) | ((c0 & 0x1f) << 6) | (c1 & 0x3f);
  }
  // second byte ranges that exclude overlongs, surrogates and > U+10FFFF
  const lo = c0 === 0xe0 ? 0xa0 : c0 === 0xf0 ? 0x90 : 0x80;
  const hi = c0 === 0xed ? 0x9f : c0 === 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return bad;
  const c2 = i + 2 < end ? b[i + 2] : -1;
  if (c2 < 0x80 || c2 > 0xbf) return bad;
  if (c0 < 0xf0) return (3 << 21) | ((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
  const c3 = i + 3 < end ? b[i + 3] : -1;
  if (c3 < 0x80 || c3 > 0xbf) return bad;
  return (4 << 21) | ((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
}

// strconv.IsPrint: categories L, M, N, P, S and the ASCII space. Node's
// Unicode tables are newer than Go 1.19's (Unicode 13), so a character
// assigned since then prints raw here and as \u…. in the reference.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** strconv.Quote of the bytes b[start, end). */
export function goQuoteBytes(b: Uint8Array, start = 0, end = b.length): string {
  let out = '"';
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c >= 0x20 && c < 0x7f) {
      // printable ASCII: only the quote and the backslash are escaped
      out += c === 0x22 || c === 0x5c ? '\\' + String.fromCharCode(c) : String.fromCharCode(c);
      i++;
      continue;
    }
    if (c < 0x80) {
      out += escapeControl(c);
      i++;
      continue;
    }
    const d = decodeRuneGo(b, i, end);
    const w = d >>> 21;
    const r = d & 0x1fffff;
    if (w === 1) {
      out += '\\x' + hex(c, 2); // invalid UTF-8: the byte itself
      i++;
      continue;
    }
    const ch = String.fromCodePoint(r);
    if (PRINTABLE.test(ch)) out += ch;
    else out += r < 0x10000 ? '\\u' + hex(r, 4) : '\\U' + hex(r, 8);
    i += w;
  }
  return out + '"';
}

function escapeControl(c: number): string {
  switch (c) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
    default:
      return '\\x' + hex(c, 2); // the other C0 controls and DEL
  }
}

/** strconv.Quote of a JS string (its UTF-8 encoding; lone surrogates become U+FFFD as Go's string conversion does). */
export function goQuote(s: string): string {
  return goQuoteBytes(Buffer.from(s, 'utf8'));
}
