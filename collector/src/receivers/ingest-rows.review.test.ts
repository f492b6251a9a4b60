/**
 * Review of the storage-rows path (pipeline/row-batch.ts) as a hostile client would use it:
 * every request here must come out of Ingest exactly as on the object path — rows, messages,
 * ledger, metrics, sender clocks, RED and the live tail — also when cut into slices, and two
 * requests transcoded at once must not share their output.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRowBinary } from '../../../exporters/clickhouse/rowbinary.js';
import type { Span } from '../model/span.js';
import { redConfigSchema } from '../metrics/red/config.js';
import type { RedRow } from '../metrics/red/aggregator.js';
import { RedMetrics, RedTap, type RedSink } from '../metrics/red/red.js';
import { DropLedger } from '../pipeline/drop-ledger/ledger.js';
import { DEAD_LETTER_INDEX, DeadLetterBox } from '../pipeline/persistent-queue/dead-letter.js';
import { FakeExporter, ManualClock, names, openQueue, queueConfig, rec, removeTempDirs, tempDir, until, type SendCall } from '../pipeline/persistent-queue/test-support.testing.js';
import { ExportError, type RecordFormat } from '../../../exporters/exporter.js';
import type { RowBatch } from '../pipeline/row-batch.js';
import { QueueFullError } from '../pipeline/stage.js';
import { TailHub } from '../query/tail/tail-hub.js';
import { TailTap } from '../query/tail/tail-tap.js';
import { CollectorMetrics } from '../telemetry.js';
import { MemoryRedSink, RowSink } from './rows.testing.js';
import { Ingest, type IngestRequest } from './ingest.js';
import { WIRE, WireWriter, hexBytes, spanIdOf, traceIdOf } from './otlp/otlp-fixtures.js';
import { decodeTraceRequest, type DecodeOptions } from './otlp/proto-decoder.js';
import { SLICE_BYTES, transcodeTraceRequestInSlices } from './otlp/sliced-decoder.js';
import { RequestTooLargeError } from './otlp/errors.js';
import { transcodeTraceRequest } from './otlp/rowbinary-transcoder.js';
import { SenderClocks } from './sender-clocks.js';

afterAll(removeTempDirs);

const NOW_MS = 1_800_000_000_000;
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;

// ---------------------------------------------------------------------------------------
// Requests built from buffers (WireWriter per span only: big requests stay fast to build).

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function lenField(field: number, content: Uint8Array): Buffer {
  return Buffer.concat([varint(field * 8 + WIRE.LEN), varint(content.length), content]);
}

function keyValue(key: string, value: string | Uint8Array): WireWriter {
  return new WireWriter().field(1, key).field(2, new WireWriter().field(1, value));
}

interface SpanInput {
  n: number;
  name?: string | Uint8Array;
  startNs?: bigint;
  /** undefined: start + 1 ms; null: no end time. */
  endNs?: bigint | null;
  attributes?: Array<[string, string | Uint8Array]>;
  traceState?: string;
  parent?: boolean;
  zeroTrace?: boolean;
  kind?: number;
  status?: number;
}

function spanBytes(s: SpanInput): Buffer {
  const w = new WireWriter().field(1, hexBytes(s.zeroTrace ? '00'.repeat(16) : traceIdOf(1 + (s.n % 7)))).field(2, hexBytes(spanIdOf(s.n + 1)));
  if (s.traceState !== undefined) w.field(3, s.traceState);
  if (s.parent) w.field(4, hexBytes(spanIdOf(s.n + 100_000)));
  w.field(5, s.name ?? `op-${s.n % 3}`);
  if (s.kind !== undefined) w.varintField(6, s.kind);
  const start = s.startNs ?? NOW_NS - BigInt(s.n) * 1_000_000n;
  w.tag(7, WIRE.I64).fixed64(start);
  if (s.endNs !== null) w.tag(8, WIRE.I64).fixed64(s.endNs ?? start + 1_000_000n);
  for (const [k, v] of s.attributes ?? []) w.field(9, keyValue(k, v));
  if (s.status !== undefined) w.field(15, new WireWriter().varintField(3, s.status));
  return Buffer.from(w.finish());
}

