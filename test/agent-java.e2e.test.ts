// End to end: the FlowTrace Java agent on real applications, exporting to a real collector with
// embedded ClickHouse. A Node.js storefront under the Node agent calls a Spring Boot orders service
// (a repackaged fat jar from agents/java/examples, started with `java -javaagent:… -jar`): one request
// must become one trace across both, with the Java method spans nested under the Java server span,
// the caller's x-request-id on every span, and the arguments captured, capped and masked in the JVM.
// Also a plain com.sun.net.httpserver program, and an agent started with bad settings.
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import type { SpanView } from '../collector/src/query/span-view.js';
import { cleanup, sql, startCollector, traceOfCorrelationId, waitFor, type RunningCollector } from './helpers/collector.js';
import { ensureJavaBuilt, type JavaBuild } from './helpers/java.js';
import { serviceEnv, startService, stopService, type Service } from './helpers/services.js';
import { ancestors, spanNamed } from './helpers/span-tree.js';

const STOREFRONT = resolve(import.meta.dirname, 'fixtures/polyglot/storefront');
const CARD = '4111 1111 1111 1111';
const MAX_VALUE_BYTES = 96;
const JAVA_SCOPE = 'dev.flowtrace.agent.java';

const services: Service[] = [];
let collector: RunningCollector;
let java: JavaBuild;

/** The test runner's JVM options must not reach the applications either. */
function javaServiceEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = serviceEnv(extra);
  for (const k of Object.keys(env)) if (/^(JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS|SERVER_.*)$/.test(k) && !(k in extra)) delete env[k];
  return env;
}

async function start(name: string, command: string, args: string[], cwd: string, env: Record<string, string>): Promise<Service> {
  const service = await startService(name, command, args, cwd, javaServiceEnv(env));
  services.push(service);
  return service;
}

/** A Java application under the agent, as its README starts one: `java -javaagent:flowtrace-agent.jar -jar app.jar`. */
function startJava(name: string, jar: string, env: Record<string, string>): Promise<Service> {
  return start(name, 'java', [`-javaagent:${java.agentJar}`, '-jar', jar], dirname(jar), {
    OTEL_SERVICE_NAME: name,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    FLOWTRACE_CAPTURE_ARGS: 'true',
    FLOWTRACE_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
    ...env,
  });
}

/** One OTLP/JSON span of the service `leak-control` carrying `value` as an attribute. */
function controlSpan(value: string): unknown {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'leak-control' } }] },
      scopeSpans: [{
        scope: { name: 'control' },
        spans: [{
          traceId: randomUUID().replaceAll('-', ''),
          spanId: randomUUID().replaceAll('-', '').slice(0, 16),
          name: 'control',
          kind: 1,
          startTimeUnixNano: String(now),
          endTimeUnixNano: String(now + 1_000_000n),
          attributes: [{ key: 'note', value: { stringValue: `card ${value}` } }],
        }],
      }],
    }],
  };
}

/** The lines the agent printed at start-up (its own, on stderr). */
function agentLines(s: Service): string[] {
  return s.output.join('\n').split('\n').filter((l) => l.startsWith('flowtrace:'));
}

beforeAll(async () => {
  // The Maven builds wait their turn behind the JDK 25 suite, if it runs at the same time.
  [java] = await Promise.all([ensureJavaBuilt(), ensureAgentBuilt()]);
  // The collector's own redaction is off, so that what is stored is what the agents sent: the leak
  // checks below test the agents' masking alone (the collector would mask card numbers too).
  collector = await startCollector({ config: 'processors:\n  redact:\n    enabled: false\n' });
}, 900_000);

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

/** The one trace of a correlation ID, once `done` holds for its spans. */
async function traceOf(requestId: string, done: (spans: SpanView[]) => boolean): Promise<SpanView[]> {
  return waitFor(async () => {
    const trace = await traceOfCorrelationId(collector.apiUrl, requestId);
    return trace !== undefined && done(trace.spans) ? trace.spans : undefined;
  }, `the trace of ${requestId}`);
}

/** The attributes every Java method span has, from the class file of the example. */
function expectJavaMethod(span: SpanView, className: string, method: string): void {
  expect(span.kind, span.name).toBe('Internal');
  expect(span.scope.name, span.name).toBe(JAVA_SCOPE);
  expect(span.attributes['code.namespace'], span.name).toBe(className);
  expect(span.attributes['code.function.name'], span.name).toBe(`${className}.${method}`);
  expect(span.attributes['code.file.path'], span.name).toBe(`${className.replace(/\.[^.]+$/, '').replaceAll('.', '/')}/${className.split('.').at(-1)}.java`);
  expect(span.attributes['code.line.number'], span.name).toEqual(expect.any(Number));
}

