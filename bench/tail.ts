/**
 * `npx tsx bench/tail.ts`: what the live tail's tap (collector/src/query/tail/) costs the ingest
 * path. A batch of 2,048 spans (≈12 attributes each) goes through a TailTap in front of a stage
 * that accepts at once, with 0, 1 and 16 clients listening (all matching, the worst case; a
 * client filtering on another service, the common one), without the hub's encodings-per-second
 * cap (which bounds the total: DEFAULT_MAX_SPANS_PER_SECOND × ns/span). Prints nanoseconds per
 * span and encodings per span published, and writes bench/results/tail.json. The tap with no
 * client is one property read per batch: its figure is the bare pipeline's.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { Resource, Span } from '../collector/src/model/span.js';
import { testSpan } from '../collector/src/model/span.testing.js';
import { TailHub } from '../collector/src/query/tail/tail-hub.js';
import type { TailFilter } from '../collector/src/query/tail/tail-line.js';
import { TailTap } from '../collector/src/query/tail/tail-tap.js';

const BATCH = 2048;
const ROUNDS = 400;
const resource: Resource = { attributes: { 'service.name': 'orders', 'host.name': 'h1' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'orders' };
const scope = { name: 'bench', version: '1', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const spans: Span[] = Array.from({ length: BATCH }, (_, i) =>
  testSpan({
    resource,
    scope,
    traceId: (i >> 4).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: `OrderService.method${i % 20}`,
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i) * 1000n,
    endTimeUnixNano: 1_700_000_000_000_500_000n + BigInt(i) * 1000n,
    attributes: Object.fromEntries(Array.from({ length: 12 }, (_, k) => [`attr.key${k}`, `value-${k}-${i}`])),
  }),
);
const accept = { consume: () => Promise.resolve() };
const ALL: TailFilter = { minDurationNs: 0n, errorsOnly: false, rules: {} };

async function measure(label: string, clients: number, filter: TailFilter): Promise<{ label: string; clients: number; nsPerSpan: number; encodedPerSpan: number }> {
  const hub = new TailHub({ maxClients: 64, queueSpans: BATCH, maxSpansPerSecond: Number.MAX_SAFE_INTEGER });
  const subscribers = Array.from({ length: clients }, () => hub.subscribe(filter, () => {}));
  const tap = new TailTap(hub, accept);
  for (let i = 0; i < 20; i++) {
    await tap.consume(spans); // warm-up
    for (const s of subscribers) s.take();
  }
  hub.encodedLines = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) {
    await tap.consume(spans);
    for (const s of subscribers) s.take(); // a client keeping up
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { label, clients, nsPerSpan: Math.round((ns / (ROUNDS * BATCH)) * 10) / 10, encodedPerSpan: hub.encodedLines / (ROUNDS * BATCH) };
}

const results = [
  await measure('no client', 0, ALL),
  await measure('1 client, all spans', 1, ALL),
  await measure('16 clients, all spans', 16, ALL),
  await measure('16 clients, another service', 16, { ...ALL, service: 'payments' }),
];
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, Node ${process.version}`;
console.log(`bench/tail.ts on ${machine}: ${BATCH}-span batches × ${ROUNDS}`);
for (const r of results) console.log(`  ${r.label.padEnd(30)} ${String(r.nsPerSpan).padStart(8)} ns/span   ${r.encodedPerSpan} encodings/span`);
const out = resolve(import.meta.dirname, 'results', 'tail.json');
writeFileSync(out, JSON.stringify({ command: 'npx tsx bench/tail.ts', machine, batch: BATCH, rounds: ROUNDS, results }, null, 2) + '\n');
console.log(`wrote ${join('bench', 'results', 'tail.json')}`);
