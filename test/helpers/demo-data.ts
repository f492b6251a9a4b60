/**
 * The demo shop: realistic traces for the docs screenshots (scripts/docs-screenshots.ts) and the
 * newcomer browser test (test/dashboard/newcomer.e2e.test.ts), sent over OTLP/HTTP.
 *
 * Four services call each other — gateway → orders → inventory and payments, each querying
 * PostgreSQL — with method spans shaped like the agents' (INTERNAL, `Class.method`, `code.*`,
 * `flowtrace.args.<i>`, `flowtrace.return`) and a correlation ID on every span. About 90
 * requests spread over the last hour (busier 25–35 minutes ago, so charts have shape), three
 * operations, and among them:
 * - one clearly slow checkout whose time is burnt in one method (`PricingEngine.applyPromotions`);
 * - an N+1: a checkout querying the price of each of its 24 items one by one;
 * - failed payments (an `exception` event, status Error and HTTP 502 up the chain).
 * IDs and shapes come from a fixed seed, so every run draws the same pictures (times follow the clock).
 */
import { getJson, waitFor, type RunningCollector } from './collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './otlp-json.js';
import { postTraces } from './otlp-send.js';

/** Side tables and RED minutes flushed every 200 ms, so the seeded data shows up quickly. */
export const DEMO_CONFIG = 'processors:\n  stitch:\n    decision_wait_ms: 200\n    flush:\n      interval_ms: 200\nred:\n  flush_interval_ms: 200\n';

export const DEMO_SERVICES = ['gateway', 'orders', 'inventory', 'payments'] as const;
/** The method that makes the slow request slow, as the trace page names it (span name). */
export const SLOW_METHOD = 'PricingEngine.applyPromotions';
export const SLOW_METHOD_NAMESPACE = 'com.shop.orders.PricingEngine';
/** How long the slow method runs in the slow request. */
export const SLOW_METHOD_MS = 1_850;
/** Items in the N+1 checkout: one price query each. */
export const N_PLUS_ONE_QUERIES = 24;

export interface DemoData {
  request: OtlpRequest[];
  traceCount: number;
  spanCount: number;
  /** The slowest request: a checkout through all four services. */
  slowTraceId: string;
  slowCorrelationId: string;
  /** The span of SLOW_METHOD in the slow trace. */
  slowMethodSpanId: string;
  nPlusOneTraceId: string;
  errorTraceId: string;
  /** The edges the service map must show: `caller→callee`. */
  edges: string[];
}

const KIND = { internal: 1, server: 2, client: 3 } as const;
const MS = 1_000_000n;

/** mulberry32: a tiny seeded PRNG, so the demo is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A span before layout: its own work, then its children one after another. */
interface Node {
  service: string;
  name: string;
  kind: number;
  /** Own work in ms, half before the children, half after. */
  selfMs: number;
  attributes: Record<string, string | number>;
  children: Node[];
  error?: { type: string; message: string; stack: string };
  /** Status Error without an exception of its own (an error passed up the chain). */
  failed?: boolean;
}

const GAP_MS = 0.05;

function kv(key: string, value: string | number): OtlpKeyValue {
  return { key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } };
}

class Builder {
  readonly spans = new Map<string, OtlpSpan[]>();
  constructor(
    private readonly traceId: string,
    private readonly newSpanId: () => string,
    private readonly correlationId: string,
  ) {}

  /** Lays `node` out from `startNs`, returns where it ends; the spans go to their service. */
  layout(node: Node, startNs: bigint, parent: string | undefined): { endNs: bigint; spanId: string } {
    const spanId = this.newSpanId();
    const half = BigInt(Math.round((node.selfMs / 2) * 1e6));
    let cursor = startNs + half;
    for (const child of node.children) cursor = this.layout(child, cursor + BigInt(GAP_MS * 1e6), spanId).endNs;
    const endNs = cursor + half;
    const span: OtlpSpan = {
      traceId: this.traceId,
      spanId,
      ...(parent ? { parentSpanId: parent } : {}),
      name: node.name,
      kind: node.kind,
      startTimeUnixNano: startNs.toString(),
      endTimeUnixNano: endNs.toString(),
      attributes: Object.entries({ ...node.attributes, 'flowtrace.correlation_id': this.correlationId }).map(([k, v]) => kv(k, v)),
      ...(node.error || node.failed ? { status: { code: 2, message: node.error?.message ?? '' } } : { status: { code: 0 } }),
      ...(node.error
        ? {
            events: [
              {
                timeUnixNano: (endNs - 100_000n).toString(),
                name: 'exception',
                attributes: [kv('exception.type', node.error.type), kv('exception.message', node.error.message), kv('exception.stacktrace', node.error.stack)],
              },
            ],
          }
        : {}),
    };
    const list = this.spans.get(node.service) ?? [];
    list.push(span);
    this.spans.set(node.service, list);
    return { endNs, spanId };
  }
}

