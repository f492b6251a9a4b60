// End to end: two services started under the Node agent — an Express gateway
// (CommonJS, --require) that calls a Fastify orders service (ES modules, --import)
// over HTTP — export over OTLP/gRPC to a real collector with embedded ClickHouse.
// One request must become one trace, stitched across the service boundary, with
// the caller's x-request-id on every span and the captured arguments capped and masked.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import { cleanup, sql, startCollector, traceOfCorrelationId, waitFor, type RunningCollector } from './helpers/collector.js';
import { serviceEnv, startService, stopService, type Service } from './helpers/services.js';
import { ancestors, spanNamed } from './helpers/span-tree.js';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/node-services');
const CARD = '4111 1111 1111 1111';
const MAX_VALUE_BYTES = 64;

const services: Service[] = [];
let collector: RunningCollector;
let gateway: Service;

/** Starts a fixture service as the user would (`node --require|--import @flowtrace/agent-node/register server.js`) and reads its port. */
async function startFixture(name: string, loaderFlag: '--require' | '--import', env: Record<string, string>): Promise<Service> {
  const service = await startService(
    name,
    process.execPath,
    [loaderFlag, '@flowtrace/agent-node/register', 'server.js'],
    join(FIXTURES, name),
    serviceEnv({
      OTEL_SERVICE_NAME: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint, // gRPC is the default protocol
      OTEL_BSP_SCHEDULE_DELAY: '100',
      FLOWTRACE_CAPTURE_ARGS: 'true',
      FLOWTRACE_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
      ...env,
    }),
  );
  services.push(service);
  return service;
}

beforeAll(async () => {
  await ensureAgentBuilt();
  collector = await startCollector();
  const orders = await startFixture('orders', '--import', {});
  gateway = await startFixture('gateway', '--require', { ORDERS_URL: `http://127.0.0.1:${orders.port}` });
});

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

const METHOD_SPANS = ['CheckoutService.placeOrder', 'CheckoutService.cardLooksValid', 'OrdersClient.createOrder', 'OrderService.create', 'pricing.total'];

describe('Node agent across two services', () => {
  it('turns one request into one trace with both services’ HTTP and method spans', async () => {
    const requestId = `e2e-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${gateway.port}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ customer: 'ada', cardNumber: CARD, items: [{ sku: 'apple', qty: 4 }], note: 'leave it at the door, '.repeat(20) }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ customer: 'ada', total: 2 });

    // The spans of the request, found by the correlation ID the test sent, once all have been stored.
    const trace = await waitFor(async () => {
      const t = await traceOfCorrelationId(collector.apiUrl, requestId);
      const names = new Set(t?.spans.map((s) => s.name));
      const servers = t?.spans.filter((s) => s.kind === 'Server').length ?? 0;
      return METHOD_SPANS.every((n) => names.has(n)) && servers === 2 ? t : undefined;
    }, 'the request’s trace with every span stored');
    const spans = trace!.spans;

    // One trace, two services, and the caller's x-request-id on every span of it.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace!.traceId]));
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['gateway', 'orders']));
    for (const s of spans) expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);

    // HTTP spans, parented across the service boundary: gateway server → … → fetch client → orders server.
    const gatewayServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'gateway')!;
    const client = spans.find((s) => s.kind === 'Client' && s.serviceName === 'gateway')!;
    const ordersServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'orders')!;
    expect(gatewayServer.parentSpanId).toBe('');
    expect(ordersServer.parentSpanId).toBe(client.spanId);

    // Method spans sit inside their service's HTTP span, in call order.
    const placeOrder = spanNamed(spans, 'CheckoutService.placeOrder');
    const createOrder = spanNamed(spans, 'OrdersClient.createOrder');
    const cardCheck = spanNamed(spans, 'CheckoutService.cardLooksValid');
    const create = spanNamed(spans, 'OrderService.create');
    const total = spanNamed(spans, 'pricing.total');
    expect(ancestors(spans, placeOrder)).toContain(gatewayServer);
    expect(cardCheck.parentSpanId).toBe(placeOrder.spanId);
    expect(createOrder.parentSpanId).toBe(placeOrder.spanId);
    expect(ancestors(spans, client)).toContain(createOrder);
    expect(ancestors(spans, create)).toContain(ordersServer);
    expect(total.parentSpanId).toBe(create.spanId);

    for (const m of [placeOrder, createOrder, cardCheck, create, total]) {
      expect(m.kind).toBe('Internal');
      expect(m.scope.name).toBe('@flowtrace/agent-node');
      expect(m.attributes['code.function.name']).toBe(m.name);
      expect(m.attributes['code.line.number']).toEqual(expect.any(Number));
    }
    expect(placeOrder.attributes['code.namespace']).toBe('CheckoutService');
    expect(placeOrder.attributes['code.file.path']).toBe(join(FIXTURES, 'gateway/lib/checkout.js'));
    expect(total.attributes['code.file.path']).toBe(join(FIXTURES, 'orders/lib/pricing.js'));

    // Captured arguments: there, capped, and the card number masked before it left the process.
    expect(placeOrder.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(placeOrder.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    expect(placeOrder.attributes['flowtrace.args.2']).toBe('[{"sku": "apple", "qty": 4}]');
    const note = String(placeOrder.attributes['flowtrace.args.3']);
    expect(note.startsWith('"leave it at the door')).toBe(true);
    expect(note.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    expect(cardCheck.attributes['flowtrace.args.0']).toBe('[REDACTED]');
    expect(create.attributes['flowtrace.args.0']).toBe('{"customer": "ada", "items": [{"sku": "apple", "qty": 4}]}');
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111/);
  });

  it('loses nothing from a short-lived job, over gRPC and over http/protobuf', async () => {
    const runJob = (service: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> =>
      new Promise((res) => {
        const child = spawn(process.execPath, ['--import', '@flowtrace/agent-node/register', 'nightly-report.js'], {
          cwd: join(FIXTURES, 'orders'),
          // The default batch delay (5 s) outlives the job: only the exit flush can send its spans.
          env: serviceEnv({ OTEL_SERVICE_NAME: service, ...env }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => res({ code, out }));
      });
    const suffix = randomUUID().slice(0, 8);
    const jobs = await Promise.all([
      runJob(`report-grpc-${suffix}`, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint }),
      runJob(`report-proto-${suffix}`, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint }),
    ]);
    for (const job of jobs) expect(job).toEqual({ code: 0, out: 'report 6\n' });
    for (const service of [`report-grpc-${suffix}`, `report-proto-${suffix}`]) {
      const rows = await waitFor(async () => {
        const r = await sql<{ SpanName: string; SpanId: string; ParentSpanId: string; TraceId: string; corr: string }>(
          collector.apiUrl,
          `SELECT SpanName, SpanId, ParentSpanId, TraceId, SpanAttributes['flowtrace.correlation_id'] AS corr FROM otel_traces WHERE ServiceName = '${service}' ORDER BY SpanName`,
        );
        return r.length === 2 ? r : undefined;
      }, `the spans of ${service}`);
      const [create, total] = rows as [(typeof rows)[0], (typeof rows)[0]];
      expect([create.SpanName, total.SpanName]).toEqual(['OrderService.create', 'pricing.total']);
      // The job's call started a trace, and a correlation ID with it.
      expect(create.ParentSpanId).toBe('');
      expect(total.ParentSpanId).toBe(create.SpanId);
      expect(total.TraceId).toBe(create.TraceId);
      expect(create.corr).toMatch(/^[0-9a-f-]{36}$/);
      expect(total.corr).toBe(create.corr);
    }
  });
});
