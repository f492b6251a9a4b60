import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { UnknownKeyError } from '../../storage/encryption/envelope.js';
import { atRestKey, Keyring } from '../../storage/encryption/keyring.js';
import { crc32 } from './crc32.js';
import { encodeHeader, HEADER_BYTES } from './record-format.js';
import { PlainAfterSealedError } from './sealed-records.js';
import { SegmentLog, type SegmentLogOptions } from './segment-log.js';
import { names, rec, removeTempDirs, silent, tempDir } from './test-support.testing.js';
import { readDeadLetter, DeadLetterBox } from './dead-letter.js';

afterEach(removeTempDirs);

const keyA = atRestKey(randomBytes(32));
const keyB = atRestKey(randomBytes(32));

function open(dir: string, keyring: Keyring | undefined, options: Partial<SegmentLogOptions> = {}): Promise<SegmentLog> {
  return SegmentLog.open({
    dir, segmentBytes: 1 << 20, ackedSeq: 0, readAfter: 0, minNextSeq: 1, logger: silent,
    encryption: keyring && { keyring, context: 'queue:test' }, ...options,
  });
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
const allBytes = (dir: string): Buffer => Buffer.concat(segments(dir).map((n) => readFileSync(join(dir, n))));

/** Rewrites the CRC of the record at `offset` so only the seal can notice a change. */
function fixCrc(file: Buffer, offset: number): void {
  const length = file.readUInt32LE(offset + 4);
  file.writeUInt32LE(crc32(file.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length), crc32(file.subarray(offset, offset + 28))), offset + 28);
}

