import { ConfigError, loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { UsageError } from '../command.js';
import type { TableSummary } from '../../backup/backup.js';
import { formatBytes } from './export.js';

/** The collector's configuration as `serve` would read it, with `--data` over `storage.data_dir`; errors are usage errors (exit 2). */
export function offlineConfig(file: string | undefined, data: string | undefined, env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig({
      file: file ?? env.FLOWTRACE_CONFIG,
      env,
      overrides: data !== undefined ? [{ path: 'storage.data_dir', value: data, source: '--data' }] : [],
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`configuration error: ${err.message}`);
    throw err;
  }
}

/** One line per table, then the totals: `otel_traces  200,389 rows  11.2 MiB`. */
export function summaryLines(verb: string, what: { name?: string; path: string; tables: TableSummary[]; rows: number; bytes: number; durationMs: number }): string {
  const width = Math.max(0, ...what.tables.map((t) => t.table.length));
  const lines = what.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows.toLocaleString('en-US').padStart(12)} rows  ${formatBytes(t.bytes).padStart(10)}`);
  lines.push(`${verb} ${what.tables.length} tables, ${what.rows.toLocaleString('en-US')} rows, ${formatBytes(what.bytes)} in ${(what.durationMs / 1000).toFixed(1)} s: ${what.path}`);
  return `${lines.join('\n')}\n`;
}
