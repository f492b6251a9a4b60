/**
 * bench:storage's codec and ordering comparison. Each variant is a copy of the span table
 * (`CREATE TABLE … AS otel_traces`, optionally with another ORDER BY), its codecs changed by
 * `ALTER … MODIFY COLUMN … CODEC` while empty, filled by `INSERT … SELECT` of the same sample
 * of whole traces, merged to one part per day (OPTIMIZE FINAL) and measured like the span table
 * itself. The insert + merge time is reported too: a stronger codec is paid at every insert and
 * merge. The copies are dropped afterwards; the span table is never changed here.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { latencyOf, type Latency } from './query-latency.js';
import { columnBytes } from './storage-bytes.js';

interface ColumnInfo {
  name: string;
  type: string;
  codec: string;
}

export interface CodecVariant {
  name: string;
  what: string;
  /** Keeps the OpenTelemetry Collector exporter's column names and types (codecs and ordering may differ). */
  compatible: boolean;
  /** ORDER BY of the copy; the span table's when absent. */
  orderBy?: string;
  /** ALTERs (after `ALTER TABLE <copy>`) from the copy's columns. */
  alters?: (columns: readonly ColumnInfo[]) => string[];
  /** `SELECT * REPLACE (…)` expressions, to change the data rather than the table. */
  replace?: string;
}

export interface VariantFigures {
  name: string;
  what: string;
  compatible: boolean;
  spans: number;
  /** Column data per span (compressed), and whole parts on disk per span. */
  columnBytesPerSpan: number;
  diskBytesPerSpan: number;
  /** Against the first variant (the current schema). */
  vsCurrent: number;
  insertAndMergeSeconds: number;
  /** Reading whole traces by ID and time bounds, as the trace store does (ms, in-process). */
  traceReadMs: Latency;
  /** The largest columns' bytes/span in this variant. */
  columns: Record<string, number>;
}

const codecOf = (c: ColumnInfo, codec: string) => `MODIFY COLUMN \`${c.name}\` CODEC(${codec})`;
/** Columns that carry ZSTD(1) in the current schema, with it raised to `level`. */
const zstdLevel = (level: number) => (columns: readonly ColumnInfo[]) =>
  columns.filter((c) => c.codec.includes('ZSTD(1)')).map((c) => codecOf(c, c.codec.replace(/^CODEC\((.*)\)$/, '$1').replace('ZSTD(1)', `ZSTD(${level})`)));
const named = (name: string, codec: string) => (columns: readonly ColumnInfo[]) => columns.filter((c) => c.name === name).map((c) => codecOf(c, codec));

export const VARIANTS: readonly CodecVariant[] = [
  { name: 'current', what: 'the schema as migrate() makes it (strings single_stream)', compatible: true },
  {
    name: 'strings-with-size-stream',
    what: "string_serialization_version = 'with_size_stream' (the engine's default, before migrate() set single_stream)",
    compatible: true,
    alters: () => ["MODIFY SETTING string_serialization_version = 'with_size_stream'"],
  },
  { name: 'zstd3', what: 'every ZSTD(1) as ZSTD(3)', compatible: true, alters: zstdLevel(3) },
  { name: 'zstd6', what: 'every ZSTD(1) as ZSTD(6)', compatible: true, alters: zstdLevel(6) },
  { name: 'timestamp-doubledelta', what: 'Timestamp CODEC(DoubleDelta, ZSTD(1))', compatible: true, alters: named('Timestamp', 'DoubleDelta, ZSTD(1)') },
  { name: 'duration-t64', what: 'Duration CODEC(T64, ZSTD(1))', compatible: true, alters: named('Duration', 'T64, ZSTD(1)') },
  {
    name: 'order-service-hour-traceid',
    what: 'ORDER BY (ServiceName, toStartOfHour(Timestamp), TraceId)',
    compatible: true,
    orderBy: '(ServiceName, toStartOfHour(Timestamp), TraceId)',
  },
  {
    name: 'random-ids',
    what: 'current schema, trace and span IDs replaced by random-looking ones (as real SDKs make; the generator counts)',
    compatible: true,
    replace: `lower(hex(sipHash128(TraceId))) AS TraceId, lower(hex(sipHash64(TraceId, SpanId))) AS SpanId,
      if(ParentSpanId = '', '', lower(hex(sipHash64(TraceId, ParentSpanId)))) AS ParentSpanId`,
  },
];

/** Inserts of ~200k rows (the loader's size): squashing a whole sample into one block passes the 1 GiB query limit. */
const INSERT_SELECT: ClickHouseSettings = { max_execution_time: 0, max_threads: 2, max_insert_threads: '1', min_insert_block_size_rows: '200000', min_insert_block_size_bytes: String(256 * 1024 * 1024) };

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
}

/** Traces read per variant. */
const TRACE_READS = 50;

