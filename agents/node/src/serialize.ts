import { types } from 'node:util';
import { isCardInteger } from './cards.js';
import { isSecretKey, MASK, maskSecretsInText } from './redact.js';

/**
 * Turns an argument or return value into a short, type-aware string for a span
 * attribute: strings quoted, `42n` for bigints, `Map(2) {…}`, `[Circular]`,
 * secrets masked, and never more than `maxBytes` UTF-8 bytes. It stops walking
 * as soon as the budget is spent, so a huge value costs no more than a small one.
 * `key` (the parameter name) is what card masking knows of the value: an ID is not a card.
 */
export function formatValue(value: unknown, maxBytes: number, key = ''): string {
  const w = new Writer(maxBytes);
  write(w, value, 0, [], key);
  return w.finish();
}

const MAX_DEPTH = 3;
const ELLIPSIS = '…';
// Margin past the budget that secret masking still sees, so a card number
// straddling the cut is recognised before it is cut.
const MASK_WINDOW_MARGIN = 48;

class Writer {
  out = '';
  truncated = false;
  readonly limit: number;

  constructor(readonly maxBytes: number) {
    this.limit = maxBytes;
  }

  /** Marks the value as cut: it ends in … however short it is. */
  cut(): void {
    this.truncated = true;
  }

  get full(): boolean {
    return this.truncated;
  }

  push(s: string): void {
    if (this.truncated) return;
    const room = this.limit - this.out.length;
    if (s.length <= room) {
      this.out += s;
    } else {
      this.out += s.slice(0, Math.max(0, room));
      this.truncated = true;
    }
  }

  finish(): string {
    if (!this.truncated && Buffer.byteLength(this.out) <= this.maxBytes) return this.out;
    const room = Math.max(0, this.maxBytes - Buffer.byteLength(ELLIPSIS));
    return cutToBytes(this.out, room) + ELLIPSIS;
  }
}

/** The longest prefix of `s` that fits in `max` UTF-8 bytes without splitting a character. */
export function cutToBytes(s: string, max: number): string {
  if (s.length <= max / 3 || Buffer.byteLength(s) <= max) return s;
  const buf = Buffer.from(s);
  let end = max;
  // A continuation byte at `end` means the character starting before it does not fit.
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

function writeString(w: Writer, s: string, key: string): void {
  const window = w.limit + MASK_WINDOW_MARGIN;
  pushMasked(w, s.length > window ? s.slice(0, window) : s, s.length > window, key, true);
}

/** Free text (an error's message), masked and cut like a string value but not quoted. */
export function formatText(s: string, maxBytes: number): string {
  const w = new Writer(maxBytes);
  const window = maxBytes + MASK_WINDOW_MARGIN;
  pushMasked(w, s.length > window ? s.slice(0, window) : s, s.length > window, '', false);
  return w.finish();
}

/**
 * Masks `head` (the first `maxBytes + margin` chars of a text, or all of it) and pushes it. When
 * the text was cut, masking saw the margin only to recognise a secret that straddles the cut;
 * nothing of the margin is shown (a mask that shortened the text must not uncover it) and the
 * value ends in the ellipsis.
 */
function pushMasked(w: Writer, head: string, cut: boolean, key: string, quoted: boolean): void {
  const masked = maskSecretsInText(head, key);
  if (!cut) {
    w.push(quoted ? JSON.stringify(masked) : masked);
    return;
  }
  const visible = withoutMargin(head, masked, w.limit);
  // A cut string has no closing quote.
  w.push(quoted ? JSON.stringify(visible).slice(0, -1) : visible);
  w.cut();
}

/**
 * The part of `masked` (the masking of `head`, a text cut at its length) that comes from the first
 * `shown` chars of `head`. When masking left the margin past `shown` unchanged, it is the masked
 * text less that margin; when it replaced part of the margin, the text from the last mask on
 * (which came from the margin, and may be a secret cut in two at the end of the head) goes too.
 */
function withoutMargin(head: string, masked: string, shown: number): string {
  if (head.length <= shown) return masked;
  const margin = head.slice(shown);
  if (masked.endsWith(margin)) return masked.slice(0, masked.length - margin.length);
  const lastMask = masked.lastIndexOf(MASK);
  return masked.slice(0, Math.max(0, Math.min(masked.length - margin.length, lastMask < 0 ? 0 : lastMask)));
}

/** A number is a number, unless its key names a card and it is a card number. */
function writeInteger(w: Writer, v: number | bigint, text: string, key: string): void {
  w.push(key !== '' && isCardInteger(v, key) ? JSON.stringify(MASK) : text);
}

function typeName(o: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === null) return '';
    const ctor = (proto as { constructor?: unknown }).constructor;
    return typeof ctor === 'function' && ctor.name !== 'Object' ? ctor.name : '';
  } catch {
    return '';
  }
}

