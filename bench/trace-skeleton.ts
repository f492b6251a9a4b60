/**
 * `npx tsx bench/trace-skeleton.ts`: the two-step trace load's first step on the real collector.
 * Sends method-level traces of 10,000 and 100,000 spans over OTLP/HTTP (the shape of
 * dashboard/src/trace/model's generator: services, method trees, N+1 loops), waits until stored,
 * then measures `GET /api/traces/:id/skeleton` (median of 5 after a warm-up: time to the last
 * byte, bytes) and, for comparison, one `GET /api/traces/:id` (every span in full).
 * Build first (`npx tsc -p tsconfig.build.json`). Writes bench/results/trace-skeleton.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { methodLevelTrace } from '../dashboard/src/trace/model/skeleton.testing.js';
import { cleanup, startCollector, waitFor } from '../test/helpers/collector.js';
import { postTraces } from '../test/helpers/otlp-send.js';

const BATCH = 2_000;
const SIZES = [10_000, 100_000];

/** The generator's skeleton as OTLP/JSON requests of BATCH spans, with a few attributes per span. */
function* requests(traceId: string, size: number): Generator<string> {
  const s = methodLevelTrace(size, 42);
  const t0 = BigInt(Date.now() - 120_000) * 1_000_000n;
  for (let from = 0; from < s.spanId.length; from += BATCH) {
    const byService = new Map<string, unknown[]>();
    for (let i = from; i < Math.min(from + BATCH, s.spanId.length); i++) {
      const service = s.services[s.service[i]!]!;
      const name = s.names[s.name[i]!]!;
      const start = t0 + BigInt(s.start[i]!);
      const attributes = [{ key: 'flowtrace.correlation_id', value: { stringValue: 'bench-req' } }];
      if (s.flags[i]! & 1) attributes.push({ key: 'code.function.name', value: { stringValue: name.split('.')[1]! } }, { key: 'code.namespace', value: { stringValue: `com.example.${name.split('.')[0]}` } });
      else if (name.startsWith('SELECT')) attributes.push({ key: 'db.system.name', value: { stringValue: 'postgresql' } }, { key: 'db.query.text', value: { stringValue: name } });
      const list = byService.get(service) ?? [];
      byService.set(service, list);
      list.push({
        traceId,
        spanId: s.spanId[i],
        parentSpanId: s.parent[i]! >= 0 ? s.spanId[s.parent[i]!] : '',
        name,
        kind: s.kind[i],
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + BigInt(s.duration[i]!)).toString(),
        attributes,
        status: { code: s.status[i] },
      });
    }
    yield JSON.stringify({
      resourceSpans: [...byService].map(([service, spans]) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] })),
    });
  }
}

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const bytes = (await res.arrayBuffer()).byteLength;
  return { ms: performance.now() - t0, bytes, status: res.status };
}

const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);

const c = await startCollector();
const results: Record<string, unknown> = {};
try {
  for (const size of SIZES) {
    const traceId = size.toString(16).padStart(32, '0');
    for (const body of requests(traceId, size)) {
      const outcome = await postTraces(c.httpEndpoint, body, 'application/json');
      if (outcome.status !== 200 || outcome.rejected !== 0) throw new Error(`export refused: ${JSON.stringify(outcome)}`);
    }
    const skeletonUrl = `${c.apiUrl}/api/traces/${traceId}/skeleton`;
    await waitFor(async () => {
      const res = await fetch(skeletonUrl);
      return res.status === 200 && ((await res.json()) as { spanCount: number }).spanCount === size ? true : undefined;
    }, `${size} spans stored`, 300_000);
    await timed(skeletonUrl);
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await timed(skeletonUrl));
    const full = await timed(`${c.apiUrl}/api/traces/${traceId}`);
    results[`spans${size}`] = {
      skeleton: { msMedian: median(runs.map((r) => r.ms)), bytes: runs[0]!.bytes, bytesPerSpan: +(runs[0]!.bytes / size).toFixed(1) },
      fullTrace: { ms: +full.ms.toFixed(1), bytes: full.bytes, status: full.status },
    };
    console.log(size, JSON.stringify(results[`spans${size}`]));
  }
} finally {
  await c.stop();
  await cleanup();
}
const result = {
  benchmark: 'trace-skeleton',
  command: 'npx tsc -p tsconfig.build.json && npx tsx bench/trace-skeleton.ts',
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
  ...results,
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'trace-skeleton.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
