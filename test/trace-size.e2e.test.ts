/**
 * The analysis span cap on the real collector: a trace of MAX_ANALYSIS_SPANS + 1 spans is refused
 * with 413 naming its size, which comes from the count read before loading (TraceStore.locate);
 * one at the cap is analysed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANALYSIS_SPANS } from '../collector/src/query/analysis-routes.js';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { randomHex, rawProtobuf, type RawSpan } from './helpers/raw-otlp.js';

/** `n` spans of one trace, a microsecond apart, a minute ago (rawProtobuf writes no parents: the count is what matters). */
function flatTrace(traceId: string, n: number): RawSpan[] {
  const start = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
  const root = { traceId, spanId: '1'.padStart(16, '0'), name: 'root', start, end: start + BigInt(n) * 1000n + 1000n };
  return [root, ...Array.from({ length: n - 1 }, (_, i) => ({ traceId, spanId: (i + 2).toString(16).padStart(16, '0'), name: 'child', start: start + BigInt(i) * 1000n, end: start + BigInt(i) * 1000n + 900n }))];
}

describe('analysis of a trace beyond the span cap', () => {
  let c: RunningCollector;
  const big = randomHex(16);
  const atCap = randomHex(16);

  beforeAll(async () => {
    c = await startCollector();
    for (const [traceId, n] of [[big, MAX_ANALYSIS_SPANS + 1], [atCap, MAX_ANALYSIS_SPANS]] as const) {
      const spans = flatTrace(traceId, n);
      const outcome = await postTraces(c.httpEndpoint, rawProtobuf('big-svc', spans), 'application/x-protobuf');
      expect(outcome).toMatchObject({ status: 200, rejected: 0 });
    }
    // Both tables: an insert makes the spans visible a moment before the trace-ID lookup rows its
    // materialized view writes, and the routes find a trace through the lookup.
    await waitFor(
      async () => {
        const [row] = await sql<{ spans: string; traces: string }>(
          c.apiUrl,
          'SELECT (SELECT count() FROM otel_traces) AS spans, (SELECT uniqExact(TraceId) FROM otel_traces_trace_id_ts) AS traces',
        );
        return Number(row!.spans) === 2 * MAX_ANALYSIS_SPANS + 1 && Number(row!.traces) === 2 ? true : undefined;
      },
      'both traces stored and in the lookup table',
      60_000,
    );
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
    await cleanup();
  });

  it('refuses the oversized trace with 413 and its span count, on every analysis route', async () => {
    for (const route of ['critical-path', 'insights']) {
      const res = await fetch(`${c.apiUrl}/api/traces/${big}/${route}`);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: string }).error).toBe(`trace ${big} has ${MAX_ANALYSIS_SPANS + 1} spans; analysis is limited to ${MAX_ANALYSIS_SPANS} spans per trace`);
    }
  });

  it('analyses a trace at the cap', async () => {
    const res = await fetch(`${c.apiUrl}/api/traces/${atCap}/critical-path?limit=1`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { spanCount: number }).spanCount).toBe(MAX_ANALYSIS_SPANS);
  }, 60_000);
});
