import { describe, expect, it } from 'vitest';
import { AlertEvaluator, type Observation, type RuleOutcome } from './evaluator.js';

const obs = (service: string, value: number): Observation => ({
  seriesKey: JSON.stringify([service, 'GET /checkout']),
  service,
  operation: 'GET /checkout',
  value,
  summary: `error rate ${value}`,
  details: {},
});
const outcome = (breaching: Observation[], unjudged: string[] = []): RuleOutcome => ({ rule: 'errors', kind: 'red', threshold: 0.05, breaching, unjudged: new Set(unjudged) });
const MIN = 60_000;

describe('alert evaluator', () => {
  it('fires once per series while the condition holds, then resolves once when it clears', () => {
    const e = new AlertEvaluator(5 * MIN);
    const first = e.evaluate(outcome([obs('shop', 0.3)]), 0);
    expect(first.map((t) => [t.state, t.service, t.value])).toEqual([['firing', 'shop', 0.3]]);
    expect(e.evaluate(outcome([obs('shop', 0.4)]), 1_000)).toEqual([]);
    expect(e.evaluate(outcome([obs('shop', 0.5)]), 2_000)).toEqual([]);
    const resolved = e.evaluate(outcome([]), 3_000);
    expect(resolved).toHaveLength(1);
    // The resolved notice carries the last firing value and when firing began.
    expect(resolved[0]).toMatchObject({ state: 'resolved', service: 'shop', value: 0.5, firingSinceMs: 0, atMs: 3_000 });
    expect(e.evaluate(outcome([]), 4_000)).toEqual([]);
  });

  it('keeps series of one rule apart, and rules apart', () => {
    const e = new AlertEvaluator(0);
    expect(e.evaluate(outcome([obs('shop', 0.3), obs('billing', 0.2)]), 0).map((t) => t.service)).toEqual(['shop', 'billing']);
    expect(e.evaluate({ ...outcome([obs('shop', 0.3)]), rule: 'other' }, 0).map((t) => [t.rule, t.state])).toEqual([['other', 'firing']]);
    // billing clears for rule "errors" only; "other" keeps firing on shop.
    expect(e.evaluate(outcome([obs('shop', 0.3)]), 1_000).map((t) => [t.service, t.state])).toEqual([['billing', 'resolved']]);
    expect(e.firing('other')).toEqual([JSON.stringify(['shop', 'GET /checkout'])]);
  });

  it('holds the state of a series too thin to judge', () => {
    const e = new AlertEvaluator(0);
    e.evaluate(outcome([obs('shop', 0.3)]), 0);
    expect(e.evaluate(outcome([], [obs('shop', 0).seriesKey]), 1_000)).toEqual([]);
    expect(e.evaluate(outcome([]), 2_000).map((t) => t.state)).toEqual(['resolved']);
  });

  it('bounds flapping to one firing/resolved pair per series per refire period', () => {
    const e = new AlertEvaluator(5 * MIN);
    const states: string[] = [];
    // The condition flips every 10 s for 10 minutes (60 flips); resolved at 10 s, it may fire again from 310 s, next breaching at 320 s.
    for (let i = 0; i < 60; i++) {
      for (const t of e.evaluate(outcome(i % 2 === 0 ? [obs('shop', 0.3)] : []), i * 10_000)) states.push(`${t.state}@${i * 10}s`);
    }
    expect(states).toEqual(['firing@0s', 'resolved@10s', 'firing@320s', 'resolved@330s']);
  });

  it('does not announce again a series restored as firing after a restart, and resolves it', () => {
    const e = new AlertEvaluator(0);
    e.restoreFiring('errors', obs('shop', 0.3), 0);
    expect(e.evaluate(outcome([obs('shop', 0.4)]), 1_000)).toEqual([]);
    expect(e.evaluate(outcome([]), 2_000)).toMatchObject([{ state: 'resolved', firingSinceMs: 0 }]);
  });
});
