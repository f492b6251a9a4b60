/**
 * `GET /api/openapi.json` on the real collector: an OpenAPI 3.1 document generated from the
 * route schemas, behind the `read` scope, in which every operation documents its parameters,
 * request body and responses (success and the `{error}` shape of its refusals).
 *
 * Response schemas also serialise (fast-json-stringify drops what a schema does not name), so
 * each route group is read back here with a trace full of attributes, events and links, and
 * every field must still be there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesWithoutResponseSchema } from '../collector/src/query/openapi-routes.js';
import type { SpanView } from '../collector/src/query/span-view.js';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
}
interface Operation {
  summary?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

let c: RunningCollector;
let admin: string;
let document: OpenApiDocument;

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const nowNs = (BigInt(Date.now()) - 5_000n) * 1_000_000n;
const START = nowNs.toString();
const END = (nowNs + 1_000_000_000n).toString();

/** One span with every optional part filled: typed, big, array and kvlist attributes, an event, a link. */
const otlp = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'deployment.environment.name', value: { stringValue: 'prod' } }] },
      scopeSpans: [
        {
          scope: { name: 'lib', version: '1.2', attributes: [{ key: 'scope.attr', value: { boolValue: true } }] },
          spans: [
            {
              traceId: TRACE_ID,
              spanId: 'eee19b7ec3c1b174',
              name: 'GET /cart',
              kind: 2,
              startTimeUnixNano: START,
              endTimeUnixNano: END,
              attributes: [
                { key: 'http.status', value: { intValue: '200' } },
                { key: 'big', value: { intValue: '9007199254740993' } },
                { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
                { key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { stringValue: 'y' } }] } } },
              ],
              events: [{ timeUnixNano: START, name: 'ev', attributes: [{ key: 'e.k', value: { stringValue: 'v' } }] }],
              links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), attributes: [{ key: 'l.k', value: { stringValue: 'lv' } }] }],
              status: { code: 2, message: 'boom' },
            },
          ],
        },
      ],
    },
  ],
};

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-openapi-boot-'), 'admin.token');
  // Bound beyond loopback so that every request needs a token.
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const sent = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify(otlp) });
  expect(sent.status).toBe(200);
  document = (await api<OpenApiDocument>('/api/openapi.json')).body;
}, 180_000);
afterAll(cleanup);