/** Everything one request needs to build its tree. */
interface Request {
  kind: 'checkout' | 'order' | 'products';
  slow?: boolean;
  /** Item count; at N_PLUS_ONE_QUERIES or with `nPlusOne`, one price query per item. */
  items: number;
  nPlusOne?: boolean;
  fails?: boolean;
  rnd: () => number;
}

function method(service: string, cls: string, fn: string, selfMs: number, args: string[], ret: string | undefined, children: Node[], error?: Node['error']): Node {
  const attributes: Record<string, string | number> = {
    'code.namespace': `com.shop.${service}.${cls}`,
    'code.function.name': fn,
    'code.file.path': `src/main/java/com/shop/${service}/${cls}.java`,
    'code.line.number': 20 + ((cls.length * 31 + fn.length * 7) % 200),
  };
  args.forEach((a, i) => (attributes[`flowtrace.args.${i}`] = a));
  if (ret !== undefined && !error) attributes['flowtrace.return'] = ret;
  return { service, name: `${cls}.${fn}`, kind: KIND.internal, selfMs, attributes, children, error };
}

function query(service: string, operation: string, table: string, statement: string, ms: number): Node {
  return {
    service,
    name: `${operation} shop.${table}`,
    kind: KIND.client,
    selfMs: ms,
    attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.operation.name': operation, 'db.collection.name': table, 'db.query.text': statement, 'server.address': 'db.internal', 'server.port': 5432 },
    children: [],
  };
}

/** A call from `caller` to `callee`: the caller's CLIENT span, the callee's SERVER span under it. */
function call(caller: string, callee: string, httpMethod: string, route: string, path: string, status: number, selfMs: number, handler: Node[]): Node {
  const failed = status >= 500 || status === 402;
  return {
    service: caller,
    name: `${httpMethod} ${route}`,
    kind: KIND.client,
    selfMs: 0.6,
    attributes: { 'http.request.method': httpMethod, 'url.full': `http://${callee}.internal:8080${path}`, 'server.address': `${callee}.internal`, 'server.port': 8080, 'http.response.status_code': status },
    failed,
    children: [server(callee, httpMethod, route, path, status, selfMs, handler)],
  };
}

function server(service: string, httpMethod: string, route: string, path: string, status: number, selfMs: number, handler: Node[]): Node {
  return {
    service,
    name: `${httpMethod} ${route}`,
    kind: KIND.server,
    selfMs,
    attributes: { 'http.request.method': httpMethod, 'http.route': route, 'url.path': path, 'url.scheme': 'http', 'http.response.status_code': status, 'server.address': `${service}.internal`, 'server.port': 8080 },
    failed: status >= 500 || status === 402,
    children: handler,
  };
}

const jitter = (rnd: () => number, base: number, spread: number) => Math.round((base + rnd() * spread) * 100) / 100;