function resourceSpans(attributes: Array<[string, string | Uint8Array]>, spans: Buffer[], scopeName: string | Uint8Array = 'review.scope'): Buffer {
  const resource = new WireWriter();
  for (const [k, v] of attributes) resource.field(1, keyValue(k, v));
  const scope = lenField(1, new WireWriter().field(1, scopeName).finish());
  const scopeSpans = Buffer.concat([scope, ...spans.map((s) => lenField(2, s))]);
  return Buffer.concat([lenField(1, resource.finish()), lenField(2, scopeSpans)]);
}

function request(...resources: Buffer[]): Buffer {
  return Buffer.concat(resources.map((r) => lenField(1, r)));
}

/** A span that readSpan rejects, one the transcoder takes the slow path for, or a plain one. */
function mixedSpan(n: number): SpanInput {
  if (n % 97 === 5) return { n, zeroTrace: true }; // invalid: all-zero trace ID
  if (n % 89 === 7) return { n, name: Uint8Array.from([0x6f, 0xff, 0xfe]) }; // invalid UTF-8 name
  if (n % 53 === 3) {
    // slow path: a repeated key; a long trace state, a parent and a multi-byte name over 127 bytes
    return { n, name: 'ñ'.repeat(90), traceState: `k=${'v'.repeat(300)}`, parent: true, attributes: [['dup', 'a'], ['dup', 'b']] };
  }
  if (n % 71 === 9) {
    // slow path: more KeyValues than the transcoder's scratch, integer-like keys (a JS object reorders them)
    return { n, attributes: Array.from({ length: 300 }, (_, i): [string, string] => [i % 2 === 0 ? String(300 - i) : `k${i}`, `v${i}`]) };
  }
  if (n % 31 === 1) return { n, attributes: [['long', 'x'.repeat(200)]], kind: 2 + (n % 4), status: 2 }; // truncated
  return { n, kind: 1 + (n % 5), status: n % 3, attributes: [['i', String(n)]] };
}

const INVALID = Uint8Array.from([0x61, 0xed, 0xa0, 0x80]); // a UTF-16 surrogate in UTF-8: invalid

/**
 * Three good resources (two of one service, the first with a long value) and, between them,
 * one with invalid UTF-8 in its attributes and one whose scope name is invalid (their spans
 * are refused as groups, after rows were written for them); big enough for several slices.
 */
function bigMixedRequest(spansPerResource: number): Buffer {
  const spansFrom = (base: number, count = spansPerResource) => Array.from({ length: count }, (_, i) => spanBytes(mixedSpan(base + i)));
  return request(
    resourceSpans([['service.name', 'svc-a'], ['host', 'h'.repeat(200)]], spansFrom(0)),
    resourceSpans([['service.name', 'svc-bad'], ['bad', INVALID]], spansFrom(10 * spansPerResource, 40)),
    resourceSpans([['service.name', 'svc-b']], spansFrom(spansPerResource)),
    resourceSpans([['service.name', 'svc-b']], spansFrom(11 * spansPerResource, 40), INVALID),
    resourceSpans([['service.name', 'svc-a'], ['zone', 'z1']], spansFrom(2 * spansPerResource)),
  );
}

// ---------------------------------------------------------------------------------------
// Sinks.

/** What ingest made of a request on one path: stored rows, outcome, ledger, metrics, clocks. */
async function through(rowsPath: boolean, bytes: Buffer, options: DecodeOptions, full = false) {
  const ledger = new DropLedger(new Registry());
  const clocks = new SenderClocks(() => NOW_MS);
  const metrics = new CollectorMetrics();
  const sink = new RowSink();
  sink.full = full;
  const entry = rowsPath ? sink : { consume: (spans: Span[]) => sink.consume(spans) };
  const ingest = new Ingest(entry, metrics, undefined, { drops: ledger, clocks });
  const request: IngestRequest = await ingest.readProtobuf('http', bytes, options);
  let error = '';
  await ingest.accept('http', request).catch((err: unknown) => (error = String(err)));
  const stored = rowsPath ? sink.batches.map((b) => b.rows) : sink.objects.map((spans) => Buffer.from(encodeRowBinary(spans)));
  const text = (await metrics.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('flowtrace_receiver_') && !l.includes('as_rows'))
    .join('\n');
  return {
    stored: Buffer.concat(stored).toString('hex'),
    batches: stored.length,
    rejectedSpans: request.rejectedSpans,
    message: request.rejectionMessage,
    rejections: request.rejections,
    truncations: request.truncations,
    ledger: ledger.pending
      .take()
      .map((r) => `${r.stage}/${r.reason}/${r.service}:${r.droppedSpans}/${r.alteredValues}`)
      .sort(),
    metrics: text,
    clocks: clocks.report(),
    error,
  };
}

