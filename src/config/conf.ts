// The NATS configuration file format: a lexer and parser that reproduce
// nats-server 2.9.10's conf package (conf/lex.go, conf/parse.go) in "pedantic"
// mode, the one the server uses, including its quirks: accepted inputs,
// value types, error texts, and line/column numbers all match, so that
// errors built from these positions read exactly like the reference's.
//
// Value representation: every value is a ConfNode, a tagged object carrying
// its kind, its converted value, and where it came from (file, line, column).
// Maps are `Map<string, ConfNode>` in first-definition order. As in the
// reference, a value stored under a key carries the key's position, and an
// array element carries its own. Columns are byte offsets counted the
// reference's way: 0-based on a file's first line, 1-based on later lines.
//
// Supported syntax: `k = v`, `k: v`, `k v`; `{}` maps and `[]` arrays
// (separated by ',' ';' or newlines); `#` and `//` comments; single-quoted
// (raw) and double-quoted (\t \n \r \" \\ \xHH escapes) strings; bare strings;
// integers with size suffixes (k m g t p e = powers of 1000; kb/ki/kib ...
// = powers of 1024, case-insensitive); floats; true/false/yes/no/on/off in
// any case; Zulu datetimes (2006-01-02T15:04:05Z); `(` ... `)` blocks ending
// with ')' alone on a line; `include <file>` relative to the including
// file; `$var` references resolved through enclosing blocks, then the
// environment (whose value is parsed as a conf value).

import { readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from './errors.js';

export interface ConfPosition {
  /** file the value came from ('' for text parsed without a file name) */
  file: string;
  line: number;
  /** the reference's column (see the file header) */
  column: number;
}

interface NodeBase extends ConfPosition {
  /**
   * true once a `$name` reference used this entry. The reference does not
   * report such entries as unknown fields.
   */
  usedVariable: boolean;
  /**
   * set on the elements and entries of a value that came from an environment
   * variable: the reference holds those without position (errors about them
   * print no file:line:col) and without its token wrapper.
   */
  fromEnv?: true;
}

export interface ConfString extends NodeBase {
  kind: 'string';
  value: string;
}
export interface ConfInteger extends NodeBase {
  kind: 'integer';
  /** int64 in the reference; exact here up to 2^53 */
  value: number;
}
export interface ConfFloat extends NodeBase {
  kind: 'float';
  value: number;
}
export interface ConfBool extends NodeBase {
  kind: 'bool';
  value: boolean;
}
export interface ConfDatetime extends NodeBase {
  kind: 'datetime';
  value: Date;
}
export interface ConfArray extends NodeBase {
  kind: 'array';
  value: ConfNode[];
}
export interface ConfMapNode extends NodeBase {
  kind: 'map';
  value: ConfMap;
}

export type ConfNode = ConfString | ConfInteger | ConfFloat | ConfBool | ConfDatetime | ConfArray | ConfMapNode;
export type ConfKind = ConfNode['kind'];
export type ConfMap = Map<string, ConfNode>;

export interface ParseOptions {
  /** file name recorded in positions and used to resolve includes */
  file?: string;
  /** environment for `$VAR` fallback; defaults to process.env */
  env?: Record<string, string | undefined>;
}

// ---------------------------------------------------------------------------
// Lexer

const enum T {
  Error,
  EOF,
  Key,
  Text,
  String,
  Bool,
  Integer,
  Float,
  Datetime,
  ArrayStart,
  ArrayEnd,
  MapStart,
  MapEnd,
  CommentStart,
  Variable,
  Include,
}

interface Item {
  type: T;
  val: string;
  line: number;
  pos: number;
}

type State = (lx: Lexer) => State | null;

/** The reference uses rune 0 as its end-of-input marker (a NUL byte looks the same). */
const EOF = 0;
const NL = 0x0a;
const CR = 0x0d;

const isNL = (r: number): boolean => r === NL || r === CR;
const isWhitespace = (r: number): boolean => r === 0x09 || r === 0x20;
const isKeySep = (r: number): boolean => r === 0x3d /* = */ || r === 0x3a; /* : */

/** Go unicode.IsSpace. */
function isSpace(r: number): boolean {
  if (r <= 0xff) {
    return (r >= 0x09 && r <= 0x0d) || r === 0x20 || r === 0x85 || r === 0xa0;
  }
  return /\p{White_Space}/u.test(String.fromCodePoint(r));
}

/** Go unicode.IsDigit. */
function isDigit(r: number): boolean {
  if (r <= 0xff) return r >= 0x30 && r <= 0x39;
  return /\p{Nd}/u.test(String.fromCodePoint(r));
}

function isNumberSuffix(r: number): boolean {
  switch (r) {
    case 0x6b: case 0x4b: // k K
    case 0x6d: case 0x4d: // m M
    case 0x67: case 0x47: // g G
    case 0x74: case 0x54: // t T
    case 0x70: case 0x50: // p P
    case 0x65: case 0x45: // e E
      return true;
  }
  return false;
}

/** A rune as the reference prints it in lexer errors (only '\n' is escaped). */
function runeText(r: number): string {
  return r === NL ? '\\n' : String.fromCodePoint(r);
}

/** Decodes one UTF-8 rune like Go's utf8.DecodeRune: invalid input is U+FFFD, width 1. */
function decodeRune(b: Buffer, i: number): [number, number] {
  const c0 = b[i];
  if (c0 < 0x80) return [c0, 1];
  const bad: [number, number] = [0xfffd, 1];
  const cont = (k: number): number => {
    const c = b[i + k];
    return c !== undefined && (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? bad : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return bad;
    const r = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
    if (r < 0x800 || (r >= 0xd800 && r <= 0xdfff)) return bad;
    return [r, 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return bad;
    const r = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (r < 0x10000 || r > 0x10ffff) return bad;
    return [r, 4];
  }
  return bad;
}

/**
 * A state machine over UTF-8 bytes. Positions are byte offsets because the
 * reference's columns are; `lstart` is the offset of the last '\n' read,
 * which is why first-line columns come out 0-based.
 */
class Lexer {
  readonly input: Buffer;
  start = 0;
  pos = 0;
  width = 0;
  line = 1;
  lstart = 0;
  ilstart = 0;
  private state: State | null = lexTop;
  private readonly queue: Item[] = [];
  private readonly stack: State[] = [];
  /** pieces of a string being assembled around escapes */
  parts: Buffer[] = [];
  /** where to resume after an escape */
  stringState: State = lexString;

  constructor(input: Buffer) {
    this.input = input;
  }

  nextItem(): Item {
    for (;;) {
      const it = this.queue.shift();
      if (it !== undefined) return it;
      if (this.state === null) {
        // The reference never asks past an EOF or error item; be defensive.
        return { type: T.EOF, val: '', line: this.line, pos: 0 };
      }
      this.state = this.state(this);
    }
  }

  push(s: State): void {
    this.stack.push(s);
  }

  pop(): State | null {
    const s = this.stack.pop();
    if (s === undefined) return this.errorf('BUG in lexer: no states to pop.');
    return s;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    if (this.input[this.pos] === NL) {
      this.line++;
      this.lstart = this.pos;
    }
    const [r, w] = decodeRune(this.input, this.pos);
    this.width = w;
    this.pos += w;
    return r;
  }

  /** Steps back over the last rune read; like the reference, does not restore lstart. */
  backup(): void {
    this.pos -= this.width;
    if (this.pos < this.input.length && this.input[this.pos] === NL) this.line--;
  }

  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  ignore(): void {
    this.start = this.pos;
    this.ilstart = this.lstart;
  }

  slice(from: number, to: number): string {
    return this.input.toString('utf8', from, to);
  }

  private current(): Buffer {
    const tail = this.input.subarray(this.start, this.pos);
    return this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
  }

  private push_item(type: T, bytes: Buffer): void {
    this.queue.push({
      type,
      val: bytes.toString('utf8'),
      line: this.line,
      pos: this.pos - this.ilstart - bytes.length,
    });
    this.start = this.pos;
    this.ilstart = this.lstart;
  }

  /** Emits the pending text. Like the reference it leaves `parts` in place. */
  emit(type: T): void {
    this.push_item(type, this.current());
  }

  /** Emits the pending text as a string and clears the escape parts. */
  emitString(): void {
    const bytes = this.current();
    this.parts = [];
    this.push_item(T.String, bytes);
  }

  addCurrentPart(offset: number): void {
    this.parts.push(Buffer.from(this.input.subarray(this.start, this.pos - offset)));
    this.start = this.pos;
  }

  addPart(b: Buffer): State {
    this.parts.push(b);
    this.start = this.pos;
    return this.stringState;
  }

  errorf(msg: string): null {
    this.queue.push({ type: T.Error, val: msg, line: this.line, pos: this.pos - this.lstart });
    return null;
  }

  isBool(): boolean {
    const s = this.slice(this.start, this.pos).toLowerCase();
    return s === 'true' || s === 'false' || s === 'on' || s === 'off' || s === 'yes' || s === 'no';
  }

  /** `$name` bare strings are variable references; drops the '$'. */
  isVariable(): boolean {
    if (this.start >= this.input.length) return false;
    if (this.input[this.start] === 0x24) {
      this.start += 1;
      return true;
    }
    return false;
  }
}

function skip(next: State): State {
  return (lx) => {
    lx.ignore();
    return next;
  };
}

function lexTop(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) return skip(lexTop);
  switch (r) {
    case 0x7b: // '{' an optional brace around the whole file
      return skip(lexTop);
    case 0x23: // '#'
      lx.push(lexTop);
      return lexCommentStart;
    case 0x2f: // '/'
      if (lx.next() === 0x2f) {
        lx.push(lexTop);
        return lexCommentStart;
      }
      lx.backup();
      return topEOF(lx); // the reference falls through to its EOF case here
    case EOF:
      return topEOF(lx);
  }
  lx.backup();
  lx.push(lexTopValueEnd);
  return lexKeyStart;
}

function topEOF(lx: Lexer): State | null {
  if (lx.pos > lx.start) return lx.errorf('Unexpected EOF.');
  lx.emit(T.EOF);
  return null;
}

function lexTopValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x23) {
    lx.push(lexTop);
    return lexCommentStart;
  }
  if (r === 0x2f) {
    if (lx.next() === 0x2f) {
      lx.push(lexTop);
      return lexCommentStart;
    }
    lx.backup();
    return lexTopValueEnd; // a lone '/' is skipped like whitespace (reference fallthrough)
  }
  if (isWhitespace(r)) return lexTopValueEnd;
  if (isNL(r) || r === EOF || r === 0x3b || r === 0x2c || r === 0x7d) {
    lx.ignore();
    return lexTop;
  }
  return lx.errorf(
    `Expected a top-level value to end with a new line, comment or EOF, but got '${runeText(r)}' instead.`,
  );
}

