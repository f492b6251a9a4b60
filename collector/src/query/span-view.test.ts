import { describe, expect, it } from 'vitest';
import { typedValue } from './span-view.js';

describe('typedValue', () => {
  it('reads ints inside arrays and kvlists exactly: past 2^53 as strings, like a top-level int', () => {
    expect(typedValue('[9007199254740993,1,"x",1.5]', 'array')).toEqual(['9007199254740993', 1, 'x', 1.5]);
    expect(typedValue('{"a":-9223372036854775808,"b":{"c":[18446744073709551615]}}', 'kvlist')).toEqual({ a: '-9223372036854775808', b: { c: ['18446744073709551615'] } });
    expect(typedValue('9007199254740993', 'int')).toBe('9007199254740993');
  });

  it('keeps a __proto__ key as data and an unparsable value as text', () => {
    const value = typedValue('{"__proto__":{"polluted":1}}', 'kvlist') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typedValue('[1,', 'array')).toBe('[1,');
  });
});
