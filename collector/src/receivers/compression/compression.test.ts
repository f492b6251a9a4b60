import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyBlock } from 'snappy';
import { describe, expect, it } from 'vitest';
import { InFlightBudget, InFlightBudgetExceededError, type Reservation } from '../in-flight-budget.js';
import { decompressWithin, type Codec } from '../inflate.js';
import { InvalidCompressedDataError, MessageTooLargeError } from './bounded-output.js';
import { crc32c, maskedCrc32c } from './crc32c.js';

const MIB = 1024 * 1024;

function reservation(budgetBytes = 1024 * MIB): Reservation {
  return new InFlightBudget(budgetBytes).open('http');
}

// ---- zstd frames built by hand: raw and RLE blocks (RFC 8878 §3.1.1)
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
type ZstdBlock = { raw: Buffer } | { rle: number; size: number };
function zstdFrame(blocks: ZstdBlock[], windowLog = 23, contentSize?: bigint): Buffer {
  const header = contentSize === undefined ? [0x00, (windowLog - 10) << 3] : [0xc0, (windowLog - 10) << 3];
  const parts: Buffer[] = [ZSTD_MAGIC, Buffer.from(header)];
  if (contentSize !== undefined) {
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(contentSize);
    parts.push(fcs);
  }
  blocks.forEach((block, i) => {
    const last = i === blocks.length - 1 ? 1 : 0;
    const h = Buffer.alloc(3);
    if ('raw' in block) {
      h.writeUIntLE((block.raw.length << 3) | last, 0, 3);
      parts.push(h, block.raw);
    } else {
      h.writeUIntLE((block.size << 3) | (1 << 1) | last, 0, 3);
      parts.push(h, Buffer.from([block.rle]));
    }
  });
  return Buffer.concat(parts);
}
/** 1 GiB of 'a' in 8192 RLE blocks: 32 KiB on the wire. */
const ZSTD_BOMB = zstdFrame(Array.from({ length: 8192 }, () => ({ rle: 0x61, size: 128 * 1024 })));

/** `zstd -19` of SAMPLE (sequences, Huffman and FSE tables: what real encoders write). */
const SAMPLE = Array.from({ length: 300 }, (_, i) => `span-${i} GET /api/items/${i % 7} status=200 service=checkout`).join('\n');
const SAMPLE_ZSTD = Buffer.from('KLUv/WTZPd0TAAYoUBhwT6ExCDFKzBV0TYSAkHtLKWWqRte/9URhAEUAPgBVRTV1WaOOChEyKiIamqRBN2XI2NTQzDzOmLtMtmt6fh+fRaJZkuPq8AoxqyKaeQWYoIBoSFBYSCBQSGCokFBYBIwxwYJiAmFiETAGFg4KEwwDDBEIAwEHBQYBQ+ABIWIRjuM4juM4jru7u7u7qqqqqqrD4XA4HA6Hw+FdOWJXRzf3eeOuFGKlCpUpF8soRwoxUoTIkIlkkLNixKyMbGzThl2VImUB7u7u7u7j8Xg8Ho/H4/F5nud5nud5FovFYikWi8UikUgkEolEIpFomqZpmqZpmmVZlmVZlmVJkiRJkiRJkhP3fd/3fd/3XS6Xy+VyuVwuk8lkMplMJpPJtm3btm3btl3XdV3XdV3XNE3TNE3TND3P8zzP8zzP//////8BgTKoEWD4/b8DAcdINNEDEkgQ+CEE/0cIRgj4AycSEpFMYlISmUkkRSKZiGQiJpPITEJSEslERCYxmUTmJJKSSGZEMonJZGQmkZTEZCKSScymJpJJTE4ic47NGNsU+xC7GbYj7CfYDbDNr4+vm14rvD67bnRtcn1w3dzasfVS64bWZtZH1k2sDayfVzeuNq0+rO6s2qj6SXWDanPqY+qm1IbUy6gbUZtQP6BuPm08fTpd4bTZ9NF0k2mD6XPpjqWdSh9KN5M2kj6R7kDaPPo4umm0YfRZdIuiTaIPoptDG0OfQjeEVgZ9BB1wEAAAAgbOBAAYMHAyAMAAIBIBQAAAAQEIBCAAAQEAAgARAUAgAAMADHYQdRB0EHMQchBxEOAeFyd4y5uJWXLMymFWDrNyzJLDmFa6gLIKeDv05w==', 'base64');

