import { basename, join } from 'node:path';
import type { LogRecord } from '../model/log-record.js';
import type { AlterationReason, DropReason, DropRecorder, DropStage, LogDropStage } from '../pipeline/drops.js';
import { queueDirectory, type PersistentQueue } from '../pipeline/persistent-queue/index.js';
import type { Span } from '../model/span.js';

/** One durable log queue and how its records are made. */
export interface LogTarget {
  queue: Pick<PersistentQueue, 'name' | 'append' | 'hasRoomFor' | 'fullError' | 'start' | 'shutdown' | 'depth'>;
  /** Records must concatenate into one payload for the queue's exporter. */
  encode(records: readonly LogRecord[]): Uint8Array;
}

/**
 * `<data_dir>/queues/logs/<name>`: beside the span queues, the exporter's name made one path
 * segment as queueDirectory does (`otlp/elastic` → `otlp~elastic`).
 */
export function logQueueDirectory(dataDir: string, exporterName: string): string {
  return join(queueDirectory(dataDir, 'logs'), basename(queueDirectory(dataDir, exporterName)));
}

/**
 * Accepted log records into every log queue: storage's (`otel_logs` rows) and each forwarding
 * exporter's (OTLP logs requests). Room is checked in all first, so a full queue refuses the
 * request before anything is written (the client retries: 429 / RESOURCE_EXHAUSTED); forwarding
 * queues are appended before storage's, as for spans. Resolves once every append is on disk
 * (fsync'd): only then is the request acknowledged.
 */
export class LogQueues {
  constructor(private readonly targets: readonly LogTarget[]) {}

  get names(): string[] {
    return this.targets.map((t) => t.queue.name);
  }

  async consume(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    const encoded = this.targets.map((t) => t.encode(records));
    for (let i = 0; i < this.targets.length; i++) {
      const queue = this.targets[i]!.queue;
      if (!queue.hasRoomFor(encoded[i]!.length)) throw queue.fullError();
    }
    const last = this.targets.length - 1;
    await Promise.all(this.targets.slice(0, last).map((t, i) => t.queue.append(encoded[i]!, records.length)));
    await this.targets[last]!.queue.append(encoded[last]!, records.length);
  }

  async start(): Promise<void> {
    for (const t of this.targets) await t.queue.start();
  }

  async shutdown(): Promise<void> {
    for (const t of this.targets) await t.queue.shutdown();
  }
}

/**
 * The queues' drop reports under the logs' stages: a dead-lettered or dropped batch of log
 * records is counted at `logs/exporter`, not among the spans.
 */
export class LogQueueDrops implements DropRecorder {
  constructor(private readonly drops: DropRecorder) {}

  spans(stage: DropStage, reason: DropReason, spans: readonly Span[]): void {
    this.drops.spans(logStage(stage), reason, spans);
  }

  count(stage: DropStage, reason: DropReason, service: string, records: number): void {
    this.drops.count(logStage(stage), reason, service, records);
  }

  values(stage: DropStage, reason: AlterationReason, service: string, values: number): void {
    this.drops.values(logStage(stage), reason, service, values);
  }
}

function logStage(stage: DropStage): LogDropStage {
  if (stage.startsWith('logs/')) return stage as LogDropStage;
  return stage === 'storage' ? 'logs/storage' : 'logs/exporter';
}
