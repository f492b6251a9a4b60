// End to end: the demo system of `docker compose up` (deploy/demo/), run here directly on free
// loopback ports, as its images run it: gateway → inventory and payments under the Node agent, and
// orders (the Spring Boot example of agents/java, its fat jar under the Java agent), exporting to a
// real collector; the load generator plays the users.
// A checkout crossing the four services must arrive as one trace, stitched under the caller's
// x-request-id, with method spans and captured (masked) arguments, and in the service graph.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import type { SpanView } from '../collector/src/query/span-view.js';
import type { CorrelationTraces, ServiceGraphEdge } from '../collector/src/query/stitch-routes.js';
import { cleanup, getJson, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { ensureJavaBuilt } from './helpers/java.js';
import { serviceEnv, startService, stopService, type Service } from './helpers/services.js';

const DEMO = resolve(import.meta.dirname, '../deploy/demo');
const SERVICES = ['gateway', 'inventory', 'orders', 'payments'];

const running: Service[] = [];
let collector: RunningCollector;
let gatewayUrl: string;

/** Starts a demo service with its image's command line and environment, on a free loopback port. */
async function startDemoService(name: string, env: Record<string, string> = {}): Promise<Service> {
  const loader = name === 'inventory' ? '--import' : '--require'; // inventory is ES modules
  const service = await startService(
    name,
    process.execPath,
    [loader, '@flowtrace/agent-node/register', 'server.js'],
    join(DEMO, name),
    serviceEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      OTEL_SERVICE_NAME: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      FLOWTRACE_CAPTURE_ARGS: 'true',
      FLOWTRACE_CAPTURE_RETURN: 'true',
      ...env,
    }),
  );
  running.push(service);
  return service;
}

/** Starts the Java orders service with its image's command line (deploy/demo-java.Dockerfile), on a free loopback port. */
async function startOrders(agentJar: string, appJar: string): Promise<Service> {
  const service = await startService(
    'orders',
    'java',
    ['-Djava.net.preferIPv4Stack=true', `-javaagent:${agentJar}`, '-jar', appJar],
    dirname(appJar),
    serviceEnv({
      SERVER_ADDRESS: '127.0.0.1',
      SERVER_PORT: '0',
      OTEL_SERVICE_NAME: 'orders',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      FLOWTRACE_CAPTURE_ARGS: 'true',
      FLOWTRACE_CAPTURE_RETURN: 'true',
    }),
  );
  running.push(service);
  return service;
}

/** Runs the load generator to its end; returns its `request <id> <status>` lines as pairs. */
function runLoadgen(requests: number): Promise<Array<{ requestId: string; status: string }>> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['loadgen.js'], {
      cwd: join(DEMO, 'loadgen'),
      env: serviceEnv({ GATEWAY_URL: gatewayUrl, LOADGEN_REQUESTS: String(requests), LOADGEN_INTERVAL_MS: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`loadgen exited with ${code}:\n${out}`));
      res(out.trim().split('\n').map((line) => {
        const m = /^request (\S+) (\S+)$/.exec(line);
        if (!m) throw new Error(`unexpected loadgen line: ${line}`);
        return { requestId: m[1]!, status: m[2]! };
      }));
    });
  });
}

async function checkout(requestId: string, cardNumber: string): Promise<Response> {
  return fetch(`${gatewayUrl}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ customer: 'ada', cardNumber, items: [{ sku: 'apple', qty: 2 }, { sku: 'coffee', qty: 1 }] }),
  });
}

/** The one stored trace of a correlation ID, once it holds `names` and the server spans of `services`. */
async function stitchedTrace(requestId: string, names: string[], services = SERVICES): Promise<{ correlation: CorrelationTraces; spans: SpanView[] }> {
  return waitFor(async () => {
    const correlation = await getJson<CorrelationTraces>(`${collector.apiUrl}/api/correlations/${requestId}`);
    if (correlation === undefined || correlation.traces.length === 0) return undefined;
    const trace = await getJson<{ spans: SpanView[] }>(`${collector.apiUrl}/api/traces/${correlation.traces[0]!.traceId}`);
    const spans = trace?.spans ?? [];
    const have = new Set(spans.map((s) => s.name));
    const servers = new Set(spans.filter((s) => s.kind === 'Server').map((s) => s.serviceName));
    return names.every((n) => have.has(n)) && services.every((s) => servers.has(s)) ? { correlation, spans } : undefined;
  }, `the stitched trace of ${requestId}`);
}

function one(spans: SpanView[], name: string): SpanView {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length} in: ${spans.map((s) => `${s.serviceName}/${s.name}`).join(', ')}`);
  return found[0]!;
}