describe('SegmentLog with storage.encryption', () => {
  it('writes no payload byte in the clear and reads everything back after a restart', async () => {
    const dir = tempDir();
    let log = await open(dir, new Keyring(keyA));
    for (let i = 0; i < 5; i++) await log.append(rec(`secret-span-${i}`), 1);
    await log.close();
    expect(allBytes(dir).includes('secret-span')).toBe(false);
    expect(allBytes(dir).subarray(0, 4).toString()).toBe('FTQE');
    log = await open(dir, new Keyring(keyA));
    expect(log.recovery.undelivered.records).toBe(5);
    expect(await readAll(log)).toEqual([0, 1, 2, 3, 4].map((i) => `secret-span-${i}`));
    expect((await log.readRange(2, 3)).data.flatMap((d) => names(d))).toEqual(['secret-span-1', 'secret-span-2']);
    await log.close();
  });

  it('rotation: written under A, reopened with B primary and A kept, everything is read; new records under B in a new segment', async () => {
    const dir = tempDir();
    let log = await open(dir, new Keyring(keyA));
    await log.append(rec('under-a-1'), 1);
    await log.append(rec('under-a-2'), 1);
    await log.close();
    log = await open(dir, new Keyring(keyB, [keyA]));
    expect(log.segmentCount).toBe(2);
    await log.append(rec('under-b'), 1);
    expect(await readAll(log)).toEqual(['under-a-1', 'under-a-2', 'under-b']);
    // Delivered: A's segment is deleted, after which A is no longer needed.
    expect(await log.deleteThrough(2)).toBe(1);
    await log.close();
    log = await open(dir, new Keyring(keyB), { ackedSeq: 3, readAfter: 3, minNextSeq: 4 });
    expect(log.recovery.undelivered.records).toBe(0);
    await log.close();
  });

  it('refuses to open when records not yet delivered are under a key it lacks (wrong key, or encryption turned off), naming the key ID', async () => {
    const dir = tempDir();
    const log = await open(dir, new Keyring(keyA));
    await log.append(rec('x'), 1);
    await log.close();
    await expect(open(dir, new Keyring(keyB))).rejects.toThrow(UnknownKeyError);
    await expect(open(dir, new Keyring(keyB))).rejects.toThrow(new RegExp(`key ID ${keyA.idHex}.*nothing was read or dropped`));
    await expect(open(dir, undefined)).rejects.toThrow(/storage\.encryption is off/);
    // The segment is untouched: with the right key it is all there.
    const again = await open(dir, new Keyring(keyA));
    expect(await readAll(again)).toEqual(['x']);
    await again.close();
  });

  it('a record whose ciphertext was changed (CRC made to match) fails authentication and is counted lost, like a bad CRC', async () => {
    const dir = tempDir();
    let log = await open(dir, new Keyring(keyA));
    for (let i = 0; i < 3; i++) await log.append(rec(`r${i}`), 2);
    await log.close();
    const file = join(dir, segments(dir)[0]);
    const bytes = readFileSync(file);
    const size = bytes.readUInt32LE(4) + HEADER_BYTES;
    bytes[size + HEADER_BYTES + 40] ^= 0x01; // the second record's ciphertext
    fixCrc(bytes, size);
    writeFileSync(file, bytes);
    log = await open(dir, new Keyring(keyA));
    // The framing (CRC) is intact, so only the record that fails its seal is lost, not the good ones after it.
    expect(await readAll(log)).toEqual(['r0', 'r2']);
    expect(log.takeLost()).toMatchObject({ records: 1, spans: 2 });
    expect((await log.readRange(1, 3)).data.flatMap((d) => names(d))).toEqual(['r0', 'r2']);
    expect(log.takeLost()).toMatchObject({ records: 1, spans: 2 }); // a batch re-formed after a restart counts it too
    await log.close();
  });

  it('a plain record to deliver after sealed ones (forged segment file, CRC valid) refuses the start, naming it; delivered ones do not', async () => {
    const dir = tempDir();
    const log = await open(dir, new Keyring(keyA));
    await log.append(rec('genuine'), 1);
    await log.close();
    const forged = rec('forged-span');
    const file = join(dir, `${String(2).padStart(16, '0')}.seg`);
    writeFileSync(file, Buffer.concat([encodeHeader(2, 1, forged), forged]));
    await expect(open(dir, new Keyring(keyA))).rejects.toThrow(PlainAfterSealedError);
    await expect(open(dir, new Keyring(keyA))).rejects.toThrow(`${file} holds a plain (unencrypted) record, seq 2`);
    // Delivered already (encryption turned off and on again after the queue drained): not read again, no refusal.
    const again = await open(dir, new Keyring(keyA), { ackedSeq: 2, readAfter: 2, minNextSeq: 3 });
    expect(again.recovery.undelivered.records).toBe(0);
    await again.close();
  });

  it('a sealed record replaced in place by a plain one while running is refused on read', async () => {
    const dir = tempDir();
    const log = await open(dir, new Keyring(keyA));
    await log.append(rec('genuine'), 1);
    await log.append(rec('second-genuine'), 1);
    const file = join(dir, segments(dir)[0]);
    const bytes = readFileSync(file);
    const size = bytes.readUInt32LE(4) + HEADER_BYTES;
    // Same length as the sealed record: 48 bytes of seal overhead become plaintext.
    const forged = rec('x'.repeat(size - HEADER_BYTES - 1));
    Buffer.concat([encodeHeader(1, 1, forged), forged]).copy(bytes, 0);
    writeFileSync(file, bytes);
    expect(await readAll(log)).toEqual(['second-genuine']);
    expect(log.takeLost().records).toBe(1);
    await log.close();
  });

  it('records swapped between positions fail authentication (bound to seq and offset)', async () => {
    const dir = tempDir();
    let log = await open(dir, new Keyring(keyA));
    await log.append(rec('first'), 1);
    await log.append(rec('other'), 1); // same length
    await log.close();
    const file = join(dir, segments(dir)[0]);
    const bytes = readFileSync(file);
    const size = bytes.readUInt32LE(4) + HEADER_BYTES;
    const firstPayload = Buffer.from(bytes.subarray(HEADER_BYTES, size));
    bytes.copy(bytes, HEADER_BYTES, size + HEADER_BYTES, 2 * size);
    firstPayload.copy(bytes, size + HEADER_BYTES);
    fixCrc(bytes, 0);
    fixCrc(bytes, size);
    writeFileSync(file, bytes);
    log = await open(dir, new Keyring(keyA));
    expect(await readAll(log)).toEqual([]);
    expect(log.takeLost().records).toBe(2);
    await log.close();
  });

  it('still reads records written before encryption was turned on, and writes new ones sealed in a new segment', async () => {
    const dir = tempDir();
    let log = await open(dir, undefined);
    await log.append(rec('plain-before'), 1);
    await log.close();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    log = await open(dir, new Keyring(keyA), { logger });
    // Not authenticated: said at open, with how many.
    expect(warnings.some((w) => w.includes('plain records written before storage.encryption was on') && w.includes('"records":1'))).toBe(true);
    await log.append(rec('sealed-after'), 1);
    expect(await readAll(log)).toEqual(['plain-before', 'sealed-after']);
    expect(segments(dir)).toHaveLength(2);
    await log.close();
    expect(readFileSync(join(dir, segments(dir)[1])).includes('sealed-after')).toBe(false);
  });
});

describe('dead letters with storage.encryption', () => {
  it('seals the payload and the backend error; reads back with the keyring only', async () => {
    const dir = tempDir();
    const ring = new Keyring(keyA);
    await new DeadLetterBox(dir, ring).put({ batchId: 'b1', reason: 'rejected', error: 'backend echoed secret-span', spanCount: 1, records: 2, attempts: 1 }, [rec('secret-span-1'), rec('secret-span-2')]);
    const files = readdirSync(join(dir, 'dead-letter'));
    for (const f of files) expect(readFileSync(join(dir, 'dead-letter', f)).includes('secret-span'), f).toBe(false);
    expect(names(await readDeadLetter(dir, 'b1', new Keyring(keyB, [keyA])))).toEqual(['secret-span-1', 'secret-span-2']);
    await expect(readDeadLetter(dir, 'b1', new Keyring(keyB))).rejects.toThrow(UnknownKeyError);
    // Bound to its batch: under another name it does not open.
    writeFileSync(join(dir, 'dead-letter', 'b2.bin'), readFileSync(join(dir, 'dead-letter', 'b1.bin')));
    await expect(readDeadLetter(dir, 'b2', ring)).rejects.toThrow(/authentication failed/);
  });
});