function checkout(r: Request): Node {
  const { rnd } = r;
  const cart = `c-${1000 + Math.floor(rnd() * 9000)}`;
  const user = `u-${100 + Math.floor(rnd() * 900)}`;
  const orderId = `o-${20000 + Math.floor(rnd() * 9000)}`;
  const total = (r.items * (4 + rnd() * 30)).toFixed(2);
  const skus = Array.from({ length: r.items }, (_, i) => `SKU-${(4000 + i * 37 + Math.floor(rnd() * 30)).toString()}`);
  const prices = r.nPlusOne
    ? skus.map(() => query('orders', 'SELECT', 'items', 'SELECT id, sku, unit_price, currency FROM items WHERE sku = $1', jitter(rnd, 2.2, 1.6)))
    : [query('orders', 'SELECT', 'items', 'SELECT id, sku, unit_price, currency FROM items WHERE sku = ANY($1)', jitter(rnd, 3, 3))];
  const payStatus = r.fails ? 402 : 200;
  const paymentError = r.fails
    ? {
        type: 'com.shop.payments.CardDeclinedException',
        message: `card declined by issuer (code 51, insufficient funds) for order ${orderId}`,
        stack: `com.shop.payments.CardDeclinedException: card declined by issuer (code 51, insufficient funds) for order ${orderId}\n\tat com.shop.payments.PaymentService.charge(PaymentService.java:88)\n\tat com.shop.payments.PaymentController.charge(PaymentController.java:34)`,
      }
    : undefined;
  const payments = call('orders', 'payments', 'POST', '/payments/charge', '/payments/charge', payStatus, 0.4, [
    method('payments', 'PaymentController', 'charge', 0.3, [`{"orderId":"${orderId}","amount":"${total}","currency":"EUR"}`], `{"status":"captured","orderId":"${orderId}"}`, [
      method(
        'payments',
        'PaymentService',
        'charge',
        jitter(rnd, 1.5, 2),
        [`"${orderId}"`, `{"amount":"${total}","currency":"EUR","card":"**** 4242"}`],
        `{"authCode":"A${Math.floor(rnd() * 99999)}"}`,
        [
          method('payments', 'FraudClient', 'score', jitter(rnd, 6, 10), [`"${user}"`, `"${total}"`], `0.0${Math.floor(rnd() * 9)}`, []),
          query('payments', 'INSERT', 'payments', 'INSERT INTO payments (order_id, amount, currency, status) VALUES ($1, $2, $3, $4)', jitter(rnd, 1.5, 2)),
        ],
        paymentError,
      ),
    ]),
  ]);
  if (r.fails) payments.children[0]!.children[0]!.failed = true;
  const inventory = call('orders', 'inventory', 'POST', '/inventory/reserve', '/inventory/reserve', 200, 0.4, [
    method('inventory', 'StockService', 'reserve', jitter(rnd, 0.8, 1), [JSON.stringify(skus.slice(0, 3)).replace(/]$/, r.items > 3 ? ',…]' : ']')], `{"reserved":${r.items}}`, [
      query('inventory', 'UPDATE', 'stock', 'UPDATE stock SET reserved = reserved + $2 WHERE sku = ANY($1) AND available >= $2', jitter(rnd, 4, 6)),
    ]),
  ]);
  const promotionsMs = r.slow ? SLOW_METHOD_MS : jitter(rnd, 2, 5);
  const placeOrder = method(
    'orders',
    'OrderService',
    'placeOrder',
    jitter(rnd, 1, 1),
    [`"${cart}"`, `{"user":"${user}","coupon":${r.slow ? '"SPRING-ALL-37"' : 'null'}}`],
    r.fails ? undefined : `{"orderId":"${orderId}","total":"${total}"}`,
    [
      method('orders', 'CartRepository', 'loadItems', 0.3, [`"${cart}"`], `[${r.items} items]`, [
        query('orders', 'SELECT', 'cart_items', 'SELECT sku, quantity FROM cart_items WHERE cart_id = $1', jitter(rnd, 2, 2)),
      ]),
      method('orders', 'ItemRepository', 'findPrices', 0.2, [JSON.stringify(skus.slice(0, 3)).replace(/]$/, r.items > 3 ? ',…]' : ']')], `[${r.items} prices]`, prices),
      inventory,
      method('orders', 'PricingEngine', 'applyPromotions', promotionsMs, [`{"cart":"${cart}","items":${r.items},"subtotal":"${total}"}`, r.slow ? '["SPRING-ALL-37"]' : '[]'], `{"discount":"${r.slow ? '12.40' : '0.00'}"}`, []),
      payments,
      query('orders', 'INSERT', 'orders', 'INSERT INTO orders (id, cart_id, user_id, total, status) VALUES ($1, $2, $3, $4, $5)', jitter(rnd, 1.5, 2)),
    ],
  );
  if (r.fails) placeOrder.failed = true;
  const status = r.fails ? 502 : 201;
  const orders = call('gateway', 'orders', 'POST', '/orders', '/orders', status, 0.5, [
    method('orders', 'OrderController', 'create', 0.4, [`{"cartId":"${cart}","userId":"${user}"}`], r.fails ? undefined : `{"status":201,"orderId":"${orderId}"}`, [placeOrder]),
  ]);
  if (r.fails) orders.children[0]!.children[0]!.failed = true;
  return server('gateway', 'POST', '/api/checkout', '/api/checkout', status, 0.8, [
    method('gateway', 'AuthFilter', 'verify', jitter(rnd, 0.4, 0.6), ['"Bearer ***"'], `"${user}"`, []),
    method('gateway', 'CheckoutHandler', 'handle', 0.3, [`{"cartId":"${cart}"}`], r.fails ? undefined : `{"status":201}`, [orders]),
  ]);
}

