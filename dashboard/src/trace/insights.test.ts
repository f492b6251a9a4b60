import { describe, expect, it } from 'vitest';
import { missingReasons, ruleLabel } from './insights';

describe('insights', () => {
  it('labels the known rules and keeps unknown ones as they are', () => {
    expect(ruleLabel('n-plus-one')).toBe('N+1');
    expect(ruleLabel('error-origin')).toBe('Error origin');
    expect(ruleLabel('new-rule')).toBe('new-rule');
  });

  it('lists each reason a part is missing once, most frequent first', () => {
    const finding = (explanation: string) => ({ spanId: 'a', reason: 'unknown', explanation });
    expect(
      missingReasons({
        complete: false,
        orphans: [finding('header lost'), finding('not sampled'), finding('header lost')],
        unansweredClientSpans: [finding('not sampled'), finding('not sampled'), finding('')],
      }),
    ).toEqual([
      { explanation: 'not sampled', spans: 3 },
      { explanation: 'header lost', spans: 2 },
    ]);
    expect(missingReasons(undefined)).toEqual([]);
    expect(missingReasons({ complete: true }, 1)).toEqual([]);
  });
});