describe('rows path vs object path, request by request', () => {
  const options: DecodeOptions = { maxAttributeValueBytes: 64 };

  it('a request of several slices (resources repeated, rejections and truncations in several slices) comes out the same', async () => {
    const bytes = bigMixedRequest(2400);
    expect(bytes.length).toBeGreaterThan(2 * SLICE_BYTES);
    const viaRows = await through(true, bytes, options);
    const viaObjects = await through(false, bytes, options);
    expect(viaRows.rejectedSpans).toBeGreaterThan(20);
    expect(viaRows.truncations?.length).toBeGreaterThan(1);
    // The resource with invalid UTF-8 has all its 40 spans refused (the message is cut, the counts are not).
    expect(viaRows.rejections?.filter((r) => r.service === 'svc-bad').reduce((n, r) => n + r.spans, 0)).toBe(40);
    expect(viaRows.rejections?.filter((r) => r.service === 'svc-b').reduce((n, r) => n + r.spans, 0)).toBeGreaterThanOrEqual(40);
    expect(viaRows).toEqual(viaObjects);
  });

  it('the same request refused with backpressure is counted the same per service', async () => {
    const bytes = bigMixedRequest(2400);
    const viaRows = await through(true, bytes, options, true);
    const viaObjects = await through(false, bytes, options, true);
    expect(viaRows.error).toContain('full');
    expect(viaRows.ledger.some((l) => l.startsWith('receiver/refused/svc-a:'))).toBe(true);
    expect(viaRows).toEqual(viaObjects);
  });

  it('a request whose every span is rejected stores nothing and reports the same', async () => {
    const bytes = request(resourceSpans([['service.name', 'bad']], [spanBytes({ n: 1, zeroTrace: true }), spanBytes({ n: 2, name: Uint8Array.from([0xc3]) })]));
    const viaRows = await through(true, bytes, options);
    expect(viaRows.batches).toBe(0);
    expect(viaRows.rejectedSpans).toBe(2);
    expect(viaRows).toEqual(await through(false, bytes, options));
  });

  it('sender clocks: spans without an end time, or ending before their start, count the same on both paths', async () => {
    const minuteAgo = NOW_NS - 60_000_000_000n;
    const bytes = request(
      resourceSpans([['service.name', 'no-end']], [spanBytes({ n: 1, startNs: minuteAgo, endNs: null })]),
      resourceSpans([['service.name', 'end-before-start']], [spanBytes({ n: 2, startNs: minuteAgo, endNs: minuteAgo - 3_600_000_000_000n })]),
    );
    const viaRows = await through(true, bytes, options);
    const viaObjects = await through(false, bytes, options);
    expect(viaRows.stored).toBe(viaObjects.stored);
    expect(viaRows.clocks).toEqual(viaObjects.clocks);
  });

  it('the summaries read what the object path decoded: names (slow path, multi-byte), services, kinds, status, times, trace IDs', async () => {
    const bytes = bigMixedRequest(2400);
    const ingest = new Ingest(new RowSink(), new CollectorMetrics());
    const request = await ingest.readProtobuf('http', bytes, options);
    if (!('batch' in request)) throw new Error('expected rows');
    const s = request.batch.summary;
    const spans = decodeTraceRequest(bytes, options).spans;
    expect(s.count).toBe(spans.length);
    // The tail's contract: decodeSpans gives the very spans the rows were made from.
    expect(Buffer.compare(request.batch.rows, Buffer.from(encodeRowBinary(await request.batch.decodeSpans())))).toBe(0);
    const mismatches: string[] = [];
    for (let i = 0; i < s.count; i++) {
      const span = spans[i]!;
      const want = [span.resource.serviceName, span.name, span.kind, span.statusCode, span.startTimeUnixNano, span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n, span.traceId];
      const got = [s.serviceName(i), s.spanName(i), s.kind[i], s.statusCode[i], s.startNs(i), s.durationNs(i), s.traceIdHex(i)];
      if (JSON.stringify(want, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) !== JSON.stringify(got, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) mismatches.push(`${i}`);
    }
    expect(mismatches).toEqual([]);
    expect(spans.some((sp) => sp.name.startsWith('ñ'))).toBe(true);
  });
});

describe('memory a request can make the rows path take', () => {
  // Every row repeats its resource's columns (the span table is denormalized): a resource with
  // one 60 KB value (under the 64 KB default value limit) and a thousand 45-byte spans is a
  // 99 KB request and 60 MB of rows; at the 16 MiB body limit it is over 20 GB. One request may
  // take at most maxRowBytes (the in-flight budget) as rows, on either path, checked before
  // anything is held or queued.
  const amplified = () => request(resourceSpans([['service.name', 'amplified'], ['big', 'x'.repeat(60_000)]], Array.from({ length: 1000 }, (_, n) => spanBytes({ n, name: 'a' }))));
  const LIMIT = 8 * 1024 * 1024;

  it('a small request cannot make rows hundreds of times its size: refused by name on the rows path, within the limit', async () => {
    const bytes = amplified();
    expect(bytes.length).toBeLessThan(120_000);
    const metrics = new CollectorMetrics();
    const sink = new RowSink();
    const ingest = new Ingest(sink, metrics, undefined, { maxRowBytes: LIMIT });
    await expect(ingest.readProtobuf('http', bytes)).rejects.toThrow(RequestTooLargeError);
    await expect(ingest.readProtobuf('http', bytes)).rejects.toThrow(/more than 8388608 bytes as storage rows.*max_in_flight_mib/);
    expect(await metrics.registry.metrics()).toContain('flowtrace_receiver_requests_refused_total{transport="http",reason="too_large"} 2');
    // The same spans under a small resource are fine.
    const ok = request(resourceSpans([['service.name', 'small']], Array.from({ length: 1000 }, (_, n) => spanBytes({ n, name: 'a' }))));
    await ingest.accept('http', await ingest.readProtobuf('http', ok));
    expect(sink.batches).toHaveLength(1);
  });

  it('in slices, the limit holds for the whole request, not per slice', async () => {
    // Each slice alone stays under the limit; together they pass it.
    const parts = Array.from({ length: 6 }, (_, r) => resourceSpans([['service.name', `s${r}`], ['big', 'y'.repeat(30_000)]], Array.from({ length: 60 }, (_, n) => spanBytes({ n: 60 * r + n, name: 'a' }))));
    const bytes = request(...parts);
    const oneSlice = (await transcodeTraceRequestInSlices(request(parts[0]!), 1 << 30)).rowBinary.length;
    const limit = Math.floor(oneSlice * 3.5);
    await expect(transcodeTraceRequestInSlices(bytes, 64 * 1024, { maxRowBytes: limit })).rejects.toThrow(RequestTooLargeError);
    expect((await transcodeTraceRequestInSlices(bytes, 64 * 1024, { maxRowBytes: oneSlice * 7 })).summary.count).toBe(360);
  });

  it('the object path refuses the same request at ingest, before any stage holds or encodes it', async () => {
    const bytes = amplified();
    const taken: Span[][] = [];
    const metrics = new CollectorMetrics();
    const ingest = new Ingest({ consume: async (spans) => void taken.push(spans) }, metrics, undefined, { maxRowBytes: LIMIT });
    const decoded = await ingest.readProtobuf('grpc', bytes);
    expect('spans' in decoded).toBe(true);
    await expect(ingest.accept('grpc', decoded, { bytes: bytes.length })).rejects.toThrow(RequestTooLargeError);
    expect(taken).toEqual([]);
    expect(await metrics.registry.metrics()).toContain('flowtrace_receiver_requests_refused_total{transport="grpc",reason="too_large"} 1');
  });
});

describe('the reused scratch buffer', () => {
  it('two large requests read at once each get their own rows, and later requests do not change earlier rows', async () => {
    const a = bigMixedRequest(2400);
    const b = bigMixedRequest(2600);
    const ingest = new Ingest(new RowSink(), new CollectorMetrics());
    const [ra, rb] = await Promise.all([ingest.readProtobuf('http', a), ingest.readProtobuf('http', b)]);
    if (!('batch' in ra) || !('batch' in rb)) throw new Error('expected rows');
    const rowsA = Buffer.from(ra.batch.rows);
    // More requests through the same scratch, small and large.
    for (const bytes of [bigMixedRequest(10), bigMixedRequest(2400)]) await ingest.readProtobuf('http', bytes);
    transcodeTraceRequest(bigMixedRequest(5));
    expect(Buffer.compare(ra.batch.rows, rowsA)).toBe(0);
    expect(Buffer.compare(ra.batch.rows, Buffer.from(encodeRowBinary(decodeTraceRequest(a).spans)))).toBe(0);
    expect(Buffer.compare(rb.batch.rows, Buffer.from(encodeRowBinary(decodeTraceRequest(b).spans)))).toBe(0);
    const names = (r: RowBatch) => Array.from({ length: r.summary.count }, (_, i) => r.summary.spanName(i));
    expect(names(ra.batch)).toEqual(decodeTraceRequest(a).spans.map((s) => s.name));
    expect(names(rb.batch)).toEqual(decodeTraceRequest(b).spans.map((s) => s.name));
  });
});

describe('the taps on rows', () => {
  function red(sink: RedSink, limits: { max_services: number; max_operations_per_service: number }): RedMetrics {
    return new RedMetrics(redConfigSchema.parse({ flush_interval_ms: 300_000, ...limits }), sink, pino({ level: 'silent' }), new Registry());
  }

  it('RED over its service and operation caps counts rows as it counts the same spans', async () => {
    const services = Array.from({ length: 6 }, (_, i) => resourceSpans([['service.name', `s${i}`]], Array.from({ length: 30 }, (_, n) => spanBytes({ n: 30 * i + n, name: `op-${n % 5}`, kind: n % 6, status: n % 3 }))));
    const bytes = request(...services);
    const limits = { max_services: 3, max_operations_per_service: 2 };
    const fromRows = new MemoryRedSink();
    const fromSpans = new MemoryRedSink();
    const viaRows = red(fromRows, limits);
    const viaSpans = red(fromSpans, limits);
    const t = transcodeTraceRequest(bytes);
    await new RedTap(viaRows, new RowSink()).consumeRows({ rows: t.rowBinary, summary: t.summary, decodeSpans: async () => decodeTraceRequest(bytes).spans });
    await new RedTap(viaSpans, new RowSink()).consume(decodeTraceRequest(bytes).spans);
    await viaRows.flush();
    await viaSpans.flush();
    const key = (r: RedRow) => `${r.Minute}/${r.ServiceName}/${r.Operation}/${r.SpanKind}`;
    const sorted = (rows: RedRow[]) => [...rows].sort((x, y) => key(x).localeCompare(key(y)));
    expect(fromRows.rows.some((r) => r.ServiceName === '__other__')).toBe(true);
    expect(sorted(fromRows.rows)).toEqual(sorted(fromSpans.rows));
    expect(viaRows.totals.exposition({})).toBe(viaSpans.totals.exposition({}));
  });

  it('RED counts nothing of rows the next stage refused', async () => {
    const fromRows = new MemoryRedSink();
    const metrics = red(fromRows, { max_services: 10, max_operations_per_service: 10 });
    const bytes = request(resourceSpans([['service.name', 'r']], [spanBytes({ n: 1 })]));
    const t = transcodeTraceRequest(bytes);
    const full = new RowSink();
    full.full = true;
    await expect(new RedTap(metrics, full).consumeRows({ rows: t.rowBinary, summary: t.summary, decodeSpans: async () => decodeTraceRequest(bytes).spans })).rejects.toBeInstanceOf(QueueFullError);
    await metrics.flush();
    expect(fromRows.rows).toEqual([]);
  });

  it('a tail client limited by read rules and a service filter sees only those spans, as on the object path', async () => {
    const bytes = request(
      resourceSpans([['service.name', 'allowed']], [spanBytes({ n: 1 }), spanBytes({ n: 2 })]),
      resourceSpans([['service.name', 'secret']], [spanBytes({ n: 3 })]),
      resourceSpans([['service.name', 'other']], [spanBytes({ n: 4 })]),
    );
    const seen = async (rowsPath: boolean) => {
      const hub = new TailHub();
      const ruled = hub.subscribe({ minDurationNs: 0n, errorsOnly: false, rules: { services: ['allowed', 'other'] } }, () => {});
      const filtered = hub.subscribe({ service: 'other', minDurationNs: 0n, errorsOnly: false, rules: { services: ['allowed', 'other'] } }, () => {});
      const tap = new TailTap(hub, new RowSink());
      const ingest = new Ingest(rowsPath ? tap : { consume: (spans: Span[]) => tap.consume(spans) }, new CollectorMetrics());
      const request = await ingest.readProtobuf('http', bytes);
      expect('batch' in request).toBe(rowsPath);
      await ingest.accept('http', request);
      return [ruled.take().lines, filtered.take().lines];
    };
    const [ruled, filtered] = await seen(true);
    expect(ruled.join('\n')).not.toContain('secret');
    expect(ruled).toHaveLength(3);
    expect(filtered).toHaveLength(1);
    expect([ruled, filtered]).toEqual(await seen(false));
  });
});

describe('a queue batch given as records', () => {
  it('is dead-lettered as the records laid end to end, with their total size', async () => {
    const dir = tempDir();
    const box = new DeadLetterBox(dir);
    const records = Array.from({ length: 1500 }, (_, i) => Buffer.from(`record-${i};`));
    const file = await box.put({ batchId: 'q1-1-1500', reason: 'rejected', error: 'refused', spanCount: 1500, records: 1500, attempts: 3 }, records);
    expect(readFileSync(file).equals(Buffer.concat(records))).toBe(true);
    const index = readFileSync(join(box.dir, DEAD_LETTER_INDEX), 'utf8');
    expect(JSON.parse(index.trim().split('\n').at(-1)!).bytes).toBe(Buffer.concat(records).length);
  });
});

/** FakeExporter that also takes batches as records (as the ClickHouse exporter does), remembering how each came. */
class RecordsExporter extends FakeExporter {
  recordCounts: number[] = [];
  async sendRecords(records: readonly Buffer[], spanCount: number, batchId: string, format?: RecordFormat): Promise<void> {
    this.recordCounts.push(records.length);
    const call: SendCall = { batchId, spanCount, names: names(Buffer.concat(records)), format };
    this.attempts.push(call);
    await this.respond(call, this.attempts.length);
    this.delivered.push(call);
  }
}

describe('the persistent queue handing batches over as records', () => {
  const letters = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('sends many records per batch in order, and the same batch under the same ID after a restart', async () => {
    const dir = tempDir();
    const config = queueConfig({ batch: { max_spans: 120 } });
    const down = new RecordsExporter();
    down.respond = () => {
      throw new Error('backend down');
    };
    let queue = await openQueue(dir, down, { clock: new ManualClock(), config });
    await Promise.all(letters(300).map((n) => queue.append(rec(n), 1)));
    await until(() => down.attempts.length > 0, 'a failed attempt');
    await queue.shutdown(5_000);
    const up = new RecordsExporter();
    queue = await openQueue(dir, up, { config });
    await until(() => up.deliveredNames.length === 240, 'the full batches');
    await queue.shutdown();
    expect(up.deliveredNames).toEqual(letters(300));
    expect(up.recordCounts.slice(0, 2)).toEqual([120, 120]);
    expect(up.delivered[0]!.batchId).toBe(down.attempts[0]!.batchId);
    expect(up.delivered[0]!.names).toEqual(down.attempts[0]!.names);
  });

  it('dead-letters a batch of records as their concatenation', async () => {
    const dir = tempDir();
    const exporter = new RecordsExporter();
    exporter.respond = (call) => {
      if (call.names.includes('bad')) throw new ExportError('400 Bad Request', false);
    };
    const queue = await openQueue(dir, exporter, { config: queueConfig({ batch: { max_spans: 50 } }) });
    const all = ['bad', ...letters(49)];
    await Promise.all(all.map((n) => queue.append(rec(n), 1)));
    // The index line is written after the batch's file: once it is there, the letter is whole.
    await until(() => exporter.attempts.length === 1 && existsSync(join(dir, 'dead-letter', DEAD_LETTER_INDEX)), 'the dead letter');
    await queue.shutdown();
    expect(exporter.recordCounts).toEqual([50]);
    const file = readdirSync(join(dir, 'dead-letter')).find((f) => f.endsWith('.bin'))!;
    expect(readFileSync(join(dir, 'dead-letter', file), 'utf8')).toBe(all.map((n) => `${n}\n`).join(''));
  });
});
