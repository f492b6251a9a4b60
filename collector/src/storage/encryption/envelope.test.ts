import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Opener, SEAL_OVERHEAD, Sealer } from './envelope.js';
import { atRestKey, Keyring, KeyringError, loadKeyring, parseKey } from './keyring.js';
import { encryptionConfigSchema } from './config.js';

const keyA = atRestKey(randomBytes(32));
const keyB = atRestKey(randomBytes(32));
const pos = (n: number): Buffer => Buffer.from(`position ${n}`);
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('sealed records (AES-256-GCM)', () => {
  it('opens what it sealed, with the context and position it was sealed at only', () => {
    const ring = new Keyring(keyA);
    const sealed = new Sealer(ring, 'queue:x').sealToBuffer(Buffer.from('span secret'), pos(1));
    expect(sealed.length).toBe('span secret'.length + SEAL_OVERHEAD);
    expect(sealed.includes('secret')).toBe(false);
    const opener = new Opener(ring, 'queue:x');
    expect(opener.open(sealed, pos(1))).toEqual({ ok: true, plaintext: Buffer.from('span secret') });
    // Moved to another place or another file: refused like a bad checksum.
    expect(opener.open(sealed, pos(2))).toEqual({ ok: false, reason: 'authentication failed' });
    expect(new Opener(ring, 'queue:y').open(sealed, pos(1))).toEqual({ ok: false, reason: 'authentication failed' });
  });

  it('detects any changed byte: key ID, salt, nonce, ciphertext and tag', () => {
    const ring = new Keyring(keyA);
    const sealed = new Sealer(ring, 'c').sealToBuffer(Buffer.from('payload bytes'), pos(0));
    const opener = new Opener(ring, 'c');
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] ^= 0x01;
      expect(opener.open(bad, pos(0)).ok, `byte ${i}`).toBe(false);
    }
    expect(opener.open(sealed.subarray(0, 20), pos(0))).toEqual({ ok: false, reason: 'too short' });
  });

  it('never repeats a nonce: the same plaintext seals differently, within and across writers', () => {
    const ring = new Keyring(keyA);
    const one = new Sealer(ring, 'c');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(one.sealToBuffer(Buffer.from('same'), pos(0)).toString('hex'));
    for (let i = 0; i < 100; i++) seen.add(new Sealer(ring, 'c').sealToBuffer(Buffer.from('same'), pos(0)).toString('hex'));
    expect(seen.size).toBe(200);
  });

  it('rotation: B encrypts, A still decrypts what it wrote; without A the key is named as unknown', () => {
    const underA = new Sealer(new Keyring(keyA), 'c').sealToBuffer(Buffer.from('old'), pos(0));
    const rotated = new Keyring(keyB, [keyA]);
    const underB = new Sealer(rotated, 'c').sealToBuffer(Buffer.from('new'), pos(0));
    expect(Opener.keyIdOf(underB)).toBe(keyB.id);
    const opener = new Opener(rotated, 'c');
    expect(opener.open(underA, pos(0))).toEqual({ ok: true, plaintext: Buffer.from('old') });
    expect(opener.open(underB, pos(0))).toEqual({ ok: true, plaintext: Buffer.from('new') });
    expect(new Opener(new Keyring(keyB), 'c').open(underA, pos(0))).toEqual({ ok: false, reason: 'unknown key', keyId: keyA.idHex });
  });

  it('seals a payload given in parts as the parts laid end to end', () => {
    const ring = new Keyring(keyA);
    const sealed = Buffer.concat(new Sealer(ring, 'c').seal([Buffer.from('ab'), Buffer.from('cd')], pos(0)));
    expect(new Opener(ring, 'c').open(sealed, pos(0))).toEqual({ ok: true, plaintext: Buffer.from('abcd') });
  });
});

describe('keys', () => {
  const hex = randomBytes(32).toString('hex');

  it('reads 32 raw bytes, 64 hex digits or base64, and refuses anything else naming the key, not the content', () => {
    const raw = Buffer.from(hex, 'hex');
    expect(parseKey(raw, 'k')).toEqual(raw);
    expect(parseKey(Buffer.from(`${hex}\n`), 'k')).toEqual(raw);
    expect(parseKey(Buffer.from(`${raw.toString('base64')}\n`), 'k')).toEqual(raw);
    const short = Buffer.from('0123456789abcdef');
    expect(() => parseKey(short, 'storage.encryption.key_file')).toThrow(/storage\.encryption\.key_file: expected a 256-bit key.*openssl rand -hex 32/);
    try {
      parseKey(short, 'k');
    } catch (err) {
      expect(String(err)).not.toContain('0123456789abcdef');
    }
  });

  it('loads a key file of mode 0600 and refuses one others can read, or a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-keys-'));
    dirs.push(dir);
    const file = join(dir, 'key');
    writeFileSync(file, hex, { mode: 0o600 });
    const config = encryptionConfigSchema.parse({ key_file: file });
    expect(loadKeyring(config)?.primary.material.toString('hex')).toBe(hex);
    chmodSync(file, 0o644);
    expect(() => loadKeyring(config)).toThrow(KeyringError);
    expect(() => loadKeyring(config)).toThrow(/mode 0644\): chmod 600 it/);
    expect(() => loadKeyring(encryptionConfigSchema.parse({ key_file: join(dir, 'missing') }))).toThrow(/cannot read key file .*ENOENT/);
  });

  it('loads the primary and previous keys from the environment; off without a key', () => {
    const prev = randomBytes(32).toString('base64');
    const ring = loadKeyring(encryptionConfigSchema.parse({ key_env: 'K', previous_key_envs: ['P'] }), { K: hex, P: prev })!;
    expect(ring.keys.map((k) => k.material.toString('hex'))).toEqual([hex, Buffer.from(prev, 'base64').toString('hex')]);
    expect(() => loadKeyring(encryptionConfigSchema.parse({ key_env: 'K' }), {})).toThrow(/storage\.encryption\.key_env: environment variable K is not set/);
    expect(loadKeyring(encryptionConfigSchema.parse({}))).toBeUndefined();
  });

  it('validates the config: one primary source, previous keys only with a primary', () => {
    expect(encryptionConfigSchema.safeParse({ key_file: 'a', key_env: 'B' }).error?.issues[0].message).toBe('give key_file or key_env, not both');
    expect(encryptionConfigSchema.safeParse({ previous_key_files: ['a'] }).error?.issues[0].message).toBe('previous keys need a primary key (key_file or key_env)');
    expect(encryptionConfigSchema.safeParse({ key: 'secret' }).success).toBe(false);
  });
});