async function api<T>(path: string, init: RequestInit = {}, token: string | null = admin): Promise<{ status: number; body: T }> {
  const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) };
  const res = await fetch(`${c.apiUrl}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

function operations(): Array<{ id: string; path: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ id: `${method.toUpperCase()} ${path}`, path, operation })));
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document of the query API, behind the read scope', async () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'FlowTrace query API', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(document.components?.securitySchemes).toHaveProperty('bearer');
    expect(Object.keys(document.paths)).not.toContain('/api/openapi.json');
    expect((await api('/api/openapi.json', {}, null)).status).toBe(401);

    const hotspots = document.paths['/api/hotspots']!.get!;
    expect(hotspots.summary).toMatch(/self time/);
    expect(hotspots.parameters!.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['end', 'limit', 'lookback', 'operation', 'service', 'start', 'traceId']);
    // The insights schema's type list survives as JSON Schema (OpenAPI 3.1).
    expect(JSON.stringify(document.paths['/api/traces/{traceId}/insights']!.get!.responses!['200'])).toContain('["string","number","boolean"]');
  });

  it('lists every route of the API', () => {
    const ids = operations().map((o) => o.id);
    for (const id of [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /api/traces/{traceId}',
      'GET /api/traces',
      'GET /api/services',
      'GET /api/services/{service}/operations',
      'POST /api/sql',
      'POST /api/export',
      'GET /api/correlations/{correlationId}',
      'GET /api/service-graph',
      'GET /api/drops',
      'GET /api/traces/{traceId}/critical-path',
      'GET /api/traces/{traceId}/insights',
      'GET /api/compare',
      'GET /api/hotspots',
      'GET /api/code/methods',
      'GET /api/tail',
      'GET /api/metrics/red',
      'GET /api/metrics/red/prometheus',
      'GET /api/anomalies',
      'GET /api/alerts',
      'GET /api/alerts/firing',
      'GET /api/search',
      'GET /api/search/keys',
      'GET /api/search/values',
      'POST /api/assert',
      'GET /api/sql/schema',
      'GET /api/traces/{traceId}/skeleton',
      'GET /api/traces/{traceId}/spans/{spanId}',
      'GET /api/flame',
      'GET /api/traces/{traceId}/flame',
      'GET /api/logs',
      'GET /api/traces/{traceId}/logs',
      'GET /jaeger/api/services',
      'GET /jaeger/api/traces/{traceId}',
      'GET /api/status',
      'POST /api/tokens',
      'GET /api/tokens',
      'DELETE /api/tokens/{id}',
      'POST /api/session',
      'GET /api/session',
      'DELETE /api/session',
      'GET /auth/oidc/login',
      'GET /auth/oidc/callback',
      'POST /mcp',
      'GET /mcp',
      'DELETE /mcp',
    ]) {
      expect(ids, id).toContain(id);
    }
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    expect(await validator.validate(structuredClone(document) as unknown as Record<string, unknown>)).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
  });

  it('documents the responses of every operation, refusals in the {error} shape', () => {
    expect(routesWithoutResponseSchema(document)).toEqual([]);
    const loose: string[] = [];
    for (const { id, operation } of operations()) {
      // /mcp answers JSON-RPC errors; Jaeger's 400s are Jaeger's own envelope ({data, errors}), on purpose.
      if (id.endsWith(' /mcp') || id.includes(' /jaeger/')) continue;
      for (const [code, response] of Object.entries(operation.responses ?? {})) {
        if (!/^4/.test(code)) continue;
        const schema = response.content?.['application/json']?.schema;
        if (schema?.properties?.error?.type !== 'string') loose.push(`${id} ${code}`);
      }
      // Every authenticated route says how it refuses a caller without credentials.
      const isPublic = ['/healthz', '/readyz', '/api/session', '/auth/oidc/login', '/auth/oidc/callback'].some((p) => id.endsWith(` ${p}`));
      if (!isPublic && !operation.responses?.['401']) loose.push(`${id} 401 missing`);
    }
    expect(loose).toEqual([]);
  });

  it('documents the parameters of every parameterised route, and the body of every POST', () => {
    const missing: string[] = [];
    for (const { id, path, operation } of operations()) {
      for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)) {
        const param = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
        if (!param?.required || param.schema?.type !== 'string') missing.push(`${id}: path ${name}`);
      }
      for (const p of operation.parameters ?? []) if (p.in === 'query' && p.schema === undefined) missing.push(`${id}: query ${p.name} has no schema`);
      if (id.startsWith('POST ') && !operation.requestBody?.content?.['application/json']?.schema) missing.push(`${id}: body`);
    }
    expect(missing).toEqual([]);
    const queryOf = (path: string) => document.paths[path]!.get!.parameters!.filter((p) => p.in === 'query').map((p) => p.name).sort();
    expect(queryOf('/api/traces')).toEqual(['end', 'errorsOnly', 'limit', 'lookback', 'maxDuration', 'minDuration', 'operation', 'service', 'start', 'tags']);
    expect(queryOf('/api/drops')).toEqual(['limit', 'service', 'since']);
    expect(queryOf('/api/service-graph')).toEqual(['end', 'limit', 'lookback', 'service', 'start']);
    expect(queryOf('/auth/oidc/callback')).toEqual(['code', 'error', 'state']);
    expect(Object.keys(document.paths['/api/tokens']!.post!.requestBody!.content!['application/json']!.schema!.properties!).sort()).toEqual(['environments', 'expiresInSeconds', 'name', 'scopes', 'services']);
  });
});

describe('responses keep every field through their schemas', () => {
  it('trace routes: a span with all its parts, trace summaries, services, operations', async () => {
    const trace = await waitFor(async () => {
      const res = await api<{ traceId: string; spans: SpanView[] }>(`/api/traces/${TRACE_ID}`);
      return res.status === 200 ? res.body : undefined;
    }, 'the trace stored');
    expect(trace.traceId).toBe(TRACE_ID);
    const span = trace.spans[0]!;
    expect(Object.keys(span).sort()).toEqual(
      ['traceId', 'spanId', 'parentSpanId', 'traceState', 'flags', 'name', 'kind', 'serviceName', 'startTimeUnixNano', 'endTimeUnixNano', 'durationNano', 'attributes', 'droppedAttributesCount', 'resource', 'scope', 'events', 'droppedEventsCount', 'links', 'droppedLinksCount', 'status'].sort(),
    );
    expect(span).toMatchObject({
      spanId: 'eee19b7ec3c1b174',
      startTimeUnixNano: START,
      endTimeUnixNano: END,
      durationNano: '1000000000',
      flags: 0,
      status: { code: 'Error', message: 'boom' },
      resource: { attributes: { 'service.name': 'shop', 'deployment.environment.name': 'prod' }, droppedAttributesCount: 0, schemaUrl: '' },
      scope: { name: 'lib', version: '1.2', attributes: { 'scope.attr': true }, droppedAttributesCount: 0, schemaUrl: '' },
      events: [{ timeUnixNano: START, name: 'ev', attributes: { 'e.k': 'v' }, droppedAttributesCount: 0 }],
      links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: '', flags: 0, attributes: { 'l.k': 'lv' }, droppedAttributesCount: 0 }],
    });
    expect(span.attributes).toEqual({ 'http.status': 200, big: '9007199254740993', list: ['a', 1.5], kv: { x: 'y' } });

    const { body: search } = await api<{ traces: Array<Record<string, unknown>> }>('/api/traces?service=shop');
    expect(search.traces).toEqual([
      { traceId: TRACE_ID, rootServiceName: 'shop', rootSpanName: 'GET /cart', startTimeUnixNano: START, durationNano: '1000000000', spanCount: 1, errorCount: 1, services: ['shop'] },
    ]);
    expect((await api('/api/services')).body).toEqual({ services: ['shop'] });
    expect((await api('/api/services/shop/operations')).body).toEqual({ operations: [{ name: 'GET /cart', spanKind: 'Server' }] });
    expect((await api('/healthz', {}, null)).body).toEqual({ status: 'ok' });
    expect((await api('/readyz', {}, null)).body).toEqual({ status: 'ready' });
  });

  it('SQL: rows with maps, arrays and 64-bit integers as the engine gives them', async () => {
    const query = `SELECT SpanAttributes AS attrs, Events.Attributes AS eventAttrs, toInt64(9007199254740993) AS big, 1.5 AS half, NULL AS nothing FROM otel_traces WHERE TraceId = '${TRACE_ID}'`;
    const { status, body } = await api<Record<string, unknown>>('/api/sql', { method: 'POST', body: JSON.stringify({ query }) });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['columns', 'elapsedMs', 'rowCount', 'rows', 'truncated']);
    expect(body.columns).toEqual([
      { name: 'attrs', type: expect.stringContaining('Map') },
      { name: 'eventAttrs', type: expect.stringContaining('Array(Map') },
      { name: 'big', type: 'Int64' },
      { name: 'half', type: 'Float64' },
      { name: 'nothing', type: 'Nullable(Nothing)' },
    ]);
    expect(body.rows).toEqual([{ attrs: { 'http.status': '200', big: '9007199254740993', list: '["a",1.5]', kv: '{"x":"y"}' }, eventAttrs: [{ 'e.k': 'v' }], big: '9007199254740993', half: 1.5, nothing: null }]);
    // A body the route refuses keeps the route's own message (the schema only documents it).
    expect((await api('/api/sql', { method: 'POST', body: JSON.stringify({ query: 1 }) })).body).toEqual({ error: 'body: expected JSON {"query": "SELECT ..."}' });
  });

  it('status, drops, service graph and correlations keep their fields', async () => {
    const { body: status } = await api<{ ready: boolean; storage: object; queues: object[]; senders: { windowMinutes: number; clocks: object[] } }>('/api/status');
    expect(Object.keys(status.storage).sort()).toEqual(['dataDirFreeBytes', 'dataDirTotalBytes', 'dropsRetentionDays', 'maxDiskGb', 'retentionDays', 'retentionRules']);
    expect(Object.keys(status.queues[0]!).sort()).toEqual(['capacityBytes', 'deadLetteredSpans', 'diskBytes', 'droppedSpans', 'exporter', 'records', 'spans']);
    expect(status.senders.clocks).toContainEqual({ service: 'shop', aheadMs: expect.any(Number), behindMs: expect.any(Number) });

    const { body: drops } = await api<Record<string, unknown>>('/api/drops');
    expect(drops).toEqual({ sinceUnixNano: expect.stringMatching(/^\d+$/), totals: { droppedSpans: expect.any(Number), alteredValues: expect.any(Number) }, drops: expect.any(Array) });
    const { body: graph } = await api<Record<string, unknown>>('/api/service-graph');
    expect(graph).toEqual({ startUnixNano: expect.stringMatching(/^\d+$/), endUnixNano: expect.stringMatching(/^\d+$/), edges: expect.any(Array) });
    expect(await api('/api/correlations/nope')).toEqual({ status: 404, body: { error: 'correlation ID "nope" not found' } });
  });

  it('tokens and the browser session keep their fields', async () => {
    const created = await api<Record<string, unknown>>('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'reader', scopes: ['read'], services: ['shop'], expiresInSeconds: 3600 }) });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'reader',
      scopes: ['read'],
      services: ['shop'],
      environments: [],
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      revokedAt: null,
      token: expect.any(String),
    });
    const { body: list } = await api<{ tokens: Array<Record<string, unknown>> }>('/api/tokens');
    const { token: _secret, ...shown } = created.body;
    expect(list.tokens).toContainEqual(shown);

    const login = await api<{ user: Record<string, unknown>; csrfToken: string; expiresAt: string }>('/api/session', { method: 'POST', body: JSON.stringify({ token: created.body.token }) }, null);
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      user: { id: `token:${String(created.body.id)}`, kind: 'token', name: 'reader', scopes: ['read'], rules: { services: ['shop'] } },
      csrfToken: expect.any(String),
      expiresAt: expect.any(String),
    });

    const revoked = await api<Record<string, unknown>>(`/api/tokens/${String(created.body.id)}`, { method: 'DELETE' });
    expect(revoked).toEqual({ status: 200, body: { ...shown, revokedAt: expect.any(String) } });
    // The handler's own checks still give their messages (the body schema only documents them).
    expect((await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'x', scopes: ['read'], expiresInSeconds: '60' }) })).body).toEqual({ error: expect.stringMatching(/^expiresInSeconds: /) });
  });

  it('refusals keep the {error} shape, repeated and oversized parameters named', async () => {
    expect(await api('/api/traces?limit=1&limit=2')).toEqual({ status: 400, body: { error: 'limit: expected one value, got several' } });
    expect(await api(`/api/traces/${'a'.repeat(65)}`)).toEqual({ status: 400, body: { error: 'traceId: must NOT have more than 64 characters' } });
    expect(await api('/api/traces/xyz')).toEqual({ status: 400, body: { error: 'trace ID: expected 32 hex digits, got "xyz"' } });
    expect(await api('/api/drops?since=soon')).toEqual({ status: 400, body: { error: expect.stringMatching(/^since: /) } });
    expect(await api('/api/status', {}, null)).toEqual({ status: 401, body: { error: expect.any(String) } });
  });

  it('MCP answers through its documented route', async () => {
    const res = await fetch(`${c.apiUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { jsonrpc: string; id: number; result: { tools: Array<{ name: string }> } };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(body.result.tools.length).toBeGreaterThan(0);
    expect(await api('/mcp')).toEqual({ status: 405, body: { jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/stateless/) }, id: null } });
  });
});
