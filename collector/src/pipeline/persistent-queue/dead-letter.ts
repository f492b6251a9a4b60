import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * Batches the backend will never accept, kept for inspection or replay rather than retried
 * for ever: `dead-letter/<batchId>.bin` holds the payload as it would be sent, and one JSON
 * line per batch in `dead-letter/index.jsonl` says why. Not bounded by max_bytes: it grows
 * only with rejected data, which an operator should look at (the metric counts it).
 */
export class DeadLetterBox {
  readonly dir: string;

  constructor(queueDir: string) {
    this.dir = join(queueDir, DEAD_LETTER_DIR);
  }

  /** Stores the batch durably; returns the payload's path. */
  /** Writes the batch's records (laid end to end: the payload `send` was given) and its index line. */
  async put(letter: DeadLetter, records: readonly Uint8Array[]): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${letter.batchId}.bin`);
    const fh = await open(file, 'w', 0o600);
    try {
      await writeAll(fh, records, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const line = JSON.stringify({ time: new Date().toISOString(), ...letter, bytes: records.reduce((n, r) => n + r.length, 0), file: `${letter.batchId}.bin` });
    await appendDurably(join(this.dir, DEAD_LETTER_INDEX), Buffer.from(`${line}\n`));
    await syncDirectory(this.dir);
    return file;
  }
}
