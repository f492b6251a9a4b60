import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Exporter, RecordFormat } from '../../../../exporters/exporter.js';
import type { Span } from '../../model/span.js';
import { CollectorMetrics } from '../../telemetry.js';
import type { Clock } from './clock.js';
import { queueConfigSchema, type QueueConfig } from './config.js';
import { PersistentQueue } from './persistent-queue.js';

/** QUEUE_TEST_LOG=debug shows the queue's logs while debugging a test. */
export const silent = pino({ level: process.env.QUEUE_TEST_LOG ?? 'silent' });

const dirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ft-queue-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A record as tests write them: a name and a newline, so that a payload splits back into names. */
export const rec = (name: string): Buffer => Buffer.from(`${name}\n`);
export const names = (payload: Buffer): string[] => payload.toString().split('\n').slice(0, -1);

/** Timers fire only when the test advances time. */
export class ManualClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; ms: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** The delays the pending timers were scheduled with. */
  get pending(): number[] {
    return this.timers.map((t) => t.ms);
  }

  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = target;
  }
}

export interface SendCall {
  batchId: string;
  spanCount: number;
  names: string[];
  format?: RecordFormat;
}

/**
 * An exporter that records what it is sent. `respond` decides each attempt: resolve to
 * deliver, throw to fail, or never settle to hang (a backend that took the data and went away).
 */
export class FakeExporter implements Exporter {
  readonly encoding = 'test';
  attempts: SendCall[] = [];
  delivered: SendCall[] = [];
  started = 0;
  shutdowns = 0;
  respond: (call: SendCall, attempt: number) => Promise<void> | void = () => undefined;

  constructor(readonly name = 'test') {}

  encode(_spans: Span[]): Uint8Array {
    return new Uint8Array();
  }

  async start(): Promise<void> {
    this.started++;
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }

  async send(payload: Buffer, spanCount: number, batchId: string, format?: RecordFormat): Promise<void> {
    const call = { batchId, spanCount, names: names(payload), format };
    this.attempts.push(call);
    await this.respond(call, this.attempts.length);
    this.delivered.push(call);
  }

  /** Every name delivered, in order. */
  get deliveredNames(): string[] {
    return this.delivered.flatMap((c) => c.names);
  }
}

/** Schema defaults with overrides; tests may go below the schema's minimums to stay small. */
export function queueConfig(overrides: Partial<Omit<QueueConfig, 'batch' | 'retry'>> & { batch?: Partial<QueueConfig['batch']>; retry?: Partial<QueueConfig['retry']> } = {}): QueueConfig {
  const defaults = queueConfigSchema.parse({});
  return {
    ...defaults,
    ...overrides,
    batch: { ...defaults.batch, ...overrides.batch },
    retry: { ...defaults.retry, ...overrides.retry },
  };
}

export interface OpenOptions {
  config?: QueueConfig;
  clock?: Clock;
  metrics?: CollectorMetrics;
  random?: () => number;
}

export async function openQueue(dir: string, exporter: Exporter, options: OpenOptions = {}): Promise<PersistentQueue> {
  const queue = new PersistentQueue(exporter, {
    dir,
    config: options.config ?? queueConfig(),
    metrics: options.metrics ?? new CollectorMetrics(),
    logger: silent,
    clock: options.clock ?? new ManualClock(),
    random: options.random ?? (() => 0.5),
  });
  await queue.start();
  return queue;
}

/** Polls until `condition` holds; fails after `timeoutMs` (a generous bound, never a measurement). */
export async function until(condition: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A promise and its resolver: a gate a fake backend waits on. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export async function metricValue(metrics: CollectorMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}
