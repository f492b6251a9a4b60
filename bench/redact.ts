/**
 * `npm run bench:redact`: spans per second through the redact processor on one core, with the
 * default detectors and key rules, on realistic spans (≈15 attributes: HTTP, URLs, user agents,
 * method arguments as JSON; 1 span in 10 carries an e-mail, a card, a token or a password, 1 in
 * 30 an exception event). Spans come from the OTel SDK through the collector's own protobuf
 * decoder, so that they are shaped (shared resources, attribute kinds) as in production; each
 * round redacts a freshly decoded batch. Also measures the payment-card detector's false-positive
 * rate on 10,000 random IDs of each shape in agents/conformance/masking/cards.json. Writes
 * bench/results/redact.json.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Span } from '../collector/src/model/span.js';
import { RecordedDrops } from '../collector/src/pipeline/drops.testing.js';
import type { ProcessorContext } from '../collector/src/processors/processor.js';
import { loadCardCases, randomIds, randomValue } from '../collector/src/processors/redact/cards-conformance.testing.js';
import { redactConfigSchema } from '../collector/src/processors/redact/config.js';
import { RedactProcessor } from '../collector/src/processors/redact/redact.js';
import { Redactor, type Tally } from '../collector/src/processors/redact/redactor.js';
import { decodeTraceRequest } from '../collector/src/receivers/otlp/proto-decoder.js';

const BATCH = 2048;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '2.3.1', 'deployment.environment': 'bench', 'host.name': 'host-1', 'process.pid': 1234 }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer('bench', '1.0.0');
let sensitive = 0;
for (let t = 0, made = 0; made < BATCH; t++) {
  const size = Math.min(5 + ((t * 13) % 16), BATCH - made);
  const root = tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 1; i < size; i++) {
    const n = made + i;
    const pii = n % 10 === 3;
    if (pii) sensitive++;
    const span = tracer.startSpan(
      `OrderService.step${i}`,
      {
        attributes: {
          'http.request.method': i % 3 === 0 ? 'POST' : 'GET',
          'http.route': '/api/orders/:id',
          'url.full': `https://shop.example.com/api/orders/${t}?expand=items&page=${i}${pii ? `&email=jane.doe${t}%40example.com` : ''}`,
          'url.path': `/api/orders/${t}`,
          'http.response.status_code': 200,
          'server.address': 'orders.internal',
          'server.port': 8080,
          'user_agent.original': UA,
          'client.address': `10.1.${t % 256}.${i}`,
          'code.function.name': `step${i}`,
          'code.namespace': 'com.example.orders.OrderService',
          'code.line.number': 100 + i,
          'flowtrace.args.0': pii
            ? JSON.stringify({ customer: `jane.doe${t}@example.com`, card: '4111 1111 1111 1111', amount: 129.99 })
            : JSON.stringify({ id: t, expand: ['items'], requestedAt: 1732982400000 + n }),
          'flowtrace.return': `{"items":${i},"total":"${(i * 12.5).toFixed(2)}"}`,
          'flowtrace.correlation_id': `req-${t.toString(16).padStart(8, '0')}-4e1c-9b7a-${n}`,
          ...(pii ? { 'http.request.header.authorization': `Bearer tok_${t}abcdef0123456789` } : {}),
        },
      },
      ctx,
    );
    if (n % 30 === 7) {
      span.recordException({ name: 'PaymentError', message: `card declined for user ${t}`, stack: `PaymentError: card declined\n    at charge (/srv/app/pay.js:10:5)\n    at OrderService.step${i} (/srv/app/orders.js:42:7)` });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    }
    span.end();
  }
  root.end();
  made += size;
}
const proto = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!;
const fresh = (): Span[] => decodeTraceRequest(proto).spans;

function processor(config: unknown): RedactProcessor {
  const ctx = { logger: pino({ level: 'silent' }), registry: new Registry(), drops: new RecordedDrops() } as unknown as ProcessorContext;
  return new RedactProcessor(redactConfigSchema.parse(config), { consume: async () => {} }, ctx);
}

/** Median spans/s over `rounds` timed batches (after a warm-up), each batch freshly decoded. */
async function spansPerSecond(config: unknown, rounds = 41): Promise<number> {
  const p = processor(config);
  for (let i = 0; i < 20; i++) await p.consume(fresh());
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const spans = fresh();
    const t0 = performance.now();
    await p.consume(spans);
    rates.push(spans.length / ((performance.now() - t0) / 1000));
  }
  return Math.round(rates.sort((a, b) => a - b)[Math.floor(rounds / 2)]!);
}

/** Per random-ID shape of the shared card cases: the fraction masked by the default redactor (key rules off). */
function cardFalsePositiveRates(): Record<string, { key: string; type: string; rate: number; bound: number }> {
  const cases = loadCardCases();
  const redactor = new Redactor(redactConfigSchema.parse({ keys: { deny: [], allow: [] } }));
  const none: Tally = { record() {} };
  const rates: Record<string, { key: string; type: string; rate: number; bound: number }> = {};
  for (const shape of cases.random) {
    let masked = 0;
    for (const id of randomIds(shape, cases.count_per_random_shape)) {
      const value = randomValue(shape, id);
      if (redactor.planAttributes({ [shape.key]: value }, shape.type === 'int' ? { [shape.key]: 'int' } : undefined, '', none)) masked++;
    }
    rates[shape.shape] = { key: shape.key, type: shape.type, rate: masked / cases.count_per_random_shape, bound: shape.max_rate };
  }
  return rates;
}

// Check the mix does what it says before timing it.
const sample = fresh();
await processor({}).consume(sample);
const redactedSpans = sample.filter((s) => s.attributes['flowtrace.redacted'] !== undefined).length;

const defaults = await spansPerSecond({});
const result = {
  benchmark: 'redact',
  date: new Date().toISOString(),
  node: process.version,
  spansPerBatch: sample.length,
  attributesPerSpan: Math.round(sample.reduce((n, s) => n + Object.keys(s.attributes).length, 0) / sample.length),
  spansWithPersonalData: sensitive,
  spansRedacted: redactedSpans,
  spansPerSecond: {
    defaults,
    ipDetectorOn: await spansPerSecond({ detectors: { ip: { enabled: true } } }),
    hashInsteadOfMask: await spansPerSecond({ hash_key: 'bench-key-0123456789abcdef', detectors: { email: { action: 'hash' }, credit_card: { action: 'hash' } }, keys: { action: 'hash' } }),
    disabled: await spansPerSecond({ enabled: false }),
  },
  microsecondsPerSpan: +(1e6 / defaults).toFixed(2),
  cardFalsePositiveRates: cardFalsePositiveRates(),
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'redact.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
