/**
 * Typed OTLP AnyValues rebuilt from the span model's strings and kinds (model/span.ts):
 * the reverse of pdata's AsString() that the decoders apply.
 *
 * Scalars come back exactly (ints over the whole int64 range, doubles including -0, NaN and
 * infinities from pdata's error texts, bytes from base64). Arrays and kvlists were kept as
 * Go's JSON of their raw form, which loses a little that cannot be recovered: a nested double
 * with an integral value (1.0 was written `1`) comes back as an int, nested bytes (base64) as
 * a string, nested empty bytes (null) as an empty value, and kvlist keys in sorted order. Read
 * by our decoders those rebuilt values render to the very same strings again. An array or
 * kvlist that pdata could not render ('' for NaN or ±Inf inside) comes back empty.
 *
 * A value that does not parse as its kind (a processor changed the value and kept the kind)
 * is sent as a string rather than lost.
 */
import type { AttributeKinds, Attributes, ValueKind } from '../../collector/src/model/span.js';
import type { ProtoWriter } from './proto-writer.js';

// AnyValue field tags.
const STRING_VALUE = 0x0a;
const BOOL_VALUE = 0x10;
const INT_VALUE = 0x18;
const DOUBLE_VALUE = 0x21;
const ARRAY_VALUE = 0x2a;
const KVLIST_VALUE = 0x32;
const BYTES_VALUE = 0x3a;

/** Writes each attribute as a repeated KeyValue field with tag `tag`. */
export function writeAttributes(w: ProtoWriter, tag: number, attributes: Attributes, kinds: AttributeKinds | undefined): void {
  for (const key in attributes) {
    // Only own string entries are kinds: `constructor` and the like come from Object.prototype.
    const kind = kinds === undefined ? undefined : kinds[key];
    w.byte(tag);
    const kv = w.beginLen(1);
    w.cachedString(0x0a, key); // 1 key
    w.byte(0x12); // 2 value
    const value = w.beginLen(1);
    writeValue(w, attributes[key], typeof kind === 'string' ? kind : undefined);
    w.endLen(value, 1);
    w.endLen(kv, 1);
  }
}

/** Standard base64 with its padding, as the decoders write bytes values. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The fields of one AnyValue message (without its own tag and length). */
export function writeValue(w: ProtoWriter, text: string, kind: ValueKind | undefined): void {
  switch (kind) {
    case undefined:
      w.string(STRING_VALUE, text);
      return;
    case 'bool':
      if (text === 'true' || text === 'false') {
        w.byte(BOOL_VALUE);
        w.byte(text === 'true' ? 1 : 0);
        return;
      }
      break;
    case 'int':
      if (writeInt(w, text)) return;
      break;
    case 'double': {
      const v = parseDouble(text);
      if (v !== undefined) {
        w.byte(DOUBLE_VALUE);
        w.double(v);
        return;
      }
      break;
    }
    case 'bytes':
      // Only text that is base64 through and through: Buffer's decoder skips other characters, so
      // the length written ahead would not match the bytes (text a processor put there instead).
      if (BASE64.test(text)) {
        w.base64(BYTES_VALUE, text);
        return;
      }
      break;
    case 'array':
    case 'kvlist':
      if (writeStructured(w, text, kind)) return;
      break;
    case 'empty':
      return;
  }
  w.string(STRING_VALUE, text);
}

/** int_value from decimal text; false (nothing written) if the text is not an int64. */
function writeInt(w: ProtoWriter, text: string): boolean {
  const n = text.length;
  if (n > 0 && n <= 15) {
    // Up to 15 characters the value is below 2^53: plain arithmetic is exact.
    let i = text.charCodeAt(0) === 45 ? 1 : 0;
    if (i === n) return false;
    let v = 0;
    for (; i < n; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return false;
      v = v * 10 + d;
    }
    w.byte(INT_VALUE);
    w.int64(text.charCodeAt(0) === 45 ? -v : v);
    return true;
  }
  if (!/^-?\d{1,19}$/.test(text)) return false;
  const big = BigInt(text);
  if (BigInt.asIntN(64, big) !== big) return false;
  w.byte(INT_VALUE);
  writeBigInt64(w, big);
  return true;
}

function writeBigInt64(w: ProtoWriter, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  w.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
}

/** A double from the shortest form or pdata's error texts for NaN and ±Inf. */
function parseDouble(text: string): number | undefined {
  switch (text) {
    case 'json: unsupported value: NaN':
      return NaN;
    case 'json: unsupported value: +Inf':
      return Infinity;
    case 'json: unsupported value: -Inf':
      return -Infinity;
    case '':
      return undefined;
  }
  const v = Number(text);
  return v === v ? v : undefined;
}