function lexKeyStart(lx: Lexer): State | null {
  const r = lx.peek();
  if (isKeySep(r)) return lx.errorf(`Unexpected key separator '${runeText(r)}'`);
  if (isSpace(r)) {
    lx.next();
    return skip(lexKeyStart);
  }
  if (r === 0x22 || r === 0x27) {
    lx.next();
    return skip(quotedTopKey(r));
  }
  lx.ignore();
  lx.next();
  return lexKey;
}

const quotedTopKeyStates = new Map<number, State>();
function quotedTopKey(quote: number): State {
  let s = quotedTopKeyStates.get(quote);
  if (s === undefined) {
    const state: State = (lx) => {
      const r = lx.peek();
      if (r === quote) {
        lx.emit(T.Key);
        lx.next();
        return skip(lexKeyEnd);
      }
      if (r === EOF) return topEOF(lx);
      lx.next();
      return state;
    };
    s = state;
    quotedTopKeyStates.set(quote, s);
  }
  return s;
}

/** A key followed by a space may be the `include` keyword. */
function keyOrKeyword(lx: Lexer, after: State, resume: State | null): State {
  if (lx.slice(lx.start, lx.pos).toLowerCase() === 'include') {
    lx.ignore();
    if (resume !== null) lx.push(resume);
    return lexIncludeStart;
  }
  lx.emit(T.Key);
  return after;
}

function lexIncludeStart(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) return skip(lexIncludeStart);
  lx.backup();
  return lexInclude;
}

function includeQuoted(quote: number, eofMsg: string): State {
  const state: State = (lx) => {
    const r = lx.next();
    if (r === quote) {
      lx.backup();
      lx.emit(T.Include);
      lx.next();
      lx.ignore();
      return lx.pop();
    }
    if (r === EOF) return lx.errorf(eofMsg);
    return state;
  };
  return state;
}
const lexIncludeQuoted = includeQuoted(0x27, 'Unexpected EOF in quoted include');
const lexIncludeDubQuoted = includeQuoted(0x22, 'Unexpected EOF in double quoted include');

function lexIncludeString(lx: Lexer): State | null {
  const r = lx.next();
  if (isNL(r) || r === EOF || r === 0x3b || r === 0x7d || isWhitespace(r)) {
    lx.backup();
    lx.emit(T.Include);
    return lx.pop();
  }
  if (r === 0x27) {
    lx.backup();
    lx.emit(T.Include);
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  return lexIncludeString;
}

function lexInclude(lx: Lexer): State | null {
  const r = lx.next();
  switch (r) {
    case 0x27:
      lx.ignore();
      return lexIncludeQuoted;
    case 0x22:
      lx.ignore();
      return lexIncludeDubQuoted;
    case 0x5b:
      return lx.errorf('Expected include value but found start of an array');
    case 0x7b:
      return lx.errorf('Expected include value but found start of a map');
    case 0x28:
      return lx.errorf('Expected include value but found start of a block');
    case 0x5c:
      return lx.errorf('Expected include value but found escape sequence');
  }
  if (isDigit(r) || r === 0x2d) return lx.errorf('Expected include value but found start of a number');
  if (isNL(r)) return lx.errorf('Expected include value but found new line');
  lx.backup();
  return lexIncludeString;
}

function lexKey(lx: Lexer): State | null {
  const r = lx.peek();
  if (isSpace(r)) return keyOrKeyword(lx, lexKeyEnd, null);
  if (isKeySep(r) || r === EOF) {
    lx.emit(T.Key);
    return lexKeyEnd;
  }
  lx.next();
  return lexKey;
}

function lexKeyEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) return skip(lexKeyEnd);
  if (isKeySep(r)) return skip(lexValue);
  if (r === EOF) {
    lx.emit(T.EOF);
    return null;
  }
  lx.backup();
  return lexValue;
}

function lexValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) return skip(lexValue);
  switch (r) {
    case 0x5b: // '['
      lx.ignore();
      lx.emit(T.ArrayStart);
      return lexArrayValue;
    case 0x7b: // '{'
      lx.ignore();
      lx.emit(T.MapStart);
      return lexMapKeyStart;
    case 0x27: // '\''
      lx.ignore();
      return lexQuotedString;
    case 0x22: // '"'
      lx.ignore();
      lx.stringState = lexDubQuotedString;
      return lexDubQuotedString;
    case 0x2d: // '-'
      return lexNegNumberStart;
    case 0x28: // '('
      lx.ignore();
      return lexBlock;
  }
  if (isDigit(r)) {
    lx.backup();
    return lexNumberOrDateOrStringOrIPStart;
  }
  if (r === 0x2e) return lx.errorf('Floats must start with a digit');
  if (isNL(r)) return lx.errorf('Expected value but found new line');
  lx.backup();
  lx.stringState = lexString;
  return lexString;
}

function lexArrayValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) return skip(lexArrayValue);
  if (r === 0x23) {
    lx.push(lexArrayValue);
    return lexCommentStart;
  }
  if (r === 0x2f) {
    if (lx.next() === 0x2f) {
      lx.push(lexArrayValue);
      return lexCommentStart;
    }
    lx.backup();
    return lx.errorf("Unexpected array value terminator ','.");
  }
  if (r === 0x2c) return lx.errorf("Unexpected array value terminator ','.");
  if (r === 0x5d) return lexArrayEnd;
  lx.backup();
  lx.push(lexArrayValueEnd);
  return lexValue;
}

function lexArrayValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) return skip(lexArrayValueEnd);
  if (r === 0x23) {
    lx.push(lexArrayValueEnd);
    return lexCommentStart;
  }
  if (r === 0x2f) {
    if (lx.next() === 0x2f) {
      lx.push(lexArrayValueEnd);
      return lexCommentStart;
    }
    lx.backup();
    return skip(lexArrayValue);
  }
  if (r === 0x2c || isNL(r)) return skip(lexArrayValue);
  if (r === 0x5d) return lexArrayEnd;
  return lx.errorf(
    `Expected an array value terminator "," or an array terminator "]", but got '${runeText(r)}' instead.`,
  );
}

function lexArrayEnd(lx: Lexer): State | null {
  lx.ignore();
  lx.emit(T.ArrayEnd);
  return lx.pop();
}

function lexMapKeyStart(lx: Lexer): State | null {
  const r = lx.peek();
  if (isKeySep(r)) return lx.errorf(`Unexpected key separator '${runeText(r)}'.`);
  if (r === 0x5d) return lx.errorf(`Unexpected array end '${runeText(r)}' processing map.`);
  if (isSpace(r)) {
    lx.next();
    return skip(lexMapKeyStart);
  }
  switch (r) {
    case 0x7d:
      lx.next();
      return skip(lexMapEnd);
    case 0x23:
      lx.next();
      lx.push(lexMapKeyStart);
      return lexCommentStart;
    case 0x2f:
      lx.next();
      if (lx.next() === 0x2f) {
        lx.push(lexMapKeyStart);
        return lexCommentStart;
      }
      // Not a comment: the reference drops the '/' and starts the key after it.
      lx.backup();
      break;
    case 0x27:
      lx.next();
      return skip(lexMapQuotedKey);
    case 0x22:
      lx.next();
      return skip(lexMapDubQuotedKey);
    case EOF:
      return lx.errorf('Unexpected EOF processing map.');
  }
  lx.ignore();
  lx.next();
  return lexMapKey;
}

function mapQuotedKey(quote: number, eofMsg: string): State {
  const state: State = (lx) => {
    const r = lx.peek();
    if (r === EOF) return lx.errorf(eofMsg);
    if (r === quote) {
      lx.emit(T.Key);
      lx.next();
      return skip(lexMapKeyEnd);
    }
    lx.next();
    return state;
  };
  return state;
}
const lexMapQuotedKey = mapQuotedKey(0x27, 'Unexpected EOF processing quoted map key.');
const lexMapDubQuotedKey = mapQuotedKey(0x22, 'Unexpected EOF processing double quoted map key.');

function lexMapKey(lx: Lexer): State | null {
  const r = lx.peek();
  if (r === EOF) return lx.errorf('Unexpected EOF processing map key.');
  if (isSpace(r)) return keyOrKeyword(lx, lexMapKeyEnd, lexMapValueEnd);
  if (isKeySep(r)) {
    lx.emit(T.Key);
    return lexMapKeyEnd;
  }
  lx.next();
  return lexMapKey;
}

function lexMapKeyEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) return skip(lexMapKeyEnd);
  if (isKeySep(r)) return skip(lexMapValue);
  lx.backup();
  return lexMapValue;
}

function lexMapValue(lx: Lexer): State | null {
  const r = lx.next();
  if (isSpace(r)) return skip(lexMapValue);
  if (r === 0x2c) return lx.errorf('Unexpected map value terminator ",".');
  if (r === 0x7d) return skip(lexMapEnd);
  lx.backup();
  lx.push(lexMapValueEnd);
  return lexValue;
}

function lexMapValueEnd(lx: Lexer): State | null {
  const r = lx.next();
  if (isWhitespace(r)) return skip(lexMapValueEnd);
  if (r === 0x23) {
    lx.push(lexMapValueEnd);
    return lexCommentStart;
  }
  if (r === 0x2f) {
    if (lx.next() === 0x2f) {
      lx.push(lexMapValueEnd);
      return lexCommentStart;
    }
    lx.backup();
    return skip(lexMapKeyStart);
  }
  if (r === 0x3b || r === 0x2c || isNL(r)) return skip(lexMapKeyStart);
  if (r === 0x7d) return skip(lexMapEnd);
  return lx.errorf(
    `Expected a map value terminator "," or a map terminator "}", but got '${runeText(r)}' instead.`,
  );
}

function lexMapEnd(lx: Lexer): State | null {
  lx.ignore();
  lx.emit(T.MapEnd);
  return lx.pop();
}

function lexQuotedString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x27) {
    lx.backup();
    lx.emit(T.String);
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  if (r === EOF) return topEOF(lx);
  return lexQuotedString;
}

function lexDubQuotedString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x5c) {
    lx.addCurrentPart(1);
    return lexStringEscape;
  }
  if (r === 0x22) {
    lx.backup();
    lx.emitString();
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  if (r === EOF) return topEOF(lx);
  return lexDubQuotedString;
}

