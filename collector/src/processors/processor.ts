import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DropRecorder } from '../pipeline/drops.js';
import type { StageJournal } from '../pipeline/journal/stage-journal.js';
import type { Consumer, Stage } from '../pipeline/stage.js';
import type { RowInserter } from '../roles/owner-rows.js';

/**
 * What a processor gets besides its own config: where to log, where to register its own
 * Prometheus metrics, and — for processors that keep side tables (stitch) — storage.
 */
export interface ProcessorContext {
  logger: Logger;
  /** The collector's registry: name metrics `flowtrace_processor_<name>_…`. */
  registry: Registry;
  storage: ProcessorStorage;
  /** Where spans the processor does not hand on (filtered, sampled out) and values it changes are reported. */
  drops: DropRecorder;
  /**
   * Set when the write-ahead journal runs in front of the processors: a processor that holds
   * spans records its decisions (and, for stitch, its output) here so that a replay after a
   * crash neither loses nor repeats them. See pipeline/journal/.
   */
  journal?: StageJournal;
}

/** ClickHouse access for processors that own side tables next to `otel_traces`. */
export interface ProcessorStorage {
  /** Migrations and inserts. */
  writer: ClickHouseClient;
  /** Reads. */
  reader: ClickHouseClient;
  /** The database `otel_traces` lives in. */
  database: string;
  /** Where side-table rows are inserted, when not `writer`: the embedded-store owner (roles/owner-rows.ts). */
  sideRows?: RowInserter;
}

/**
 * A pipeline stage between the receivers and the exporter queues. It hands what it keeps to
 * `next` (possibly later, on its own timer, for stages that wait for whole traces) and must
 * hand everything it still holds to `next` in `shutdown` before resolving.
 * Spans are shared with other stages: a processor replaces objects it changes rather than
 * mutating them in place only when the object is shared (resource, scope); a span's own
 * attributes object belongs to the span and may be changed.
 */
export type Processor = Stage;

export interface ProcessorFactory<C> {
  /** The key under `processors:` in the config file and the name in `pipeline.processors`. */
  readonly type: string;
  create(config: C, next: Consumer, context: ProcessorContext): Processor;
}
