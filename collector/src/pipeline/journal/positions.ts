/**
 * A span's place in the journal: the seq of the record that holds it and its index there,
 * packed into one number (seqs stay below 2^32, indexes below 2^21: exact in a double).
 */
const INDEX_SPAN = 2 ** 21;

/** Most spans one journal record may hold; larger requests are written as several records. */
export const MAX_SPANS_PER_RECORD = INDEX_SPAN;

export function position(seq: number, index: number): number {
  return seq * INDEX_SPAN + index;
}

export function seqOf(position: number): number {
  return Math.floor(position / INDEX_SPAN);
}

export function indexOf(position: number): number {
  return position % INDEX_SPAN;
}

/** Positions as a sorted list of LEB128 deltas: a few bytes each, spans of one request cost ~1. */
export function encodePositions(positions: readonly number[]): Buffer {
  const sorted = Float64Array.from(positions).sort();
  const out: number[] = [];
  writeVarint(out, sorted.length);
  let previous = 0;
  for (const p of sorted) {
    writeVarint(out, p - previous);
    previous = p;
  }
  return Buffer.from(out);
}

export function decodePositions(buf: Buffer, offset = 0): { positions: number[]; end: number } {
  const cursor = { at: offset };
  const count = readVarint(buf, cursor);
  const positions = new Array<number>(count);
  let previous = 0;
  for (let i = 0; i < count; i++) positions[i] = previous += readVarint(buf, cursor);
  return { positions, end: cursor.at };
}

/** Unsigned LEB128 for integers up to 2^53, with arithmetic (bitwise operators stop at 32 bits). */
function writeVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function readVarint(buf: Buffer, cursor: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (cursor.at >= buf.length) throw new Error('journal record ends inside a number');
    const byte = buf[cursor.at++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
}