function lexString(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x5c) {
    lx.addCurrentPart(1);
    return lexStringEscape;
  }
  if (
    isNL(r) || r === EOF || r === 0x3b || r === 0x2c || r === 0x5d || r === 0x7d || isWhitespace(r)
  ) {
    lx.backup();
    if (lx.parts.length > 0) lx.emitString();
    else if (lx.isBool()) lx.emit(T.Bool);
    else if (lx.isVariable()) lx.emit(T.Variable);
    else lx.emitString();
    return lx.pop();
  }
  if (r === 0x27) {
    lx.backup();
    lx.emitString();
    lx.next();
    lx.ignore();
    return lx.pop();
  }
  return lexString;
}

/** `(` ... `)`: raw text up to a ')' that sits alone on its line. */
function lexBlock(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x29) {
    lx.backup();
    lx.backup();
    if (lx.next() !== NL) {
      lx.next();
      return lexBlock;
    }
    lx.next();
    const after = lx.next();
    if (after === NL || after === EOF) {
      lx.backup();
      lx.backup();
      lx.emit(T.String);
      lx.next();
      lx.ignore();
      return lx.pop();
    }
    lx.backup();
    return lexBlock;
  }
  if (r === EOF) return lx.errorf('Unexpected EOF processing block.');
  return lexBlock;
}

