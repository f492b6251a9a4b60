/**
 * Assertions evaluated by the real embedded engine over hand-built traces with known answers:
 * each expectation kind passing and failing, the run scope, evidence naming the traces, errors
 * naming the query and column, and a read scope that hides a service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { TraceStore } from '../trace-store.js';
import { AssertQueryError, evaluateAssertions } from './evaluate.js';
import type { AssertionSpec, AssertRequest } from './spec.js';

const DB = 'assert_test';
const TABLE = `\`${DB}\`.\`otel_traces\``;
const dataDir = mkdtempSync(join(tmpdir(), 'ft-assert-'));
let clients: ClickHouseClients;
const BASE_NS = 1_800_000_000_000_000_000n;
const MS = 1_000_000n;

interface Row {
  trace: number;
  span: number;
  parent?: number;
  name: string;
  service: string;
  kind?: string;
  status?: string;
  startMs: number;
  durationMs: number;
  attrs?: Record<string, string>;
  run: string;
}

const isoNs = (ns: bigint) => `${new Date(Number(ns / MS)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
const traceId = (n: number) => n.toString(16).padStart(32, '0');
const spanId = (t: number, s: number) => (t * 100 + s).toString(16).padStart(16, '0');

/**
 * Run r1: T1 GET /checkout ok → OrderService.list 20 ms; T2 GET /checkout → OrderService.list
 * 80 ms, failed; T3 GET /orders with six identical SELECTs under it (an N+1).
 * Run r2: T4 GET /checkout failed (another run: the scope must leave it out).
 */
const ROWS: Row[] = [
  { trace: 1, span: 1, name: 'GET /checkout', service: 'shop', kind: 'Server', startMs: 0, durationMs: 30, run: 'r1' },
  { trace: 1, span: 2, parent: 1, name: 'OrderService.list', service: 'orders', startMs: 1, durationMs: 20, run: 'r1' },
  { trace: 2, span: 1, name: 'GET /checkout', service: 'shop', kind: 'Server', startMs: 100, durationMs: 90, run: 'r1' },
  { trace: 2, span: 2, parent: 1, name: 'OrderService.list', service: 'orders', status: 'Error', startMs: 101, durationMs: 80, run: 'r1' },
  { trace: 3, span: 1, name: 'GET /orders', service: 'shop', kind: 'Server', startMs: 200, durationMs: 70, run: 'r1' },
  ...[2, 3, 4, 5, 6, 7].map((s) => ({
    trace: 3,
    span: s,
    parent: 1,
    name: 'SELECT items',
    service: 'shop',
    kind: 'Client',
    startMs: 200 + s * 10,
    durationMs: 5,
    attrs: { 'db.system': 'postgresql', 'db.statement': `SELECT * FROM items WHERE id = ${s}` },
    run: 'r1',
  })),
  { trace: 4, span: 1, name: 'GET /checkout', service: 'shop', kind: 'Server', status: 'Error', startMs: 300, durationMs: 10, run: 'r2' },
];

