import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiCredential } from '../api-client.js';
import { UsageError } from '../command.js';
import { parseExpiry } from './tokens.js';

describe('tokens create --expires', () => {
  it('reads minutes, hours and days', () => {
    expect(parseExpiry('90m')).toBe(5400);
    expect(parseExpiry('12h')).toBe(43_200);
    expect(parseExpiry('30d')).toBe(2_592_000);
  });

  it('refuses anything else with a usage error', () => {
    for (const bad of ['', '0d', '30', '1w', '-1d', '1.5h', '9999999d']) expect(() => parseExpiry(bad)).toThrow(UsageError);
  });
});

describe('the credential client commands send', () => {
  it('comes from --token-file first, else FLOWTRACE_TOKEN, else none', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ft-cred-')), 'token');
    writeFileSync(file, 'ft_from_file\n');
    expect(apiCredential(file, { FLOWTRACE_TOKEN: 'ft_from_env' })).toBe('ft_from_file');
    expect(apiCredential(undefined, { FLOWTRACE_TOKEN: ' ft_from_env ' })).toBe('ft_from_env');
    expect(apiCredential(undefined, {})).toBeUndefined();
  });

  it('refuses an unreadable or empty token file, without printing its content', () => {
    expect(() => apiCredential('/nonexistent/token', {})).toThrow(/--token-file: cannot read \/nonexistent\/token: ENOENT/);
    const empty = join(mkdtempSync(join(tmpdir(), 'ft-cred-')), 'token');
    writeFileSync(empty, '\n');
    expect(() => apiCredential(empty, {})).toThrow(/is empty/);
  });
});
