import { z } from 'zod';

const MIB = 1024 * 1024;
const mib = z.number().int('expected a whole number of MiB').min(0, 'must be 0 or more');

/**
 * `storage.embedded:` how big the in-process engine (chdb) may grow. Server-wide limits are
 * given to the engine when it starts (chdb takes them only then, as `clickhouse local` command-line
 * options); the per-query limit is sent with every query of the collector's own sessions, since
 * chdb keeps query settings per session and gives new sessions none of the first one's.
 * 0 leaves ClickHouse's own default.
 */
export const embeddedEngineConfigSchema = z
  .object({
    /** Everything the engine holds at once (queries, inserts, merges, caches); past it, work fails (inserts are retried). 0: 90 % of RAM. */
    max_server_memory_mib: mib.default(2048),
    /** A query of the collector's own (API reads, inserts) at most, unless it sets a limit of its own. 0: unlimited. */
    max_query_memory_mib: mib.default(1024),
    /** No new merge starts while merges and mutations hold more than this. 0: half of RAM. */
    merge_max_memory_mib: mib.default(512),
    /** Threads for background merges and mutations. 0: the engine's choice. */
    background_pool_size: z.number().int('expected a whole number').min(0).max(64).default(0),
    /** The mark cache; the primary-index and skip-index mark caches get a quarter of it each. 0: 5 GiB each. */
    cache_mib: mib.default(256),
  })
  .strict();

export type EmbeddedEngineConfig = z.infer<typeof embeddedEngineConfigSchema>;

/** The defaults, for callers (tests, tools) that open an engine without a collector config. */
export const EMBEDDED_ENGINE_DEFAULTS: EmbeddedEngineConfig = embeddedEngineConfigSchema.parse({});

/**
 * The engine's start-up options. `backupDir`: the one directory `BACKUP … TO File(…)` and
 * `RESTORE … FROM File(…)` may use (ClickHouse's `backups.allowed_path`); without it both are refused.
 * ClickHouse's own log tables (query_log, part_log, trace_log, metric_log, text_log, …) stay off:
 * chdb configures none, and nothing here turns one on (test: engine.test.ts).
 */
export function embeddedEngineArgs(config: EmbeddedEngineConfig, backupDir?: string): string[] {
  const args: string[] = [];
  const bytes = (name: string, value: number) => {
    if (value > 0) args.push(`--${name}=${Math.round(value * MIB)}`);
  };
  bytes('max_server_memory_usage', config.max_server_memory_mib);
  bytes('merges_mutations_memory_usage_soft_limit', config.merge_max_memory_mib);
  bytes('mark_cache_size', config.cache_mib);
  bytes('primary_index_cache_size', config.cache_mib / 4);
  bytes('index_mark_cache_size', config.cache_mib / 4);
  if (config.background_pool_size > 0) args.push(`--background_pool_size=${config.background_pool_size}`);
  if (backupDir !== undefined && backupDir !== '') args.push(`--backups.allowed_path=${backupDir}`);
  return args;
}

/** Settings sent with each query of the collector's own sessions. */
export function embeddedSessionSettings(config: EmbeddedEngineConfig): Record<string, string> {
  return config.max_query_memory_mib > 0 ? { max_memory_usage: String(config.max_query_memory_mib * MIB) } : {};
}
