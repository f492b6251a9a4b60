/**
 * The storage-rows path (pipeline/row-batch.ts): when the pipeline's entry takes rows, a
 * protobuf request is transcoded instead of decoded, and everything ingest and the taps do with
 * it must come out as on the object path — the rows stored, the ledger, quotas, clocks, RED and
 * the live tail.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encodeRowBinary } from '../../../exporters/clickhouse/rowbinary.js';
import { LoadGenerator } from '../loadgen/generator.js';
import type { Span } from '../model/span.js';
import { redConfigSchema } from '../metrics/red/config.js';
import type { RedRow } from '../metrics/red/aggregator.js';
import { RedMetrics, RedTap, type RedSink } from '../metrics/red/red.js';
import { DropLedger } from '../pipeline/drop-ledger/ledger.js';
import type { RowBatch } from '../pipeline/row-batch.js';
import { QueueFullError } from '../pipeline/stage.js';
import { TailHub } from '../query/tail/tail-hub.js';
import { TailTap } from '../query/tail/tail-tap.js';
import { CollectorMetrics } from '../telemetry.js';
import { MemoryRedSink, RowSink } from './rows.testing.js';
import { Ingest } from './ingest.js';
import { WIRE, WireWriter, minimalSpan, requestWith, seededRandom, spanIdOf, traceIdOf } from './otlp/otlp-fixtures.js';
import { decodeTraceRequest, type DecodeOptions } from './otlp/proto-decoder.js';
import { SLICE_BYTES, transcodeTraceRequestInSlices } from './otlp/sliced-decoder.js';
import { transcodeTraceRequest } from './otlp/rowbinary-transcoder.js';
import { IngestQuotas } from './quota.js';
import { quotaConfigSchema } from './quota-config.js';
import { SenderClocks } from './sender-clocks.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;

/** A request of the load generator's traces (several services, times over the last hour). */
function generated(spansPerRequest: number, seed = 1): Buffer {
  const generator = new LoadGenerator({ services: 5, spansPerRequest, spreadNs: 3_600_000_000_000n, runId: 'rows', templates: 1, random: seededRandom(seed), nowNs: () => NOW_NS });
  return generator.next().bytes;
}

/** A pipeline entry that takes rows, or refuses them when full. */

function redMetrics(sink: RedSink): RedMetrics {
  return new RedMetrics(redConfigSchema.parse({ flush_interval_ms: 300_000 }), sink, pino({ level: 'silent' }), new Registry());
}

function byKey(rows: RedRow[]): Record<string, RedRow> {
  return Object.fromEntries(rows.map((r) => [`${r.Minute}/${r.ServiceName}/${r.Operation}/${r.SpanKind}`, r]));
}

describe('Ingest on the storage-rows path', () => {
  it('hands the pipeline the rows the object path would store, and counts them as accepted rows', async () => {
    const sink = new RowSink();
    const metrics = new CollectorMetrics();
    const ingest = new Ingest(sink, metrics);
    const bytes = generated(200);
    const request = await ingest.readProtobuf('http', bytes);
    await ingest.accept('http', request);
    expect(sink.objects).toEqual([]);
    expect(sink.batches).toHaveLength(1);
    const { spans } = decodeTraceRequest(bytes);
    expect(Buffer.compare(sink.batches[0]!.rows, Buffer.from(encodeRowBinary(spans)))).toBe(0);
    expect(await sink.batches[0]!.decodeSpans()).toEqual(spans);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`flowtrace_receiver_spans_accepted_as_rows_total{transport="http"} ${spans.length}`);
    expect(text).toContain(`flowtrace_receiver_spans_accepted_total{transport="http"} ${spans.length}`);
  });

  it('decodes into spans when the entry does not take rows', async () => {
    const taken: Span[][] = [];
    const ingest = new Ingest({ consume: async (spans) => void taken.push(spans) }, new CollectorMetrics());
    const bytes = generated(50);
    const request = await ingest.readProtobuf('http', bytes);
    expect('spans' in request).toBe(true);
    await ingest.accept('grpc', request);
    expect(taken).toEqual([decodeTraceRequest(bytes).spans]);
  });

  it('reports rejections, truncations, refusals and sender clocks per service as the object path does', async () => {
    const options: DecodeOptions = { maxAttributeValueBytes: 1024 };
    const timed = (span: WireWriter) => span.tag(7, WIRE.I64).fixed64(NOW_NS).tag(8, WIRE.I64).fixed64(NOW_NS + 1000n);
    const long = timed(minimalSpan(traceIdOf(2), spanIdOf(2))).field(9, new WireWriter().field(1, 'big').field(2, new WireWriter().field(1, 'x'.repeat(5000))));
    const bad = timed(minimalSpan('00'.repeat(16), spanIdOf(3))); // an all-zero trace ID is refused
    const bytes = requestWith(timed(minimalSpan()), long, bad);

    const run = async (rows: boolean) => {
      const ledger = new DropLedger(new Registry());
      const clocks = new SenderClocks(() => 1_000_000);
      const sink = new RowSink();
      const entry = rows ? sink : { consume: (spans: Span[]) => sink.consume(spans) };
      const ingest = new Ingest(entry, new CollectorMetrics(), undefined, { drops: ledger, clocks });
      const request = await ingest.readProtobuf('http', bytes, options);
      await ingest.accept('http', request);
      sink.full = true;
      await expect(ingest.accept('http', await ingest.readProtobuf('http', bytes, options))).rejects.toBeInstanceOf(QueueFullError);
      const ledgerRows = ledger.pending.take().map((r) => `${r.stage}/${r.reason}/${r.service}:${r.droppedSpans}/${r.alteredValues}`).sort();
      return { ledgerRows, clocks: clocks.report(), rejected: request.rejectedSpans, message: request.rejectionMessage, via: rows ? sink.batches.length : sink.objects.length };
    };
    const viaRows = await run(true);
    const viaObjects = await run(false);
    expect(viaRows.via).toBe(1);
    expect(viaRows).toEqual(viaObjects);
    expect(viaRows.rejected).toBe(1);
    expect(viaRows.ledgerRows.join(' ')).toMatch(/receiver\/truncated\/.*:0\/1/);
  });

  it('refuses a request over a per-service quota whole, counting its spans per service', async () => {
    const ledger = new DropLedger(new Registry());
    const quotas = new IngestQuotas(quotaConfigSchema.parse({ per_service: { spans_per_second: 10 } }), new Registry());
    const sink = new RowSink();
    const ingest = new Ingest(sink, new CollectorMetrics(), quotas, { drops: ledger });
    const bytes = generated(200);
    // A request larger than the one-second burst passes on a full bucket; the next is refused.
    await ingest.accept('grpc', await ingest.readProtobuf('http', bytes));
    await expect(ingest.accept('grpc', await ingest.readProtobuf('http', bytes))).rejects.toBeInstanceOf(QueueFullError);
    expect(sink.batches).toHaveLength(1);
    const refused = new Map<string, number>();
    for (const span of decodeTraceRequest(bytes).spans) refused.set(span.resource.serviceName, (refused.get(span.resource.serviceName) ?? 0) + 1);
    const counted = new Map(ledger.pending.take().map((r) => [r.service, r.droppedSpans]));
    expect(counted.size).toBe(5);
    expect(counted).toEqual(refused);
  });
});