/**
 * `reads` random traces of `table` read whole, one at a time, by the trace store's statement
 * shape (TraceId and the trace's time bounds, every column), after one warm-up read.
 */
async function timeTraceReads(client: ClickHouseClient, table: string, reads: number): Promise<Latency> {
  const traces = await rows<{ id: string; s: string; e: string }>(
    client,
    `SELECT TraceId AS id, toString(min(Timestamp)) AS s, toString(max(Timestamp)) AS e FROM ${table} GROUP BY TraceId ORDER BY rand() LIMIT ${reads + 1}`,
  );
  const read = async (t: { id: string; s: string; e: string }) => {
    const started = performance.now();
    const result = await client.query({
      query: `SELECT * FROM ${table} WHERE TraceId = {id:String} AND Timestamp >= {s:DateTime64(9)} AND Timestamp <= {e:DateTime64(9)}`,
      query_params: t,
      format: 'JSONEachRow',
    });
    await result.json();
    return performance.now() - started;
  };
  await read(traces[reads]!);
  const times: number[] = [];
  for (const t of traces.slice(0, reads)) times.push(await read(t));
  return latencyOf(times);
}

/**
 * Measures every variant on the spans of `database.table` whose trace falls in the sample
 * (`cityHash64(TraceId) % every = 0`: whole traces, about spans / every of them).
 */
export async function compareVariants(client: ClickHouseClient, database: string, table: string, every: number, variants: readonly CodecVariant[] = VARIANTS): Promise<VariantFigures[]> {
  const source = `\`${database}\`.\`${table}\``;
  const columns = await rows<ColumnInfo>(
    client,
    `SELECT name, type, compression_codec AS codec FROM system.columns WHERE database = '${database}' AND table = '${table}' AND default_kind != 'MATERIALIZED'`,
  );
  const engine = (await rows<{ engine_full: string }>(client, `SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = '${table}'`))[0]!.engine_full;
  // The sample is taken once into a staging copy: every variant then reads it rather than the
  // whole table (at 100 M spans a sampled scan reads every granule).
  const sample = `\`${database}\`.\`bench_variant_sample\``;
  await client.command({ query: `DROP TABLE IF EXISTS ${sample}` });
  await client.command({ query: `CREATE TABLE ${sample} AS ${source}` });
  const where = every > 1 ? `WHERE cityHash64(TraceId) % ${every} = 0` : '';
  await client.command({ query: `INSERT INTO ${sample} SELECT * FROM ${source} ${where}`, clickhouse_settings: INSERT_SELECT });
  const figures: VariantFigures[] = [];
  for (const v of variants) {
    const copy = `\`${database}\`.\`bench_variant_${v.name.replace(/-/g, '_')}\``;
    await client.command({ query: `DROP TABLE IF EXISTS ${copy}` });
    const engineText = v.orderBy ? ` ENGINE = ${engine.replace(/ORDER BY \([^)]*\([^)]*\)\)/, `ORDER BY ${v.orderBy}`)}` : '';
    await client.command({ query: `CREATE TABLE ${copy} AS ${source}${engineText}` });
    for (const alter of v.alters?.(columns) ?? []) await client.command({ query: `ALTER TABLE ${copy} ${alter}` });
    const started = performance.now();
    await client.command({ query: `INSERT INTO ${copy} SELECT * ${v.replace ? `REPLACE (${v.replace})` : ''} FROM ${sample}`, clickhouse_settings: INSERT_SELECT });
    await client.command({ query: `OPTIMIZE TABLE ${copy} FINAL`, clickhouse_settings: { max_execution_time: 0 } });
    const seconds = (performance.now() - started) / 1000;
    const name = copy.split('.')[1]!.replace(/`/g, '');
    const [part] = await rows<{ rows: number; disk: number }>(client, `SELECT sum(rows) AS rows, sum(bytes_on_disk) AS disk FROM system.parts WHERE database = '${database}' AND table = '${name}' AND active`);
    const spans = part!.rows;
    const perColumn = await columnBytes(client, database, name, spans);
    const columnTotal = perColumn.reduce((n, c) => n + c.compressed, 0) / spans;
    figures.push({
      name: v.name,
      what: v.what,
      compatible: v.compatible,
      spans,
      columnBytesPerSpan: +columnTotal.toFixed(2),
      diskBytesPerSpan: +(part!.disk / spans).toFixed(2),
      vsCurrent: figures.length === 0 ? 1 : +(columnTotal / figures[0]!.columnBytesPerSpan).toFixed(3),
      insertAndMergeSeconds: +seconds.toFixed(1),
      traceReadMs: await timeTraceReads(client, `${database}.${name}`, TRACE_READS),
      columns: Object.fromEntries(perColumn.slice(0, 8).map((c) => [c.column, c.bytesPerSpan])),
    });
    await client.command({ query: `DROP TABLE ${copy}` });
  }
  await client.command({ query: `DROP TABLE ${sample}` });
  return figures;
}
