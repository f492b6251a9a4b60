import { Opener, SEAL_OVERHEAD, Sealer, UnknownKeyError, type AtRestEncryption } from '../../storage/encryption/envelope.js';
import { keyIdHex } from '../../storage/encryption/keyring.js';
import { finishSealedHeader, HEADER_BYTES, SEALED_AAD_HEADER_BYTES, startSealedHeader } from './record-format.js';
import type { StoredRecord } from './record-reader.js';

/** A log's records sealed with the keyring's primary key and opened with any of its keys. */
export class RecordSealing {
  readonly sealer: Sealer;
  readonly opener: Opener;
  /**
   * Plain records are accepted up to this seq only: those found at open before the log's first
   * sealed record (queued before encryption was turned on). A plain record anywhere else was not
   * written by this collector — with no seal to check, it would be forged data accepted silently.
   */
  plainThrough = 0;

  constructor(readonly encryption: AtRestEncryption) {
    this.sealer = new Sealer(encryption.keyring, encryption.context);
    this.opener = new Opener(encryption.keyring, encryption.context);
  }

  /** Header and sealed parts of the record with `seq` written at `offset` of its segment. */
  seal(seq: number, spanCount: number, data: Uint8Array, tag: number, offset: number): Uint8Array[] {
    const header = startSealedHeader(seq, spanCount, data.length + SEAL_OVERHEAD, tag);
    const parts = this.sealer.seal(data, position(header.subarray(0, SEALED_AAD_HEADER_BYTES), offset));
    finishSealedHeader(header, parts);
    return [header, ...parts];
  }

  /** The record with its payload decrypted (a plain one if admitted), or why it cannot be. */
  open(rec: StoredRecord): { record: StoredRecord } | { reason: string } {
    if (rec.sealed === undefined) return rec.seq <= this.plainThrough ? { record: rec } : { reason: 'plain record in an encrypted log' };
    const r = this.opener.open(rec.data, position(rec.sealed!, rec.offset));
    if (r.ok) return { record: { ...rec, data: r.plaintext, sealed: undefined } };
    return { reason: r.reason === 'unknown key' ? `encrypted with unknown key ID ${r.keyId}` : r.reason };
  }

  /** Whether a recovered record is under the primary key (else the log starts a new segment for new records). */
  isPrimary(rec: StoredRecord): boolean {
    return rec.sealed !== undefined && Opener.keyIdOf(rec.data) === this.sealer.keyId;
  }
}

/** Bytes a record takes on disk besides its payload. */
export const recordOverhead = (sealing: RecordSealing | undefined): number => HEADER_BYTES + (sealing ? SEAL_OVERHEAD : 0);

/** The authenticated data of a record's position: its header (seq, tag, counts) and its offset in the segment. */
function position(header: Uint8Array, offset: number): Buffer {
  const p = Buffer.allocUnsafe(header.length + 8);
  p.set(header, 0);
  p.writeUInt32LE(offset % 2 ** 32, header.length);
  p.writeUInt32LE(Math.floor(offset / 2 ** 32), header.length + 4);
  return p;
}

/**
 * Refuses a log holding records it will need and cannot open: sealed without a keyring, or
 * under a key the keyring lacks. Called at open for every record not yet delivered.
 */
export function checkReadable(rec: StoredRecord, sealing: RecordSealing | undefined, where: string): void {
  if (rec.sealed === undefined) return;
  const id = Opener.keyIdOf(rec.data);
  if (id === undefined) return; // too short to name a key: found as damage when read
  if (!sealing) {
    throw new UnknownKeyError(`${where} (storage.encryption is off)`, keyIdHex(id));
  }
  if (!sealing.encryption.keyring.get(id)) throw new UnknownKeyError(where, keyIdHex(id));
}

/**
 * Not usable: a plain record to deliver after sealed ones. Written while storage.encryption was
 * off after it had been on, or put there by someone else — it carries no seal to tell which, so
 * the start is refused rather than the record delivered unchecked or cut.
 */
export class PlainAfterSealedError extends Error {
  override name = 'PlainAfterSealedError';
  constructor(segment: string, seq: number) {
    super(
      `${segment} holds a plain (unencrypted) record, seq ${seq}, after encrypted ones: it was written with storage.encryption off, or by someone else; ` +
        'nothing was read or dropped. To deliver it unchecked, start once with storage.encryption off until the queue drains; to discard it, move the segment away',
    );
  }
}
