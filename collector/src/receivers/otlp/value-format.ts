/**
 * Attribute values as the OpenTelemetry Collector's pdata `Value.AsString()` renders
 * them, which is what its ClickHouse exporter stores and what the span model keeps
 * (see model/span.ts). Arrays and kvlists are `json.Marshal(value.AsRaw())`, so their
 * elements follow Go's encoding/json: map keys sorted, bytes as base64, doubles in
 * ES6 notation, HTML-safe string escaping. These helpers are shared by the protobuf
 * and the JSON decoders so that both produce identical strings.
 */

/**
 * pdata's `float64AsString`: ES6 number formatting (plain decimal for 1e-6 <= |v| < 1e21,
 * exponent notation outside), which JavaScript's own `String(v)` already is, except that
 * Go keeps the sign of negative zero. Go's encoder refuses NaN and ±Inf, and pdata
 * returns the error text in their place.
 */
export function doubleAsString(v: number): string {
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  if (Number.isFinite(v)) return String(v);
  if (v !== v) return 'json: unsupported value: NaN';
  return v > 0 ? 'json: unsupported value: +Inf' : 'json: unsupported value: -Inf';
}

/**
 * A double nested in an array or kvlist, as encoding/json writes it; `undefined` for NaN
 * and ±Inf, which make `json.Marshal` fail so that pdata's AsString of the whole value is ''.
 */
export function doubleAsJson(v: number): string | undefined {
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  return Number.isFinite(v) ? String(v) : undefined;
}

/** Characters encoding/json escapes: controls, quote, backslash, HTML-sensitive, line separators, surrogates. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX_DIGITS = '0123456789abcdef';

/** A string as encoding/json quotes it (json.Marshal escapes <, > and & for HTML safety). */
export function quoteJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let escaped: string;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid surrogate pair is an ordinary character
        continue;
      }
      escaped = '\\ufffd'; // Go replaces invalid UTF-8; a lone surrogate is the UTF-16 equivalent
    } else if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26 && c !== 0x2028 && c !== 0x2029) {
      continue;
    } else {
      escaped = escapeChar(c);
    }
    out += s.slice(runStart, i) + escaped;
    runStart = i + 1;
  }
  return out + s.slice(runStart) + '"';
}

function escapeChar(c: number): string {
  switch (c) {
    case 0x22: return '\\"';
    case 0x5c: return '\\\\';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    default:
      return '\\u' + HEX_DIGITS[c >> 12] + HEX_DIGITS[(c >> 8) & 15] + HEX_DIGITS[(c >> 4) & 15] + HEX_DIGITS[c & 15];
  }
}

/**
 * Go sorts map keys by their UTF-8 bytes, which is code point order. JavaScript's `<`
 * compares UTF-16 code units, which differs only between surrogates (astral characters)
 * and U+E000..U+FFFF: rank surrogates above the whole BMP.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2800 : unit;
}

/**
 * Builds `json.Marshal(map[string]any)` for a kvlist: the last value of a repeated key
 * wins (pdata's AsRaw fills a Go map), keys come out sorted. `undefined` values mark
 * elements json.Marshal cannot encode and make the whole result `undefined`.
 */
export class KvlistJsonBuilder {
  private readonly entries = new Map<string, string | undefined>();

  set(key: string, json: string | undefined): void {
    this.entries.set(key, json);
  }

  finish(): string | undefined {
    const keys = [...this.entries.keys()].sort(compareCodePoints);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const json = this.entries.get(keys[i]);
      if (json === undefined) return undefined;
      out += (i === 0 ? '' : ',') + quoteJsonString(keys[i]) + ':' + json;
    }
    return out + '}';
  }
}

/** Nested bytes as encoding/json writes a []byte: base64, or null for an empty (nil) slice. */
export function bytesAsJson(base64: string): string {
  return base64 === '' ? 'null' : '"' + base64 + '"';
}

/** Deepest AnyValue nesting accepted; bounds recursion on hostile input. */
export const MAX_VALUE_DEPTH = 100;
