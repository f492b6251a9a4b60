import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { EncryptionConfig } from './config.js';

export const KEY_BYTES = 32;

/** One AES-256 key and its ID: the first 4 bytes of SHA-256 over a label and the key (reveals nothing usable). */
export interface AtRestKey {
  readonly id: number;
  /** 8 hex digits, for messages and logs. */
  readonly idHex: string;
  readonly material: Buffer;
}

/** A key that cannot be used, named by its config key (never by its content). */
export class KeyringError extends Error {
  override name = 'KeyringError';
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

export function keyIdOf(material: Buffer): number {
  return createHash('sha256').update('flowtrace at-rest key id\0').update(material).digest().readUInt32BE(0);
}

export const keyIdHex = (id: number): string => id.toString(16).padStart(8, '0');

export function atRestKey(material: Buffer): AtRestKey {
  const id = keyIdOf(material);
  return { id, idHex: keyIdHex(id), material };
}

/**
 * The primary key (encrypts everything new) and the previous ones (decrypt what was written
 * under them). Records carry their key's ID, so a record's key is found without trying each.
 */
export class Keyring {
  private readonly byId = new Map<number, AtRestKey>();

  constructor(
    readonly primary: AtRestKey,
    previous: readonly AtRestKey[] = [],
  ) {
    for (const k of [primary, ...previous]) {
      const other = this.byId.get(k.id);
      if (other && !other.material.equals(k.material)) throw new Error(`two keys share the key ID ${k.idHex}; generate a new key`);
      this.byId.set(k.id, k);
    }
  }

  get(id: number): AtRestKey | undefined {
    return this.byId.get(id);
  }

  /** Every key, the primary first. */
  get keys(): AtRestKey[] {
    return [this.primary, ...[...this.byId.values()].filter((k) => k !== this.primary)];
  }
}

/** 32 raw bytes, 64 hex digits or base64 of 32 bytes (whitespace around text ignored). */
export function parseKey(raw: Buffer, what: string): Buffer {
  const text = raw.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) return Buffer.from(text, 'base64');
  // Text of another length is a mistake, not 32 raw bytes (random bytes are never all hex or base64 digits).
  const looksLikeText = /^[A-Za-z0-9+/=\s]*$/.test(raw.toString('latin1'));
  if (raw.length === KEY_BYTES && !looksLikeText) return Buffer.from(raw);
  throw new KeyringError(what, `expected a 256-bit key: 32 raw bytes, 64 hex digits or base64 of 32 bytes (got ${raw.length} bytes that are none of these; make one with: openssl rand -hex 32)`);
}

/** Reads a key file; refuses one that others can read (like ssh with its private keys). */
export function readKeyFile(file: string, what: string): Buffer {
  const failed = (err: unknown) => new KeyringError(what, `cannot read key file '${file}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  // One descriptor for the check and the read: the file checked is the file read (no swap between them).
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw failed(err);
  }
  try {
    let mode: number;
    try {
      mode = fstatSync(fd).mode;
    } catch (err) {
      throw failed(err);
    }
    if ((mode & 0o077) !== 0) {
      throw new KeyringError(what, `key file '${file}' is readable or writable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`);
    }
    let raw: Buffer;
    try {
      raw = readFileSync(fd);
    } catch (err) {
      throw failed(err);
    }
    return parseKey(raw, what);
  } finally {
    closeSync(fd);
  }
}

function readKeyEnv(name: string, env: NodeJS.ProcessEnv, what: string): Buffer {
  const value = env[name];
  if (value === undefined || value === '') throw new KeyringError(what, `environment variable ${name} is not set`);
  return parseKey(Buffer.from(value, 'latin1'), what);
}

/** The keyring the config describes, or undefined when encryption is off. Throws KeyringError naming the config key. */
export function loadKeyring(config: EncryptionConfig, env: NodeJS.ProcessEnv = process.env): Keyring | undefined {
  const base = 'storage.encryption';
  let primary: Buffer;
  if (config.key_file !== '') primary = readKeyFile(config.key_file, `${base}.key_file`);
  else if (config.key_env !== '') primary = readKeyEnv(config.key_env, env, `${base}.key_env`);
  else return undefined;
  const previous = [
    ...config.previous_key_files.map((f, i) => readKeyFile(f, `${base}.previous_key_files[${i}]`)),
    ...config.previous_key_envs.map((n, i) => readKeyEnv(n, env, `${base}.previous_key_envs[${i}]`)),
  ];
  try {
    return new Keyring(atRestKey(primary), previous.map(atRestKey));
  } catch (err) {
    throw new KeyringError(base, (err as Error).message);
  }
}
