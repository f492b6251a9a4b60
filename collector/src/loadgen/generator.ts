/**
 * OTLP ExportTraceServiceRequest bytes, fast: a few template requests (traces.ts) are encoded
 * once, with random marker bytes where trace IDs, span IDs, times and correlation IDs go; each
 * `next()` copies one template and overwrites those places in the copy (new trace ID per trace,
 * span IDs derived from it, start/end/event times moved to a random instant in the spread
 * window, a new correlation ID). No protobuf encoding happens per request, so the generator
 * costs a few microseconds per span and the collector, not the generator, is the bottleneck.
 */
import { randomBytes } from 'node:crypto';
import { keyValue, Message } from './protobuf.js';
import { serviceNames, traceTemplate, type SpanSpec } from './traces.js';

export interface GeneratorOptions {
  /** Distinct service names the traces use (1–1000). */
  services: number;
  /** Spans per request, at least: a request holds whole traces (≈10–40 spans each). */
  spansPerRequest: number;
  /** Start times are spread uniformly over the last `spreadNs` (0: every trace ends now). */
  spreadNs: bigint;
  /** Put on every resource as `flowtrace.bench.run`, so the stored spans of one run can be counted. */
  runId: string;
  /** Distinct template requests to rotate through (default 8). */
  templates?: number;
  /** Clock and randomness, replaceable in tests. */
  nowNs?: () => bigint;
  random?: () => number;
}

export const RUN_ATTRIBUTE = 'flowtrace.bench.run';
const SCOPE = { name: 'flowtrace-bench', version: '1.0.0' };
const CORRELATION_PREFIX = 'req-';
const CORRELATION_HEX = 16;

/** Where one trace's variable bytes are in a template, and its time offsets. */
interface TracePlaces {
  traceIdAt: number[];
  correlationAt: number[];
  /** Per span: where its 8-byte ID is written (its own ID and every child's parent ID). */
  spanIdAt: number[][];
  times: Array<{ at: number; offsetNs: bigint }>;
  durationNs: bigint;
}

interface Template {
  bytes: Buffer;
  spans: number;
  traces: TracePlaces[];
}

export interface GeneratedRequest {
  bytes: Buffer;
  spans: number;
  traces: number;
}

export class LoadGenerator {
  private readonly templates: Template[];
  private readonly prefix: Buffer;
  private readonly nowNs: () => bigint;
  private readonly random: () => number;
  private readonly spreadMs: number;
  private traceNo = 0;
  private requestNo = 0;

  constructor(options: GeneratorOptions) {
    this.prefix = randomBytes(8);
    this.nowNs = options.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.random = options.random ?? Math.random;
    this.spreadMs = Number(options.spreadNs / 1_000_000n);
    const services = serviceNames(options.services);
    let shape = 0;
    this.templates = Array.from({ length: options.templates ?? 8 }, () => {
      const traces: SpanSpec[][] = [];
      let spans = 0;
      while (spans < options.spansPerRequest) {
        const trace = traceTemplate(shape++, services, CORRELATION_PREFIX + '0'.repeat(CORRELATION_HEX));
        traces.push(trace);
        spans += trace.length;
      }
      return encodeTemplate(traces, options.runId);
    });
  }

  /** Traces generated so far. */
  get tracesMade(): number {
    return this.traceNo;
  }

  /** A fresh request: a copy of the next template with new IDs and times. */
  next(): GeneratedRequest {
    const template = this.templates[this.requestNo++ % this.templates.length]!;
    const bytes = Buffer.from(template.bytes);
    const now = this.nowNs();
    for (const trace of template.traces) {
      const n = ++this.traceNo;
      const high = Math.floor(n / 0x1_0000_0000);
      const low = n >>> 0;
      for (const at of trace.traceIdAt) {
        this.prefix.copy(bytes, at);
        bytes.writeUInt32BE(high, at + 8);
        bytes.writeUInt32BE(low, at + 12);
      }
      // Span IDs are unique within the trace (all a span ID must be): the trace number's low
      // bits, then the span's index (never 0, an invalid ID).
      trace.spanIdAt.forEach((places, index) => {
        for (const at of places) {
          bytes.writeUInt32BE(low, at);
          bytes.writeUInt32BE(index + 1, at + 4);
        }
      });
      const correlation = n.toString(16).padStart(CORRELATION_HEX, '0');
      for (const at of trace.correlationAt) bytes.write(correlation, at, 'latin1');
      const endsAt = now - BigInt(Math.floor(this.random() * this.spreadMs)) * 1_000_000n;
      const start = endsAt - trace.durationNs;
      for (const time of trace.times) bytes.writeBigUInt64LE(start + time.offsetNs, time.at);
    }
    return { bytes, spans: template.spans, traces: template.traces.length };
  }
}

/** Random bytes that stand where a value will be written; found again after encoding. */
const marker = (length: number): Buffer => randomBytes(length);

