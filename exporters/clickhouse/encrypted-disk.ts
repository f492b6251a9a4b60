import { createHash, hkdfSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Keyring } from '../../collector/src/storage/encryption/keyring.js';

/**
 * The embedded engine's parts on a ClickHouse encrypted disk (AES_256_CTR) over a local disk in
 * the data directory, made the `default` storage policy, so every MergeTree table FlowTrace (or
 * a migration) creates is encrypted without a `storage_policy` in its DDL. chdb 3.4 takes this
 * as a `--config-file` at start (the `storage_configuration` section; command-line overrides
 * cannot declare the wrapped disk before the encrypted one). The file names the keys only by
 * `from_env`: they are put in the environment for the engine's start and removed after it.
 */
export const ENCRYPTED_DISK_DIR = join('disks', 'flowtrace_local');
const ENV_PREFIX = 'FLOWTRACE_ENGINE_DISK_KEY_';

/** The disk key of a FlowTrace key: derived, so the queues' key and the engine's are never the same bytes. */
export function diskKeyHex(material: Buffer): string {
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), Buffer.from('flowtrace clickhouse encrypted disk v1'), 32)).toString('hex');
}

/** A store created without encryption (its parts on the plain default disk) or with it, judged from the directory. */
export function checkStoreEncryption(dataDir: string, encrypted: boolean): string | undefined {
  const hasEngine = existsSync(join(dataDir, 'metadata'));
  const hasEncryptedDisk = existsSync(join(dataDir, ENCRYPTED_DISK_DIR));
  if (encrypted && hasEngine && !hasEncryptedDisk) {
    return `the embedded store in ${dataDir} was created without encryption; its parts cannot move to the encrypted disk in place: start with a new data directory (move spans with flowtrace backup / restore, README "Encryption at rest")`;
  }
  if (!encrypted && hasEncryptedDisk) {
    return `the embedded store in ${dataDir} is encrypted: configure storage.encryption with the keys it was written with`;
  }
  return undefined;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The IDs of the keys the engine's parts may be encrypted with: every key that was ever primary for this store. */
const DISK_KEYS_FILE = 'flowtrace-disk-keys.json';

function diskKeyIds(dataDir: string): string[] {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, ENCRYPTED_DISK_DIR, DISK_KEYS_FILE), 'utf8')) as { key_ids?: unknown };
    return Array.isArray(parsed.key_ids) ? parsed.key_ids.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Refuses (before the engine starts: it would only say it cannot attach a table) a keyring
 * lacking a key the store's parts may need, naming the key IDs; then records the primary.
 * Parts keep the key they were written with until merged or dropped, so a previous key stays
 * needed until they are rewritten (README "Encryption at rest": `OPTIMIZE … FINAL`).
 */
export function checkDiskKeys(dataDir: string, keyring: Keyring): void {
  const used = diskKeyIds(dataDir);
  const missing = used.filter((id) => !keyring.keys.some((k) => k.idHex === id));
  if (missing.length > 0) {
    throw new Error(
      `the embedded store in ${dataDir} holds parts that may be encrypted with key ID ${missing.join(', ')}, which is not in the keyring (storage.encryption.key_file / key_env / previous_key_files / previous_key_envs): ` +
        'give the key that wrote them (as a previous key after a rotation); nothing was read or dropped',
    );
  }
  if (!used.includes(keyring.primary.idHex)) {
    mkdirSync(join(dataDir, ENCRYPTED_DISK_DIR), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, ENCRYPTED_DISK_DIR, DISK_KEYS_FILE), `${JSON.stringify({ version: 1, key_ids: [...used, keyring.primary.idHex] })}\n`, { mode: 0o600 });
  }
}

/** Writes the engine's storage configuration and returns its start-up argument and the environment it reads keys from. */
export function encryptedDiskConfig(dataDir: string, keyring: Keyring): { args: string[]; env: Record<string, string> } {
  const disk = join(dataDir, ENCRYPTED_DISK_DIR);
  mkdirSync(disk, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {};
  const keys = keyring.keys.map((k) => {
    env[`${ENV_PREFIX}${k.idHex}`] = diskKeyHex(k.material);
    return `<key_hex id="${k.id}" from_env="${ENV_PREFIX}${k.idHex}"/>`;
  });
  const xml = [
    '<clickhouse><storage_configuration><disks>',
    `<flowtrace_local><type>local</type><path>${xmlText(disk)}/</path></flowtrace_local>`,
    `<flowtrace_encrypted><type>encrypted</type><disk>flowtrace_local</disk><path>encrypted/</path><algorithm>AES_256_CTR</algorithm>${keys.join('')}<current_key_id>${keyring.primary.id}</current_key_id></flowtrace_encrypted>`,
    '</disks><policies><default><volumes><main><disk>flowtrace_encrypted</disk></main></volumes></default></policies>',
    '</storage_configuration></clickhouse>',
  ].join('');
  const file = join(dataDir, 'flowtrace-engine-storage.xml');
  writeFileSync(file, `${xml}\n`, { mode: 0o600 });
  return { args: [`--config-file=${file}`], env };
}

/** Memory-backed file systems (statfs types): tmpfs, ramfs. */
const MEMORY_FS_TYPES = new Set([0x01021994, 0x858458f6]);

/**
 * The insert spool's directory when encryption is on: the engine reads spool files with
 * `file()`, which cannot decrypt, so they go to memory (tmpfs) instead of the data directory;
 * one directory per data directory, cleared at start like the spool in the data directory.
 */
export function memorySpoolDir(spoolRoot: string, dataDir: string): string {
  let type: number;
  try {
    type = statfsSync(spoolRoot).type;
  } catch (err) {
    throw new Error(`storage.encryption.spool_dir: cannot use '${spoolRoot}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!MEMORY_FS_TYPES.has(type)) {
    throw new Error(`storage.encryption.spool_dir: '${spoolRoot}' is not memory-backed (tmpfs): insert spool files hold span rows in the clear and must not reach a disk`);
  }
  return join(spoolRoot, `flowtrace-insert-spool-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
}
