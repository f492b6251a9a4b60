/**
 * bench:storage's fast load: the load generator's requests (the spans `flowtrace bench` sends)
 * transcoded to storage rows by the receivers' own transcoder and inserted straight into the
 * embedded store through the exporter's insert path (`insertRowBinary`, large inserts), with no
 * HTTP, queue or pipeline in between — about 40k spans/s through the collector would take 45 min
 * for 100 M spans. The schema is the project's own (`migrate()`: span table, trace-ID lookup table
 * and its view, hot columns, attribute catalog); `flowtrace_red`, which the collector's RED tap
 * fills rather than the span inserts, is filled from the same spans by the RED aggregator
 * (collector/src/metrics/red/), so RED over 24 h reads what a collector running for the day
 * would have written.
 */
import { randomBytes } from 'node:crypto';
import { LoadGenerator } from '../collector/src/loadgen/generator.js';
import { CardinalityCap, RedAggregator, forEachRowSample } from '../collector/src/metrics/red/aggregator.js';
import { redConfigSchema } from '../collector/src/metrics/red/config.js';
import { migrateRedTable, redTable } from '../collector/src/metrics/red/table.js';
import { transcodeTraceRequest, type TranscodedTraces } from '../collector/src/receivers/otlp/rowbinary-transcoder.js';
import type { ClickHouseClients, ClickHouseConfig } from '../exporters/clickhouse/index.js';
import { INSERT_COLUMNS } from '../exporters/clickhouse/rowbinary.js';
import { migrate, tableName } from '../exporters/clickhouse/schema.js';

export interface LoadOptions {
  /** Spans to add. */
  spans: number;
  services: number;
  spreadNs: bigint;
  /** Spans per INSERT (the exporter's inserts are 100k; larger ones make fewer parts to merge). */
  spansPerInsert: number;
  onProgress?: (loaded: number, seconds: number) => void;
}

export interface LoadFigures {
  spans: number;
  seconds: number;
  spansPerSecond: number;
  /** Rows written to flowtrace_red (before its merges). */
  redRows: number;
  /** Seconds the loop waited for the engine to finish an insert (the rest: generating and transcoding). */
  insertWaitSeconds: number;
}

const RED = redConfigSchema.parse({});
const RED_ROWS_PER_INSERT = 50_000;

/** Counts a transcoded request's spans as the RED tap counts rows (aggregator.ts's forEachRowSample). */
function countRed(summary: TranscodedTraces['summary'], cap: CardinalityCap, red: RedAggregator): void {
  forEachRowSample(summary, cap, (sample) => red.add(sample));
}

/** The schema as the collector makes it at start (migrate() and the RED table's migration); run before every phase. */
export async function migrateStore(clients: ClickHouseClients, config: ClickHouseConfig): Promise<void> {
  await migrate(clients.writer, config);
  await migrateRedTable(clients.writer, config.database, RED.retention_days);
}

/** Adds `options.spans` spans to a migrated store. */
export async function loadSpans(clients: ClickHouseClients, config: ClickHouseConfig, options: LoadOptions): Promise<LoadFigures> {
  const table = tableName(config);
  const generator = new LoadGenerator({ services: options.services, spansPerRequest: 512, spreadNs: options.spreadNs, runId: randomBytes(8).toString('hex') });
  const cap = new CardinalityCap({ maxServices: RED.max_services, maxOperationsPerService: RED.max_operations_per_service });
  const red = new RedAggregator();
  const decode = { retentionDays: config.retentionDays };
  const started = performance.now();
  let loaded = 0;
  let waitMs = 0;
  let inserting: Promise<void> = Promise.resolve();
  while (loaded < options.spans) {
    // The next insert's rows are made while the previous one runs in the engine's threads.
    const chunks: Buffer[] = [];
    let batch = 0;
    while (batch < options.spansPerInsert && loaded + batch < options.spans) {
      const t = transcodeTraceRequest(generator.next().bytes, decode);
      if (t.rejectedSpans > 0) throw new Error(`transcoder refused ${t.rejectedSpans} generated spans: ${t.rejectionMessage}`);
      chunks.push(t.rowBinary);
      batch += t.spans;
      countRed(t.summary, cap, red);
    }
    const waitFrom = performance.now();
    await inserting;
    waitMs += performance.now() - waitFrom;
    const rows = Buffer.concat(chunks);
    inserting = clients.insertRowBinary(table, INSERT_COLUMNS, rows);
    loaded += batch;
    options.onProgress?.(loaded, (performance.now() - started) / 1000);
  }
  const waitFrom = performance.now();
  await inserting;
  waitMs += performance.now() - waitFrom;
  const seconds = (performance.now() - started) / 1000;
  // One drain at the end: the spans are spread over the whole day, so each drain would hold
  // nearly every minute's cells again; a collector writes them as the minutes pass.
  const redRows = red.drain();
  for (let at = 0; at < redRows.length; at += RED_ROWS_PER_INSERT) {
    await clients.writer.insert({ table: redTable(config.database), values: redRows.slice(at, at + RED_ROWS_PER_INSERT), format: 'JSONEachRow' });
  }
  return { spans: loaded, seconds: Math.round(seconds), spansPerSecond: Math.round(loaded / seconds), redRows: redRows.length, insertWaitSeconds: Math.round(waitMs / 1000) };
}