describe('transcoding in slices', () => {
  it('gives the whole request\'s rows and summaries for a request cut into many slices', async () => {
    const bytes = generated(6000, 7);
    expect(bytes.length).toBeGreaterThan(4 * SLICE_BYTES);
    const whole = transcodeTraceRequest(bytes);
    const sliced = await transcodeTraceRequestInSlices(bytes, 64 * 1024);
    expect(Buffer.compare(sliced.rowBinary, whole.rowBinary)).toBe(0);
    const a = sliced.summary;
    const b = whole.summary;
    expect(a.count).toBe(b.count);
    for (let i = 0; i < a.count; i++) {
      expect([a.serviceName(i), a.spanName(i), a.kind[i], a.statusCode[i], a.startNs(i), a.durationNs(i), a.traceIdHex(i)]).toEqual([
        b.serviceName(i),
        b.spanName(i),
        b.kind[i],
        b.statusCode[i],
        b.startNs(i),
        b.durationNs(i),
        b.traceIdHex(i),
      ]);
    }
    expect(a.countsByService()).toEqual(b.countsByService());
  });
});

describe('the taps on rows', () => {
  it('RED counts rows exactly as it counts the same spans', async () => {
    const bytes = generated(400, 3);
    const fromRows = new MemoryRedSink();
    const fromSpans = new MemoryRedSink();
    const viaRows = redMetrics(fromRows);
    const viaSpans = redMetrics(fromSpans);
    const sink = new RowSink();
    const t = transcodeTraceRequest(bytes);
    await new RedTap(viaRows, sink).consumeRows({ rows: t.rowBinary, summary: t.summary, decodeSpans: async () => decodeTraceRequest(bytes).spans });
    await new RedTap(viaSpans, sink).consume(decodeTraceRequest(bytes).spans);
    await viaRows.flush();
    await viaSpans.flush();
    expect(fromRows.rows.length).toBeGreaterThan(5);
    expect(byKey(fromRows.rows)).toEqual(byKey(fromSpans.rows));
  });

  it('the live tail shows rows only once a client listens, as the spans they are', async () => {
    const bytes = generated(100, 5);
    const hub = new TailHub();
    const sink = new RowSink();
    const tap = new TailTap(hub, sink);
    let decoded = 0;
    const batch = (): RowBatch => {
      const t = transcodeTraceRequest(bytes);
      return { rows: t.rowBinary, summary: t.summary, decodeSpans: async () => (decoded++, decodeTraceRequest(bytes).spans) };
    };
    await tap.consumeRows(batch());
    expect(decoded).toBe(0);
    const client = hub.subscribe({ minDurationNs: 0n, errorsOnly: false, rules: {} }, () => {});
    await tap.consumeRows(batch());
    expect(decoded).toBe(1);
    expect(sink.batches).toHaveLength(2);
    expect(client.waiting).toBe(decodeTraceRequest(bytes).spans.length);
  });
});
