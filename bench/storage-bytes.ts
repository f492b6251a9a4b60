/**
 * bench:storage's disk figures, read from the engine's own accounting of active parts:
 * `system.parts_columns` per column of the span table (compressed, uncompressed, ratio,
 * bytes/span), and `system.parts` per table of the database (column data, skip indexes, marks,
 * primary index, whole parts on disk), so the total per span counts the side tables too.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface ColumnBytes {
  column: string;
  type: string;
  compressed: number;
  uncompressed: number;
  ratio: number;
  bytesPerSpan: number;
}

export interface TableBytes {
  table: string;
  parts: number;
  rows: number;
  /** Whole active parts: columns, skip indexes, marks, primary index, checksums. */
  bytesOnDisk: number;
  columnsCompressed: number;
  columnsUncompressed: number;
  skipIndexes: number;
  marks: number;
  primaryKey: number;
  bytesPerSpan: number;
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return result.json<T>();
}

const round = (x: number, digits = 2) => +x.toFixed(digits);

/** Per column of `table`, largest first; `spans` divides into bytes/span. */
export async function columnBytes(client: ClickHouseClient, database: string, table: string, spans: number): Promise<ColumnBytes[]> {
  const list = await rows<{ column: string; type: string; c: number; u: number }>(
    client,
    `SELECT column, any(type) AS type, sum(column_data_compressed_bytes) AS c, sum(column_data_uncompressed_bytes) AS u
     FROM system.parts_columns WHERE database = {db:String} AND table = {t:String} AND active
     GROUP BY column ORDER BY c DESC`,
    { db: database, t: table },
  );
  return list.map((r) => ({ column: r.column, type: r.type, compressed: r.c, uncompressed: r.u, ratio: round(r.u / Math.max(1, r.c), 1), bytesPerSpan: round(r.c / spans) }));
}

/** Bytes/span of each skip index of `table` (compressed), largest first. */
export async function skipIndexBytes(client: ClickHouseClient, database: string, table: string, spans: number): Promise<Record<string, number>> {
  const list = await rows<{ name: string; c: number }>(
    client,
    'SELECT name, data_compressed_bytes AS c FROM system.data_skipping_indices WHERE database = {db:String} AND table = {t:String} ORDER BY c DESC',
    { db: database, t: table },
  );
  return Object.fromEntries(list.map((r) => [r.name, round(r.c / spans)]));
}

/** Per MergeTree table of `database` with active parts, largest first. */
export async function tableBytes(client: ClickHouseClient, database: string, spans: number): Promise<TableBytes[]> {
  const list = await rows<{ table: string; parts: number; rows: number; disk: number; c: number; u: number; idx: number; marks: number; pk: number }>(
    client,
    `SELECT table, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS disk, sum(data_compressed_bytes) AS c,
       sum(data_uncompressed_bytes) AS u, sum(secondary_indices_compressed_bytes) AS idx, sum(marks_bytes) AS marks, sum(primary_key_size) AS pk
     FROM system.parts WHERE database = {db:String} AND active
     GROUP BY table ORDER BY disk DESC`,
    { db: database },
  );
  return list.map((r) => ({
    table: r.table,
    parts: r.parts,
    rows: r.rows,
    bytesOnDisk: r.disk,
    columnsCompressed: r.c,
    columnsUncompressed: r.u,
    skipIndexes: r.idx,
    marks: r.marks,
    primaryKey: r.pk,
    bytesPerSpan: round(r.disk / spans),
  }));
}

/**
 * Waits until no merge has run in `database` for `quietMs` (background merges settled): true,
 * or false when merges were still running after `maxWaitMs`.
 */
export async function mergesSettled(client: ClickHouseClient, database: string, maxWaitMs: number, quietMs = 5000, pollMs = 1000): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  let quietSince = Date.now();
  for (;;) {
    const [r] = await rows<{ n: number }>(client, 'SELECT count() AS n FROM system.merges WHERE database = {db:String}', { db: database });
    if (r!.n > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return true;
    if (Date.now() > deadline) return false;
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

/** OPTIMIZE … FINAL on every MergeTree table of `database` with more than one part per partition. */
export async function optimizeAll(client: ClickHouseClient, database: string): Promise<void> {
  const tables = await rows<{ table: string }>(
    client,
    `SELECT table FROM system.parts WHERE database = {db:String} AND active GROUP BY table, partition HAVING count() > 1`,
    { db: database },
  );
  for (const table of new Set(tables.map((t) => t.table))) {
    await client.command({ query: `OPTIMIZE TABLE \`${database}\`.\`${table}\` FINAL`, clickhouse_settings: { max_execution_time: 0 } });
  }
}

/** The printed per-column table: the `top` largest columns, then the rest summed. */
export function columnTable(columns: readonly ColumnBytes[], top: number): string[] {
  const lines = [`  ${'column'.padEnd(34)} ${'compressed'.padStart(14)} ${'uncompressed'.padStart(14)} ${'ratio'.padStart(7)} ${'bytes/span'.padStart(11)}`];
  const line = (name: string, c: number, u: number, perSpan: number) =>
    `  ${name.padEnd(34)} ${c.toLocaleString('en-US').padStart(14)} ${u.toLocaleString('en-US').padStart(14)} ${(u / Math.max(1, c)).toFixed(1).padStart(7)} ${perSpan.toFixed(2).padStart(11)}`;
  for (const c of columns.slice(0, top)) lines.push(line(c.column, c.compressed, c.uncompressed, c.bytesPerSpan));
  const rest = columns.slice(top);
  const sum = (pick: (c: ColumnBytes) => number, list: readonly ColumnBytes[]) => list.reduce((n, c) => n + pick(c), 0);
  if (rest.length > 0) lines.push(line(`(${rest.length} other columns)`, sum((c) => c.compressed, rest), sum((c) => c.uncompressed, rest), sum((c) => c.bytesPerSpan, rest)));
  lines.push(line('all columns', sum((c) => c.compressed, columns), sum((c) => c.uncompressed, columns), sum((c) => c.bytesPerSpan, columns)));
  return lines;
}
