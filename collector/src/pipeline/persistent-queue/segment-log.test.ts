import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from './crc32.js';
import { HEADER_BYTES } from './record-format.js';
import { SegmentLog, type SegmentLogOptions } from './segment-log.js';
import { names, rec, removeTempDirs, silent, tempDir } from './test-support.testing.js';

afterEach(removeTempDirs);

function open(dir: string, options: Partial<SegmentLogOptions> = {}): Promise<SegmentLog> {
  return SegmentLog.open({ dir, segmentBytes: 1 << 20, ackedSeq: 0, readAfter: 0, minNextSeq: 1, logger: silent, ...options });
}

async function readAll(log: SegmentLog): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await log.readNext(1_000_000, 1 << 30);
    if (!batch) return out;
    out.push(...batch.data.flatMap((d) => names(d)));
  }
}

const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

/** A record as collectors before the journal wrote it: 'FTQ1', 24-byte header, no tag. */
function v1Record(seq: number, spanCount: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0x31515446, 0);
  h.writeUInt32LE(payload.length, 4);
  h.writeUInt32LE(spanCount, 8);
  h.writeUInt32LE(seq, 12);
  h.writeUInt32LE(0, 16);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(0, 20))), 20);
  return Buffer.concat([h, payload]);
}

describe('SegmentLog', () => {
  it('reads the records an older collector wrote (FTQ1) and goes on after them', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000000000000001.seg'), Buffer.concat([v1Record(1, 2, rec('old1')), v1Record(2, 3, rec('old2'))]));
    const log = await open(dir);
    expect(log.recovery.undelivered).toEqual({ records: 2, spans: 5, bytes: 2 * (24 + rec('old1').length) });
    expect(await log.append(rec('new'), 1, 7)).toBe(3);
    expect(await readAll(log)).toEqual(['old1', 'old2', 'new']);
    await log.close();
  });

  it('keeps each record\'s tag, and finds the highest after a restart', async () => {
    const dir = tempDir();
    let log = await open(dir);
    await log.append(rec('a'), 1, 5);
    await log.append(rec('b'), 1, 9);
    await log.append(rec('c'), 1);
    expect((await log.readRange(1, 3)).maxTag).toBe(9);
    await log.close();
    log = await open(dir);
    expect(log.recovery.maxTag).toBe(9);
    await log.close();
  });

  it('commits concurrent appends together: one write and one fsync for the group', async () => {
    const log = await open(tempDir());
    const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(rec(`r${i}`), 1)));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(log.stats).toEqual({ writes: 1, syncs: 1, records: 50 });
    // Appends arriving while a write is in progress share the next one.
    const first = log.append(rec('a'), 1);
    await Promise.resolve();
    await Promise.resolve();
    const rest = Array.from({ length: 20 }, (_, i) => log.append(rec(`b${i}`), 1));
    await Promise.all([first, ...rest]);
    expect(log.stats.records).toBe(71);
    expect(log.stats.syncs).toBeLessThanOrEqual(3);
    await log.close();
  });

  it('reads back in order after reopening, and continues the seqs', async () => {
    const dir = tempDir();
    let log = await open(dir);
    for (let i = 0; i < 10; i++) await log.append(rec(`r${i}`), 2);
    await log.close();
    log = await open(dir);
    expect(log.recovery.undelivered).toEqual({ records: 10, spans: 20, bytes: 10 * (HEADER_BYTES + 3) });
    expect(log.unread.records).toBe(10);
    expect(await readAll(log)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(await log.append(rec('next'), 1)).toBe(11);
    expect(await readAll(log)).toEqual(['next']);
    await log.close();
  });

  it('starts reading after readAfter and counts only records after ackedSeq as undelivered', async () => {
    const dir = tempDir();
    let log = await open(dir);
    for (let i = 1; i <= 6; i++) await log.append(rec(`r${i}`), 1);
    await log.close();
    log = await open(dir, { ackedSeq: 2, readAfter: 4 });
    expect(log.recovery.undelivered.records).toBe(4);
    expect(log.unread.records).toBe(2);
    expect(await readAll(log)).toEqual(['r5', 'r6']);
    const range = await log.readRange(3, 4);
    expect(range.data.flatMap((d) => names(d))).toEqual(['r3', 'r4']);
    expect([range.first, range.last, range.records]).toEqual([3, 4, 2]);
    await log.close();
  });

  it('truncates a torn tail (a record cut mid-way) without losing earlier records', async () => {
    const dir = tempDir();
    let log = await open(dir);
    for (let i = 0; i < 5; i++) await log.append(Buffer.alloc(1024 - HEADER_BYTES, i), 1);
    await log.close();
    const [file] = segments(dir);
    const full = statSync(join(dir, file)).size;
    truncateSync(join(dir, file), full - 500); // the last record loses half its payload
    log = await open(dir);
    expect(log.recovery.undelivered.records).toBe(4);
    expect(log.recovery.truncatedBytes).toBe(1024 - 500);
    expect(statSync(join(dir, file)).size).toBe(4 * 1024);
    const batch = await log.readNext(100, 1 << 30);
    expect(batch?.data.map((d) => d[0])).toEqual([0, 1, 2, 3]);
    // The log goes on where the valid records end.
    expect(await log.append(rec('after'), 1)).toBe(5);
    await log.close();
    log = await open(dir);
    expect(log.recovery.undelivered.records).toBe(5);
    await log.close();
  });

  it('truncates garbage after the last record (a torn header, random bytes, zeros)', async () => {
    for (const garbage of [Buffer.alloc(10, 0xff), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)), Buffer.alloc(4096)]) {
      const dir = tempDir();
      let log = await open(dir);
      for (let i = 0; i < 3; i++) await log.append(rec(`r${i}`), 1);
      await log.close();
      appendFileSync(join(dir, segments(dir)[0]), garbage);
      log = await open(dir);
      expect(log.recovery.truncatedBytes).toBe(garbage.length);
      expect(await readAll(log)).toEqual(['r0', 'r1', 'r2']);
      await log.close();
    }
  });

  it('rejects a record whose checksum does not match, keeping the ones before it', async () => {
    const dir = tempDir();
    let log = await open(dir);
    for (let i = 0; i < 4; i++) await log.append(rec(`rec${i}`), 1);
    await log.close();
    const path = join(dir, segments(dir)[0]);
    const bytes = readFileSync(path);
    const size = HEADER_BYTES + 5;
    bytes[2 * size + HEADER_BYTES + 1] ^= 0x20; // a flipped bit in the third record's payload
    writeFileSync(path, bytes);
    log = await open(dir);
    expect(await readAll(log)).toEqual(['rec0', 'rec1']);
    await log.close();
  });

  it('rolls segments and deletes only sealed segments entirely up to a seq', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 4 * 1024 });
    for (let i = 0; i < 10; i++) await log.append(Buffer.alloc(1024 - HEADER_BYTES), 1);
    // 1024 bytes a record: 4 per segment.
    expect(segments(dir)).toEqual(['0000000000000001.seg', '0000000000000005.seg', '0000000000000009.seg']);
    expect(log.diskBytes).toBe(10 * 1024);
    await readAll(log);
    expect(await log.deleteThrough(6)).toBe(1);
    expect(segments(dir)).toEqual(['0000000000000005.seg', '0000000000000009.seg']);
    expect(await log.deleteThrough(10)).toBe(1);
    // The segment being written stays, even when delivered.
    expect(segments(dir)).toEqual(['0000000000000009.seg']);
    expect(log.diskBytes).toBe(2 * 1024);
    await log.close();
  });

  it('drops the oldest sealed segment with its unread records, and moves the reader on', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 4 * 1024 });
    for (let i = 0; i < 10; i++) await log.append(Buffer.alloc(1024 - HEADER_BYTES, i), 3);
    const first = await log.readNext(2, 1 << 30);
    expect(first?.data.map((d) => d[0])).toEqual([0]);
    expect(await log.dropOldest()).toEqual({ dropped: { records: 3, spans: 9, bytes: 3 * 1024 }, freedBytes: 4 * 1024 });
    expect(log.unread.records).toBe(6);
    const next = await log.readNext(100, 1 << 30);
    expect(next?.data.map((d) => d[0])).toEqual([4, 5, 6, 7, 8, 9]);
    expect(await log.dropOldest()).toEqual({ dropped: { records: 0, spans: 0, bytes: 0 }, freedBytes: 4 * 1024 });
    expect(await log.dropOldest()).toBeUndefined();
    await log.close();
  });

  it('forms reads within maxSpans and maxBytes, one oversized record alone', async () => {
    const log = await open(tempDir());
    await Promise.all([log.append(rec('a'), 3), log.append(rec('b'), 3), log.append(rec('c'), 10), log.append(rec('d'), 1)]);
    const spans = async () => (await log.readNext(5, 1 << 30))?.data.flatMap((d) => names(d));
    expect(await spans()).toEqual(['a']);
    expect(await spans()).toEqual(['b']);
    expect(await spans()).toEqual(['c']);
    expect(await spans()).toEqual(['d']);
    expect(await spans()).toBeUndefined();
    await Promise.all(['e', 'f', 'g'].map((n) => log.append(rec(n), 1)));
    expect((await log.readNext(100, 2 * (HEADER_BYTES + 2)))?.records).toBe(2);
    await log.close();
  });

  it('rejects appends after close', async () => {
    const log = await open(tempDir());
    await log.close();
    await expect(log.append(rec('x'), 1)).rejects.toThrow(/closed/);
  });
});

describe('crc32', () => {
  it('the table fallback matches zlib', () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31) % 256));
    expect(tableCrc32(data)).toBe(crc32(data));
    expect(tableCrc32(data.subarray(5000), tableCrc32(data.subarray(0, 5000)))).toBe(crc32(data));
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});