/** `key`: the object key, map key or parameter name the value is bound to ('' when none); array items inherit it. */
function write(w: Writer, v: unknown, depth: number, ancestors: object[], key: string): void {
  if (w.full) return;
  switch (typeof v) {
    case 'string':
      return writeString(w, v, key);
    case 'number':
      return writeInteger(w, v, Object.is(v, -0) ? '-0' : String(v), key);
    case 'bigint':
      return writeInteger(w, v, `${v}n`, key);
    case 'boolean':
      return w.push(v ? 'true' : 'false');
    case 'undefined':
      return w.push('undefined');
    case 'symbol':
      return w.push(v.toString());
    case 'function':
      return w.push(describeFunction(v));
    default:
      break;
  }
  if (v === null) return w.push('null');
  const o = v as object;
  if (ancestors.includes(o)) return w.push('[Circular]');
  if (o instanceof Error && !types.isProxy(o)) return writeError(w, o);
  const special = describeSpecial(o);
  if (special !== undefined) return w.push(special);
  if (depth >= MAX_DEPTH) return w.push(Array.isArray(o) ? '[Array]' : `[${typeName(o) || 'Object'}]`);
  ancestors.push(o);
  try {
    if (Array.isArray(o)) writeList(w, '[', o, ']', depth, ancestors, key);
    else if (o instanceof Map) writeMap(w, o, depth, ancestors);
    else if (o instanceof Set) writeList(w, `Set(${o.size}) [`, o, ']', depth, ancestors, key);
    else writeObject(w, o, depth, ancestors);
  } finally {
    ancestors.pop();
  }
}

function describeFunction(f: Function): string {
  let src = '';
  try {
    src = Function.prototype.toString.call(f);
  } catch {
    // Some proxies refuse toString.
  }
  if (src.startsWith('class')) return `[class ${f.name || '(anonymous)'}]`;
  return `[Function${f.name ? `: ${f.name}` : ' (anonymous)'}]`;
}

/** `Name: message`, the message masked and cut like a string (a huge message costs no more than a short one). */
function writeError(w: Writer, e: Error): void {
  const { name, message } = errorParts(e);
  if (message === undefined) return w.push(name);
  w.push(`${name}: `);
  const window = w.limit + MASK_WINDOW_MARGIN;
  pushMasked(w, message.length > window ? message.slice(0, window) : message, message.length > window, '', false);
}

/**
 * An error's name and own message, read without running its code: the message only when it is
 * an own data property (not a getter), the name as the error's prototype chain gives it.
 */
export function errorParts(e: Error): { name: string; message: string | undefined } {
  let name = 'Error';
  try {
    const n: unknown = e.name;
    if (typeof n === 'string' && n !== '') name = n;
  } catch {
    // A throwing getter: keep 'Error'.
  }
  const d = Object.getOwnPropertyDescriptor(e, 'message');
  const message = d !== undefined && 'value' in d && typeof d.value === 'string' ? d.value : undefined;
  return { name, message };
}

/** Objects shown by a one-line description rather than by their properties. */
function describeSpecial(o: object): string | undefined {
  // First, before any check that could run a proxy trap.
  if (types.isProxy(o)) return '[Proxy]';
  if (o instanceof Date) return Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString();
  if (o instanceof RegExp) return o.toString();
  if (o instanceof Promise) return 'Promise';
  if (Buffer.isBuffer(o)) return `Buffer(${o.length})`;
  if (types.isArrayBufferView(o)) return `${typeName(o)}(${o.byteLength})`;
  if (types.isAnyArrayBuffer(o)) return `ArrayBuffer(${o.byteLength})`;
  if (o instanceof WeakMap) return 'WeakMap';
  if (o instanceof WeakSet) return 'WeakSet';
  return undefined;
}

function writeList(w: Writer, open: string, items: Iterable<unknown>, close: string, depth: number, ancestors: object[], key: string): void {
  w.push(open);
  let first = true;
  for (const item of items) {
    if (w.full) return;
    if (!first) w.push(', ');
    first = false;
    write(w, item, depth + 1, ancestors, key);
  }
  w.push(close);
}

function writeMap(w: Writer, m: Map<unknown, unknown>, depth: number, ancestors: object[]): void {
  w.push(`Map(${m.size}) {`);
  let first = true;
  for (const [k, val] of m) {
    if (w.full) return;
    if (!first) w.push(', ');
    first = false;
    write(w, k, depth + 1, ancestors, '');
    w.push(' => ');
    if (typeof k === 'string' && isSecretKey(k)) w.push(JSON.stringify(MASK));
    else write(w, val, depth + 1, ancestors, typeof k === 'string' ? k : '');
  }
  w.push('}');
}

function writeObject(w: Writer, o: object, depth: number, ancestors: object[]): void {
  const name = typeName(o);
  w.push(name ? `${name} {` : '{');
  let first = true;
  for (const key of Object.keys(o)) {
    if (w.full) return;
    if (!first) w.push(', ');
    first = false;
    w.push(`${JSON.stringify(key)}: `);
    // Read through the descriptor so that getters (and their side effects) never run.
    const desc = Object.getOwnPropertyDescriptor(o, key);
    if (desc === undefined) w.push('undefined');
    else if (!('value' in desc)) w.push('[Getter]');
    else if (isSecretKey(key)) w.push(JSON.stringify(MASK));
    else write(w, desc.value, depth + 1, ancestors, key);
  }
  w.push('}');
}