describe('Java agent: a Node.js storefront calling a Spring Boot orders service', () => {
  let orders: Service;
  let storefront: Service;

  beforeAll(async () => {
    orders = await startJava('orders', java.springOrdersJar, {
      SERVER_ADDRESS: '127.0.0.1',
      SERVER_PORT: '0',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', // the official agent's default
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint,
    });
    storefront = await start('storefront', process.execPath, ['--require', '@flowtrace/agent-node/register', 'server.js'], STOREFRONT, {
      ORDERS_URL: `http://127.0.0.1:${orders.port}`,
      OTEL_SERVICE_NAME: 'storefront',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      FLOWTRACE_CAPTURE_ARGS: 'true',
      FLOWTRACE_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
    });
  }, 180_000);

  it('says at start-up what it traces: the main class behind Spring Boot’s launcher', () => {
    const lines = agentLines(orders);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^flowtrace: tracing methods of com\.example \(main class com\.example\.orders\.OrdersApplication\); arguments captured/);
  });

  it('turns one request into one trace across Node and Java, method spans nested, correlated, capped and masked', async () => {
    const requestId = `java-e2e-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${storefront.port}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({
        customer: 'ada',
        cardNumber: CARD,
        items: [{ sku: 'apple', qty: 4 }, { sku: 'coffee', qty: 1 }],
        note: 'leave it at the door, '.repeat(20),
      }),
    });
    expect(await res.json()).toMatchObject({ orderId: expect.any(Number), customer: 'ada', totalCents: 4 * 50 + 899, card: '•••• 1111' });
    expect(res.status).toBe(201);

    const javaMethods = ['OrderController.create', 'OrderService.place', 'OrderService.last4', 'PriceList.total', 'OrderRepository.save'];
    const spans = await traceOf(requestId, (all) => {
      const names = new Set(all.map((s) => s.name));
      const servers = new Set(all.filter((s) => s.kind === 'Server').map((s) => s.serviceName));
      return [...javaMethods, 'CheckoutService.placeOrder', 'OrdersClient.createOrder'].every((n) => names.has(n)) && servers.has('orders') && servers.has('storefront');
    });

    // One trace, two services, the caller's x-request-id on every span of both.
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['storefront', 'orders']));
    for (const s of spans) expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);

    // Across the wire: the Java server span is the child of the Node client span.
    const nodeServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'storefront')!;
    const nodeClient = spans.filter((s) => s.kind === 'Client' && s.serviceName === 'storefront');
    const javaServer = spans.filter((s) => s.kind === 'Server' && s.serviceName === 'orders');
    expect(nodeClient).toHaveLength(1);
    expect(javaServer).toHaveLength(1);
    expect(nodeServer.parentSpanId).toBe('');
    expect(javaServer[0]!.parentSpanId).toBe(nodeClient[0]!.spanId);
    expect(ancestors(spans, nodeClient[0]!)).toContain(spanNamed(spans, 'OrdersClient.createOrder'));
    expect(javaServer[0]!.name).toMatch(/^POST \/orders/);

    // The Java method spans, nested as the code calls: server → controller → service → price list, repository.
    const create = spanNamed(spans, 'OrderController.create');
    const place = spanNamed(spans, 'OrderService.place');
    const last4 = spanNamed(spans, 'OrderService.last4');
    const total = spanNamed(spans, 'PriceList.total');
    const save = spanNamed(spans, 'OrderRepository.save');
    const priceOf = spans.filter((s) => s.name === 'PriceList.priceOf');
    expect(ancestors(spans, create)).toContain(javaServer[0]);
    for (const s of [place, last4, total, save, ...priceOf]) expect(s.serviceName).toBe('orders');
    expect(place.parentSpanId).toBe(create.spanId);
    for (const s of [total, last4, save]) expect(s.parentSpanId, s.name).toBe(place.spanId);
    expect(priceOf).toHaveLength(2);
    for (const s of priceOf) expect(s.parentSpanId).toBe(total.spanId);
    expectJavaMethod(create, 'com.example.orders.OrderController', 'create');
    expectJavaMethod(place, 'com.example.orders.OrderService', 'place');
    expectJavaMethod(last4, 'com.example.orders.OrderService', 'last4');
    expectJavaMethod(total, 'com.example.orders.PriceList', 'total');
    expectJavaMethod(save, 'com.example.orders.OrderRepository', 'save');
    // Spring's own classes are never wrapped, whatever the filter.
    expect(spans.filter((s) => s.scope.name === JAVA_SCOPE && !String(s.attributes['code.namespace']).startsWith('com.example.'))).toEqual([]);

    // Arguments: captured, capped at FLOWTRACE_MAX_VALUE_BYTES, the card number masked in the JVM.
    expect(place.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(place.attributes['flowtrace.args.1']).toBe('[REDACTED]'); // a parameter named cardNumber
    expect(place.attributes['flowtrace.args.2']).toBe('[OrderLine {"sku": "apple", "qty": 4}, OrderLine {"sku": "coffee", "qty": 1}]');
    const note = String(place.attributes['flowtrace.args.3']);
    expect(note.startsWith('"leave it at the door, leave it at the door')).toBe(true);
    expect(note.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    expect(last4.attributes['flowtrace.args.0']).toBe('[REDACTED]');
    const request = String(create.attributes['flowtrace.args.0']);
    expect(request.startsWith('OrderRequest {"customer": "ada", "cardNumber": "[REDACTED]", "items": [')).toBe(true); // a field named cardNumber
    expect(request.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(request)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    for (const s of spans) {
      for (const [k, v] of Object.entries(s.attributes)) {
        if (k.startsWith('flowtrace.args.')) expect(Buffer.byteLength(String(v)), `${s.name} ${k}`).toBeLessThanOrEqual(MAX_VALUE_BYTES);
      }
    }
    // The raw card number is nowhere in what was stored: not in this trace, not in any row.
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111/);
    const leakQuery = (where: string) =>
      `SELECT count() AS n FROM otel_traces WHERE ${where} AND (arrayExists(v -> match(v, '4111[ -]?1111'), mapValues(SpanAttributes)) OR arrayExists(a -> arrayExists(v -> match(v, '4111[ -]?1111'), mapValues(a)), Events.Attributes))`;
    // The control: a span sent with the raw number is stored raw (the collector masks nothing here),
    // so the check below sees what the agents sent.
    const control = await fetch(`${collector.httpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(controlSpan(CARD)),
    });
    expect(control.status).toBe(200);
    await waitFor(async () => {
      const rows = await sql<{ n: string }>(collector.apiUrl, leakQuery(`ServiceName = 'leak-control'`));
      return Number(rows[0]!.n) > 0 ? true : undefined;
    }, 'the control span stored with its raw card number');
    const leaks = await sql<{ n: string }>(collector.apiUrl, leakQuery(`ServiceName != 'leak-control'`));
    expect(Number(leaks[0]!.n)).toBe(0);
  });
});

