import { mkdir, open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Opener, Sealer, UnknownKeyError } from '../../storage/encryption/envelope.js';
import type { Keyring } from '../../storage/encryption/keyring.js';
import { appendDurably, syncDirectory, writeAll } from './durable-fs.js';

export interface DeadLetter {
  batchId: string;
  reason: string;
  error: string;
  spanCount: number;
  records: number;
  attempts: number;
}

export const DEAD_LETTER_DIR = 'dead-letter';
export const DEAD_LETTER_INDEX = 'index.jsonl';
/** The first bytes of a sealed dead letter; the rest is one sealed record (storage/encryption/envelope.ts). */
const SEALED_MAGIC = Buffer.from('FTDE');
const NO_POSITION = new Uint8Array(0);

/** The authenticated context of a dead letter: its queue and batch, so a file swapped for another fails. */
const contextOf = (queueDir: string, batchId: string): string => `dead-letter:${basename(queueDir)}/${batchId}`;

/**
 * Batches the backend will never accept, kept for inspection or replay rather than retried
 * for ever: `dead-letter/<batchId>.bin` holds the payload as it would be sent, and one JSON
 * line per batch in `dead-letter/index.jsonl` says why. Not bounded by max_bytes: it grows
 * only with rejected data, which an operator should look at (the metric counts it).
 * With a keyring the payload is sealed ('FTDE' + a sealed record) and so is the backend's
 * error text in the index (`error_sealed`, base64), which may quote what was sent.
 */
export class DeadLetterBox {
  readonly dir: string;

  constructor(
    private readonly queueDir: string,
    private readonly keyring?: Keyring,
  ) {
    this.dir = join(queueDir, DEAD_LETTER_DIR);
  }

  /** Writes the batch's records (laid end to end: the payload `send` was given) and its index line; returns the payload's path. */
  async put(letter: DeadLetter, records: readonly Uint8Array[]): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${letter.batchId}.bin`);
    let index: Record<string, unknown> = { ...letter };
    let body: readonly Uint8Array[] = records;
    if (this.keyring) {
      const context = contextOf(this.queueDir, letter.batchId);
      body = [SEALED_MAGIC, ...new Sealer(this.keyring, context).seal(records, NO_POSITION)];
      const sealedError = new Sealer(this.keyring, `${context}#error`).sealToBuffer(Buffer.from(letter.error), NO_POSITION);
      index = { ...letter, error: '(encrypted)', error_sealed: sealedError.toString('base64') };
    }
    const fh = await open(file, 'w', 0o600);
    try {
      await writeAll(fh, body, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const line = JSON.stringify({ time: new Date().toISOString(), ...index, bytes: records.reduce((n, r) => n + r.length, 0), file: `${letter.batchId}.bin` });
    await appendDurably(join(this.dir, DEAD_LETTER_INDEX), Buffer.from(`${line}\n`));
    await syncDirectory(this.dir);
    return file;
  }
}

/** A dead letter's payload, decrypted when sealed; throws naming the problem (never the content). */
export async function readDeadLetter(queueDir: string, batchId: string, keyring?: Keyring): Promise<Buffer> {
  const file = join(queueDir, DEAD_LETTER_DIR, `${batchId}.bin`);
  const bytes = await readFile(file);
  if (!bytes.subarray(0, 4).equals(SEALED_MAGIC)) return bytes;
  const sealed = bytes.subarray(4);
  const id = Opener.keyIdOf(sealed);
  if (!keyring) throw new UnknownKeyError(`${file} (storage.encryption is off)`, (id ?? 0).toString(16).padStart(8, '0'));
  const r = new Opener(keyring, contextOf(queueDir, batchId)).open(sealed, NO_POSITION);
  if (r.ok) return r.plaintext;
  if (r.reason === 'unknown key') throw new UnknownKeyError(file, r.keyId);
  throw new Error(`${file}: ${r.reason}`);
}
