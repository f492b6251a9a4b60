/**
 * Issue 15's attribute storage end to end, on the real collector and its embedded store, through
 * real OTLP requests: a 100 KiB attribute value is stored truncated (marker, original length),
 * counted in the drop ledger and read back; a search by a hot attribute is answered from its own
 * column, which user SQL sees through the read scope's views.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyAttributes, encodeProtobuf, handResource, handSpan } from '../collector/src/receivers/otlp/otlp-fixtures.js';
import { cleanup, getJson, sql, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest } from './helpers/otlp-json.js';
import { grpcTraces, postTraces } from './helpers/otlp-send.js';

const BIG = 100 * 1024;
const LIMIT = 64 * 1024;
const MS = 1_000_000n;
const T0 = BigInt(Date.now() - 30_000) * MS;
const JSON_TRACE = '7a11ce00000000000000000000000001';
const GRPC_TRACE = '7a11ce00000000000000000000000002';
const PLAIN_TRACE = '7a11ce00000000000000000000000003';

interface SpanAnswer {
  traceId: string;
  spans: Array<{ name: string; attributes: Record<string, unknown>; resource: { attributes: Record<string, unknown> }; events: Array<{ attributes: Record<string, unknown> }> }>;
}

function jsonRequest(): OtlpRequest {
  const span = (traceId: string, spanId: string, route: string, attributes: OtlpRequest['resourceSpans'][number]['scopeSpans'][number]['spans'][number]['attributes'] = []) => ({
    traceId,
    spanId,
    name: `GET ${route}`,
    kind: 2,
    startTimeUnixNano: String(T0),
    endTimeUnixNano: String(T0 + 5n * MS),
    attributes: [{ key: 'http.route', value: { stringValue: route } }, ...(attributes ?? [])],
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'big-values' } }, { key: 'resource.blob', value: { stringValue: 'r'.repeat(BIG) } }] },
        scopeSpans: [
          {
            scope: { name: 'e2e' },
            spans: [
              span(JSON_TRACE, '00000000000000a1', '/orders/{id}', [
                { key: 'db.statement', value: { stringValue: 'é'.repeat(BIG / 2) } },
                { key: 'list.big', value: { arrayValue: { values: [{ stringValue: 'x'.repeat(BIG) }] } } },
              ]),
              span(PLAIN_TRACE, '00000000000000a3', '/health'),
            ],
          },
        ],
      },
    ],
  };
}

let c: RunningCollector;
beforeAll(async () => {
  c = await startCollector();
  const viaJson = await postTraces(c.httpEndpoint, JSON.stringify(jsonRequest()), 'application/json');
  expect(viaJson).toEqual({ status: 200, rejected: 0, message: '' });
  const now: [number, number] = [Math.floor(Date.now() / 1000) - 30, 0];
  const made = handSpan({
    traceId: GRPC_TRACE,
    spanId: '00000000000000b1',
    name: 'GET /orders/{id}',
    resource: handResource({ 'service.name': 'big-values' }),
    scope: { name: 'e2e' },
    attributes: anyAttributes({ 'http.route': '/orders/{id}', 'db.statement': '日'.repeat(BIG) }),
    events: [{ name: 'dump', time: now, attributes: anyAttributes({ 'event.blob': 'e'.repeat(BIG) }) }],
  });
  const grpcSpan = { ...made, startTime: now, endTime: [now[0], 5_000_000] as [number, number] };
  const viaGrpc = await grpcTraces(c.grpcEndpoint, encodeProtobuf([grpcSpan]));
  expect(viaGrpc).toEqual({ status: 200, rejected: 0, message: '' });
  for (const id of [JSON_TRACE, GRPC_TRACE, PLAIN_TRACE]) await waitFor(() => getJson(`${c.apiUrl}/api/traces/${id}`), `trace ${id} stored`);
}, 120_000);
afterAll(cleanup);

const utf8 = (v: unknown) => Buffer.byteLength(String(v), 'utf8');

describe('attribute values over storage.max_attribute_value_bytes', () => {
  it('are stored truncated with the marker and their original length, and read back', async () => {
    const viaJson = (await getJson<SpanAnswer>(`${c.apiUrl}/api/traces/${JSON_TRACE}`))!.spans[0]!;
    expect(utf8(viaJson.attributes['db.statement'])).toBeLessThanOrEqual(LIMIT);
    expect(String(viaJson.attributes['db.statement'])).toMatch(/^(é)+…$/);
    expect(viaJson.attributes['flowtrace.truncated.db.statement']).toBe(BIG);
    // The array value cut is text now (it no longer parses as JSON), its JSON length recorded.
    expect(typeof viaJson.attributes['list.big']).toBe('string');
    expect(String(viaJson.attributes['list.big'])).toMatch(/^\["x+…$/);
    expect(viaJson.attributes['flowtrace.truncated.list.big']).toBe(BIG + 4);
    expect(viaJson.resource.attributes['flowtrace.truncated.resource.blob']).toBe(BIG);
    expect(viaJson.attributes['http.route']).toBe('/orders/{id}');

    const viaGrpc = (await getJson<SpanAnswer>(`${c.apiUrl}/api/traces/${GRPC_TRACE}`))!.spans[0]!;
    expect(utf8(viaGrpc.attributes['db.statement'])).toBeLessThanOrEqual(LIMIT);
    expect(viaGrpc.attributes['flowtrace.truncated.db.statement']).toBe(BIG * 3);
    expect(viaGrpc.events[0]!.attributes['flowtrace.truncated.event.blob']).toBe(BIG);
    expect(utf8(viaGrpc.events[0]!.attributes['event.blob'])).toBeLessThanOrEqual(LIMIT);
  });

  it('are counted in the drop ledger as alterations', async () => {
    // JSON request: resource.blob, db.statement, list.big; gRPC request: db.statement, event.blob.
    const answer = await waitFor(async () => {
      const got = await getJson<{ drops: Array<{ stage: string; reason: string; service: string; alteredValues: number }> }>(`${c.apiUrl}/api/drops?since=1h`);
      const row = got?.drops.find((d) => d.stage === 'receiver' && d.reason === 'truncated' && d.service === 'big-values');
      return row && row.alteredValues >= 5 ? row : undefined;
    }, 'the truncations to reach the drop ledger');
    expect(answer.alteredValues).toBe(5);
  });
});

describe('hot attributes', () => {
  it('a search by http.route finds exactly the traces holding it', async () => {
    const found = await getJson<{ traces: Array<{ traceId: string }> }>(`${c.apiUrl}/api/search?q=${encodeURIComponent('span.http.route = "/orders/{id}"')}&lookback=1h`);
    expect(found!.traces.map((t) => t.traceId).sort()).toEqual([JSON_TRACE, GRPC_TRACE]);
    const tags = await getJson<{ traces: Array<{ traceId: string }> }>(`${c.apiUrl}/api/traces?service=big-values&tags=${encodeURIComponent('http.route=/health')}&lookback=1h`);
    expect(tags!.traces.map((t) => t.traceId)).toEqual([PLAIN_TRACE]);
  });

  it('user SQL reads the columns through its view and the schema lists them', async () => {
    const rows = await sql<{ route: string }>(c.apiUrl, `SELECT Attr_http_route AS route FROM otel_traces WHERE TraceId = '${GRPC_TRACE}'`);
    expect(rows).toEqual([{ route: '/orders/{id}' }]);
    const schema = await getJson<{ tables: Array<{ name: string; columns: Array<{ name: string; type: string }> }> }>(`${c.apiUrl}/api/sql/schema`);
    const columns = schema!.tables.find((t) => t.name === 'otel_traces')!.columns.map((col) => col.name);
    expect(columns).toEqual(expect.arrayContaining(['Attr_http_route', 'Attr_db_system', 'Attr_peer_service', 'Attr_flowtrace_correlation_id']));
  });
});