beforeAll(async () => {
  const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  const values = ROWS.map((r) => ({
    Timestamp: isoNs(BASE_NS + BigInt(r.startMs) * MS),
    TraceId: traceId(r.trace),
    SpanId: spanId(r.trace, r.span),
    ParentSpanId: r.parent ? spanId(r.trace, r.parent) : '',
    SpanName: r.name,
    SpanKind: r.kind ?? 'Internal',
    ServiceName: r.service,
    ResourceAttributes: { 'service.name': r.service, 'ci.run.id': r.run },
    SpanAttributes: r.attrs ?? {},
    Duration: (BigInt(r.durationMs) * MS).toString(),
    StatusCode: r.status ?? 'Unset',
  }));
  await clients.writer.insert({ table: `${DB}.otel_traces`, values, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
}, 120_000);
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function evaluate(assertions: AssertionSpec[], scope?: string, table = TABLE) {
  const store = new TraceStore(clients.reader, { traces: table, traceIds: `\`${DB}\`.\`otel_traces_trace_id_ts\`` });
  const request: AssertRequest = { assertions, ...(scope ? { scope } : {}) };
  return evaluateAssertions(request, {
    client: clients.reader,
    table,
    startNs: BASE_NS,
    endNs: BASE_NS + 10_000n * MS,
    readTrace: (id) => store.getTrace(id),
  });
}

const RUN = 'resource.ci.run.id = "r1"';
const ms = (n: number) => String(BigInt(n) * MS);

describe('assertions over the real engine', () => {
  it('none: passes when no trace matches, fails naming the matching traces', async () => {
    const answer = await evaluate(
      [
        { name: 'checkout never fails', select: '{ name = "GET /checkout" } AND { status = error }', expect: { kind: 'none' } },
        { name: 'no pay spans', select: 'service = pay', expect: { kind: 'none' } },
      ],
      RUN,
    );
    const [failing, passing] = answer.results;
    expect(failing).toMatchObject({ passed: false, matchedTraces: 1, observed: '1 trace matches' });
    expect(failing!.evidence.map((e) => e.traceId)).toEqual([traceId(2)]);
    expect(failing!.evidence[0]).toMatchObject({ root: 'shop: GET /checkout', errorCount: 1 });
    expect(passing).toMatchObject({ passed: true, matchedTraces: 0, evidence: [] });
    // The run's traces only: T4 (run r2) is out of scope.
    expect(answer.scope).toEqual({ traces: 3, spans: 11 });
  });

  it('the scope leaves other runs out; without it every trace of the window counts', async () => {
    const select = '{ name = "GET /checkout" AND status = error }';
    expect((await evaluate([{ name: 'a', select, expect: { kind: 'none' } }], RUN)).results[0]!.matchedTraces).toBe(0);
    const all = await evaluate([{ name: 'a', select, expect: { kind: 'none' } }]);
    expect(all.results[0]).toMatchObject({ passed: false, matchedTraces: 1 });
    expect(all.results[0]!.evidence[0]!.traceId).toBe(traceId(4));
    expect(all.scope).toEqual({ traces: 4, spans: 12 });
  });

  it('count compares the number of matching traces', async () => {
    const answer = await evaluate(
      [
        { name: 'two checkouts', select: 'name = "GET /checkout"', expect: { kind: 'count', op: '=', value: 2 } },
        { name: 'at least three', select: 'name = "GET /checkout"', expect: { kind: 'count', op: '>=', value: 3 } },
      ],
      RUN,
    );
    expect(answer.results.map((r) => r.passed)).toEqual([true, false]);
    expect(answer.results[1]!.observed).toBe('2 traces match');
  });

  it('every: each matching trace must match the condition too, and at least one must match', async () => {
    const answer = await evaluate(
      [
        { name: 'checkout has no error span', select: '{ name = "GET /checkout" }', expect: { kind: 'every', query: 'NOT { status = error }' } },
        { name: 'orders call the database', select: '{ name = "GET /orders" }', expect: { kind: 'every', query: '{ name = "GET /orders" } > { span.db.system = postgresql }' } },
        { name: 'nothing to check', select: '{ name = "GET /nowhere" }', expect: { kind: 'every', query: 'trace.status = ok' } },
      ],
      RUN,
    );
    expect(answer.results[0]).toMatchObject({ passed: false, observed: '1 of 2 matching traces do not' });
    expect(answer.results[0]!.evidence.map((e) => e.traceId)).toEqual([traceId(2)]);
    expect(answer.results[1]).toMatchObject({ passed: true, observed: '0 of 1 matching traces do not' });
    expect(answer.results[2]).toMatchObject({ passed: false, matchedTraces: 0 });
  });

  it('duration quantiles and max are exact over the selected spans, evidence names the slowest spans', async () => {
    const list = '{ name = "OrderService.list" }';
    const answer = await evaluate(
      [
        { name: 'list p99 < 50 ms', select: list, expect: { kind: 'duration', stat: 'p99', op: '<', boundNano: ms(50) } },
        { name: 'list p50 <= 50 ms', select: list, expect: { kind: 'duration', stat: 'p50', op: '<=', boundNano: ms(50) } },
        { name: 'list max <= 80 ms', select: list, expect: { kind: 'duration', stat: 'max', op: '<=', boundNano: ms(80) } },
        { name: 'list of ok checkouts', select: `${list} AND trace.status = ok`, expect: { kind: 'duration', stat: 'max', op: '<', boundNano: ms(21) } },
      ],
      RUN,
    );
    expect(answer.results.map((r) => r.passed)).toEqual([false, true, true, true]);
    // Interpolated between the two nearest durations (20 and 80 ms).
    expect(answer.results[0]!.observed).toBe('p99 = 79.4ms over 2 spans');
    // Evidence: only the spans at or over the bound (the 20 ms one is not).
    expect(answer.results[0]!.evidence.map((e) => e.traceId)).toEqual([traceId(2)]);
    expect(answer.results[0]!.evidence[0]!.detail).toContain('OrderService.list took 80ms');
    expect(answer.results[1]!.observed).toBe('p50 = 50ms over 2 spans');
    expect(answer.results[2]!.observed).toBe('max = 80ms over 2 spans');
  });

  it('noInsight runs the insight rules on the matching traces', async () => {
    const answer = await evaluate(
      [
        { name: 'no N+1 on orders', select: '{ name = "GET /orders" }', expect: { kind: 'noInsight', rule: 'n-plus-one' } },
        { name: 'no N+1 on checkout', select: '{ name = "GET /checkout" }', expect: { kind: 'noInsight', rule: 'n-plus-one' } },
      ],
      RUN,
    );
    expect(answer.results[0]).toMatchObject({ passed: false, observed: '1 of 1 traces have a n-plus-one insight' });
    expect(answer.results[0]!.evidence[0]!.traceId).toBe(traceId(3));
    expect(answer.results[0]!.evidence[0]!.detail).toMatch(/6/);
    expect(answer.results[1]).toMatchObject({ passed: true });
  });

  it('a query the grammar refuses names the field and the column, before anything runs', async () => {
    const bad = evaluate([
      { name: 'fine', select: 'service = shop', expect: { kind: 'none' } },
      { name: 'typo', select: 'service = shop AND duration >', expect: { kind: 'none' } },
    ]);
    await expect(bad).rejects.toThrow(AssertQueryError);
    await expect(bad).rejects.toMatchObject({ field: 'assertions[1].select', column: 30 });
    await expect(evaluate([{ name: 'x', select: 'service = shop', expect: { kind: 'every', query: 'status = = error' } }])).rejects.toMatchObject({ field: 'assertions[0].expect.query', column: 10 });
    await expect(evaluate([{ name: 'x', select: 'service = shop', expect: { kind: 'none' } }], 'resource.ci.run.id =')).rejects.toMatchObject({ field: 'scope' });
    // A duration assertion measures one span set.
    await expect(evaluate([{ name: 'x', select: 'service = shop OR service = orders', expect: { kind: 'duration', stat: 'p99', op: '<', boundNano: '1' } }])).rejects.toMatchObject({ field: 'assertions[0].select', column: 1 });
  });

  it('countOnly counts the scope and checks every query, without evaluating (what a waiting client polls)', async () => {
    const store = new TraceStore(clients.reader, { traces: TABLE, traceIds: `\`${DB}\`.\`otel_traces_trace_id_ts\`` });
    const ctx = { client: clients.reader, table: TABLE, startNs: BASE_NS, endNs: BASE_NS + 10_000n * MS, readTrace: (id: string) => store.getTrace(id) };
    const spec: AssertionSpec = { name: 'x', select: 'service = shop', expect: { kind: 'none' } };
    expect(await evaluateAssertions({ assertions: [spec], scope: RUN, countOnly: true }, ctx)).toMatchObject({ results: [], scope: { traces: 3, spans: 11 } });
    await expect(evaluateAssertions({ assertions: [{ ...spec, select: 'service =' }], countOnly: true }, ctx)).rejects.toMatchObject({ field: 'assertions[0].select' });
  });

  it('an invalid re2 regex is refused at its column in the query it came from', async () => {
    await expect(evaluate([{ name: 'x', select: 'service = shop', expect: { kind: 'every', query: 'name =~ "(unclosed"' } }])).rejects.toMatchObject({ field: 'assertions[0].expect.query', column: 9 });
  });

  it('reads through the table it is given (a read scope that hides a service sees none of its spans)', async () => {
    await clients.writer.command({ query: `CREATE VIEW IF NOT EXISTS \`${DB}\`.shop_only AS SELECT * FROM ${TABLE} WHERE ServiceName = 'shop'` });
    const answer = await evaluate([{ name: 'list spans', select: 'name = "OrderService.list"', expect: { kind: 'count', op: '=', value: 0 } }], RUN, `\`${DB}\`.shop_only`);
    expect(answer.results[0]).toMatchObject({ passed: true, matchedTraces: 0 });
  });
});
