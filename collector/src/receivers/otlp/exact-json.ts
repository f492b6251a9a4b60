/**
 * JSON.parse with exact numbers, for OTLP/JSON, whose 64-bit integers (times, int values) may
 * be JSON numbers, which JSON.parse rounds to doubles past 2^53. Node 20's JSON.parse reviver
 * gets no source text, hence this small tokenizer. It builds the same values as JSON.parse
 * except for numbers a double does not hold exactly:
 *  - a whole number past 2^53 (whatever its form: 9007199254740993, 1.700000000123456789e18,
 *    9007199254740993.000) → bigint;
 *  - a number with a fraction whose nearest double is whole (1e-400, 9007199254740993.5)
 *    → RoundedFraction, so that an integer field refuses it rather than taking the rounding.
 * Everything else is the number JSON.parse gives, and a field that wants a double takes
 * Number() of a bigint, the same correctly rounded double. It is the slow path: see
 * decodeJsonBody for when it runs.
 */

/** A number with a fraction that a double would round to a whole number. */
export class RoundedFraction {
  constructor(
    /** The nearest double, as JSON.parse gives it. */
    readonly value: number,
    /** The number as sent. */
    readonly text: string,
  ) {}
}

// Anchored, no nested quantifiers: linear in the text's length (as is everything on number text here).
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const DECIMAL_INTEGER = /^-?\d+$/;
const HAS_EXPONENT = /[eE]/;
/** 2^64 has 20 digits: a longer whole number fits no 64-bit field, so it is not expanded (1e999999 stays a double). */
const MAX_INTEGER_DIGITS = 20;
const MINUS = 0x2d;
const ZERO = 0x30;
const DOT = 0x2e;

/**
 * The exact whole number a JSON number text denotes, in any form (`-12`, `1.5e3`, `7.000`):
 * a bigint; 'fraction' if it is not whole; 'huge' if it has more than 20 digits; undefined
 * if the text is not a JSON number. Linear in the text's length: a body may hold a number of
 * millions of digits, so the digits are walked by index, never matched by a backtracking regex
 * or handed whole to BigInt.
 */
export function wholeNumberOf(text: string): bigint | 'fraction' | 'huge' | undefined {
  if (!NUMBER.test(text)) return undefined;
  const start = text.charCodeAt(0) === MINUS ? 1 : 0;
  const exponentAt = text.search(HAS_EXPONENT);
  const mantissaEnd = exponentAt < 0 ? text.length : exponentAt;
  const dot = text.indexOf('.');
  const pointAt = dot < 0 ? mantissaEnd : dot;
  let first = start; // the first significant digit
  for (let c = text.charCodeAt(first); first < mantissaEnd && (c === ZERO || c === DOT); c = text.charCodeAt(++first));
  if (first === mantissaEnd) return 0n;
  let last = mantissaEnd - 1; // the last significant digit
  for (let c = text.charCodeAt(last); c === ZERO || c === DOT; c = text.charCodeAt(--last));
  // Counting digits only (the point is not one): value = 0.(significant digits) × 10^point
  const digitIndex = (pos: number) => pos - start - (dot >= 0 && pos > dot ? 1 : 0);
  const exponent = exponentAt < 0 ? 0 : Number(text.slice(exponentAt + 1)); // a long exponent is Infinity: still ordered right
  const point = pointAt - start + exponent - digitIndex(first);
  const significant = digitIndex(last) - digitIndex(first) + 1;
  if (point < significant) return 'fraction';
  if (point > MAX_INTEGER_DIGITS) return 'huge';
  const digits = text.slice(first, last + 1).replace('.', ''); // at most 21 characters here
  const value = BigInt(digits + '0'.repeat(point - significant));
  return start === 1 ? -value : value;
}

/**
 * The bigint of a decimal integer string (`-?\d+`, leading zeros allowed, as protobuf JSON
 * parsers take them); 'huge' if it has more than 20 digits past its leading zeros (BigInt() of a
 * long string is superlinear, so it never sees one); undefined if the text is not one.
 */
export function decimalIntegerOf(text: string): bigint | 'huge' | undefined {
  if (!DECIMAL_INTEGER.test(text)) return undefined;
  if (text.length <= MAX_INTEGER_DIGITS) return BigInt(text); // the usual form
  const start = text.charCodeAt(0) === MINUS ? 1 : 0;
  let first = start;
  while (first < text.length - 1 && text.charCodeAt(first) === ZERO) first++;
  if (text.length - first > MAX_INTEGER_DIGITS) return 'huge';
  const value = BigInt(text.slice(first));
  return start === 1 ? -value : value;
}

