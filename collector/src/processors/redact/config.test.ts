import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { DEFAULT_ALLOW_KEYS, DEFAULT_DENY_KEYS, HASH_KEY_ENV, redactConfigSchema } from './config.js';

function problem(input: unknown): { path: string; message: string } {
  const result = redactConfigSchema.safeParse(input);
  expect(result.success).toBe(false);
  const issue = result.error!.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message };
}

describe('redact config', () => {
  it('is on by default with the default detectors and key rules', () => {
    const config = redactConfigSchema.parse({});
    expect(config.enabled).toBe(true);
    expect(config.span_names).toBe(true);
    expect(config.hash_key).toBe('');
    expect(config.hash_length).toBe(16);
    expect(config.detectors.ip).toEqual({ enabled: false, action: 'mask' });
    for (const name of ['email', 'credit_card', 'ssn', 'phone', 'jwt', 'auth', 'aws_key', 'iban'] as const) {
      expect(config.detectors[name]).toEqual({ enabled: true, action: 'mask' });
    }
    expect(config.keys).toEqual({ action: 'mask', deny: DEFAULT_DENY_KEYS, extra_deny: [], allow: DEFAULT_ALLOW_KEYS, extra_allow: [] });
    expect(config.custom).toEqual([]);
  });

  it('refuses hash without a key, naming the setting and both ways to give one', () => {
    const { path, message } = problem({ detectors: { email: { action: 'hash' } } });
    expect(path).toBe('hash_key');
    expect(message).toBe(
      'detectors.email uses action "hash" but no hash key is set: set processors.redact.hash_key or the FLOWTRACE_REDACT_HASH_KEY environment variable',
    );
    expect(problem({ keys: { action: 'hash' } }).message).toMatch(/^keys.action uses action "hash"/);
    expect(problem({ keys: { extra_deny: [{ key: 'enduser.id', action: 'hash' }] } }).message).toMatch(/^keys deny entry "enduser.id" uses/);
    expect(problem({ custom: [{ name: 'x', pattern: 'x', action: 'hash' }] }).message).toMatch(/^custom rule "x" uses/);
    // Off, nothing needs a key.
    expect(redactConfigSchema.safeParse({ enabled: false, keys: { action: 'hash' } }).success).toBe(true);
  });

  it('takes the hash key from the environment through the config loader', () => {
    const env = { [HASH_KEY_ENV]: 'from-the-environment-123', FLOWTRACE_PROCESSORS_REDACT_KEYS_ACTION: 'hash' };
    expect(loadConfig({ env }).processors.redact.hash_key).toBe('from-the-environment-123');
    expect(() => loadConfig({ env: { FLOWTRACE_PROCESSORS_REDACT_KEYS_ACTION: 'hash' } })).toThrow(/hash_key.*no hash key is set/);
  });

  it('refuses short hash keys and bad hash lengths', () => {
    expect(problem({ hash_key: 'short' })).toEqual({ path: 'hash_key', message: 'the hash key must be at least 16 characters' });
    expect(problem({ hash_length: 4 })).toEqual({ path: 'hash_length', message: 'must be at least 8' });
  });

  it('refuses bad custom patterns with the key that is wrong', () => {
    const bad = problem({ custom: [{ name: 'order', pattern: 'ORD-(\\d+' }] });
    expect(bad.path).toBe('custom.0.pattern');
    expect(bad.message).toMatch(/^invalid regular expression: /);
    expect(problem({ custom: [{ name: 'any', pattern: 'x*' }] })).toEqual({ path: 'custom.0.pattern', message: 'the pattern matches the empty string' });
    expect(problem({ custom: [{ name: 'Bad Name', pattern: 'x' }] }).path).toBe('custom.0.name');
    expect(problem({ custom: [{ name: 'email', pattern: 'x' }] })).toEqual({
      path: 'custom.0.name',
      message: 'duplicate name "email" (built-in detectors and custom rules need distinct names)',
    });
  });

  it('refuses unknown settings and unknown actions', () => {
    expect(problem({ detectors: { mail: {} } }).path).toBe('detectors');
    expect(problem({ detectors: { email: { action: 'erase' } } }).path).toBe('detectors.email.action');
    expect(problem({ keys: { deny: [''] } }).path).toBe('keys.deny.0');
  });
});
