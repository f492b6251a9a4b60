import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';

describe('storage.encryption from the environment', () => {
  it('takes the long environment names like every key, previous keys comma-separated', () => {
    const config = loadConfig({ env: { FLOWTRACE_STORAGE_ENCRYPTION_KEY_FILE: '/keys/b', FLOWTRACE_STORAGE_ENCRYPTION_PREVIOUS_KEY_FILES: '/keys/a,/keys/z' }, overrides: [] });
    expect(config.storage.encryption).toEqual({ key_file: '/keys/b', key_env: '', previous_key_files: ['/keys/a', '/keys/z'], previous_key_envs: [], spool_dir: '/dev/shm' });
  });

  it('names the variable that makes the config wrong', () => {
    expect(() => loadConfig({ env: { FLOWTRACE_STORAGE_ENCRYPTION_KEY_FILE: '/k', FLOWTRACE_STORAGE_ENCRYPTION_KEY_ENV: 'K' }, overrides: [] })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { FLOWTRACE_STORAGE_ENCRYPTION_KEY_ENV: 'not a name' }, overrides: [] })).toThrow(/FLOWTRACE_STORAGE_ENCRYPTION_KEY_ENV: expected an environment variable name/);
  });

  it('is off by default', () => {
    expect(loadConfig({ env: {}, overrides: [] }).storage.encryption.key_file).toBe('');
  });
});