/** array_value / kvlist_value from Go's JSON; false (nothing written) if the text is not such JSON. */
function writeStructured(w: ProtoWriter, text: string, kind: 'array' | 'kvlist'): boolean {
  const start = w.pos;
  if (text === '') {
    // pdata rendered '' because of a NaN or ±Inf inside: the values are gone, the kind is not.
    w.byte(kind === 'array' ? ARRAY_VALUE : KVLIST_VALUE);
    w.byte(0);
    return true;
  }
  const first = text.charCodeAt(0);
  if (first !== (kind === 'array' ? 0x5b : 0x7b)) return false;
  try {
    const p = new JsonReader(text);
    writeJsonValue(w, p, 0);
    p.skipSpace();
    if (p.pos !== text.length) throw new SyntaxError('trailing characters');
    return true;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    w.pos = start;
    return false;
  }
}

/** Deepest nesting followed; the decoders refuse deeper values anyway. */
const MAX_DEPTH = 100;

class JsonReader {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  /** The next non-space character code (NaN at the end), not consumed. */
  peek(): number {
    this.skipSpace();
    return this.text.charCodeAt(this.pos);
  }

  expect(c: number): void {
    if (this.peek() !== c) throw new SyntaxError(`expected ${String.fromCharCode(c)} at ${this.pos}`);
    this.pos++;
  }

  /** A JSON string (the opening quote is next). */
  string(): string {
    const t = this.text;
    const open = this.pos + 1;
    const close = t.indexOf('"', open);
    if (close < 0) throw new SyntaxError('unterminated string');
    const backslash = t.indexOf('\\', open);
    if (backslash < 0 || backslash > close) {
      this.pos = close + 1;
      return t.slice(open, close);
    }
    return this.escapedString(open);
  }

  private escapedString(open: number): string {
    const t = this.text;
    let out = '';
    let run = open;
    let i = open;
    for (;;) {
      if (i >= t.length) throw new SyntaxError('unterminated string');
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += t.slice(run, i);
      const e = t[i + 1];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = t.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new SyntaxError(`bad \\u escape at ${i}`);
          out += String.fromCharCode(parseInt(hex, 16)); // surrogate pairs come as two escapes
          i += 4;
          break;
        }
        default:
          throw new SyntaxError(`bad escape at ${i}`);
      }
      i += 2;
      run = i;
    }
    this.pos = i + 1;
    return out + t.slice(run, i);
  }

  /** The text of a JSON number. */
  number(): string {
    const t = this.text;
    const start = this.pos;
    let i = start;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) i++;
      else break;
    }
    if (i === start) throw new SyntaxError(`unexpected character at ${start}`);
    this.pos = i;
    return t.slice(start, i);
  }

  literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) throw new SyntaxError(`unexpected character at ${this.pos}`);
    this.pos += word.length;
  }
}

/** The fields of the AnyValue a JSON value stands for. */
function writeJsonValue(w: ProtoWriter, p: JsonReader, depth: number): void {
  if (depth > MAX_DEPTH) throw new SyntaxError('nested too deeply');
  const c = p.peek();
  switch (c) {
    case 0x22: // "
      w.string(STRING_VALUE, p.string());
      return;
    case 0x74: // t
      p.literal('true');
      w.byte(BOOL_VALUE);
      w.byte(1);
      return;
    case 0x66: // f
      p.literal('false');
      w.byte(BOOL_VALUE);
      w.byte(0);
      return;
    case 0x6e: // n: null, an empty value
      p.literal('null');
      return;
    case 0x5b: {
      // [
      p.pos++;
      w.byte(ARRAY_VALUE);
      const array = w.beginLen(1);
      if (p.peek() === 0x5d) p.pos++;
      else {
        for (;;) {
          w.byte(0x0a); // ArrayValue.values
          const element = w.beginLen(1);
          writeJsonValue(w, p, depth + 1);
          w.endLen(element, 1);
          if (p.peek() === 0x2c) p.pos++;
          else break;
        }
        p.expect(0x5d);
      }
      w.endLen(array, 1);
      return;
    }
    case 0x7b: {
      // {
      p.pos++;
      w.byte(KVLIST_VALUE);
      const list = w.beginLen(1);
      if (p.peek() === 0x7d) p.pos++;
      else {
        for (;;) {
          if (p.peek() !== 0x22) throw new SyntaxError(`expected a key at ${p.pos}`);
          w.byte(0x0a); // KeyValueList.values
          const kv = w.beginLen(1);
          w.string(0x0a, p.string()); // KeyValue.key
          p.expect(0x3a);
          w.byte(0x12); // KeyValue.value
          const value = w.beginLen(1);
          writeJsonValue(w, p, depth + 1);
          w.endLen(value, 1);
          w.endLen(kv, 1);
          if (p.peek() === 0x2c) p.pos++;
          else break;
        }
        p.expect(0x7d);
      }
      w.endLen(list, 1);
      return;
    }
    default:
      writeJsonNumber(w, p.number());
  }
}

/**
 * An integer literal within int64 is an int (Go wrote integral doubles the same way), anything
 * else a double; `-0` can only have been a double.
 */
function writeJsonNumber(w: ProtoWriter, text: string): void {
  if (text !== '-0' && !/[.eE]/.test(text) && writeInt(w, text)) return;
  const v = Number(text);
  if (v !== v) throw new SyntaxError(`bad number ${text}`);
  w.byte(DOUBLE_VALUE);
  w.double(v);
}
