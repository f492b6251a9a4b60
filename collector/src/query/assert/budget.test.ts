/**
 * One request's queries share one time budget (ASSERT_LIMITS.budgetSeconds): a request of many
 * assertions over a slow window stops with AssertBudgetError instead of running each query for
 * the engine's full per-query limit. The client is a recorder whose every query "takes" 20 s of
 * a fake clock, so nothing here depends on real time.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { AssertBudgetError, evaluateAssertions } from './evaluate.js';
import { ASSERT_LIMITS, type AssertRequest } from './spec.js';

function slowClient(clock: { ms: number }, perQueryMs: number) {
  const limits: number[] = [];
  const client = {
    query: async (q: { clickhouse_settings?: { max_execution_time?: number } }) => {
      limits.push(q.clickhouse_settings?.max_execution_time ?? Infinity);
      clock.ms += perQueryMs;
      return { json: async () => [{ traces: '1', spans: '1' }] };
    },
  } as unknown as ClickHouseClient;
  return { client, limits };
}

const manyAssertions: AssertRequest = {
  assertions: Array.from({ length: ASSERT_LIMITS.assertions }, (_, i) => ({ name: `a${i}`, select: `{ name = "op${i}" }`, expect: { kind: 'count', op: '>=', value: 1 } })),
};

describe('the query budget of POST /api/assert', () => {
  it('stops a request whose queries outrun the budget, each query limited to what is left', async () => {
    const clock = { ms: 0 };
    const { client, limits } = slowClient(clock, 20_000);
    const run = evaluateAssertions(manyAssertions, { client, table: 't', startNs: 0n, endNs: 1n, readTrace: async () => undefined, now: () => clock.ms });
    await expect(run).rejects.toBeInstanceOf(AssertBudgetError);
    expect(limits.length).toBeLessThanOrEqual(Math.ceil(ASSERT_LIMITS.budgetSeconds / 20));
    expect(limits.every((s) => s <= 30)).toBe(true);
    expect(limits.at(-1)).toBeLessThanOrEqual(ASSERT_LIMITS.budgetSeconds - 20 * (limits.length - 1));
    expect(new AssertBudgetError().statusCode).toBe(422);
  });

  it('answers a request that fits in the budget', async () => {
    const clock = { ms: 0 };
    const { client } = slowClient(clock, 10);
    const answer = await evaluateAssertions(manyAssertions, { client, table: 't', startNs: 0n, endNs: 1n, readTrace: async () => undefined, now: () => clock.ms });
    expect(answer.results).toHaveLength(ASSERT_LIMITS.assertions);
    expect(answer.results.every((r) => r.passed)).toBe(true);
  });
});