// ---- snappy framing format (framing_format.txt)
function snappyFramed(chunks: Buffer[], opts: { corruptChecksum?: boolean } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])];
  for (const data of chunks) {
    const compressed = snappyBlock(data);
    const header = Buffer.alloc(8);
    header[0] = 0x00;
    header.writeUIntLE(compressed.length + 4, 1, 3);
    header.writeUInt32LE((maskedCrc32c(data) + (opts.corruptChecksum ? 1 : 0)) >>> 0, 4);
    parts.push(header, compressed);
  }
  return Buffer.concat(parts);
}

describe('decompressWithin', () => {
  it.each<[Codec, (data: Buffer) => Buffer]>([
    ['zstd', () => SAMPLE_ZSTD],
    ['snappy', (data) => snappyBlock(data)],
    ['snappy', (data) => snappyFramed([data.subarray(0, 65536), data.subarray(65536)])],
    ['lz4', (data) => compressFrameSync(data)],
  ])('decodes %s as its senders write it', async (codec, compress) => {
    const data = codec === 'zstd' ? Buffer.from(SAMPLE) : Buffer.from(SAMPLE.repeat(8));
    const r = reservation();
    const out = await decompressWithin(compress(data), codec, 10 * MIB, r);
    expect(out.equals(data)).toBe(true);
    expect(r.bytes).toBeGreaterThanOrEqual(data.length);
  });

  it('decodes zstd raw and RLE blocks across several frames and skippable frames', async () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const message = Buffer.concat([zstdFrame([{ raw: Buffer.from('hello ') }, { rle: 0x7a, size: 5 }]), skippable, zstdFrame([{ raw: Buffer.from('!') }])]);
    expect((await decompressWithin(message, 'zstd', MIB, reservation())).toString()).toBe('hello zzzzz!');
  });

  describe('refuses a bomb at the limit without inflating it', () => {
    const limit = MIB;
    it.each<[string, Codec, () => Buffer, number]>([
      // [what, codec, bomb, most bytes reserved past the limit: one block (and zstd's 8 MiB window)]
      ['zstd RLE blocks (1 GiB)', 'zstd', () => ZSTD_BOMB, 8 * MIB + 128 * 1024],
      ['snappy block (32 MiB of zeros)', 'snappy', () => snappyBlock(Buffer.alloc(32 * MIB)), 0],
      ['framed snappy (32 MiB of zeros)', 'snappy', () => snappyFramed(Array.from({ length: 512 }, () => Buffer.alloc(65536))), 0],
      ['lz4 frame (64 MiB of zeros)', 'lz4', () => compressFrameSync(Buffer.alloc(64 * MIB)), 0],
      ['gzip (64 MiB of zeros)', 'gzip', () => gzipSync(Buffer.alloc(64 * MIB)), 0],
    ])('%s', async (_what, codec, bomb, slack) => {
      const r = reservation();
      await expect(decompressWithin(bomb(), codec, limit, r)).rejects.toThrow(MessageTooLargeError);
      expect(r.bytes).toBeLessThanOrEqual(limit + slack);
    });

    it('zstd: a declared content size or window over the limit, before decoding anything', async () => {
      const r = reservation();
      await expect(decompressWithin(zstdFrame([{ raw: Buffer.from('x') }], 23, 2n ** 40n), 'zstd', limit, r)).rejects.toThrow(MessageTooLargeError);
      // A 2 GiB window would make the decoder allocate 2 GiB up front.
      await expect(decompressWithin(zstdFrame([{ raw: Buffer.from('x') }], 31), 'zstd', limit, r)).rejects.toThrow(/zstd window of 2147483648 bytes exceeds/);
      expect(r.bytes).toBe(0);
    });

    it('snappy: a block whose length preamble is over the limit, before decoding anything', async () => {
      const r = reservation();
      const claim = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]); // 1 GiB, then nothing
      await expect(decompressWithin(claim, 'snappy', limit, r)).rejects.toThrow(MessageTooLargeError);
      expect(r.bytes).toBe(0);
    });
  });

  it('stops when the in-flight budget is used up', async () => {
    // 9 MiB: room for the bomb's 8 MiB window, then its output runs out of budget
    await expect(decompressWithin(ZSTD_BOMB, 'zstd', 64 * MIB, reservation(9 * MIB))).rejects.toThrow(InFlightBudgetExceededError);
    await expect(decompressWithin(compressFrameSync(Buffer.alloc(8 * MIB)), 'lz4', 64 * MIB, reservation(MIB))).rejects.toThrow(InFlightBudgetExceededError);
  });

  describe('zstd: the window each frame declares is reserved in the in-flight budget before decoding', () => {
    /** ~200 KiB on the wire, declaring a 16 MiB window that the decoder allocates whole. */
    const WIDE_WINDOW = zstdFrame([{ raw: Buffer.alloc(100_000, 0x41) }, { raw: Buffer.alloc(100_000, 0x41) }], 24);

    it('holds every frame\'s window in the request\'s reservation', async () => {
      const r = reservation();
      const out = await decompressWithin(Buffer.concat([WIDE_WINDOW, WIDE_WINDOW]), 'zstd', 64 * MIB, r);
      expect(out.length).toBe(400_000);
      expect(r.bytes).toBe(2 * 16 * MIB + out.length);
    });

    it('refuses concurrent requests whose windows the budget cannot hold, keeping memory near the budget', async () => {
      const budget = new InFlightBudget(256 * MIB);
      const before = process.memoryUsage().arrayBuffers;
      // All start at once: each allocates its window in its first, synchronous, slice.
      const runs = Array.from({ length: 150 }, () => {
        const r = budget.open('http');
        r.take(WIDE_WINDOW.length); // the compressed body, as the receivers reserve it
        return decompressWithin(WIDE_WINDOW, 'zstd', 64 * MIB, r);
      });
      const grown = process.memoryUsage().arrayBuffers - before;
      const results = await Promise.allSettled(runs);
      const decoded = results.filter((result) => result.status === 'fulfilled').length;
      const refused = results.filter((result) => result.status === 'rejected' && result.reason instanceof InFlightBudgetExceededError).length;
      expect(decoded).toBeGreaterThan(0);
      expect(decoded).toBeLessThanOrEqual(256 / 16);
      expect(decoded + refused).toBe(150);
      expect(grown).toBeLessThan(2 * budget.limitBytes); // unreserved, the windows alone were 2.4 GiB
    });

    it('checks a message that is only a frame header (the decoder would allocate its 1 GiB window)', async () => {
      const r = reservation();
      const headerOnly = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa0, 0x00]); // window descriptor: 1 GiB
      await expect(decompressWithin(headerOnly, 'zstd', 64 * MIB, r)).rejects.toThrow(/zstd window of 1073741824 bytes exceeds/);
      await expect(decompressWithin(headerOnly.subarray(0, 5), 'zstd', 64 * MIB, r)).rejects.toThrow(/invalid zstd data: truncated frame header/);
      expect(r.bytes).toBe(0);
    });
  });

  it.each<[string, Codec, () => Buffer, RegExp]>([
    ['zstd garbage', 'zstd', () => Buffer.from('definitely not zstd'), /invalid zstd data/],
    ['a truncated zstd frame', 'zstd', () => SAMPLE_ZSTD.subarray(0, SAMPLE_ZSTD.length - 10), /invalid zstd data/],
    ['snappy garbage', 'snappy', () => Buffer.from([0x05, 0xff, 0xff, 0xff]), /invalid snappy data/],
    ['a framed snappy chunk with a wrong checksum', 'snappy', () => snappyFramed([Buffer.from('hello')], { corruptChecksum: true }), /checksum mismatch/],
    ['a truncated lz4 frame', 'lz4', () => compressFrameSync(Buffer.from(SAMPLE)).subarray(0, 40), /invalid lz4 data/],
    ['lz4 garbage', 'lz4', () => Buffer.from('definitely not lz4'), /invalid lz4 data: not an LZ4 frame/],
  ])('rejects %s as invalid, naming the codec', async (_what, codec, data, message) => {
    const err = await decompressWithin(data(), codec, MIB, reservation()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidCompressedDataError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
