/**
 * Issue 15, "storage that holds up": retention rules and the disk budget against a real
 * collector. Spans go in over OTLP/HTTP (protobuf and JSON) and are refused or kept by the
 * first rule they match; the disk budget drops old days, keeps today, and says so in /metrics
 * and the drop ledger.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '../collector/src/model/span.js';
import type { CollectorStatus } from '../collector/src/query/status-routes.js';
import type { DropsAnswer } from '../collector/src/query/drops-routes.js';
import { encodeTraceRequest } from '../exporters/otlp/encoder.js';
import { cleanup, getJson, sql, startCollector, waitFor } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { randomHex } from './helpers/raw-otlp.js';

afterAll(cleanup);

const DAY = 86_400_000_000_000n;

interface Wanted {
  name: string;
  service: string;
  ageDays: number;
  kind?: number;
  status?: number;
  method?: boolean;
}

/** Internal spans, encoded by FlowTrace's own OTLP encoder (protobuf), one trace. */
function spansOf(traceId: string, wanted: Wanted[]): Span[] {
  const now = BigInt(Date.now()) * 1_000_000n;
  const resources = new Map<string, Span['resource']>();
  return wanted.map((w): Span => {
    let resource = resources.get(w.service);
    if (!resource) resources.set(w.service, (resource = { attributes: { 'service.name': w.service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: w.service }));
    const start = now - BigInt(Math.round(w.ageDays * 1000)) * (DAY / 1000n);
    return {
      resource,
      scope: { name: 'retention.e2e', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
      traceId,
      spanId: randomHex(8),
      parentSpanId: '',
      traceState: '',
      flags: 0,
      name: w.name,
      kind: w.kind ?? 2,
      startTimeUnixNano: start,
      endTimeUnixNano: start + 1_000_000n,
      attributes: w.method ? { 'code.function.name': 'Orders.load' } : {},
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      statusCode: w.status ?? 0,
      statusMessage: '',
    };
  });
}

/** The same spans as OTLP/JSON. */
function asJson(spans: Span[]): string {
  return JSON.stringify({
    resourceSpans: spans.map((s) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s.resource.serviceName } }] },
      scopeSpans: [
        {
          scope: { name: s.scope.name },
          spans: [
            {
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: s.startTimeUnixNano.toString(),
              endTimeUnixNano: s.endTimeUnixNano.toString(),
              attributes: Object.entries(s.attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
              status: { code: s.statusCode },
            },
          ],
        },
      ],
    })),
  });
}

describe('retention rules', () => {
  it('accepts or refuses each span by the first rule it matches, names the rule, and reports the rules in /api/status', async () => {
    const collector = await startCollector({
      config: `storage:
  retention_days: 7
  retention_rules:
    - { name: errors, match: { status: error }, days: 30 }
    - { name: x-methods, match: { service: x, method_spans: true }, days: 2 }
pipeline: { processors: [] }
`,
    });
    const wanted: Wanted[] = [
      { name: 'error-20d', service: 'shop', ageDays: 20, status: 2 },
      { name: 'error-31d', service: 'shop', ageDays: 31, status: 2 },
      { name: 'plain-6d', service: 'shop', ageDays: 6 },
      { name: 'plain-8d', service: 'shop', ageDays: 8 },
      { name: 'x-method-1d', service: 'x', ageDays: 1, kind: 1, method: true },
      { name: 'x-method-3d', service: 'x', ageDays: 3, kind: 1, method: true },
      { name: 'x-server-3d', service: 'x', ageDays: 3 },
    ];
    const kept = ['error-20d', 'plain-6d', 'x-method-1d', 'x-server-3d'];
    for (const [transport, send] of [
      ['protobuf', (spans: Span[]) => postTraces(collector.httpEndpoint, encodeTraceRequest(spans), 'application/x-protobuf')],
      ['json', (spans: Span[]) => postTraces(collector.httpEndpoint, asJson(spans), 'application/json')],
    ] as const) {
      const traceId = randomHex(16);
      const outcome = await send(spansOf(traceId, wanted));
      expect(outcome.status, transport).toBe(200);
      expect(outcome.rejected, transport).toBe(3);
      expect(outcome.message, transport).toMatch(/^1 span older than retention rule 'errors' \(30 days\) less a 1 h margin \(started before .*Z\): the store would delete them before they were stored; /);
      expect(outcome.message, transport).toContain('1 span older than retention_days=7 less a 1 h margin');
      expect(outcome.message, transport).toContain("1 span older than retention rule 'x-methods' (2 days) less a 1 h margin");
      const stored = await waitFor(async () => {
        const rows = await sql<{ SpanName: string }>(collector.apiUrl, `SELECT SpanName FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY SpanName`);
        return rows.length >= kept.length ? rows.map((r) => r.SpanName) : undefined;
      }, `the kept spans of ${transport}`);
      expect(stored, transport).toEqual(kept);
    }
    const status = await getJson<CollectorStatus>(`${collector.apiUrl}/api/status`);
    expect(status!.storage.retentionDays).toBe(7);
    expect(status!.storage.retentionRules).toEqual([
      { name: 'errors', match: 'status=error', days: 30 },
      { name: 'x-methods', match: 'service=x, method spans', days: 2 },
    ]);
    expect(status!.storage.maxDiskGb).toBeNull();
    expect(await collector.stop()).toBe(0);
  });
});

