import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';
import { atRestKeyring } from './setup.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A config with encryption on (key in a 0600 file) and a file exporter writing to `directory`. */
function configWithFileExporter(directory: (dataDir: string) => string) {
  const base = mkdtempSync(join(tmpdir(), 'ft-enc-setup-'));
  dirs.push(base);
  const dataDir = join(base, 'data');
  const keyFile = join(base, 'key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const file = join(base, 'config.yaml');
  writeFileSync(file, `storage:\n  data_dir: ${dataDir}\n  encryption:\n    key_file: ${keyFile}\nexporters:\n  file:\n    directory: ${directory(dataDir)}\n`);
  return loadConfig({ file, env: {}, overrides: [] });
}

describe('atRestKeyring: the file exporter outside the data directory', () => {
  it('refuses a directory inside the data directory, even one whose name starts with two dots', () => {
    for (const sub of ['spans', '..spans', 'a/..b']) {
      expect(() => atRestKeyring(configWithFileExporter((d) => join(d, sub)), {}), sub).toThrow(ConfigError);
    }
  });

  it('accepts a directory beside the data directory', () => {
    expect(atRestKeyring(configWithFileExporter((d) => join(d, '..', 'spans')), {})).toBeDefined();
  });
});
