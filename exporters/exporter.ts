import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ZodType } from 'zod';
import type { Span } from '../collector/src/model/span.js';
import type { QueueConfig } from '../collector/src/pipeline/persistent-queue/config.js';

/**
 * An exporter as the pipeline sees it. Every exporter sits behind its own durable queue
 * (collector/src/pipeline/persistent-queue): the queue stores what `encode` returns, one
 * record per accepted request, and later sends one or more records at once through `send`.
 *
 * Records must concatenate: the bytes of several records laid end to end are one valid
 * payload for `send` (OTLP protobuf messages do: repeated fields append; RowBinary rows do).
 * An exporter whose wire format does not concatenate frames its records itself.
 */
export interface Exporter {
  /** The name in the config (`otlp/honeycomb`, `jaeger`, `clickhouse`): labels metrics and the queue directory. */
  readonly name: string;
  /**
   * Records of the same encoding are made once per request and shared by every exporter
   * using it (`otlp-proto` for the OTLP family); a unique name for a format of one's own.
   */
  readonly encoding: string;
  encode(spans: Span[]): Uint8Array;
  /**
   * Delivers a payload of `records` concatenated records holding `spanCount` spans. `batchId`
   * is the same on every retry of the same payload, also after a restart, so a backend that
   * can deduplicate (ClickHouse's insert_deduplication_token) stores it once. Throws
   * {@link ExportError} to say whether and when to retry; any other error is retried.
   */
  send(payload: Buffer, spanCount: number, batchId: string, format?: RecordFormat): Promise<void>;
  /**
   * The same with the records as they were read, not concatenated: for an exporter that can
   * write them out one after another (a batch is up to `batch.max_bytes`; a concatenated copy
   * of it is that much more memory to allocate and collect per send). The queue uses it when
   * present.
   */
  sendRecords?(records: readonly Buffer[], spanCount: number, batchId: string, format?: RecordFormat): Promise<void>;
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A failed send, classified: retry later (optionally after the backend's hint) or never. */
export class ExportError extends Error {
  constructor(
    message: string,
    /** False for permanent errors (per the OTLP spec: HTTP 4xx other than 429, gRPC INVALID_ARGUMENT…): the batch is dead-lettered. */
    readonly retryable: boolean,
    /** The backend's own hint (Retry-After, gRPC RetryInfo), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

/**
 * A problem with settings found when the exporter starts (e.g. an unreadable certificate),
 * naming the key as the user wrote it: `flowtrace serve` reports it like a config error.
 */
export class ExporterConfigError extends Error {
  override name = 'ExporterConfigError';
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A durable queue in front of an exporter, as the pipeline makes them
 * (collector/src/pipeline/persistent-queue's PersistentQueue fits it).
 */
export interface ExporterQueue {
  /** Resolves once the record is on disk; rejects when full or stopping. */
  append(record: Uint8Array, spanCount: number): Promise<void>;
  hasRoomFor(bytes: number): boolean;
  fullError(): Error & { readonly retryAfterSeconds: number };
  /** Records not yet delivered. */
  readonly depth: Readonly<{ records: number; spans: number; bytes: number }>;
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ExporterContext {
  logger: Logger;
  /**
   * Opens a durable queue of the pipeline's kind for an exporter of the exporter's own (the
   * loadbalancing exporter's backends): the directory is the inner exporter's name's, so names
   * must be unique. Absent where there is no data directory.
   */
  openQueue?: (exporter: Exporter, queue: QueueConfig) => ExporterQueue;
  /** The collector's metrics registry (exposed on /metrics); an exporter makes its own when absent. */
  registry?: Registry;
}

/** How the config builds an exporter: `exporters.<type>[/<name>]` in the config file. */
export interface ExporterFactory<C> {
  readonly type: string;
  /** zod schema of the exporter's own settings (the `queue:` block is added by the pipeline). */
  readonly configSchema: ZodType<C>;
  create(name: string, config: C, context: ExporterContext): Exporter;
}

/**
 * Which collector version's `encode` made a payload's records, as their queue header says: 1 for
 * queues written before the journal (whose ClickHouse rows lack `EndBeforeStart`), 2 since.
 * A batch never mixes formats.
 */
export type RecordFormat = 1 | 2;