function encodeTemplate(traces: SpanSpec[][], runId: string): Template {
  interface Marked {
    traceId: Buffer;
    /** The correlation ID's text as bytes ('req-' and 16 random hex digits). */
    correlation: Buffer;
    spanIds: Buffer[];
    times: Array<{ marker: Buffer; offsetNs: bigint }>;
    durationNs: bigint;
  }
  const marked: Marked[] = [];
  // Spans grouped by service: one ResourceSpans per service, as one process would send them.
  const byService = new Map<string, Message[]>();
  for (const trace of traces) {
    const traceId = marker(16);
    const correlationText = CORRELATION_PREFIX + marker(CORRELATION_HEX / 2).toString('hex');
    const correlation = Buffer.from(correlationText, 'latin1');
    const spanIds = trace.map(() => marker(8));
    const times: Marked['times'] = [];
    const time = (offsetNs: bigint) => {
      const place = marker(8);
      times.push({ marker: place, offsetNs });
      return place;
    };
    trace.forEach((spec, i) => {
      const span = new Message().bytes(1, traceId).bytes(2, spanIds[i]!);
      if (spec.parent >= 0) span.bytes(4, spanIds[spec.parent]!);
      span.bytes(5, spec.name).uint(6, spec.kind);
      span.fixed64(7, time(spec.startNs)).fixed64(8, time(spec.startNs + spec.durationNs));
      for (const [key, value] of Object.entries(spec.attributes)) {
        span.bytes(9, keyValue(key, key === 'flowtrace.correlation_id' ? correlationText : value));
      }
      if (spec.error) {
        if (spec.error.type !== '') {
          const event = new Message()
            .fixed64(1, time(spec.startNs + spec.durationNs - 1000n))
            .bytes(2, 'exception')
            .bytes(3, keyValue('exception.type', spec.error.type))
            .bytes(3, keyValue('exception.message', spec.error.message));
          span.bytes(11, event);
        }
        span.bytes(15, new Message().bytes(2, spec.error.message).uint(3, 2)); // Status: message, STATUS_CODE_ERROR
      }
      let list = byService.get(spec.service);
      if (!list) byService.set(spec.service, (list = []));
      list.push(span);
    });
    const durationNs = trace.reduce((max, s) => (s.startNs + s.durationNs > max ? s.startNs + s.durationNs : max), 0n);
    marked.push({ traceId, correlation, spanIds, times, durationNs });
  }
  const request = new Message();
  for (const [service, spans] of byService) {
    const resource = new Message()
      .bytes(1, keyValue('service.name', service))
      .bytes(1, keyValue('service.version', '2.3.1'))
      .bytes(1, keyValue('deployment.environment.name', 'bench'))
      .bytes(1, keyValue('host.name', `${service}-1`))
      .bytes(1, keyValue('telemetry.sdk.language', 'nodejs'))
      .bytes(1, keyValue('telemetry.sdk.name', 'opentelemetry'))
      .bytes(1, keyValue('process.runtime.name', 'nodejs'))
      .bytes(1, keyValue(RUN_ATTRIBUTE, runId));
    const scope = new Message().bytes(1, new Message().bytes(1, SCOPE.name).bytes(2, SCOPE.version));
    for (const span of spans) scope.bytes(2, span);
    request.bytes(1, new Message().bytes(1, resource).bytes(2, scope));
  }
  const bytes = request.finish();
  const places = markerPlaces(bytes, marked.flatMap((m) => [m.traceId, m.correlation, ...m.spanIds, ...m.times.map((t) => t.marker)]));
  const find = (needle: Buffer): number[] => places.get(needle) ?? [];
  const one = (needle: Buffer): number => {
    const found = find(needle);
    if (found.length !== 1) throw new Error(`load generator: a time marker occurs ${found.length} times`);
    return found[0]!;
  };
  return {
    bytes,
    spans: traces.reduce((n, t) => n + t.length, 0),
    traces: marked.map((m) => ({
      traceIdAt: find(m.traceId),
      correlationAt: find(m.correlation).map((at) => at + CORRELATION_PREFIX.length),
      spanIdAt: m.spanIds.map(find),
      times: m.times.map((t) => ({ at: one(t.marker), offsetNs: t.offsetNs })),
      durationNs: m.durationNs,
    })),
  };
}

/**
 * Every place each marker occurs in `bytes`, in one pass: candidates are looked up by the
 * 4 bytes at each position, then compared in full (a chance match of 4 bytes is rejected there).
 */
function markerPlaces(bytes: Buffer, markers: Buffer[]): Map<Buffer, number[]> {
  const byHead = new Map<number, Buffer[]>();
  for (const m of markers) {
    const head = m.readUInt32LE(0);
    const list = byHead.get(head);
    if (list) list.push(m);
    else byHead.set(head, [m]);
  }
  const places = new Map<Buffer, number[]>();
  for (let at = 0; at + 8 <= bytes.length; at++) {
    const candidates = byHead.get(bytes.readUInt32LE(at));
    if (!candidates) continue;
    for (const m of candidates) {
      if (at + m.length > bytes.length || bytes.compare(m, 0, m.length, at, at + m.length) !== 0) continue;
      const list = places.get(m);
      if (list) list.push(at);
      else places.set(m, [at]);
    }
  }
  return places;
}