function order(r: Request): Node {
  const { rnd } = r;
  const id = `o-${20000 + Math.floor(rnd() * 9000)}`;
  return server('gateway', 'GET', '/api/orders/{id}', `/api/orders/${id}`, 200, 0.6, [
    method('gateway', 'AuthFilter', 'verify', jitter(rnd, 0.4, 0.6), ['"Bearer ***"'], `"u-${100 + Math.floor(rnd() * 900)}"`, []),
    call('gateway', 'orders', 'GET', '/orders/{id}', `/orders/${id}`, 200, 0.4, [
      method('orders', 'OrderController', 'get', 0.3, [`"${id}"`], `{"status":200}`, [
        method('orders', 'OrderService', 'find', 0.5, [`"${id}"`, '{"expand":["lines"]}'], `{"id":"${id}","lines":${r.items}}`, [
          query('orders', 'SELECT', 'orders', 'SELECT id, cart_id, user_id, total, status, created_at FROM orders WHERE id = $1', jitter(rnd, 1.5, 3)),
          query('orders', 'SELECT', 'order_lines', 'SELECT sku, quantity, unit_price FROM order_lines WHERE order_id = $1', jitter(rnd, 1.5, 4)),
        ]),
      ]),
    ]),
  ]);
}

function products(r: Request): Node {
  const { rnd } = r;
  const page = 1 + Math.floor(rnd() * 5);
  return server('gateway', 'GET', '/api/products', `/api/products?page=${page}`, 200, 0.6, [
    call('gateway', 'inventory', 'GET', '/inventory/items', `/inventory/items?page=${page}`, 200, 0.4, [
      method('inventory', 'CatalogService', 'list', jitter(rnd, 1, 2), [`{"page":${page},"size":50}`], '[50 items]', [
        query('inventory', 'SELECT', 'items', 'SELECT sku, name, unit_price, available FROM items ORDER BY sku LIMIT 50 OFFSET $1', jitter(rnd, 5, 12)),
      ]),
    ]),
  ]);
}

type Slot = { minutesAgo: number; request: Omit<Request, 'rnd'>; label?: 'slow' | 'n+1' | 'error' };

/** The demo's requests as OTLP/JSON bodies (one per ten requests, as an exporter batches), times ending before `nowMs`. */
export function demoData(nowMs = Date.now()): DemoData {
  const rnd = prng(14);
  // Minutes ago → requests that minute: one a minute, three in the busy stretch, one more every fifth minute.
  const slots: Slot[] = [];
  let checkouts = 0;
  for (let m = 58; m >= 1; m--) {
    const count = 1 + (m >= 25 && m <= 35 ? 2 : 0) + (m % 5 === 0 ? 1 : 0);
    for (let k = 0; k < count; k++) {
      const pick = rnd();
      const kind = pick < 0.6 ? 'checkout' : pick < 0.85 ? 'order' : 'products';
      const items = 1 + Math.floor(rnd() * 6);
      if (kind !== 'checkout') {
        slots.push({ minutesAgo: m, request: { kind, items } });
        continue;
      }
      checkouts++;
      const label = m === 12 && k === 0 ? 'slow' : m === 8 && k === 0 ? 'n+1' : m === 5 && k === 0 ? 'error' : undefined;
      slots.push({
        minutesAgo: m,
        label,
        request: {
          kind,
          items: label === 'n+1' ? N_PLUS_ONE_QUERIES : label === 'slow' ? 5 : items,
          slow: label === 'slow',
          // An N+1 on every seventh checkout (a legacy path); failed payments on every eleventh.
          nPlusOne: label === 'n+1' || (label === undefined && checkouts % 7 === 3),
          fails: label === 'error' || (label === undefined && checkouts % 11 === 6),
        },
      });
    }
  }
  // The labelled requests exist whatever the draw for their minute was.
  for (const [m, label] of [[12, 'slow'], [8, 'n+1'], [5, 'error']] as const) {
    if (!slots.some((s) => s.label === label)) {
      slots.push({ minutesAgo: m, label, request: { kind: 'checkout', items: label === 'n+1' ? N_PLUS_ONE_QUERIES : 5, slow: label === 'slow', nPlusOne: label === 'n+1', fails: label === 'error' } });
    }
  }
  return { ...encode(slots, rnd, nowMs), edges: ['gateway→orders', 'gateway→inventory', 'orders→inventory', 'orders→payments'] };
}

/**
 * `count` ordinary requests of the last few seconds (for the live tail), new IDs per `seed`.
 * One OTLP body per request, to be sent a moment apart.
 */
