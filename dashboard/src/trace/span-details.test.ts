import { describe, expect, it } from 'vitest';
import { attributeRows, attributeType, offsetNs, valueText } from './span-details';

describe('span details', () => {
  it('names the type each attribute was sent with', () => {
    expect([attributeType('x'), attributeType(3), attributeType(2.5), attributeType(true), attributeType([1]), attributeType({ a: 1 }), attributeType(null)]).toEqual([
      'string',
      'int',
      'double',
      'bool',
      'array',
      'object',
      'null',
    ]);
  });

  it('shows values as text, markup included as it is', () => {
    expect(valueText('<img src=x>')).toBe('<img src=x>');
    expect(valueText([1, 'a'])).toBe('[1,"a"]');
    expect(valueText(false)).toBe('false');
  });

  it('sorts attributes by key and can leave the captured arguments to their own section', () => {
    const attrs = { 'flowtrace.args.0': '42', zeta: 1, alpha: 'a', 'flowtrace.return': 'ok' };
    expect(attributeRows(attrs).map((r) => r.key)).toEqual(['alpha', 'flowtrace.args.0', 'flowtrace.return', 'zeta']);
    expect(attributeRows(attrs, true)).toEqual([
      { key: 'alpha', type: 'string', text: 'a' },
      { key: 'zeta', type: 'int', text: '1' },
    ]);
  });

  it('measures offsets between nanosecond strings exactly', () => {
    expect(offsetNs('1765000000000000001', '1765000000000001002')).toBe(1001);
  });
});