function parentOf(spans: SpanView[], span: SpanView): SpanView | undefined {
  return spans.find((s) => s.spanId === span.parentSpanId);
}

beforeAll(async () => {
  const [java] = await Promise.all([ensureJavaBuilt(), ensureAgentBuilt()]);
  collector = await startCollector();
  const [inventory, payments, orders] = await Promise.all([
    startDemoService('inventory'),
    startDemoService('payments'),
    startOrders(java.agentJar, java.springOrdersJar),
  ]);
  const gateway = await startDemoService('gateway', {
    INVENTORY_URL: `http://127.0.0.1:${inventory!.port}`,
    PAYMENTS_URL: `http://127.0.0.1:${payments!.port}`,
    ORDERS_URL: `http://127.0.0.1:${orders!.port}`,
  });
  gatewayUrl = `http://127.0.0.1:${gateway.port}`;
}, 900_000); // the Maven builds, when the jars are missing, wait their turn behind other Java tests'

afterAll(async () => {
  await Promise.all(running.map(stopService));
  await cleanup();
});

describe('the compose demo system', () => {
  it('stitches a checkout across gateway, inventory, payments and the Java orders service under one correlation ID', async () => {
    const requestId = `demo-e2e-${randomUUID()}`;
    const res = await checkout(requestId, '4111 1111 1111 1111');
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ orderId: expect.any(Number), customer: 'ada', totalCents: 2 * 50 + 899 });

    const methods = ['CheckoutService.placeOrder', 'CheckoutService.validate', 'StockService.reserve', 'catalog.priceOf', 'PaymentService.charge', 'FraudCheck.score', 'OrderController.create', 'OrderService.place', 'OrderRepository.save'];
    const { correlation, spans } = await stitchedTrace(requestId, methods);

    // One trace, holding every span of the four services, each carrying the caller's x-request-id.
    expect(correlation.correlationId).toBe(requestId);
    expect(correlation.services).toEqual(SERVICES);
    expect(correlation.traces).toHaveLength(1);
    expect(correlation.missingTraceIds).toEqual([]);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(SERVICES));
    for (const s of spans) {
      expect(s.traceId).toBe(correlation.traces[0]!.traceId);
      expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);
    }

    // Across the wire: each downstream server span is the child of a gateway client span.
    const server = (service: string) => spans.find((s) => s.kind === 'Server' && s.serviceName === service)!;
    expect(server('gateway').parentSpanId).toBe('');
    for (const service of ['inventory', 'payments', 'orders']) {
      const caller = parentOf(spans, server(service));
      expect(caller, `the caller of ${service}`).toMatchObject({ kind: 'Client', serviceName: 'gateway' });
    }

    // Method spans, with their arguments and return values captured and the card number masked.
    const placeOrder = one(spans, 'CheckoutService.placeOrder');
    expect(one(spans, 'CheckoutService.validate').parentSpanId).toBe(placeOrder.spanId);
    const calls = spans.filter((s) => s.name === 'Downstream.post');
    expect(calls.map((s) => s.attributes['flowtrace.args.0']).sort()).toEqual(['"/charge"', '"/orders"', '"/reserve"']);
    for (const call of calls) expect(call.parentSpanId).toBe(placeOrder.spanId);
    const charge = one(spans, 'PaymentService.charge');
    expect(charge.serviceName).toBe('payments');
    expect(charge.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(charge.attributes['flowtrace.args.1']).toBe('999');
    expect(charge.attributes['flowtrace.args.2']).toBe('[REDACTED]');
    expect(String(charge.attributes['flowtrace.return'])).toMatch(/"last4": "1111"/);
    expect(one(spans, 'FraudCheck.score').parentSpanId).toBe(charge.spanId);
    const reserve = one(spans, 'StockService.reserve');
    expect(reserve.serviceName).toBe('inventory');
    for (const p of spans.filter((s) => s.name === 'catalog.priceOf')) expect(p.parentSpanId).toBe(reserve.spanId);
    // The Java service's method spans, under its server span, the card number masked in the JVM.
    const place = one(spans, 'OrderService.place');
    expect(place.serviceName).toBe('orders');
    expect(parentOf(spans, place)).toMatchObject({ name: 'OrderController.create', serviceName: 'orders' });
    expect(parentOf(spans, parentOf(spans, place)!)).toBe(server('orders'));
    expect(one(spans, 'OrderRepository.save').parentSpanId).toBe(place.spanId);
    expect(place.attributes['code.function.name']).toBe('com.example.orders.OrderService.place');
    expect(place.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(place.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    expect(String(place.attributes['flowtrace.return'])).toMatch(/^Order \{"id": \d+, "customer": "ada"/);
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111/);

    // The service graph has the three edges out of the gateway.
    const edges = await waitFor(async () => {
      const graph = await getJson<{ edges: ServiceGraphEdge[] }>(`${collector.apiUrl}/api/service-graph?lookback=1h`);
      const pairs = new Set(graph?.edges.map((e) => `${e.caller}->${e.callee}`));
      return ['inventory', 'payments', 'orders'].every((callee) => pairs.has(`gateway->${callee}`)) ? graph!.edges : undefined;
    }, 'the service graph edges out of the gateway');
    expect(edges.filter((e) => e.caller === 'gateway').every((e) => e.calls >= 1)).toBe(true);
  });

  it('records a declined payment as an error, with the stock released, in the same stitched trace', async () => {
    const requestId = `demo-e2e-${randomUUID()}`;
    const res = await checkout(requestId, '4000 0000 0000 0002');
    expect(res.status).toBe(402);
    // No order is recorded: the orders service is not called.
    const { spans } = await stitchedTrace(requestId, ['PaymentService.charge', 'StockService.release'], ['gateway', 'inventory', 'payments']);
    expect(one(spans, 'PaymentService.charge').status.code).toBe('Error');
    expect(one(spans, 'StockService.release').serviceName).toBe('inventory');
    expect(spans.find((s) => s.kind === 'Server' && s.serviceName === 'payments')!.attributes['http.response.status_code']).toBe(402);
    expect(spans.filter((s) => s.serviceName === 'orders')).toEqual([]);
  });

  it('has the load generator send requests that each arrive under their own x-request-id', async () => {
    const sent = await runLoadgen(6);
    expect(sent).toHaveLength(6);
    expect(new Set(sent.map((r) => r.requestId)).size).toBe(6);
    for (const r of sent) {
      expect(r.requestId).toMatch(/^demo-[0-9a-f-]{36}$/);
      expect(['201', '402', '404', '409']).toContain(r.status); // the outcomes the demo is made of
    }
    for (const r of sent) {
      const correlation = await waitFor(
        async () => {
          const c = await getJson<CorrelationTraces>(`${collector.apiUrl}/api/correlations/${r.requestId}`);
          // The correlation row (stitch's side table) can land before the trace's spans (storage's queue): wait for both.
          return c !== undefined && c.services.includes('gateway') && c.services.includes('inventory') && c.traces.length > 0 ? c : undefined;
        },
        `the correlation ${r.requestId}`,
      );
      expect(correlation.traces).toHaveLength(1);
    }
  });
});
