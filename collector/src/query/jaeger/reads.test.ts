import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { SEARCH_SETTINGS } from '../search/search.js';
import { JaegerReads } from './reads.js';

describe('JaegerReads.search', () => {
  it('runs under the engine limits of GET /api/search (time and memory), as it shares its compiler and its worst cases', async () => {
    const seen: Array<Record<string, unknown> | undefined> = [];
    const client = {
      query: async (q: { clickhouse_settings?: Record<string, unknown> }) => {
        seen.push(q.clickhouse_settings);
        return { json: async () => [] };
      },
    } as unknown as ClickHouseClient;
    const reads = new JaegerReads(client, { traces: '`db`.`otel_traces`', traceIds: '`db`.`otel_traces_trace_id_ts`' });
    const tags = Array.from({ length: 50 }, (_, i): [string, string] => [`k${i}`, 'v']);
    await reads.search({ service: 'shop', tags, startNs: 0n, endNs: 1n, limit: 20 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ max_execution_time: SEARCH_SETTINGS.max_execution_time, max_memory_usage: SEARCH_SETTINGS.max_memory_usage });
  });
});
