import { RowBinaryWriter } from './rowbinary.js';

/** Runs up to this long are copied word by word (checking for ASCII on the way), longer ones natively. */
const WORD_COPY_MAX = 256;

/** Each byte's two lower-case hex digits as a little-endian uint16 (first digit in the low byte). */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => '0123456789abcdef'.charCodeAt(b >> 4) | ('0123456789abcdef'.charCodeAt(b & 15) << 8));

/**
 * A RowBinaryWriter that copies byte runs of a source (a protobuf request) — strings with their
 * lengths, times — or of rows it wrote before, for the protobuf transcoder
 * (receivers/otlp/rowbinary-transcoder.ts). Runs are copied four bytes at a time through
 * DataViews, checking for ASCII on the way: measured on a loaded 2-core machine, a byte loop
 * paid ~5 ns a byte, a native copy (copyWithin, Buffer#copy) ~40–200 ns a call whatever the
 * length, words ~0.5 ns a byte; only runs over WORD_COPY_MAX go native.
 *
 * Methods marked unchecked write without growing the buffer: the caller makes room first with
 * `reserve`. Positions in the rows (`length`, `rewind`, `copyRows`) are offsets in `finish()`.
 */
export class RowBinaryCopier extends RowBinaryWriter {
  private readonly source: Buffer;
  private readonly sourceView: DataView;
  /** Over `buf`, renewed when it grows. */
  private view: DataView;

  constructor(source: Uint8Array, rows: number | Buffer) {
    super(rows);
    this.source = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    this.sourceView = new DataView(source.buffer, source.byteOffset, source.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  protected override ensure(extra: number): void {
    const before = this.buf;
    super.ensure(extra);
    if (this.buf !== before) this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** The buffer written into (grown when full): to keep as scratch for the next request. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Where the next write goes: for `rewind` and `copyRows`. */
  get length(): number {
    return this.pos;
  }

  /** Forgets what was written from `pos` on (a row given up half-way). */
  rewind(pos: number): void {
    this.pos = pos;
  }

  /** Makes room for `n` more bytes, for the unchecked writes. */
  reserve(n: number): void {
    this.ensure(n);
  }

  /**
   * Unchecked: source bytes [start, end) as they are. Returns the OR of the bytes, taken four
   * at a time (for an ASCII check; 0 for runs over WORD_COPY_MAX, which the caller checks).
   */
  copy(start: number, end: number): number {
    const n = end - start;
    const at = this.pos;
    this.pos = at + n;
    if (n > WORD_COPY_MAX) {
      this.source.copy(this.buf, at, start, end);
      return 0;
    }
    let high = 0;
    if (n < 4) {
      const source = this.source;
      const buf = this.buf;
      for (let i = 0; i < n; i++) {
        const b = source[start + i]!;
        high |= b;
        buf[at + i] = b;
      }
      return high;
    }
    // Whole words, the last one overlapping the one before when n is not a multiple of 4.
    const from = this.sourceView;
    const view = this.view;
    const last = n - 4;
    for (let i = 0; i < last; i += 4) {
      const word = from.getUint32(start + i, true);
      high |= word;
      view.setUint32(at + i, word, true);
    }
    const word = from.getUint32(start + last, true);
    view.setUint32(at + last, word, true);
    return high | word;
  }

  /** Unchecked: bytes [start, end) of the rows written so far, again. */
  copyRows(start: number, end: number): void {
    const n = end - start;
    const at = this.pos;
    this.pos = at + n;
    if (n > WORD_COPY_MAX || n < 4) {
      this.buf.copyWithin(at, start, end);
      return;
    }
    const view = this.view;
    const last = n - 4;
    for (let i = 0; i < last; i += 4) view.setUint32(at + i, view.getUint32(start + i, true), true);
    view.setUint32(at + last, view.getUint32(start + last, true), true);
  }

  /**
   * Unchecked: source bytes [start, end) as a length-prefixed string. Returns whether they
   * are all ASCII (then valid UTF-8 without further check); false says nothing.
   */
  copyString(start: number, end: number): boolean {
    let len = end - start;
    if (len < 0x80) {
      this.buf[this.pos++] = len;
    } else {
      const buf = this.buf;
      while (len > 0x7f) {
        buf[this.pos++] = (len & 0x7f) | 0x80;
        len >>>= 7;
      }
      buf[this.pos++] = len;
    }
    const high = this.copy(start, end);
    return end - start <= WORD_COPY_MAX && (high & 0x80808080) === 0;
  }

  /**
   * Unchecked: as copyString (and returns the same), for a map key: also leaves a hash of the
   * bytes in `hash`, to find repeated keys without reading them again.
   */
  copyKey(start: number, end: number): boolean {
    const n = end - start;
    if (n >= 0x80 || n < 4) {
      let h = n;
      for (let i = start; i < end; i++) h = Math.imul(h ^ this.source[i]!, 0x9e3779b1);
      this.hash = h;
      return this.copyString(start, end);
    }
    const from = this.sourceView;
    const view = this.view;
    let at = this.pos;
    this.buf[at++] = n;
    let high = 0;
    let h = n;
    const last = n - 4;
    for (let i = 0; i < last; i += 4) {
      const word = from.getUint32(start + i, true);
      high |= word;
      h = Math.imul(h ^ word, 0x9e3779b1);
      view.setUint32(at + i, word, true);
    }
    const word = from.getUint32(start + last, true);
    view.setUint32(at + last, word, true);
    this.hash = Math.imul(h ^ word, 0x85ebca6b);
    this.pos = at + n;
    return ((high | word) & 0x80808080) === 0;
  }

  /** Set by copyKey. */
  hash = 0;

  /** Unchecked: a few constant bytes (a length-prefixed name). */
  constant(bytes: Uint8Array): void {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i]!;
    this.pos = at + bytes.length;
  }

  /** Unchecked: an array's length (a varint; nearly always one byte). */
  count(n: number): void {
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** Unchecked: one byte. */
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Unchecked: a little-endian uint32. */
  u32(n: number): void {
    const buf = this.buf;
    const at = this.pos;
    buf[at] = n;
    buf[at + 1] = n >>> 8;
    buf[at + 2] = n >>> 16;
    buf[at + 3] = n >>> 24;
    this.pos = at + 4;
  }

  /** Unchecked: an ID's `n` source bytes as a length-prefixed string of lower-case hex (Buffer#toString('hex')). */
  hex(start: number, n: number): void {
    const source = this.source;
    const view = this.view;
    let at = this.pos;
    this.buf[at++] = 2 * n; // IDs are 8 or 16 bytes: a one-byte length
    for (let i = start; i < start + n; i++) {
      view.setUint16(at, HEX_PAIRS[source[i]!]!, true);
      at += 2;
    }
    this.pos = at;
  }

  /** Unchecked: a non-negative integer below 2^32 in decimal, as a length-prefixed string. */
  decimal(n: number): void {
    const buf = this.buf;
    const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    buf[this.pos] = digits;
    let at = this.pos + digits;
    this.pos = at + 1;
    do {
      const tenth = (n / 10) | 0; // n < 2^32: exact
      buf[at--] = 0x30 + n - 10 * tenth;
      n = tenth;
    } while (n > 0);
  }
}