export function liveRequests(count: number, seed: number, nowMs = Date.now()): OtlpRequest[] {
  const rnd = prng(1_000 + seed);
  const kinds = ['checkout', 'order', 'products'] as const;
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ minutesAgo: 0.1, request: { kind: kinds[i % 3]!, items: 1 + (i % 4), fails: i % 5 === 4 } }));
  return slots.map((slot) => encode([slot], rnd, nowMs).request[0]!);
}

function encode(slots: readonly Slot[], rnd: () => number, nowMs: number): Omit<DemoData, 'edges'> {
  const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(rnd() * 256).toString(16).padStart(2, '0')).join('');
  const bodies: OtlpRequest[] = [];
  let batch = new Map<string, OtlpSpan[]>();
  let inBatch = 0;
  const flush = () => {
    if (inBatch === 0) return;
    bodies.push({
      resourceSpans: [...batch.entries()].map(([service, spans]) => ({
        resource: { attributes: [kv('service.name', service), kv('service.version', '2.14.0'), kv('deployment.environment.name', 'demo'), kv('telemetry.sdk.language', 'java')] },
        scopeSpans: [{ scope: { name: 'flowtrace-agent' }, spans }],
      })),
    });
    batch = new Map();
    inBatch = 0;
  };
  const out = { slowTraceId: '', slowCorrelationId: '', slowMethodSpanId: '', nPlusOneTraceId: '', errorTraceId: '' };
  let spanCount = 0;
  for (const slot of slots) {
    const traceId = hex(16);
    const correlationId = `req-${hex(6)}`;
    const builder = new Builder(traceId, () => hex(8), correlationId);
    const request: Request = { ...slot.request, rnd };
    const root = request.kind === 'checkout' ? checkout(request) : request.kind === 'order' ? order(request) : products(request);
    // Within its minute, early enough that even the slow request has ended before `nowMs`.
    const startNs = BigInt(Math.round(nowMs - slot.minutesAgo * 60_000 + rnd() * Math.min(50_000, slot.minutesAgo * 30_000))) * MS;
    builder.layout(root, startNs, undefined);
    for (const [service, spans] of builder.spans) {
      batch.set(service, [...(batch.get(service) ?? []), ...spans]);
      spanCount += spans.length;
    }
    if (slot.label === 'slow') {
      out.slowTraceId = traceId;
      out.slowCorrelationId = correlationId;
      out.slowMethodSpanId = builder.spans.get('orders')!.find((s) => s.name === SLOW_METHOD)!.spanId;
    }
    if (slot.label === 'n+1') out.nPlusOneTraceId = traceId;
    if (slot.label === 'error') out.errorTraceId = traceId;
    if (++inBatch === 10) flush();
  }
  flush();
  return { ...out, request: bodies, traceCount: slots.length, spanCount };
}

/**
 * Sends the demo to `collector` (started with DEMO_CONFIG) and waits until the pages can show
 * it: every trace searchable, the service map's edges and the RED minutes written.
 */
export async function seedDemo(collector: RunningCollector, nowMs = Date.now()): Promise<DemoData> {
  const demo = demoData(nowMs);
  for (const body of demo.request) {
    const outcome = await postTraces(collector.httpEndpoint, JSON.stringify(body), 'application/json');
    if (outcome.status !== 200 || outcome.rejected !== 0) throw new Error(`the collector refused demo spans: ${JSON.stringify(outcome)}`);
  }
  await waitFor(
    async () => {
      const { traces } = (await getJson<{ traces: unknown[] }>(`${collector.apiUrl}/api/traces?lookback=1h&limit=500`))!;
      return traces.length === demo.traceCount ? true : undefined;
    },
    `all ${demo.traceCount} demo traces to be searchable`,
    60_000,
  );
  await waitFor(
    async () => {
      const { edges } = (await getJson<{ edges: Array<{ caller: string; callee: string }> }>(`${collector.apiUrl}/api/service-graph?lookback=1h`))!;
      const found = new Set(edges.map((e) => `${e.caller}→${e.callee}`));
      return demo.edges.every((e) => found.has(e)) ? true : undefined;
    },
    'the service-graph edges of the demo',
    60_000,
  );
  await waitFor(
    async () => {
      const { points } = (await getJson<{ points: Array<{ service: string }> }>(`${collector.apiUrl}/api/metrics/red?lookback=1h`))!;
      const services = new Set(points.map((p) => p.service));
      return DEMO_SERVICES.every((s) => services.has(s)) ? true : undefined;
    },
    'the RED minutes of every demo service',
    60_000,
  );
  return demo;
}
