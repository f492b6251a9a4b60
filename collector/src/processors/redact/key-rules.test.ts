import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOW_KEYS, DEFAULT_DENY_KEYS } from './config.js';
import { KeyRules } from './key-rules.js';

const defaults = new KeyRules({ action: 'mask', deny: DEFAULT_DENY_KEYS, allow: DEFAULT_ALLOW_KEYS });

describe('key rules', () => {
  it.each([
    'password',
    'db.password',
    'user_password',
    'userPassword',
    'PASSWD',
    'flowtrace.args.pwd',
    'app.secret',
    'client_secret',
    'access_token',
    'refreshToken',
    'http.request.header.x-csrf-token',
    'http.request.header.authorization',
    'http.request.header.proxy-authorization',
    'http.request.header.cookie',
    'http.response.header.set-cookie',
    'api_key',
    'apikey',
    'x-api-key',
    'X_API_KEY',
    'apiKey',
    'session',
    'JSESSIONID',
    'credit_card',
    'CreditCard',
    'payment.card_number',
    'aws.secret_access_key',
  ])('denies %s', (key) => {
    expect(defaults.decide(key)).toBe('mask');
  });

  it.each([
    'gen_ai.usage.input_tokens',
    'tokenizer',
    'session.id',
    'passwordless',
    'pwd_hint',
    'url.path',
    'user_agent.original',
    'http.request.header.content-type',
    'secretary.name',
  ])('scans %s', (key) => {
    expect(defaults.decide(key)).toBe('scan');
  });

  it.each(['service.name', 'http.route', 'telemetry.sdk.language', 'flowtrace.correlation_id', 'flowtrace.redacted', 'flowtrace.redacted.keys', 'trace_id'])(
    'allows %s',
    (key) => {
      expect(defaults.decide(key)).toBe('allow');
    },
  );

  it('lets allow win over deny, matches dotted entries as whole keys, and honours per-entry actions', () => {
    const rules = new KeyRules({
      action: 'hash',
      deny: ['token', { key: 'enduser.id', action: 'drop' }, { key: 'pin', action: 'mask' }],
      allow: ['auth.token', 'internal.*'],
    });
    expect(rules.decide('auth.token')).toBe('allow');
    expect(rules.decide('internal.password')).toBe('allow');
    expect(rules.decide('other.token')).toBe('hash');
    expect(rules.decide('EndUser.ID')).toBe('drop');
    expect(rules.decide('id')).toBe('scan');
    expect(rules.decide('card.pin')).toBe('mask');
    expect(rules.decide('password')).toBe('scan'); // the default list was replaced
  });
});
