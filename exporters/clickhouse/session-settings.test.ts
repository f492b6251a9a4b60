import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { DEDUP_WINDOW } from './schema.js';

// chdb keeps `SET`s per session and its connection adapter turns a query's clickhouse_settings
// into `SET`s before the statement: without care they would apply to every later query of the client.
let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-session-settings-');
});
afterAll(async () => {
  await store.close();
});

async function setting(client: ClickHouseClient, name: string): Promise<string> {
  const result = await client.query({ query: `SELECT toString(getSetting('${name}')) AS v`, format: 'JSONEachRow' });
  const [row] = await result.json<{ v: string }>();
  return row!.v;
}

async function count(client: ClickHouseClient, table: string): Promise<number> {
  const result = await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  const [row] = await result.json<{ n: number }>();
  return row!.n;
}

describe('per-query settings on the embedded engine', () => {
  it('apply to their own query only, through query, command, exec and insert alike', async () => {
    const { writer } = store.clients;
    const blockSize = await setting(writer, 'max_block_size');
    const limited = await writer.query({ query: 'SELECT number FROM numbers(10)', format: 'JSONEachRow', clickhouse_settings: { max_result_rows: '1', result_overflow_mode: 'break', max_block_size: '1' } });
    expect((await limited.json()).length).toBeLessThan(10);
    const all = await writer.query({ query: 'SELECT number FROM numbers(10)', format: 'JSONEachRow' });
    expect(await all.json()).toHaveLength(10);
    expect(await setting(writer, 'max_block_size')).toBe(blockSize);

    await writer.command({ query: 'CREATE TABLE IF NOT EXISTS default.settings_probe (n UInt64) ENGINE = MergeTree ORDER BY n', clickhouse_settings: { max_execution_time: 7 } });
    expect(await setting(writer, 'max_execution_time')).toBe('0');
    const exec = await writer.exec({ query: 'SELECT 1 FORMAT TSV', clickhouse_settings: { force_data_skipping_indices: 'idx_none' } });
    exec.stream.resume();
    expect(await setting(writer, 'force_data_skipping_indices')).toBe('');
    await writer.insert({ table: 'default.settings_probe', values: [{ n: 1 }], format: 'JSONEachRow', clickhouse_settings: { max_insert_block_size: '1234' } });
    expect(await setting(writer, 'max_insert_block_size')).not.toBe('1234');
  });

  it('keep the session limit (storage.embedded.max_query_memory_mib) on every query, with settings or without', async () => {
    const { writer, reader } = store.clients;
    const limit = String(1024 * 1024 * 1024);
    expect(await setting(reader, 'max_memory_usage')).toBe(limit);
    const withOwn = await reader.query({ query: "SELECT toString(getSetting('max_memory_usage')) AS v, toString(getSetting('max_execution_time')) AS t", format: 'JSONEachRow', clickhouse_settings: { max_execution_time: 9 } });
    expect(await withOwn.json()).toEqual([{ v: limit, t: '9' }]);
    expect(await setting(writer, 'max_memory_usage')).toBe(limit);
  });

  it('a dedup token of one insert does not make later inserts without one duplicates of it', async () => {
    const { writer, insertRowBinary } = store.clients;
    await writer.command({ query: `CREATE TABLE default.dedup_probe (n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}` });
    const row = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(n));
      return b;
    };
    await insertRowBinary('default.dedup_probe', [['n', 'UInt64']], row(1), 'batch-1');
    // The same token again is a retry: stored once.
    await insertRowBinary('default.dedup_probe', [['n', 'UInt64']], row(1), 'batch-1');
    expect(await count(writer, 'default.dedup_probe')).toBe(1);
    // Without a token (RED rows, stitch side rows, audit, …): every insert stored.
    await insertRowBinary('default.dedup_probe', [['n', 'UInt64']], row(2));
    await writer.insert({ table: 'default.dedup_probe', values: [{ n: 3 }], format: 'JSONEachRow' });
    await writer.insert({ table: 'default.dedup_probe', values: [{ n: 4 }], format: 'JSONEachRow' });
    expect(await count(writer, 'default.dedup_probe')).toBe(4);
  });

  it('queries with and without settings at once each see their own', async () => {
    const { reader } = store.clients;
    const runs = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0
        ? reader.query({ query: "SELECT toString(getSetting('max_block_size')) AS v", format: 'JSONEachRow', clickhouse_settings: { max_block_size: String(1000 + i) } })
        : reader.query({ query: "SELECT toString(getSetting('max_block_size')) AS v", format: 'JSONEachRow' }),
    );
    const values = await Promise.all(runs.map(async (r) => ((await (await r).json<{ v: string }>())[0]!.v)));
    const plain = await setting(reader, 'max_block_size');
    values.forEach((v, i) => expect(v).toBe(i % 2 === 0 ? String(1000 + i) : plain));
  });
});