/** A number token as parseJsonExact represents it (see the module comment). */
function exactNumber(text: string): number | bigint | RoundedFraction {
  const double = Number(text);
  if (text.length <= 15 && !HAS_EXPONENT.test(text)) return double; // up to 15 digits: a double keeps the value and its wholeness
  const whole = wholeNumberOf(text);
  if (typeof whole === 'bigint') return Number.isSafeInteger(double) ? double : whole; // past 2^53, as sent (error messages too)
  if (whole === 'fraction' && Number.isInteger(double)) return new RoundedFraction(double, text);
  return double; // a fraction that stays one, or past 20 digits (no integer field takes it)
}

/** Deepest nesting parseJsonExact follows (it recurses); OTLP's deepest (AnyValue, 100 levels) needs ~400. */
export const MAX_EXACT_JSON_DEPTH = 1000;

/** JSON.parse with exact numbers (see the module comment); throws SyntaxError on invalid JSON. */
export function parseJsonExact(text: string): unknown {
  const parser = new ExactJsonParser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos < text.length) parser.fail();
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([['"', '"'], ['\\', '\\'], ['/', '/'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t']]);
const NUMBER_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

class ExactJsonParser {
  pos = 0;

  constructor(private readonly text: string) {}

  fail(): never {
    if (this.pos >= this.text.length) throw new SyntaxError('Unexpected end of JSON input');
    throw new SyntaxError(`Unexpected token ${JSON.stringify(this.text[this.pos])} in JSON at position ${this.pos}`);
  }

  skipSpace(): void {
    const text = this.text;
    let pos = this.pos;
    for (let c = text.charCodeAt(pos); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++pos));
    this.pos = pos;
  }

  value(depth: number): unknown {
    switch (this.text.charCodeAt(this.pos)) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case QUOTE:
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
    return value;
  }

  private number(): number | bigint | RoundedFraction {
    NUMBER_TOKEN.lastIndex = this.pos;
    const match = NUMBER_TOKEN.exec(this.text);
    if (match === null) this.fail();
    this.pos += match[0].length;
    return exactNumber(match[0]);
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_EXACT_JSON_DEPTH) throw new SyntaxError(`JSON nested deeper than ${MAX_EXACT_JSON_DEPTH} levels`);
  }

  private array(depth: number): unknown[] {
    this.checkDepth(depth);
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.failBefore();
      this.skipSpace();
    }
  }

  private object(depth: number): Record<string, unknown> {
    this.checkDepth(depth);
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail();
      const key = this.string();
      this.skipSpace();
      if (this.text.charCodeAt(this.pos++) !== 0x3a) this.failBefore();
      this.skipSpace();
      const value = this.value(depth);
      // As JSON.parse: "__proto__" is an ordinary own key, never the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) this.failBefore();
      this.skipSpace();
    }
  }

  /** Fails on the character just consumed. */
  private failBefore(): never {
    this.pos--;
    this.fail();
  }

  private string(): string {
    const text = this.text;
    const start = ++this.pos;
    for (let pos = start; pos < text.length; pos++) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return text.slice(start, pos);
      }
      if (c === BACKSLASH) return this.escapedString(start, pos);
      if (c < 0x20) {
        this.pos = pos;
        this.fail();
      }
    }
    this.pos = text.length;
    this.fail();
  }

  /** The rest of a string from its first backslash at `pos`. */
  private escapedString(start: number, pos: number): string {
    const text = this.text;
    let out = text.slice(start, pos);
    let runStart = pos;
    for (; pos < text.length; pos++) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return out + text.slice(runStart, pos);
      }
      if (c < 0x20) break;
      if (c !== BACKSLASH) continue;
      out += text.slice(runStart, pos);
      const kind = text[pos + 1] ?? '';
      if (kind === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!HEX4.test(hex)) break;
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 5;
      } else {
        const simple = SIMPLE_ESCAPES.get(kind);
        if (simple === undefined) break;
        out += simple;
        pos += 1;
      }
      runStart = pos + 1;
    }
    this.pos = Math.min(pos, text.length);
    this.fail();
  }
}
