import { describe, expect, it } from 'vitest';
import { parameterNames } from '../src/params.js';
import { isSecretKey, MASK, maskSecretsInText } from '../src/redact.js';
import { cutToBytes, formatValue } from '../src/serialize.js';

const f = (v: unknown, max = 256): string => formatValue(v, max);

describe('formatValue', () => {
  it('is type-aware', () => {
    expect(f('abc')).toBe('"abc"');
    expect(f(42)).toBe('42');
    expect(f(-0)).toBe('-0');
    expect(f(10n)).toBe('10n');
    expect(f(true)).toBe('true');
    expect(f(undefined)).toBe('undefined');
    expect(f(null)).toBe('null');
    expect(f(Symbol('s'))).toBe('Symbol(s)');
    expect(f(function named() {})).toBe('[Function: named]');
    expect(f(class Widget {})).toBe('[class Widget]');
    expect(f(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(f(/a+/g)).toBe('/a+/g');
    expect(f(new RangeError('too far'))).toBe('RangeError: too far');
    expect(f(Buffer.from('abc'))).toBe('Buffer(3)');
    expect(f(new Uint16Array(4))).toBe('Uint16Array(8)');
    expect(f(Promise.resolve(1))).toBe('Promise');
    expect(f([1, 'a', [2]])).toBe('[1, "a", [2]]');
    expect(f(new Map([['k', 1]]))).toBe('Map(1) {"k" => 1}');
    expect(f(new Set([1, 2]))).toBe('Set(2) [1, 2]');
    expect(f({ a: 1, b: { c: null } })).toBe('{"a": 1, "b": {"c": null}}');
    class Order {
      id = 7;
    }
    expect(f(new Order())).toBe('Order {"id": 7}');
    expect(f(Object.create(null) as object)).toBe('{}');
  });

  it('is cycle-safe and depth-limited', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(f(a)).toBe('{"name": "a", "self": [Circular]}');
    expect(f({ l1: { l2: { l3: { l4: 1 } } } })).toBe('{"l1": {"l2": {"l3": [Object]}}}');
    const shared = { x: 1 };
    expect(f([shared, shared])).toBe('[{"x": 1}, {"x": 1}]');
  });

  it('never runs getters or proxy traps', () => {
    let ran = false;
    const o = {
      get boom() {
        ran = true;
        return 1;
      },
    };
    expect(f(o)).toBe('{"boom": [Getter]}');
    const p = new Proxy({}, { get: () => (ran = true), ownKeys: () => ((ran = true), []) });
    expect(f(p)).toBe('[Proxy]');
    expect(ran).toBe(false);
  });

  it('caps the size in UTF-8 bytes, without splitting a character, and stops early', () => {
    const out = f('ü'.repeat(1000), 32);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(32);
    expect(out.endsWith('…')).toBe(true);
    expect(out).not.toContain('\uFFFD');
    const huge = Array.from({ length: 100_000 }, (_, i) => i);
    const t = process.hrtime.bigint();
    expect(Buffer.byteLength(f(huge, 64))).toBeLessThanOrEqual(64);
    // Stopping at the budget makes this proportional to the budget, not to the array.
    expect(Number(process.hrtime.bigint() - t)).toBeLessThan(50_000_000);
    expect(cutToBytes('aé', 2)).toBe('a');
  });

  it('masks secrets by key and by content', () => {
    expect(f({ user: 'ada', password: 'x', apiKey: 'k', nested: { Authorization: 'Bearer abc' } })).toBe(
      `{"user": "ada", "password": "${MASK}", "apiKey": "${MASK}", "nested": {"Authorization": "${MASK}"}}`,
    );
    expect(f(new Map([['token', 'abc']]))).toBe(`Map(1) {"token" => "${MASK}"}`);
    expect(f('card 4111 1111 1111 1111 ok')).toBe(`"card ${MASK} ok"`);
    // A card number cut by the size cap is still recognised first.
    expect(f(`${'x'.repeat(20)} 4111111111111111`, 32)).not.toMatch(/4111/);
  });
});

describe('redaction', () => {
  it('recognises secret-looking keys in any case or separator style', () => {
    for (const k of ['password', 'PASSWORD', 'user_password', 'passwd', 'secret', 'clientSecret', 'token', 'access_token', 'authorization', 'api-key', 'apiKey', 'cookie', 'sessionId', 'cardNumber', 'card_number', 'creditCard', 'cvv', 'ssn', 'pin']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['user', 'id', 'items', 'author', 'discardedItems', 'spin', 'cardinality']) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });

  it('masks credentials and card numbers inside text', () => {
    expect(maskSecretsInText('Authorization: Bearer abcdef123456')).toBe(`Authorization: ${MASK}`);
    expect(maskSecretsInText('curl -H "Bearer abcdef123456"')).toBe(`curl -H "Bearer ${MASK}"`);
    expect(maskSecretsInText('/login?user=ada&password=hunter2&x=1')).toBe(`/login?user=ada&password=${MASK}&x=1`);
    expect(maskSecretsInText('jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature')).toBe(`jwt ${MASK}`);
    expect(maskSecretsInText('AKIAIOSFODNN7EXAMPLE')).toBe(MASK);
    expect(maskSecretsInText('paid with 5500-0000-0000-0004')).toBe(`paid with ${MASK}`);
    // Digits that fail the Luhn check are not card numbers.
    expect(maskSecretsInText('order 1234567890123')).toBe('order 1234567890123');
    expect(maskSecretsInText('nothing to see')).toBe('nothing to see');
  });
});

describe('parameterNames', () => {
  it('reads names from every function syntax', () => {
    expect(parameterNames(function (a: unknown, b: unknown) {
      return [a, b];
    })).toEqual(['a', 'b']);
    expect(parameterNames((x: unknown) => x)).toEqual(['x']);
    expect(parameterNames(async (user: string, password = 'x') => user + password)).toEqual(['user', 'password']);
    const o = {
      login(user: string, { token }: { token: string }, ...rest: unknown[]) {
        return [user, token, rest];
      },
      *gen(cb: unknown) {
        yield cb;
      },
    };
    expect(parameterNames(o.login)).toEqual(['user', undefined, 'rest']);
    expect(parameterNames(o.gen)).toEqual(['cb']);
    expect(parameterNames(new Function('a', 'b = "(,)"', 'return a'))).toEqual(['a', 'b']);
    expect(parameterNames(Math.max)).toEqual([]);
  });
});
