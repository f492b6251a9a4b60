import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, type ClickHouseClients } from './connection.js';
import { embeddedEngineArgs, embeddedEngineConfigSchema, embeddedSessionSettings } from './engine.js';

const MIB = 1024 * 1024;

async function value(client: ClickHouseClient, query: string): Promise<string> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  const [row] = await result.json<Record<string, unknown>>();
  return String(Object.values(row ?? {})[0]);
}

describe('embedded engine sizing (storage.embedded)', () => {
  it('turns the settings into start-up options and a per-query limit; 0 leaves ClickHouse\'s default', () => {
    const config = embeddedEngineConfigSchema.parse({ max_server_memory_mib: 512, max_query_memory_mib: 128, merge_max_memory_mib: 64, background_pool_size: 2, cache_mib: 32 });
    expect(embeddedEngineArgs(config, '/var/backups/ft')).toEqual([
      `--max_server_memory_usage=${512 * MIB}`,
      `--merges_mutations_memory_usage_soft_limit=${64 * MIB}`,
      `--mark_cache_size=${32 * MIB}`,
      `--primary_index_cache_size=${8 * MIB}`,
      `--index_mark_cache_size=${8 * MIB}`,
      '--background_pool_size=2',
      '--backups.allowed_path=/var/backups/ft',
    ]);
    expect(embeddedSessionSettings(config)).toEqual({ max_memory_usage: String(128 * MIB) });
    const off = embeddedEngineConfigSchema.parse({ max_server_memory_mib: 0, max_query_memory_mib: 0, merge_max_memory_mib: 0, cache_mib: 0 });
    expect(embeddedEngineArgs(off)).toEqual([]);
    expect(embeddedSessionSettings(off)).toEqual({});
  });

  it('names the key of a bad value', () => {
    const result = embeddedEngineConfigSchema.safeParse({ max_query_memory_mib: -1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['max_query_memory_mib']);
    expect(embeddedEngineConfigSchema.safeParse({ max_memory: 1 }).success).toBe(false);
  });

  describe('on the engine', () => {
    let dataDir: string;
    let clients: ClickHouseClients;
    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'ft-engine-'));
      clients = openClickHouse({
        url: '',
        username: 'default',
        password: '',
        database: 'default',
        tracesTable: 'otel_traces',
        dataDir,
        retentionDays: 7,
        concurrency: 1,
        embedded: embeddedEngineConfigSchema.parse({ max_server_memory_mib: 700, max_query_memory_mib: 96, merge_max_memory_mib: 80, cache_mib: 48 }),
      });
    });
    afterAll(async () => {
      await clients.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('runs with the configured server limits', async () => {
      const server = async (name: string) => value(clients.reader, `SELECT value FROM system.server_settings WHERE name = '${name}'`);
      expect(await server('max_server_memory_usage')).toBe(String(700 * MIB));
      expect(await server('merges_mutations_memory_usage_soft_limit')).toBe(String(80 * MIB));
      expect(await server('mark_cache_size')).toBe(String(48 * MIB));
      expect(await server('primary_index_cache_size')).toBe(String(12 * MIB));
    });

    it('gives every session of the collector the per-query limit, which a query of its own limit does not change for the next', async () => {
      expect(await value(clients.writer, "SELECT getSetting('max_memory_usage')")).toBe(String(96 * MIB));
      expect(await value(clients.reader, "SELECT getSetting('max_memory_usage')")).toBe(String(96 * MIB));
      const extra = clients.newSession();
      expect(await value(extra, "SELECT getSetting('max_memory_usage')")).toBe(String(96 * MIB));
      await extra.close();
      const own = await clients.reader.query({ query: "SELECT getSetting('max_memory_usage') AS v", format: 'JSONEachRow', clickhouse_settings: { max_memory_usage: String(1024 * MIB) } });
      expect(String((await own.json<{ v: unknown }>())[0]?.v)).toBe(String(1024 * MIB));
      expect(await value(clients.reader, "SELECT getSetting('max_memory_usage')")).toBe(String(96 * MIB));
    });

    it('stops a query past the limit', async () => {
      await expect(clients.reader.query({ query: 'SELECT length(groupArray(number)) FROM numbers(50000000)', format: 'JSONEachRow' })).rejects.toThrow(/memory limit/i);
    });

    it('keeps none of ClickHouse\'s own log tables (query_log, part_log, trace_log, metric_log, text_log, …)', async () => {
      // Work that would fill each of them, were they on.
      await clients.writer.command({ query: 'CREATE TABLE IF NOT EXISTS sizing_probe (n UInt64) ENGINE = MergeTree ORDER BY n' });
      for (let i = 0; i < 3; i++) await clients.writer.command({ query: 'INSERT INTO sizing_probe SELECT number FROM numbers(1000)' });
      await clients.writer.command({ query: 'OPTIMIZE TABLE sizing_probe FINAL' });
      await clients.writer.command({ query: 'SYSTEM FLUSH LOGS' }).catch(() => undefined);
      const logs = await clients.reader.query({
        query: "SELECT name FROM system.tables WHERE database = 'system' AND (engine NOT LIKE 'System%' OR endsWith(name, '_log'))",
        format: 'JSONEachRow',
      });
      expect(await logs.json()).toEqual([]);
    });
  });
});
