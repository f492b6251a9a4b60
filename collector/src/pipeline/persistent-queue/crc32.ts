import zlib from 'node:zlib';

/**
 * CRC-32 (IEEE, as zlib and gzip), continuing from `value`. Node ≥ 20.15 has it native
 * (`zlib.crc32`); older Node 20 releases get the table-driven version below.
 */
export type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Int32Array | undefined;

function makeTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

export const tableCrc32: Crc32 = (data, value = 0) => {
  table ??= makeTable();
  let crc = ~value;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
};

// Read through a possibly-undefined view: the types declare crc32, older runtimes lack it.
const native = (zlib as { crc32?: Crc32 }).crc32;

export const crc32: Crc32 = typeof native === 'function' ? (data, value = 0) => native(data, value) : tableCrc32;