describe('disk budget', () => {
  it('drops the oldest days to fit storage.max_disk_gb, keeps today, and counts it in /metrics and the drop ledger', async () => {
    const collector = await startCollector({
      config: `storage:
  retention_days: 30
  max_disk_gb: 0.000001      # 1,000 bytes: today alone is over it
  disk_check_interval_seconds: 1
pipeline: { processors: [] }
`,
    });
    const traceId = randomHex(16);
    const oldTraceId = randomHex(16); // all its spans three days old: gone with its day
    const ages = [3, 2, 1, 0];
    const spans = [
      ...spansOf(traceId, ages.flatMap((age) => Array.from({ length: 5 }, (_, i) => ({ name: `age-${age}-${i}`, service: 'budget', ageDays: age })))),
      ...spansOf(oldTraceId, [{ name: 'old', service: 'budget', ageDays: 3 }]),
    ];
    const outcome = await postTraces(collector.httpEndpoint, encodeTraceRequest(spans), 'application/x-protobuf');
    expect(outcome).toMatchObject({ status: 200, rejected: 0 });
    // The check runs every second: wait until the old days are gone (bounded; no timing assumed).
    const left = await waitFor(async () => {
      const rows = await sql<{ today: number; n: string }>(collector.apiUrl, `SELECT toDate(Timestamp) = today() AS today, count() AS n FROM otel_traces WHERE TraceId = '${traceId}' GROUP BY today`);
      return rows.length === 1 && Number(rows[0]!.today) === 1 ? rows : undefined;
    }, 'only today\'s spans left');
    expect(Number(left[0]!.n)).toBe(5);
    const metrics = await (await fetch(`${collector.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^flowtrace_storage_budget_dropped_partitions_total\{table="otel_traces"\} 3$/m);
    expect(metrics).toMatch(/^flowtrace_storage_budget_exceeded 1$/m);
    expect(metrics).toMatch(/^flowtrace_storage_bytes\{table="otel_traces"\} \d+$/m);
    expect(metrics).toMatch(/^flowtrace_spans_dropped_by_stage_total\{stage="storage",reason="disk_budget",service="budget"\} 16$/m);
    // The trace-ID lookup keeps its rows (not partitioned by day): reads still answer right.
    const partial = await getJson<{ spans: Array<{ name: string }> }>(`${collector.apiUrl}/api/traces/${traceId}`);
    expect(partial!.spans.map((s) => s.name).sort()).toEqual(['age-0-0', 'age-0-1', 'age-0-2', 'age-0-3', 'age-0-4']);
    expect(await getJson(`${collector.apiUrl}/api/traces/${oldTraceId}`)).toBeUndefined();
    const drops = await waitFor(async () => {
      const answer = await getJson<DropsAnswer>(`${collector.apiUrl}/api/drops?since=1h`);
      return answer?.drops.find((d) => d.stage === 'storage' && d.reason === 'disk_budget');
    }, 'the disk budget in the drop ledger');
    expect(drops).toMatchObject({ service: 'budget', droppedSpans: 16 });
    expect(collector.logs.join('\n')).toContain("today's spans and logs, with the tables not partitioned by day, alone exceed storage.max_disk_gb");
    expect(await collector.stop()).toBe(0);
  });
});
