import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isCode, replaceDurably } from './durable-fs.js';

/** A batch formed from the records with seqs first…last; `done` once delivered or dead-lettered. */
export interface LedgerBatch {
  id: string;
  first: number;
  last: number;
  done: boolean;
}

const seq = z.number().int().min(0);
const fileSchema = z.object({
  version: z.literal(1),
  incarnation: z.string().min(1),
  acked: seq,
  lastTag: seq.default(0),
  batches: z.array(z.object({ id: z.string().min(1), first: seq, last: seq, done: z.boolean() })),
});

export const LEDGER_FILE = 'ledger.json';

/**
 * The queue's small metadata file, replaced atomically and fsynced: the acknowledged cursor
 * (every record up to `acked` is delivered) and the batches formed after it, so that after a
 * restart the same batches are formed again with the same IDs and a backend deduplicating by
 * ID stores each once. The incarnation is drawn when the directory is new: batch IDs of a
 * queue that was wiped never collide with its earlier ones.
 */
export class BatchLedger {
  /** Saved as of the last completed write: segments may be deleted up to here. */
  persistedAcked: number;
  /**
   * The highest journal tag among acknowledged records: kept here because their segments may
   * be deleted, and the journal asks after a crash whether a tag reached this queue.
   */
  lastTag = 0;
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    readonly incarnation: string,
    /** Every record up to this seq is delivered (or dead-lettered). */
    public acked: number,
    /** Formed after `acked`, in seq order; the queue pushes, marks done and shifts. */
    readonly batches: LedgerBatch[],
  ) {
    this.persistedAcked = acked;
  }

  static async open(dir: string, logger: Logger): Promise<BatchLedger> {
    const path = join(dir, LEDGER_FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
    if (text !== undefined) {
      const parsed = fileSchema.safeParse(safeJson(text));
      if (parsed.success) {
        const { incarnation, acked, lastTag, batches } = parsed.data;
        const ledger = new BatchLedger(path, incarnation, acked, batches);
        ledger.lastTag = lastTag;
        return ledger;
      }
      // Cannot happen through atomic replacement; keep the file for a post-mortem and resend everything.
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside);
      logger.error({ ledger: aside }, 'queue: ledger unreadable; records on disk will be sent again under new batch IDs');
    }
    const ledger = new BatchLedger(path, randomBytes(6).toString('hex'), 0, []);
    await ledger.save();
    return ledger;
  }

  /** Deterministic: the same records give the same ID, also after a restart. */
  idFor(first: number, last: number): string {
    return `${this.incarnation}-${first}-${last}`;
  }

  /**
   * Makes the current state durable. Calls made while a write is in progress share the next
   * write, which starts when that one ends and saves the state as it is then.
   */
  save(): Promise<void> {
    if (this.next) return this.next;
    if (!this.current) return this.write();
    this.next = this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.write();
      });
    return this.next;
  }

  private write(): Promise<void> {
    const acked = this.acked;
    const text = JSON.stringify({ version: 1, incarnation: this.incarnation, acked, lastTag: this.lastTag, batches: this.batches });
    const done = replaceDurably(this.path, Buffer.from(text)).then(() => {
      this.persistedAcked = Math.max(this.persistedAcked, acked);
    });
    const current = done.finally(() => {
      if (this.current === current) this.current = undefined;
    });
    this.current = current;
    return current;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
