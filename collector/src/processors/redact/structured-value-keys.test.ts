import { describe, expect, it } from 'vitest';
import { redactConfigSchema } from './config.js';
import type { Tally } from './redactor.js';
import { StructuredValueKeys } from './structured-value-keys.js';

function tally(): Tally & { seen: string[] } {
  const seen: string[] = [];
  return { seen, record: (where, kind, action) => seen.push(`${where}:${kind}:${action}`) };
}

describe('StructuredValueKeys', () => {
  const keys = new StructuredValueKeys(redactConfigSchema.parse({}));

  it('replaces a denied key’s value whatever its type, keeps every other byte, and stays JSON', () => {
    const json = '{"big":9223372036854775807,"esc\\"aped":"a\\"b","token":{"x":[1,"}"]},"list":[{"pwd":-1.5e3},{"ok":"}\\\\"}],"password":"p\\"w"}';
    const t = tally();
    const out = keys.redact(json, 'body', t)!;
    expect(out).toBe('{"big":9223372036854775807,"esc\\"aped":"a\\"b","token":"[REDACTED:key]","list":[{"pwd":"[REDACTED:key]"},{"ok":"}\\\\"}],"password":"[REDACTED:key]"}');
    expect(JSON.parse(out)).toMatchObject({ list: [{ pwd: '[REDACTED:key]' }, { ok: '}\\' }] });
    expect(t.seen).toEqual(['body:key:mask', 'body:key:mask', 'body:key:mask']);
  });

  it('leaves allowed keys, already redacted values, string values that look like keys, and text that is not JSON alone', () => {
    const t = tally();
    expect(keys.redact('{"service.name":"token","note":"password","secret":"[REDACTED:key]"}', 'body', t)).toBeUndefined();
    expect(keys.redact('["token", "password:"]', 'body', t)).toBeUndefined();
    expect(keys.redact('{"token":"unterminated', 'body', t)).toBeUndefined();
    expect(t.seen).toEqual([]);
  });

  it('hashes when the key rule says hash, and applies to kvlist attribute values only under scanned keys', () => {
    const hashing = new StructuredValueKeys(redactConfigSchema.parse({ hash_key: 'k'.repeat(32), keys: { extra_deny: [{ key: 'email', action: 'hash' }] } }));
    const t = tally();
    const attrs = { ctx: '{"email":"a@b.c","n":1}', password: '{"cookie":"x"}', plain: '{"cookie":"x"}' };
    const out = hashing.attributes(attrs, { ctx: 'kvlist', password: 'kvlist' }, 'resource.', t)!;
    expect(JSON.parse(out.ctx!).email).toMatch(/^\[HASHED:key:[0-9a-f]+\]$/);
    expect(out.password).toBe(attrs.password); // denied whole by the Redactor, not here
    expect(out.plain).toBe(attrs.plain); // a string value, not a kvlist
    expect(attrs.ctx).toBe('{"email":"a@b.c","n":1}'); // the original is untouched
    expect(t.seen).toEqual(['resource.ctx:key:hash']);
  });
});

describe('StructuredValueKeys on large input', () => {
  it('finds a denied key at the bottom of a 4 MiB body nested 100 deep', () => {
    const keys = new StructuredValueKeys(redactConfigSchema.parse({}));
    const inner = `{"k":"${'x'.repeat(4 << 20)}","token":"t"}`;
    const json = '{"a":'.repeat(100) + inner + '}'.repeat(100);
    const t = tally();
    const out = keys.redact(json, 'body', t)!;
    expect(out.endsWith('"token":"[REDACTED:key]"}' + '}'.repeat(100))).toBe(true);
  });
});
