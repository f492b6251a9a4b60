import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { AtRestKey, Keyring } from './keyring.js';
import { keyIdHex } from './keyring.js';

/**
 * One sealed record (AES-256-GCM), as it sits in a file:
 *
 *   0  u32 key ID (big-endian)  which key of the keyring: rotation reads old records
 *   4  16 bytes salt            the writer's: subkey = HKDF-SHA256(key, salt, INFO)
 *  20  12 bytes nonce           a counter within the writer (never repeats for its subkey)
 *  32  ciphertext
 * end  16 bytes GCM tag
 *
 * Nonces: each writer (a segment log, a dead-letter file) draws a random 128-bit salt when it
 * opens and derives a subkey from it, then numbers its records 0, 1, 2… A nonce repeats only
 * if a salt does (2^-128 per pair of writers), and a crash cannot reuse one: the counter lives
 * in memory with a subkey that is never derived again. Random 96-bit nonces under one key
 * would cap a key at ~2^32 records (NIST SP 800-38D), which a busy collector reaches in days.
 * Authenticated data: the writer's context (file kind and name) and the record's position
 * (seq, offset, header), so a record moved to another file or place fails like a bad CRC.
 */
export const SEAL_PREFIX_BYTES = 32;
export const SEAL_TAG_BYTES = 16;
export const SEAL_OVERHEAD = SEAL_PREFIX_BYTES + SEAL_TAG_BYTES;
const SALT_BYTES = 16;
const INFO = Buffer.from('flowtrace at-rest record v1');
/** A writer draws a new salt after this many records (far below where a 96-bit counter ends). */
const RECORDS_PER_SALT = 2 ** 32;

function subkey(key: AtRestKey, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', key.material, salt, INFO, 32));
}

const aadOf = (context: Buffer, position: Uint8Array): Buffer => Buffer.concat([context, position]);

/** Encrypts a writer's records under the keyring's primary key. */
export class Sealer {
  private readonly context: Buffer;
  private salt!: Buffer;
  private key!: Buffer;
  private counter = 0;

  constructor(
    private readonly keyring: Keyring,
    /** What the records belong to, e.g. `queue:clickhouse`: part of every record's authenticated data. */
    context: string,
  ) {
    this.context = Buffer.from(`${context}\0`);
    this.resalt();
  }

  get keyId(): number {
    return this.keyring.primary.id;
  }

  /** The sealed record as parts to write one after another: prefix, ciphertext, tag. The plaintext may come in parts (laid end to end). */
  seal(plaintext: Uint8Array | readonly Uint8Array[], position: Uint8Array): Buffer[] {
    if (this.counter >= RECORDS_PER_SALT) this.resalt();
    const prefix = Buffer.allocUnsafe(SEAL_PREFIX_BYTES);
    prefix.writeUInt32BE(this.keyring.primary.id, 0);
    this.salt.copy(prefix, 4);
    prefix.writeUInt32BE(0, 20);
    prefix.writeUInt32BE(Math.floor(this.counter / 2 ** 32), 24);
    prefix.writeUInt32BE(this.counter % 2 ** 32, 28);
    this.counter++;
    const cipher = createCipheriv('aes-256-gcm', this.key, prefix.subarray(20, 32));
    cipher.setAAD(aadOf(this.context, position));
    const out = [prefix];
    if (plaintext instanceof Uint8Array) out.push(cipher.update(plaintext));
    else for (const part of plaintext) out.push(cipher.update(part));
    const tail = cipher.final();
    if (tail.length > 0) out.push(tail);
    out.push(cipher.getAuthTag());
    return out;
  }

  /** The sealed record in one buffer. */
  sealToBuffer(plaintext: Uint8Array, position: Uint8Array): Buffer {
    return Buffer.concat(this.seal(plaintext, position));
  }

  private resalt(): void {
    this.salt = randomBytes(SALT_BYTES);
    this.key = subkey(this.keyring.primary, this.salt);
    this.counter = 0;
  }
}

export type OpenResult = { ok: true; plaintext: Buffer } | { ok: false; reason: 'authentication failed' | 'too short' } | { ok: false; reason: 'unknown key'; keyId: string };

/** Decrypts sealed records of one context with any key of the keyring. */
export class Opener {
  private readonly context: Buffer;
  /** Subkeys by key ID + salt: a file's records share one, so it is derived once. */
  private readonly subkeys = new Map<string, Buffer>();

  constructor(
    readonly keyring: Keyring,
    context: string,
  ) {
    this.context = Buffer.from(`${context}\0`);
  }

  /** The key ID a sealed record names (undefined when too short to name one). */
  static keyIdOf(sealed: Uint8Array): number | undefined {
    return sealed.length >= SEAL_OVERHEAD ? Buffer.from(sealed.buffer, sealed.byteOffset, 4).readUInt32BE(0) : undefined;
  }

  open(sealed: Buffer, position: Uint8Array): OpenResult {
    if (sealed.length < SEAL_OVERHEAD) return { ok: false, reason: 'too short' };
    const id = sealed.readUInt32BE(0);
    const key = this.keyring.get(id);
    if (!key) return { ok: false, reason: 'unknown key', keyId: keyIdHex(id) };
    const cacheKey = sealed.toString('latin1', 0, 4 + SALT_BYTES);
    let sub = this.subkeys.get(cacheKey);
    if (!sub) {
      if (this.subkeys.size >= 256) this.subkeys.clear();
      sub = subkey(key, sealed.subarray(4, 4 + SALT_BYTES));
      this.subkeys.set(cacheKey, sub);
    }
    const decipher = createDecipheriv('aes-256-gcm', sub, sealed.subarray(20, SEAL_PREFIX_BYTES));
    decipher.setAAD(aadOf(this.context, position));
    decipher.setAuthTag(sealed.subarray(sealed.length - SEAL_TAG_BYTES));
    const body = decipher.update(sealed.subarray(SEAL_PREFIX_BYTES, sealed.length - SEAL_TAG_BYTES));
    try {
      const tail = decipher.final();
      return { ok: true, plaintext: tail.length > 0 ? Buffer.concat([body, tail]) : body };
    } catch {
      return { ok: false, reason: 'authentication failed' };
    }
  }
}

/** What a writer needs to encrypt and a reader to decrypt one file or log: the keyring and the context. */
export interface AtRestEncryption {
  keyring: Keyring;
  /** The file's kind and name, e.g. `queue:clickhouse`, `journal`, `dead-letter:otlp/<batch>`. */
  context: string;
}

/** Not usable: records under a key the keyring does not hold. Refuses the start rather than dropping them. */
export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError';
  constructor(where: string, keyId: string) {
    super(
      `${where} holds data encrypted with key ID ${keyId}, which is not in the keyring (storage.encryption.key_file / key_env / previous_key_files / previous_key_envs): ` +
        'give the key that wrote it (as a previous key after a rotation); nothing was read or dropped',
    );
  }
}
