import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExportError } from '../../../../exporters/exporter.js';
import { CollectorMetrics } from '../../telemetry.js';
import { QueueFullError } from '../stage.js';
import { LEDGER_FILE } from './batch-ledger.js';
import { DEAD_LETTER_DIR, DEAD_LETTER_INDEX } from './dead-letter.js';
import { queueDirectory } from './directory.js';
import { PersistentQueue } from './persistent-queue.js';
import { crc32 } from './crc32.js';
import { HEADER_BYTES } from './record-format.js';
import {
  FakeExporter,
  gate,
  ManualClock,
  metricValue,
  openQueue,
  queueConfig,
  rec,
  removeTempDirs,
  silent,
  tempDir,
  until,
} from './test-support.testing.js';

afterEach(removeTempDirs);

const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg'));
const ledger = (dir: string): { incarnation: string; acked: number; batches: Array<{ id: string; done: boolean }> } =>
  JSON.parse(readFileSync(join(dir, LEDGER_FILE), 'utf8'));
const letters = (n: number): string[] => Array.from({ length: n }, (_, i) => `r${i}`);

describe('PersistentQueue', () => {
  it('sends consecutive records in batches of max_spans, with IDs from their seqs', async () => {
    const dir = tempDir();
    const exporter = new FakeExporter();
    const queue = await openQueue(dir, exporter, { config: queueConfig({ batch: { max_spans: 4 } }) });
    await Promise.all(letters(9).map((n) => queue.append(rec(n), 2)));
    await until(() => exporter.deliveredNames.length === 8, 'four full batches');
    const { incarnation } = ledger(dir);
    expect(exporter.delivered.map((c) => [c.batchId, c.spanCount])).toEqual([
      [`${incarnation}-1-2`, 4],
      [`${incarnation}-3-4`, 4],
      [`${incarnation}-5-6`, 4],
      [`${incarnation}-7-8`, 4],
    ]);
    expect(exporter.deliveredNames).toEqual(letters(8));
    // The last record waits for batch.timeout_ms (the clock stands still), or the shutdown.
    await new Promise((r) => setTimeout(r, 20));
    expect(queue.depth).toMatchObject({ records: 1, spans: 2 });
    await queue.shutdown();
    expect(exporter.deliveredNames).toEqual(letters(9));
  });

  it('sends a partial batch once its oldest record waited timeout_ms, not before', async () => {
    const clock = new ManualClock();
    const exporter = new FakeExporter();
    const queue = await openQueue(tempDir(), exporter, { clock, config: queueConfig({ batch: { timeout_ms: 1000 } }) });
    await queue.append(rec('a'), 1);
    clock.advance(600);
    await queue.append(rec('b'), 1);
    clock.advance(399);
    await new Promise((r) => setTimeout(r, 20));
    expect(exporter.attempts).toEqual([]);
    clock.advance(1);
    await until(() => exporter.delivered.length === 1, 'the timed-out batch');
    expect(exporter.deliveredNames).toEqual(['a', 'b']);
    await queue.shutdown();
  });

  it('delivers every record once, in order, across a restart', async () => {
    const dir = tempDir();
    const down = new FakeExporter();
    down.respond = () => {
      throw new Error('backend down');
    };
    const clock = new ManualClock();
    let queue = await openQueue(dir, down, { clock, config: queueConfig({ batch: { max_spans: 3 } }) });
    await Promise.all(letters(7).map((n) => queue.append(rec(n), 1)));
    await until(() => down.attempts.length > 0, 'a failed attempt');
    const attempts = down.attempts.length;
    // The shutdown retries at once, without the backoff; that failing too, it stops without waiting for its deadline.
    await queue.shutdown(5_000);
    expect(down.attempts.length).toBe(attempts + 1);
    expect(down.delivered).toEqual([]);
    expect(down.shutdowns).toBe(1);

    const up = new FakeExporter();
    queue = await openQueue(dir, up, { config: queueConfig({ batch: { max_spans: 3 } }) });
    await until(() => up.deliveredNames.length === 6, 'the full batches');
    const stopping2 = queue.shutdown();
    await stopping2;
    expect(up.deliveredNames).toEqual(letters(7));
    // The batch that failed before the restart is formed again with the same ID.
    expect(up.delivered[0].batchId).toBe(down.attempts[0].batchId);
    expect(new Set(up.delivered.map((c) => c.batchId)).size).toBe(up.delivered.length);
  });

  it('after a crash between send and acknowledgement, sends the same batch under the same ID', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const hanging = new FakeExporter();
    hanging.respond = () => new Promise<void>(() => undefined); // took the data, never answered
    let queue = await openQueue(dir, hanging, { clock, config: queueConfig({ batch: { max_spans: 2 }, concurrency: 1 }) });
    await Promise.all(['a', 'b', 'c'].map((n) => queue.append(rec(n), 1)));
    await until(() => hanging.attempts.length === 1, 'the first send');
    expect(ledger(dir).batches.map((b) => b.id)).toEqual([hanging.attempts[0].batchId]);
    const stopping = queue.shutdown(100);
    await until(() => clock.pending.includes(100), 'the shutdown deadline');
    clock.advance(100);
    await stopping;

    const exporter = new FakeExporter();
    queue = await openQueue(dir, exporter, { config: queueConfig({ batch: { max_spans: 2 }, concurrency: 1 }) });
    await queue.shutdown();
    expect(exporter.delivered[0]).toEqual(hanging.attempts[0]);
    expect(exporter.deliveredNames).toEqual(['a', 'b', 'c']);
    expect(ledger(dir).batches).toEqual([]);
  });

  it('keeps batches in flight up to concurrency and acknowledges them in order', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const exporter = new FakeExporter();
    const gates = [gate(), gate(), gate()];
    exporter.respond = (_call, attempt) => gates[attempt - 1]?.promise;
    let queue = await openQueue(dir, exporter, { clock, config: queueConfig({ batch: { max_spans: 1 }, concurrency: 2 }) });
    await Promise.all(['a', 'b', 'c'].map((n) => queue.append(rec(n), 1)));
    await until(() => exporter.attempts.length === 2, 'two sends');
    await new Promise((r) => setTimeout(r, 20));
    expect(exporter.attempts.length).toBe(2);
    gates[1].open(); // the second finishes first
    await until(() => exporter.attempts.length === 3, 'the third send');
    await until(() => ledger(dir).batches[1]?.done === true, 'b marked done');
    expect(ledger(dir).acked).toBe(0); // a is still in flight
    const stopping = queue.shutdown(100);
    await until(() => clock.pending.includes(100), 'the shutdown deadline');
    clock.advance(100);
    await stopping;

    // After the restart only what was not delivered is sent: a and c, not b.
    const again = new FakeExporter();
    queue = await openQueue(dir, again, { config: queueConfig({ batch: { max_spans: 1 } }) });
    await queue.shutdown();
    expect(again.deliveredNames.sort()).toEqual(['a', 'c']);
    expect(again.delivered.map((c) => c.batchId).sort()).toEqual([exporter.attempts[0].batchId, exporter.attempts[2].batchId].sort());
  });

  it('sends records an older collector queued (FTQ1) in batches of their own, saying so', async () => {
    const dir = tempDir();
    // Two records queued before an upgrade, as the old header wrote them.
    const v1 = (seq: number, payload: Buffer) => {
      const h = Buffer.alloc(24);
      h.writeUInt32LE(0x31515446, 0);
      h.writeUInt32LE(payload.length, 4);
      h.writeUInt32LE(1, 8);
      h.writeUInt32LE(seq, 12);
      h.writeUInt32LE(crc32(payload, crc32(h.subarray(0, 20))), 20);
      return Buffer.concat([h, payload]);
    };
    writeFileSync(join(dir, '0000000000000001.seg'), Buffer.concat([v1(1, rec('old1')), v1(2, rec('old2'))]));
    const exporter = new FakeExporter();
    const queue = await openQueue(dir, exporter, { config: queueConfig({ batch: { max_spans: 3 } }) });
    await Promise.all([queue.append(rec('new1'), 1), queue.append(rec('new2'), 1), queue.append(rec('new3'), 1)]);
    await until(() => exporter.delivered.length === 2, 'both batches');
    // max_spans 3 would put old2 and new1 together: formats never share a batch.
    expect(exporter.delivered.map((c) => [c.names, c.format])).toEqual([
      [['old1', 'old2'], 1],
      [['new1', 'new2', 'new3'], 2],
    ]);
    await queue.shutdown();
  });

  it('remembers the highest journal tag it took after the segments holding it are deleted', async () => {
    const dir = tempDir();
    const exporter = new FakeExporter();
    const config = queueConfig({ segment_bytes: 4 * 1024, batch: { max_spans: 3 } });
    const queue = await openQueue(dir, exporter, { config });
    for (let i = 0; i < 12; i++) await queue.append(Buffer.alloc(1024 - HEADER_BYTES), 1, i < 8 ? 100 + i : 0);
    await until(() => exporter.delivered.length === 4, 'all batches');
    await until(() => segments(dir).length === 1, 'sealed segments deleted');
    await queue.shutdown();
    const again = await openQueue(dir, new FakeExporter(), { config });
    expect(again.recoveredLastTag).toBe(107); // the segment holding it is gone: from the ledger
    await again.shutdown();
  });

  it('deletes segments once their records are acknowledged', async () => {
    const dir = tempDir();
    const exporter = new FakeExporter();
    const config = queueConfig({ segment_bytes: 4 * 1024, batch: { max_spans: 3 } });
    const queue = await openQueue(dir, exporter, { config });
    for (let i = 0; i < 12; i++) await queue.append(Buffer.alloc(1024 - HEADER_BYTES), 1);
    await until(() => exporter.delivered.length === 4, 'all batches');
    await until(() => segments(dir).length === 1, 'sealed segments deleted');
    expect(segments(dir)).toEqual(['0000000000000009.seg']);
    await queue.shutdown();
  });

  it('refuses when full with the retry hint, and accepts again once delivered', async () => {
    const clock = new ManualClock();
    const exporter = new FakeExporter();
    // Nothing is sent until the batch timeout: the clock stands still.
    const config = queueConfig({ max_bytes: 64 * 1024, segment_bytes: 8 * 1024, retry_after_seconds: 7, batch: { max_spans: 1000, timeout_ms: 2_000 } });
    const queue = await openQueue(tempDir(), exporter, { clock, config });
    const record = Buffer.alloc(1000 - HEADER_BYTES);
    let accepted = 0;
    while (queue.hasRoomFor(record.length)) {
      await queue.append(record, 1);
      accepted++;
    }
    expect(accepted).toBe(65);
    const refused = await queue.append(record, 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).retryAfterSeconds).toBe(7);
    expect(queue.fullError().message).toMatch(/exporter queue 'test' is full \(65000 of 65536 bytes on disk\)/);
    clock.advance(2_000);
    await until(() => exporter.delivered.length === 1 && queue.hasRoomFor(record.length), 'room again');
    await queue.append(record, 1);
    await queue.shutdown();
  });

  it('drop_oldest drops the oldest unsent records to make room, and counts them', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const metrics = new CollectorMetrics();
    const exporter = new FakeExporter();
    let up = false;
    exporter.respond = () => {
      if (!up) throw new Error('backend down');
    };
    const config = queueConfig({ full_policy: 'drop_oldest', max_bytes: 16 * 1024, segment_bytes: 2 * 1024, batch: { max_spans: 2 } });
    const queue = await openQueue(dir, exporter, { clock, config, metrics });
    const record = (i: number): Buffer => Buffer.concat([rec(`r${i}`), Buffer.alloc(1000 - HEADER_BYTES - rec(`r${i}`).length, 32)]);
    // r0 and r1 are formed into a batch that fails and waits for its retry.
    await queue.append(record(0), 1);
    await queue.append(record(1), 1);
    await until(() => exporter.attempts.length === 1, 'the first attempt');
    for (let i = 2; i < 40; i++) {
      expect(queue.hasRoomFor(1000)).toBe(true);
      await queue.append(record(i), 1);
    }
    const dropped = await metricValue(metrics, 'flowtrace_exporter_queue_spans_dropped_total', { exporter: 'test', reason: 'queue_full' });
    expect(dropped).toBeGreaterThan(0);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_disk_bytes', { exporter: 'test' })).toBeLessThanOrEqual(16 * 1024);
    expect(queue.depth.records).toBe(40 - dropped);
    up = true;
    clock.advance(60_000);
    await queue.shutdown();
    const delivered = exporter.delivered.flatMap((c) => c.names.map((n) => n.trim()));
    // The batch already formed is still sent; then the newest records, in order, none twice.
    expect(delivered.slice(0, 2)).toEqual(['r0', 'r1']);
    expect(delivered.length).toBe(40 - dropped);
    expect(delivered.slice(2)).toEqual(Array.from({ length: 38 - dropped }, (_, i) => `r${2 + dropped + i}`));
  });

  it('retries after an exponential backoff, honouring the backend hint, and sends nothing else meanwhile', async () => {
    const clock = new ManualClock();
    const metrics = new CollectorMetrics();
    const exporter = new FakeExporter();
    exporter.respond = (_call, attempt) => {
      if (attempt === 1) throw new ExportError('429', true, 10_000);
      if (attempt <= 3) throw new Error('connection refused');
    };
    const queue = await openQueue(tempDir(), exporter, { clock, metrics, config: queueConfig({ batch: { max_spans: 1 } }) });
    await queue.append(rec('a'), 1);
    await until(() => clock.pending.includes(10_000), 'a backoff of the hinted 10 s');
    await queue.append(rec('b'), 1);
    clock.advance(9_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(exporter.attempts.map((c) => c.names)).toEqual([['a']]);
    clock.advance(1);
    // Then 500 ms × 1.5^(n−1) (jitter fixed at its middle): 750 ms, 1125 ms for the 2nd and 3rd failure in a row.
    await until(() => clock.pending.includes(750), 'the second backoff');
    clock.advance(750);
    await until(() => clock.pending.includes(1125), 'the third backoff');
    clock.advance(1125);
    await until(() => exporter.delivered.length === 2, 'both delivered');
    expect(exporter.attempts.map((c) => c.names)).toEqual([['a'], ['a'], ['a'], ['a'], ['b']]);
    expect(new Set(exporter.attempts.slice(0, 4).map((c) => c.batchId)).size).toBe(1);
    expect(await metricValue(metrics, 'flowtrace_exporter_send_failed_total', { exporter: 'test' })).toBe(3);
    expect(await metricValue(metrics, 'flowtrace_exporter_send_retries_total', { exporter: 'test' })).toBe(3);
    await queue.shutdown();
  });

  it('dead-letters a batch the backend rejects for good, and moves on', async () => {
    const dir = tempDir();
    const metrics = new CollectorMetrics();
    const exporter = new FakeExporter();
    exporter.respond = (call) => {
      if (call.names.includes('bad')) throw new ExportError('400 Bad Request: invalid span', false);
    };
    const queue = await openQueue(dir, exporter, { metrics, config: queueConfig({ batch: { max_spans: 2 } }) });
    await Promise.all(['bad', 'x', 'y', 'z'].map((n) => queue.append(rec(n), 1)));
    await until(() => exporter.delivered.length === 1 && ledger(dir).acked === 4, 'both batches acknowledged');
    expect(exporter.attempts.length).toBe(2);
    const { incarnation } = ledger(dir);
    const id = `${incarnation}-1-2`;
    const deadDir = join(dir, DEAD_LETTER_DIR);
    expect(readFileSync(join(deadDir, `${id}.bin`), 'utf8')).toBe('bad\nx\n');
    const [line] = readFileSync(join(deadDir, DEAD_LETTER_INDEX), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(line).toMatchObject({ batchId: id, spanCount: 2, records: 2, attempts: 1, error: '400 Bad Request: invalid span', file: `${id}.bin` });
    expect(line.reason).toMatch(/permanent/);
    expect(Date.parse(line.time)).not.toBeNaN();
    expect(await metricValue(metrics, 'flowtrace_exporter_spans_dead_lettered_total', { exporter: 'test' })).toBe(2);
    expect(await metricValue(metrics, 'flowtrace_exporter_batches_dead_lettered_total', { exporter: 'test' })).toBe(1);
    await queue.shutdown();
  });

  it('dead-letters a batch still failing after retry.max_elapsed_ms', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const exporter = new FakeExporter();
    exporter.respond = (call) => {
      if (call.names.includes('a')) throw new Error('timeout');
    };
    const config = queueConfig({ batch: { max_spans: 1 }, retry: { max_elapsed_ms: 2_000, initial_interval_ms: 1_000, max_interval_ms: 1_000 } });
    const queue = await openQueue(dir, exporter, { clock, config });
    await queue.append(rec('a'), 1);
    await queue.append(rec('b'), 1);
    for (let i = 1; i <= 2; i++) {
      await until(() => clock.pending.includes(1_000), `backoff ${i}`);
      clock.advance(1_000);
    }
    await until(() => ledger(dir).acked === 2, 'a given up and acknowledged');
    expect(exporter.deliveredNames).toEqual(['b']);
    expect(exporter.attempts.filter((c) => c.names[0] === 'a').length).toBe(3);
    const line = JSON.parse(readFileSync(join(dir, DEAD_LETTER_DIR, DEAD_LETTER_INDEX), 'utf8'));
    expect(line.reason).toMatch(/3 attempts over 2000 ms/);
    await queue.shutdown();
  });

  it('one queue backing off does not hold up another', async () => {
    const failing = new FakeExporter('otlp/down');
    failing.respond = () => {
      throw new ExportError('503', true);
    };
    const healthy = new FakeExporter('otlp/up');
    const metrics = new CollectorMetrics();
    const config = queueConfig({ batch: { max_spans: 2 } });
    const root = tempDir();
    const a = await openQueue(queueDirectory(root, failing.name), failing, { metrics, config });
    const b = await openQueue(queueDirectory(root, healthy.name), healthy, { metrics, config });
    for (const n of letters(10)) await Promise.all([a.append(rec(n), 1), b.append(rec(n), 1)]);
    await until(() => healthy.deliveredNames.length === 10, 'the healthy queue drained');
    expect(failing.attempts.length).toBeLessThanOrEqual(2); // the batches in flight when it first failed
    expect(a.depth.records).toBe(10);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_records', { exporter: 'otlp/down' })).toBe(10);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_records', { exporter: 'otlp/up' })).toBe(0);
    expect(readdirSync(join(root, 'queues')).sort()).toEqual(['otlp~down', 'otlp~up']);
    await Promise.all([a.shutdown(0), b.shutdown()]);
  });

  it('shutdown sends what it can, then leaves the rest on disk for the next start', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const exporter = new FakeExporter();
    exporter.respond = (_call, attempt) => (attempt === 1 ? undefined : new Promise<void>(() => undefined));
    const config = queueConfig({ batch: { max_spans: 2 }, concurrency: 1 });
    let queue = await openQueue(dir, exporter, { clock, config });
    await Promise.all(letters(5).map((n) => queue.append(rec(n), 1)));
    const stopping = queue.shutdown(1_000);
    await expect(queue.append(rec('late'), 1)).rejects.toBeInstanceOf(QueueFullError);
    expect(queue.hasRoomFor(1)).toBe(false);
    await until(() => clock.pending.includes(1_000) && exporter.attempts.length === 2, 'the deadline, the second batch hanging');
    clock.advance(1_000);
    await stopping;
    expect(exporter.deliveredNames).toEqual(['r0', 'r1']);
    expect(exporter.shutdowns).toBe(1);

    const next = new FakeExporter();
    queue = await openQueue(dir, next, { config });
    await queue.shutdown();
    expect(next.deliveredNames).toEqual(['r2', 'r3', 'r4']);
    expect(next.delivered[0].batchId).toBe(exporter.attempts[1].batchId);
  });

  it('reports depth, deliveries and send durations, and correct gauges after recovery', async () => {
    const dir = tempDir();
    const labels = { exporter: 'test' };
    const clock = new ManualClock();
    let metrics = new CollectorMetrics();
    const exporter = new FakeExporter();
    const release = gate();
    exporter.respond = (_c, attempt) => (attempt === 1 ? undefined : release.promise);
    const config = queueConfig({ batch: { max_spans: 6 }, max_bytes: 8 * 1024 * 1024 });
    let queue = await openQueue(dir, exporter, { clock, metrics, config });
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_capacity_bytes', labels)).toBe(8 * 1024 * 1024);
    await Promise.all(letters(5).map((n) => queue.append(rec(n), 3)));
    const recordBytes = HEADER_BYTES + 3;
    await until(() => exporter.delivered.length === 1, 'the first batch');
    await Promise.all(['x1', 'y1'].map((n) => queue.append(rec(n), 1)));
    await until(() => exporter.attempts.length === 2, 'the second send');
    expect(await metricValue(metrics, 'flowtrace_exporter_spans_sent_total', labels)).toBe(6);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_records', labels)).toBe(5);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_spans', labels)).toBe(11);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_bytes', labels)).toBe(5 * recordBytes);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_disk_bytes', labels)).toBe(7 * recordBytes);
    const durations = await metrics.registry.getSingleMetric('flowtrace_exporter_send_duration_seconds')!.get();
    expect(durations.values.find((v) => (v as { metricName?: string }).metricName === 'flowtrace_exporter_send_duration_seconds_count' && v.labels.exporter === 'test')?.value).toBe(1);
    const stopping = queue.shutdown(10);
    await until(() => clock.pending.includes(10), 'the shutdown deadline');
    clock.advance(10);
    await stopping;

    metrics = new CollectorMetrics();
    const later = new FakeExporter();
    const up = gate();
    later.respond = () => up.promise;
    queue = await openQueue(dir, later, { metrics, config, clock: new ManualClock() });
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_records', labels)).toBe(5);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_spans', labels)).toBe(11);
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_bytes', labels)).toBe(5 * recordBytes);
    up.open();
    await queue.shutdown();
    expect(await metricValue(metrics, 'flowtrace_exporter_queue_records', labels)).toBe(0);
    expect(await metricValue(metrics, 'flowtrace_exporter_spans_sent_total', labels)).toBe(11);
  });

  it('rejects appends before start and records larger than max_bytes', async () => {
    const exporter = new FakeExporter();
    const queue = new PersistentQueue(exporter, { dir: tempDir(), config: queueConfig(), metrics: new CollectorMetrics(), logger: silent });
    await expect(queue.append(rec('a'), 1)).rejects.toThrow(/not started/);
    await queue.start();
    expect(exporter.started).toBe(1);
    expect(queue.hasRoomFor(2 * 1024 ** 3)).toBe(false);
    await expect(queue.append(Buffer.alloc(queueConfig().max_bytes), 1)).rejects.toThrow(/cannot fit/);
    await queue.shutdown();
    expect(exporter.shutdowns).toBe(1);
  });
});

describe('queueDirectory', () => {
  it('makes the exporter name one path segment, distinct names distinct', () => {
    expect(queueDirectory('/data', 'otlp/honeycomb')).toBe(join('/data', 'queues', 'otlp~honeycomb'));
    expect(queueDirectory('/data', 'clickhouse')).toBe(join('/data', 'queues', 'clickhouse'));
    expect(queueDirectory('/data', 'a~b')).toBe(join('/data', 'queues', 'a%7Eb'));
    expect(queueDirectory('/data', '../x')).toBe(join('/data', 'queues', '..~x'));
    expect(() => queueDirectory('/data', '..')).toThrow();
  });
});