describe('Java agent: a plain com.sun.net.httpserver program', () => {
  let stock: Service;

  beforeAll(async () => {
    stock = await startJava('stock', java.plainHttpJar, {
      HOST: '127.0.0.1',
      PORT: '0',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
    });
  }, 120_000);

  it('turns a request into a server span with the method spans under it, all with the request’s ID', async () => {
    const requestId = `java-plain-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${stock.port}/stock/apple`, { headers: { 'x-request-id': requestId } });
    expect(await res.json()).toEqual({ sku: 'apple', available: 38 });

    const methods = ['StockHandler.handle', 'StockService.available', 'StockLedger.onHand', 'StockHandler.respond'];
    const spans = await traceOf(requestId, (all) => methods.every((n) => all.some((s) => s.name === n)) && all.some((s) => s.kind === 'Server'));
    for (const s of spans) expect(s.attributes['flowtrace.correlation_id'], s.name).toBe(requestId);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['stock']));
    const server = spans.filter((s) => s.kind === 'Server');
    expect(server).toHaveLength(1);
    expect(server[0]!.parentSpanId).toBe('');
    expect(server[0]!.name).toMatch(/^GET\b/);

    const handle = spanNamed(spans, 'StockHandler.handle');
    const available = spanNamed(spans, 'StockService.available');
    const onHand = spanNamed(spans, 'StockLedger.onHand');
    expect(ancestors(spans, handle)).toContain(server[0]);
    expect(available.parentSpanId).toBe(handle.spanId);
    expect(onHand.parentSpanId).toBe(available.spanId);
    expect(spanNamed(spans, 'StockHandler.respond').parentSpanId).toBe(handle.spanId);
    expectJavaMethod(handle, 'com.example.stock.StockHandler', 'handle');
    expectJavaMethod(available, 'com.example.stock.StockService', 'available');
    expectJavaMethod(onHand, 'com.example.stock.StockLedger', 'onHand');
    expect(available.attributes['flowtrace.args.0']).toBe('"apple"');
    expect(onHand.attributes['flowtrace.args.0']).toBe('"apple"');
  });
});

describe('Java agent: bad settings', () => {
  it('names an unknown setting (tracing stays on for it) and an invalid FLOWTRACE_INCLUDE regex (tracing off), and the application still serves', async () => {
    const app = await startJava('stock-misconfigured', java.plainHttpJar, {
      HOST: '127.0.0.1',
      PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint,
      FLOWTRACE_INCLUDE: '/com\\.example\\.(stock/',
      FLOWTRACE_SKIP_TRIVAL: 'false', // a typo of FLOWTRACE_SKIP_TRIVIAL
    });
    const lines = agentLines(app);
    // The unknown name is only named; the bad value is what turns method tracing off.
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^flowtrace: ignoring unknown setting\(s\) FLOWTRACE_SKIP_TRIVAL/);
    expect(lines[1]).toMatch(/^flowtrace: method tracing is off/);
    expect(lines[1]).toContain('FLOWTRACE_INCLUDE: invalid regular expression /com\\.example\\.(stock/');

    // The application serves, under the official agent's instrumentation and the correlation ID.
    const requestId = `java-bad-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${app.port}/stock/pear`, { headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sku: 'pear', available: 10 });
    const spans = await traceOf(requestId, (all) => all.some((s) => s.kind === 'Server'));
    expect(spans.map((s) => s.serviceName)).toEqual(['stock-misconfigured']);
    expect(spans.filter((s) => s.scope.name === JAVA_SCOPE)).toEqual([]); // no method spans
  });
});
