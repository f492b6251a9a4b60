import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { atRestKey, Keyring } from '../../collector/src/storage/encryption/keyring.js';
import { checkDiskKeys, checkStoreEncryption, encryptedDiskConfig, ENCRYPTED_DISK_DIR, memorySpoolDir } from './encrypted-disk.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ft-encdisk-'));
  dirs.push(d);
  return d;
};
const keyA = atRestKey(randomBytes(32));
const keyB = atRestKey(randomBytes(32));

describe('the embedded engine on an encrypted disk', () => {
  it('names the keys only by environment variable in the config file, one per keyring key, the primary current', () => {
    const dir = temp();
    const { args, env } = encryptedDiskConfig(dir, new Keyring(keyB, [keyA]));
    const file = args[0]!.replace('--config-file=', '');
    const xml = readFileSync(file, 'utf8');
    for (const value of Object.values(env)) expect(xml).not.toContain(value);
    expect(xml).not.toContain(keyA.material.toString('hex'));
    expect(xml).toContain(`<current_key_id>${keyB.id}</current_key_id>`);
    expect(xml.match(/<key_hex id="\d+" from_env="FLOWTRACE_ENGINE_DISK_KEY_[0-9a-f]{8}"\/>/g)).toHaveLength(2);
    // Derived: the engine never holds the bytes that seal the queues.
    expect(Object.values(env)).not.toContain(keyA.material.toString('hex'));
  });

  it('refuses to switch a plain store to encryption in place, and to open an encrypted store without it', () => {
    const plain = temp();
    mkdirSync(join(plain, 'metadata'));
    expect(checkStoreEncryption(plain, true)).toMatch(/was created without encryption/);
    expect(checkStoreEncryption(plain, false)).toBeUndefined();
    const encrypted = temp();
    mkdirSync(join(encrypted, 'metadata'));
    mkdirSync(join(encrypted, ENCRYPTED_DISK_DIR), { recursive: true });
    expect(checkStoreEncryption(encrypted, false)).toMatch(/is encrypted: configure storage\.encryption/);
    expect(checkStoreEncryption(encrypted, true)).toBeUndefined();
    expect(checkStoreEncryption(temp(), true)).toBeUndefined(); // a new store
  });

  it('remembers every key that was primary and refuses a keyring without one of them, naming it', () => {
    const dir = temp();
    checkDiskKeys(dir, new Keyring(keyA));
    checkDiskKeys(dir, new Keyring(keyB, [keyA]));
    expect(() => checkDiskKeys(dir, new Keyring(keyB))).toThrow(`key ID ${keyA.idHex}, which is not in the keyring`);
    expect(() => checkDiskKeys(dir, new Keyring(keyB, [keyA]))).not.toThrow();
  });

  it('puts the insert spool on a memory file system only', () => {
    const data = temp();
    expect(memorySpoolDir('/dev/shm', data)).toMatch(/^\/dev\/shm\/flowtrace-insert-spool-[0-9a-f]{16}$/);
    expect(memorySpoolDir('/dev/shm', data)).toBe(memorySpoolDir('/dev/shm', data));
    if (statfsSync(data).type !== 0x01021994) expect(() => memorySpoolDir(data, data)).toThrow(/is not memory-backed \(tmpfs\)/);
    expect(() => memorySpoolDir(join(data, 'missing'), data)).toThrow(/cannot use .*ENOENT/);
  });
});