function lexStringEscape(lx: Lexer): State | null {
  const r = lx.next();
  switch (r) {
    case 0x78: // x
      return lexStringBinary;
    case 0x74:
      return lx.addPart(Buffer.from('\t'));
    case 0x6e:
      return lx.addPart(Buffer.from('\n'));
    case 0x72:
      return lx.addPart(Buffer.from('\r'));
    case 0x22:
      return lx.addPart(Buffer.from('"'));
    case 0x5c:
      return lx.addPart(Buffer.from('\\'));
  }
  return lx.errorf(
    `Invalid escape character '${runeText(r)}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
  );
}

function lexStringBinary(lx: Lexer): State | null {
  const eol = "Expected two hexadecimal digits after '\\x', but hit end of line";
  if (isNL(lx.next())) return lx.errorf(eol);
  if (isNL(lx.next())) return lx.errorf(eol);
  const from = Math.max(0, lx.pos - 2);
  const hex = lx.input.subarray(from, lx.pos);
  if (!/^[0-9a-fA-F]{2}$/.test(hex.toString('latin1'))) {
    return lx.errorf(`Expected two hexadecimal digits after '\\x', but got '${hex.toString('utf8')}'`);
  }
  lx.addPart(Buffer.from([parseInt(hex.toString('latin1'), 16)]));
  return lx.stringState;
}

function lexNumberOrDateOrStringOrIPStart(lx: Lexer): State | null {
  const r = lx.next();
  if (!isDigit(r)) {
    if (r === 0x2e) return lx.errorf("Floats must start with a digit, not '.'.");
    return lx.errorf(`Expected a digit but got '${runeText(r)}'.`);
  }
  return lexNumberOrDateOrStringOrIP;
}

function lexNumberOrDateOrStringOrIP(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x2d) {
    if (lx.pos - lx.start !== 5) return lx.errorf('All ISO8601 dates must be in full Zulu form.');
    return lexDateAfterYear;
  }
  if (isDigit(r)) return lexNumberOrDateOrStringOrIP;
  if (r === 0x2e) return lexFloatStart;
  if (isNumberSuffix(r)) return lexConvenientNumber;
  if (!(isNL(r) || r === EOF || r === 0x7d || r === 0x3b || r === 0x2c || isWhitespace(r))) {
    // Starts like a number but is not one: a bare string. The rune just read
    // stays consumed (so "[1]" lexes as the string "1]", as in the reference).
    lx.stringState = lexString;
    return lexString;
  }
  lx.backup();
  lx.emit(T.Integer);
  return lx.pop();
}

function lexConvenientNumber(lx: Lexer): State | null {
  const r = lx.next();
  if (r === 0x62 || r === 0x42 || r === 0x69 || r === 0x49) return lexConvenientNumber; // b B i I
  lx.backup();
  if (isNL(r) || r === EOF || r === 0x7d || r === 0x3b || r === 0x2c || isWhitespace(r) || isDigit(r)) {
    lx.emit(T.Integer);
    return lx.pop();
  }
  lx.stringState = lexString;
  return lexString;
}

const DATE_SHAPE = '00-00T00:00:00Z';

function lexDateAfterYear(lx: Lexer): State | null {
  for (const f of DATE_SHAPE) {
    const r = lx.next();
    if (f === '0') {
      if (!isDigit(r)) {
        return lx.errorf(`Expected digit in ISO8601 datetime, but found '${runeText(r)}' instead.`);
      }
    } else if (f.codePointAt(0) !== r) {
      return lx.errorf(`Expected '${f}' in ISO8601 datetime, but found '${runeText(r)}' instead.`);
    }
  }
  lx.emit(T.Datetime);
  return lx.pop();
}

function lexNegNumberStart(lx: Lexer): State | null {
  const r = lx.next();
  if (!isDigit(r)) {
    if (r === 0x2e) return lx.errorf("Floats must start with a digit, not '.'.");
    return lx.errorf(`Expected a digit but got '${runeText(r)}'.`);
  }
  return lexNegNumber;
}

function lexNegNumber(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r)) return lexNegNumber;
  if (r === 0x2e) return lexFloatStart;
  if (isNumberSuffix(r)) return lexConvenientNumber;
  lx.backup();
  lx.emit(T.Integer);
  return lx.pop();
}

function lexFloatStart(lx: Lexer): State | null {
  const r = lx.next();
  if (!isDigit(r)) {
    return lx.errorf(`Floats must have a digit after the '.', but got '${runeText(r)}' instead.`);
  }
  return lexFloat;
}

function lexFloat(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r)) return lexFloat;
  if (r === 0x2e) return lexIPAddr; // a second '.' : an address, not a float
  lx.backup();
  lx.emit(T.Float);
  return lx.pop();
}

function lexIPAddr(lx: Lexer): State | null {
  const r = lx.next();
  if (isDigit(r) || r === 0x2e || r === 0x3a || r === 0x2d) return lexIPAddr;
  lx.backup();
  lx.emit(T.String);
  return lx.pop();
}

function lexCommentStart(lx: Lexer): State | null {
  lx.ignore();
  lx.emit(T.CommentStart);
  return lexComment;
}

function lexComment(lx: Lexer): State | null {
  const r = lx.peek();
  if (isNL(r) || r === EOF) {
    lx.emit(T.Text);
    return lx.pop();
  }
  lx.next();
  return lexComment;
}

// ---------------------------------------------------------------------------
// Parser

const SIZE_SUFFIXES: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  kb: 1024n, ki: 1024n, kib: 1024n,
  m: 1000n ** 2n,
  mb: 1024n ** 2n, mi: 1024n ** 2n, mib: 1024n ** 2n,
  g: 1000n ** 3n,
  gb: 1024n ** 3n, gi: 1024n ** 3n, gib: 1024n ** 3n,
  t: 1000n ** 4n,
  tb: 1024n ** 4n, ti: 1024n ** 4n, tib: 1024n ** 4n,
  p: 1000n ** 5n,
  pb: 1024n ** 5n, pi: 1024n ** 5n, pib: 1024n ** 5n,
  e: 1000n ** 6n,
  eb: 1024n ** 6n, ei: 1024n ** 6n, eib: 1024n ** 6n,
};

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;


type Ctx = { kind: 'map'; map: ConfMap } | { kind: 'array'; items: ConfNode[] };

interface KeyRef {
  key: string;
  line: number;
  pos: number;
}

interface ParserEnv {
  env: Record<string, string | undefined>;
  /** real paths of the files being parsed, outermost first (include loop guard) */
  files: string[];
  /** environment variables being expanded, outermost first ($A -> $A guard) */
  envStack: string[];
}

class Parser {
  readonly mapping: ConfMap = new Map();
  private readonly lx: Lexer;
  private readonly ctxs: Ctx[] = [];
  private readonly keys: KeyRef[] = [];
  private readonly dir: string;

  constructor(
    data: Buffer,
    private readonly file: string,
    private readonly penv: ParserEnv,
  ) {
    this.lx = new Lexer(data);
    this.dir = path.dirname(file);
    this.ctxs.push({ kind: 'map', map: this.mapping });
  }

  private get ctx(): Ctx {
    return this.ctxs[this.ctxs.length - 1];
  }

  run(): ConfMap {
    for (;;) {
      const it = this.lx.nextItem();
      if (it.type === T.EOF) return this.mapping;
      this.process(it);
    }
  }

  private node(it: Item, kind: ConfKind, value: unknown): ConfNode {
    return { kind, value, file: this.file, line: it.line, column: it.pos, usedVariable: false } as ConfNode;
  }

  private process(it: Item): void {
    switch (it.type) {
      case T.Error:
        throw new ConfigError('CONF_SYNTAX', `Parse error on line ${it.line}: '${it.val}'`, {
          file: this.file,
          line: it.line,
          column: it.pos,
        });
      case T.Key:
        this.keys.push({ key: it.val, line: it.line, pos: it.pos });
        return;
      case T.MapStart:
        this.ctxs.push({ kind: 'map', map: new Map() });
        return;
      case T.MapEnd: {
        const c = this.popCtx();
        this.setValue(this.node(it, 'map', (c as { map: ConfMap }).map));
        return;
      }
      case T.ArrayStart:
        this.ctxs.push({ kind: 'array', items: [] });
        return;
      case T.ArrayEnd: {
        const c = this.popCtx();
        this.setValue(this.node(it, 'array', (c as { items: ConfNode[] }).items));
        return;
      }
      case T.String:
        this.setValue(this.node(it, 'string', it.val));
        return;
      case T.Integer: {
        const n = this.integer(it);
        // An unknown suffix (e.g. "1kbb") sets nothing, as in the reference.
        if (n !== undefined) this.setValue(this.node(it, 'integer', n));
        return;
      }
      case T.Float:
        this.setValue(this.node(it, 'float', this.float(it)));
        return;
      case T.Bool: {
        const s = it.val.toLowerCase();
        if (s === 'true' || s === 'yes' || s === 'on') this.setValue(this.node(it, 'bool', true));
        else if (s === 'false' || s === 'no' || s === 'off') this.setValue(this.node(it, 'bool', false));
        else throw this.literalError(it, `expected boolean value, but got '${it.val}'`);
        return;
      }
      case T.Datetime:
        this.setValue(this.node(it, 'datetime', this.datetime(it)));
        return;
      case T.Variable:
        this.setValue(this.variable(it));
        return;
      case T.Include:
        this.include(it);
        return;
      default:
        return; // comments
    }
  }

  private literalError(it: Item, msg: string): ConfigError {
    return new ConfigError('CONF_LITERAL', msg, { file: this.file, line: it.line, column: it.pos });
  }

  private integer(it: Item): number | undefined {
    // The numeric prefix: leading runes that are digits or '-' (counted in
    // runes, sliced in bytes, exactly like conf/parse.go).
    let count = 0;
    for (const ch of it.val) {
      const c = ch.codePointAt(0)!;
      if (!isDigit(c) && c !== 0x2d) break;
      count++;
    }
    const raw = Buffer.from(it.val, 'utf8');
    const numStr = raw.subarray(0, count).toString('utf8');
    if (!/^[+-]?[0-9]+$/.test(numStr)) throw this.literalError(it, `expected integer, but got '${it.val}'`);
    const num = BigInt(numStr);
    if (num < INT64_MIN || num > INT64_MAX) throw this.literalError(it, `integer '${it.val}' is out of the range`);
    const suffix = raw.subarray(count).toString('utf8').trim().toLowerCase();
    const mult = Object.prototype.hasOwnProperty.call(SIZE_SUFFIXES, suffix) ? SIZE_SUFFIXES[suffix] : undefined;
    if (mult === undefined) return undefined;
    // int64 multiplication wraps silently in the reference.
    return Number(BigInt.asIntN(64, num * mult));
  }

  private float(it: Item): number {
    if (!/^-?[0-9]+\.[0-9]+$/.test(it.val)) throw this.literalError(it, `expected float, but got '${it.val}'`);
    const n = Number(it.val);
    if (!Number.isFinite(n)) throw this.literalError(it, `float '${it.val}' is out of the range`);
    return n;
  }

  private datetime(it: Item): Date {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(it.val);
    const bad = (): ConfigError => this.literalError(it, `expected Zulu formatted DateTime, but got '${it.val}'`);
    if (m === null) throw bad();
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
    if (monthDays === undefined || d < 1 || d > monthDays || h > 23 || mi > 59 || s > 59) throw bad();
    const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
    date.setUTCFullYear(y);
    return date;
  }

  private variable(it: Item): ConfNode {
    const name = it.val;
    // Bare bcrypt hashes ($2a$...) look like variables; the reference keeps them as strings.
    if (name.startsWith('2a$')) return this.node(it, 'string', '$' + name);
    for (let i = this.ctxs.length - 1; i >= 0; i--) {
      const c = this.ctxs[i];
      if (c.kind !== 'map') continue;
      const found = c.map.get(name);
      if (found !== undefined) {
        found.usedVariable = true;
        return { ...found, file: this.file, line: it.line, column: it.pos, usedVariable: false } as ConfNode;
      }
    }
    const envVal = Object.prototype.hasOwnProperty.call(this.penv.env, name) ? this.penv.env[name] : undefined;
    if (envVal !== undefined) {
      if (this.penv.envStack.includes(name)) {
        // The reference recurses until its stack overflows.
        throw new RecursiveVariable(name, this.file, it.line, it.pos);
      }
      let parsed: ConfMap;
      try {
        // Parsed as a fresh, file-less document, like the reference's conf.Parse.
        const sub = new Parser(Buffer.from(`pk=${envVal}`, 'utf8'), '', {
          ...this.penv,
          envStack: [...this.penv.envStack, name],
        });
        parsed = sub.run();
      } catch (e) {
        if (e instanceof RecursiveVariable) throw e;
        const msg = e instanceof Error ? e.message : String(e);
        throw new ConfigError(
          'CONF_VARIABLE',
          `variable reference for '${name}' on line ${it.line} could not be parsed: ${msg}`,
          { file: this.file, line: it.line, column: it.pos, cause: e },
        );
      }
      const v = parsed.get('pk');
      if (v !== undefined) return restamp(v, this.file, it.line, it.pos);
    }
    throw new ConfigError('CONF_VARIABLE', `variable reference for '${name}' on line ${it.line} can not be found`, {
      file: this.file,
      line: it.line,
      column: it.pos,
    });
  }

  private include(it: Item): void {
    const target = path.join(this.dir, it.val);
    let m: ConfMap;
    try {
      m = parseFileInternal(target, this.penv);
    } catch (e) {
      // An error inside the included file is located there; one without a
      // line (unreadable file, include loop) is this include line's problem.
      const inner = e instanceof ConfigError && e.line !== undefined ? e : undefined;
      const msg = e instanceof Error ? e.message : String(e);
      throw new ConfigError(
        e instanceof ConfigError && e.code === 'CONF_INCLUDE_LOOP' ? 'CONF_INCLUDE_LOOP' : 'CONF_INCLUDE',
        `error parsing include file '${it.val}', ${msg}`,
        {
          // Point at the real problem: the innermost file, or this include line.
          file: inner?.file ?? this.file,
          line: inner?.line ?? it.line,
          column: inner?.column ?? it.pos,
          cause: e,
        },
      );
    }
    for (const [k, v] of m) {
      this.keys.push({ key: k, line: v.line, pos: v.column });
      this.setValue(v);
    }
  }

  private popCtx(): Ctx {
    if (this.ctxs.length <= 1) {
      throw new ConfigError('CONF_SYNTAX', 'BUG in parser, context stack empty', { file: this.file });
    }
    return this.ctxs.pop()!;
  }

  private setValue(v: ConfNode): void {
    const c = this.ctx;
    if (c.kind === 'array') {
      c.items.push(v);
      return;
    }
    const k = this.keys.pop();
    if (k === undefined) {
      throw new ConfigError('CONF_SYNTAX', 'BUG in parser, keys stack empty', { file: this.file });
    }
    // A map entry reports the position of its key, which is more useful.
    v.line = k.line;
    v.column = k.pos;
    c.map.set(k.key, v);
  }
}

class RecursiveVariable extends ConfigError {
  constructor(name: string, file: string, line: number, column: number) {
    super('CONF_VARIABLE', `variable reference for '${name}' on line ${line} refers to itself through the environment`, {
      file,
      line,
      column,
    });
  }
}

/**
 * Gives an environment-provided value the reference's position; its
 * children are marked as position-less raw values.
 */
function restamp(n: ConfNode, file: string, line: number, column: number, nested = false): ConfNode {
  const out = { ...n, file, line, column } as ConfNode;
  if (nested) out.fromEnv = true;
  if (out.kind === 'array') out.value = out.value.map((c) => restamp(c, file, line, column, true));
  else if (out.kind === 'map') {
    const m: ConfMap = new Map();
    for (const [k, c] of out.value) m.set(k, restamp(c, file, line, column, true));
    out.value = m;
  }
  return out;
}

/** Go's os error text for a failed read, e.g. "open x.conf: no such file or directory". */
function goFileError(e: unknown, file: string): string {
  const err = e as NodeJS.ErrnoException;
  const texts: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'file name too long',
    EMFILE: 'too many open files',
  };
  const reason = (err && err.code && texts[err.code]) || (err && err.message) || String(e);
  const op = err && err.code === 'EISDIR' ? 'read' : 'open';
  return `${op} ${file}: ${reason}`;
}

function parseFileInternal(file: string, penv: ParserEnv): ConfMap {
  let data: Buffer;
  let real: string;
  try {
    data = readFileSync(file);
    real = realpathSync(file);
  } catch (e) {
    throw new ConfigError('CONF_READ', goFileError(e, file), { file, cause: e });
  }
  if (penv.files.includes(real)) {
    // The reference recurses until the stack overflows; stop and say where.
    throw new ConfigError('CONF_INCLUDE_LOOP', `include loop detected: '${file}' is already being parsed`, {
      file,
    });
  }
  return new Parser(data, file, { ...penv, files: [...penv.files, real] }).run();
}

/**
 * Parses conf text. Includes resolve against the directory of `opts.file`
 * (the current directory when absent). Throws ConfigError.
 */
export function parseConf(text: string, opts: ParseOptions = {}): ConfMap {
  const file = opts.file ?? '';
  const penv: ParserEnv = { env: opts.env ?? process.env, files: [], envStack: [] };
  if (file !== '') {
    try {
      penv.files.push(realpathSync(file));
    } catch {
      // The text need not come from an existing file.
    }
  }
  return new Parser(Buffer.from(text, 'utf8'), file, penv).run();
}

/** Reads and parses a conf file (positions name `file` as given). Throws ConfigError. */
export function parseConfFile(file: string, opts: { env?: Record<string, string | undefined> } = {}): ConfMap {
  return parseFileInternal(file, { env: opts.env ?? process.env, files: [], envStack: [] });
}

/** Plain JS view of a node (strings, numbers, booleans, Dates, arrays, objects). */
export function confToPlain(n: ConfNode): unknown {
  switch (n.kind) {
    case 'array':
      return n.value.map(confToPlain);
    case 'map':
      return confMapToPlain(n.value);
    default:
      return n.value;
  }
}

export function confMapToPlain(m: ConfMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of m) {
    // defineProperty so that a key like "__proto__" stays an ordinary key.
    Object.defineProperty(out, k, { value: confToPlain(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const ITEM_NAMES: Record<T, string> = {
  [T.Error]: 'Error',
  [T.EOF]: 'EOF',
  [T.Key]: 'Key',
  [T.Text]: 'Text',
  [T.String]: 'String',
  [T.Bool]: 'Bool',
  [T.Integer]: 'Integer',
  [T.Float]: 'Float',
  [T.Datetime]: 'Datetime',
  [T.ArrayStart]: 'ArrayStart',
  [T.ArrayEnd]: 'ArrayEnd',
  [T.MapStart]: 'MapStart',
  [T.MapEnd]: 'MapEnd',
  [T.CommentStart]: 'CommentStart',
  [T.Variable]: 'Variable',
  [T.Include]: 'Include',
};

export interface LexItem {
  type: string;
  val: string;
  line: number;
  pos: number;
}

/**
 * The raw token stream up to and including the first EOF or Error item, with
 * the reference's item names and positions. For diagnostics and tests.
 */
export function lexConf(text: string): LexItem[] {
  const lx = new Lexer(Buffer.from(text, 'utf8'));
  const out: LexItem[] = [];
  for (;;) {
    const it = lx.nextItem();
    out.push({ type: ITEM_NAMES[it.type], val: it.val, line: it.line, pos: it.pos });
    if (it.type === T.EOF || it.type === T.Error) return out;
  }
}
