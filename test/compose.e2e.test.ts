/**
 * End to end, as users run it: `docker compose up` of docker-compose.yml (the collector and the
 * demo system) on a real Docker engine, with the images built from this checkout.
 *
 * A private dockerd (test/helpers/docker.ts: no iptables, no bridge, data root cached in
 * ~/.cache/flowtrace/docker) builds the base image (deploy/base-image.sh) and the Rust build image
 * (deploy/rust-image.sh: this machine's toolchain), then the collector and demo images FROM them;
 * Compose v5 (test/tools/build.sh) runs docker-compose.yml with the test override
 * deploy/compose.test.yml (host network, free loopback ports) and an env file holding a fresh
 * admin token. A checkout sent to the gateway must arrive as one stitched trace across the
 * seven services (three on Node.js, orders on Java under the Java agent, recommendations on Python
 * under the Python agent, pricing on Go built with flowtrace-go, warehouse on Rust with
 * #[flowtrace::trace]) under its x-request-id, each agent's method spans under its server span,
 * read through the API with that token; the load generator's requests must arrive too. Host
 * networking would hide a service bound to 127.0.0.1, so the addresses every container listens on
 * are read from inside it and must be 0.0.0.0.
 *
 * Part of `npm test`. Needs root, Debian's docker.io and debootstrap (`.ci/run` installs them with
 * apt-get; test/helpers/docker.ts says so when they are missing):
 *
 *   npx vitest run test/compose.e2e.test.ts
 *
 * Cold (no cached base root fs, no images): minutes, mostly the collector image's npm install
 * (the embedded engine, ~540 MB), the Java image's JDK, Maven and Maven Central downloads, and the
 * Python image's Debian Python and PyPI packages, the Go image's toolchain download and standard
 * library rebuild, and the Rust image's crates.io downloads and debug build. Warm: the builds come
 * from the daemon's layer cache.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpanView } from '../collector/src/query/span-view.js';
import type { CorrelationTraces } from '../collector/src/query/stitch-routes.js';
import { waitFor } from './helpers/collector.js';
import { ensureBaseImage, IMAGE_BUILD_TIMEOUT_MS, listeningSockets, run, runCommand, startDockerd, type RunningDockerd } from './helpers/docker.js';
import { freePort } from './helpers/peers.js';
import { ensureRustImage } from './helpers/rust-image.js';
import { ancestors, spanNamed } from './helpers/span-tree.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from './helpers/tools.js';

const SERVICES = ['gateway', 'inventory', 'orders', 'payments', 'pricing', 'recommendations', 'warehouse'];
/** Own tags, so that a user's `flowtrace:local` in the same daemon is never replaced. */
const TAG = 'e2e';
const PROJECT = `flowtrace-e2e-${process.pid}`;

let dockerd: RunningDockerd | undefined;
let compose: string;
let dir: string;
let envFile: string;
let token: string;
let composeUp = false;
let failed = false;
let ready = false;
let started: Date | undefined;
const ports = { grpc: 0, http: 0, api: 0, gateway: 0, inventory: 0, payments: 0, orders: 0, recommendations: 0, pricing: 0, warehouse: 0 };
const timings: Array<[string, number]> = [];

async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([step, (Date.now() - start) / 1000]);
    process.stderr.write(`compose e2e: ${step}: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  }
}

/** `compose -p PROJECT -f docker-compose.yml -f deploy/compose.test.yml --env-file ENV ARGS`. */
function composeArgs(args: string[]): string[] {
  return ['-p', PROJECT, '-f', 'docker-compose.yml', '-f', 'deploy/compose.test.yml', '--env-file', envFile, ...args];
}

function runCompose(args: string[], timeoutMs = 180_000): Promise<string> {
  return run(compose, composeArgs(args), { env: dockerd!.env, timeoutMs });
}

/** A GET on the query API with the admin token (undefined on 404). */
async function api<T>(path: string): Promise<T | undefined> {
  const res = await fetch(`http://127.0.0.1:${ports.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The container's id of a compose service. */
async function containerOf(service: string): Promise<string> {
  const id = (await runCompose(['ps', '-q', service])).trim();
  if (!/^[0-9a-f]{12,64}$/.test(id)) throw new Error(`no container for ${service}: ${JSON.stringify(id)}`);
  return id;
}

async function composeLogs(): Promise<string> {
  const r = await runCommand(compose, composeArgs(['logs', '--no-color', '--tail', '60']), { env: dockerd!.env, timeoutMs: 60_000 });
  return r.stdout + r.stderr;
}

describe('docker compose up (collector + demo system) on a private dockerd', () => {
  beforeAll(async () => {
    compose = await timed('compose CLI (test/tools/build.sh)', () => ensureTool('compose'));
    dockerd = await timed('dockerd start', () => startDockerd());
    started = new Date();
    const base = await timed('base image (deploy/base-image.sh)', () => ensureBaseImage(dockerd!));
    const rust = await timed('Rust build image (deploy/rust-image.sh)', () => ensureRustImage(dockerd!, base));

    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    token = `ft_${randomBytes(32).toString('base64url')}`;
    dir = mkdtempSync(join(tmpdir(), 'flowtrace-compose-'));
    envFile = join(dir, '.env');
    // What a user's .env holds (.env.example), plus the test override's ports.
    writeFileSync(
      envFile,
      [
        `FLOWTRACE_ADMIN_TOKEN=${token}`,
        `BASE_IMAGE=${base}`,
        `RUST_IMAGE=${rust}`,
        `FLOWTRACE_IMAGE_TAG=${TAG}`,
        `FT_TEST_GRPC_PORT=${ports.grpc}`,
        `FT_TEST_HTTP_PORT=${ports.http}`,
        `FT_TEST_API_PORT=${ports.api}`,
        `FT_TEST_GATEWAY_PORT=${ports.gateway}`,
        `FT_TEST_INVENTORY_PORT=${ports.inventory}`,
        `FT_TEST_PAYMENTS_PORT=${ports.payments}`,
        `FT_TEST_ORDERS_PORT=${ports.orders}`,
        `FT_TEST_RECOMMENDATIONS_PORT=${ports.recommendations}`,
        `FT_TEST_PRICING_PORT=${ports.pricing}`,
        `FT_TEST_WAREHOUSE_PORT=${ports.warehouse}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // The README's command: Compose builds the images (classic builder, FROM the local base image;
    // no registry is reachable here, so nothing is pulled) and starts everything.
    composeUp = true;
    await timed('compose up -d --build (until healthy dependencies)', () => runCompose(['up', '-d', '--build', '--pull', 'never'], 2 * IMAGE_BUILD_TIMEOUT_MS));
    await timed('collector /readyz', () =>
      waitFor(async () => ((await fetch(`http://127.0.0.1:${ports.api}/readyz`)).ok ? true : undefined), 'the collector /readyz', 120_000),
    );
    ready = true;
  }, TOOL_BUILD_TIMEOUT_MS + 2 * IMAGE_BUILD_TIMEOUT_MS + 10 * 60_000);

  // On a failure, the containers' last log lines say why (printed before compose down removes them).
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    try {
      if (composeUp && dockerd) {
        if (failed || !ready) process.stderr.write(await composeLogs());
        await timed('compose down -v', () => runCompose(['down', '-v', '--timeout', '20']));
      }
      if (dockerd && started) await timed('prune earlier runs\' images', () => dockerd!.pruneBefore(started!));
    } finally {
      if (dockerd) await timed('dockerd stop', () => dockerd!.stop());
      if (dir) rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`compose e2e timings (s): ${timings.map(([k, v]) => `${k} ${v.toFixed(1)}`).join('; ')}\n`);
    }
  }, 180_000);

  it('requires the admin token from .env on the query API', async () => {
    const anonymous = await fetch(`http://127.0.0.1:${ports.api}/api/service-graph`);
    expect(anonymous.status).toBe(401);
    const withToken = await fetch(`http://127.0.0.1:${ports.api}/api/service-graph`, { headers: { authorization: `Bearer ${token}` } });
    expect(withToken.status).toBe(200);
  });

  it('serves the web dashboard from the collector image (the page holds no data: it signs in through the API)', async () => {
    const page = await fetch(`http://127.0.0.1:${ports.api}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${ports.api}${script}`)).status).toBe(200);
  });

  it('stitches a checkout across the demo containers under one correlation ID', async () => {
    const requestId = `compose-e2e-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${ports.gateway}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ customer: 'ada', cardNumber: '4111 1111 1111 1111', items: [{ sku: 'apple', qty: 2 }, { sku: 'coffee', qty: 1 }] }),
    });
    expect(res.status).toBe(201);
    // Related to the basket, most popular first, none of what was bought (deploy/demo/recommendations).
    const placed = (await res.json()) as { recommendations: string[]; priceCheck?: number };
    expect(placed.recommendations).toEqual(['honey', 'milk', 'oats']);
    // The pricing service's sample cart: lines 3 and 4 at 10, 5 off above 50 (agents/go/examples/gin-service).
    expect(placed.priceCheck).toBe(65);

    const methods = [
      'CheckoutService.placeOrder', 'StockService.reserve', 'PaymentService.charge', 'OrderService.place', 'RecommendationEngine.recommend', 'PartnerCatalog.fetch_related',
      'Checkout.Handle', 'Checkout.Total', 'main.applyDiscount', 'main.linePrice', 'Checkout.Downstream', 'Inventory.report', 'pricing.quote',
    ];
    const { correlation, spans } = await timed('stitched trace arrives', () =>
      waitFor(async () => {
        const c = await api<CorrelationTraces>(`/api/correlations/${requestId}`);
        if (c === undefined || c.traces.length === 0) return undefined;
        const trace = await api<{ spans: SpanView[] }>(`/api/traces/${c.traces[0]!.traceId}`);
        const got = trace?.spans ?? [];
        const names = new Set(got.map((s) => s.name));
        const servers = new Set(got.filter((s) => s.kind === 'Server').map((s) => s.serviceName));
        return methods.every((m) => names.has(m)) && SERVICES.every((s) => servers.has(s)) ? { correlation: c, spans: got } : undefined;
      }, `the stitched trace of ${requestId}`, 60_000),
    );

    expect(correlation.correlationId).toBe(requestId);
    expect(correlation.services).toEqual(SERVICES);
    expect(correlation.traces).toHaveLength(1);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(SERVICES));
    for (const s of spans) {
      expect(s.traceId).toBe(correlation.traces[0]!.traceId);
      expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);
    }
    // Across containers: each downstream server span is the child of a gateway client span.
    for (const service of ['inventory', 'payments', 'orders', 'recommendations', 'pricing']) {
      const server = spans.find((s) => s.kind === 'Server' && s.serviceName === service)!;
      expect(spans.find((s) => s.spanId === server.parentSpanId), `the caller of ${service}`).toMatchObject({ kind: 'Client', serviceName: 'gateway' });
    }
    // The Java agent's method spans, under the orders container's server span, the card masked in the JVM.
    const place = spans.find((s) => s.name === 'OrderService.place')!;
    expect(place).toMatchObject({ serviceName: 'orders', kind: 'Internal', scope: { name: 'dev.flowtrace.agent.java' } });
    const controller = spans.find((s) => s.spanId === place.parentSpanId)!;
    expect(controller.name).toBe('OrderController.create');
    expect(spans.find((s) => s.spanId === controller.parentSpanId)).toMatchObject({ kind: 'Server', serviceName: 'orders' });
    expect(place.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111/);
    // The Python agent's method spans, under the recommendations container's server span: the route
    // handler, the engine's coroutine, the partner call with its token masked in the interpreter.
    const pythonServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'recommendations')!;
    const underPythonServer = (s: SpanView): boolean => {
      for (let p = spans.find((x) => x.spanId === s.parentSpanId); p !== undefined; p = spans.find((x) => x.spanId === p!.parentSpanId)) {
        if (p.spanId === pythonServer.spanId) return true;
      }
      return false;
    };
    const recommend = spans.find((s) => s.name === 'RecommendationEngine.recommend')!;
    expect(recommend).toMatchObject({ serviceName: 'recommendations', kind: 'Internal', scope: { name: 'flowtrace-agent' } });
    expect(recommend.attributes['code.function.name']).toBe('recommendations_app.engine.RecommendationEngine.recommend');
    expect(underPythonServer(recommend), 'RecommendationEngine.recommend under the recommendations server span').toBe(true);
    expect(spans.find((s) => s.spanId === recommend.parentSpanId)).toMatchObject({ name: 'main.recommend', serviceName: 'recommendations' });
    const partnerCalls = spans.filter((s) => s.name === 'PartnerCatalog.fetch_related');
    expect(partnerCalls).toHaveLength(2); // one per item, awaited together
    for (const call of partnerCalls) {
      expect(underPythonServer(call)).toBe(true);
      expect(call.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    }
    expect(partnerCalls.map((c) => c.attributes['flowtrace.args.0']).sort()).toEqual(['"apple"', '"coffee"']);
    expect(JSON.stringify(spans)).not.toContain('demo-partner-token');
    // The Go service (built with flowtrace-go, no tracing code): the handler under the gin server
    // span; Total (no context.Context) under it; applyDiscount (no context, two calls below the
    // handler) and linePrice (in the goroutines Total starts) under Total; then its http.Get call
    // (no context either) is the parent of the warehouse's server span.
    const serverOf = (service: string): SpanView => spans.find((s) => s.kind === 'Server' && s.serviceName === service)!;
    const handle = spanNamed(spans, 'Checkout.Handle');
    const total = spanNamed(spans, 'Checkout.Total');
    for (const m of [handle, total]) expect(m).toMatchObject({ serviceName: 'pricing', kind: 'Internal', scope: { name: 'flowtrace-agent' } });
    expect(ancestors(spans, handle)).toContain(serverOf('pricing'));
    expect(total.parentSpanId).toBe(handle.spanId);
    expect(total.attributes['code.function.name']).toBe('github.com/flowtrace/flowtrace/agents/go/examples/gin-service.Checkout.Total');
    expect(spanNamed(spans, 'main.applyDiscount').parentSpanId).toBe(total.spanId);
    const lines = spans.filter((s) => s.name === 'main.linePrice');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.parentSpanId).toBe(total.spanId);
    const warehouseServer = serverOf('warehouse');
    expect(spans.find((s) => s.spanId === warehouseServer.parentSpanId)).toMatchObject({ kind: 'Client', serviceName: 'pricing' });
    expect(ancestors(spans, warehouseServer)).toContain(spanNamed(spans, 'Checkout.Downstream'));
    // The Rust service (#[flowtrace::trace]): the async method under the axum server span, the
    // awaited function under it covering its 5 ms sleep, the secret-named argument masked in-process.
    const report = spanNamed(spans, 'Inventory.report');
    const quote = spanNamed(spans, 'pricing.quote');
    for (const m of [report, quote]) expect(m).toMatchObject({ serviceName: 'warehouse', kind: 'Internal' });
    expect(ancestors(spans, report)).toContain(warehouseServer);
    expect(quote.parentSpanId).toBe(report.spanId);
    expect(Number(quote.durationNano)).toBeGreaterThanOrEqual(5_000_000);
    expect(report.attributes['code.function.name']).toBeTruthy();
    expect(report.attributes['flowtrace.args.1']).toBe('[REDACTED]'); // api_key
    expect(JSON.stringify(spans)).not.toContain('sk_live_example');
  }, 90_000);

  it('has the load generator container send checkouts that arrive stitched, shown by the CLI', async () => {
    const loadgen = await containerOf('loadgen');
    const requestId = await waitFor(async () => {
      const logs = await dockerd!.docker(['logs', loadgen]);
      return /^request (demo-[0-9a-f-]{36}) 201$/m.exec(logs)?.[1];
    }, 'a successful checkout of the load generator', 60_000);
    const correlation = await waitFor(async () => {
      const c = await api<CorrelationTraces>(`/api/correlations/${requestId}`);
      return c !== undefined && SERVICES.every((s) => c.services.includes(s)) ? c : undefined;
    }, `the correlation ${requestId}`, 60_000);
    expect(correlation.traces).toHaveLength(1);

    // The README's CLI step: the collector image's own CLI, the token passed by name (`-e NAME`: its value never on a command line).
    const traceId = correlation.traces[0]!.traceId;
    const cli = await runCommand(compose, composeArgs(['exec', '-T', '-e', 'FLOWTRACE_TOKEN', '-e', `FLOWTRACE_API_URL=http://127.0.0.1:${ports.api}`, 'flowtrace', 'node', 'bin/flowtrace.js', 'traces', 'get', traceId]), {
      env: { ...dockerd!.env, FLOWTRACE_TOKEN: token },
      timeoutMs: 60_000,
    });
    expect(cli.code, cli.stderr).toBe(0);
    for (const name of ['CheckoutService.placeOrder', 'StockService.reserve', 'PaymentService.charge', 'OrderService.place', 'RecommendationEngine.recommend', 'Checkout.Total', 'Inventory.report', ...SERVICES]) expect(cli.stdout).toContain(name);
  }, 150_000);

  it('has every container listen on 0.0.0.0 on its own ports only (reachable on a bridge network too)', async () => {
    const expected: Record<string, number[]> = {
      flowtrace: [ports.grpc, ports.http, ports.api],
      gateway: [ports.gateway],
      inventory: [ports.inventory],
      payments: [ports.payments],
      orders: [ports.orders],
      recommendations: [ports.recommendations],
      pricing: [ports.pricing],
      warehouse: [ports.warehouse],
      loadgen: [],
    };
    for (const [service, want] of Object.entries(expected)) {
      const sockets = await listeningSockets(dockerd!, await containerOf(service));
      const got = sockets.map((s) => `${s.address}:${s.port}`).sort();
      expect(got, `${service} listens on`).toEqual(want.map((p) => `0.0.0.0:${p}`).sort());
    }
  });

  it('runs the collector image on a read-only root file system, as the Helm chart does: it stores what it receives', async () => {
    const [api, http, grpc] = [await freePort(), await freePort(), await freePort()];
    const name = `${PROJECT}-readonly`;
    const volume = `${PROJECT}-readonly-data`;
    await dockerd!.docker([
      'run', '-d', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '-v', `${volume}:/data`,
      '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true',
      // Loopback only: no token needed, nothing reachable from elsewhere during the test.
      '-e', `FLOWTRACE_API=127.0.0.1:${api}`, '-e', `FLOWTRACE_OTLP_HTTP=127.0.0.1:${http}`, '-e', `FLOWTRACE_OTLP_GRPC=127.0.0.1:${grpc}`,
      `flowtrace:${TAG}`,
    ]);
    try {
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${api}/readyz`).catch(() => undefined))?.ok ? true : undefined), 'the read-only collector /readyz', 120_000);
      const traceId = randomBytes(16).toString('hex');
      const now = BigInt(Date.now()) * 1_000_000n;
      const body = {
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'read-only-check' } }] },
          scopeSpans: [{ spans: [{ traceId, spanId: randomBytes(8).toString('hex'), name: 'stored', kind: 2, startTimeUnixNano: `${now}`, endTimeUnixNano: `${now + 1_000_000n}` }] }],
        }],
      };
      const sent = await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(sent.status).toBe(200);
      const stored = await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${api}/api/traces/${traceId}`);
        return res.ok ? ((await res.json()) as { spans: SpanView[] }) : undefined;
      }, 'the span stored by the read-only collector', 60_000);
      expect(stored.spans.map((sp) => sp.name)).toEqual(['stored']);
    } finally {
      await dockerd!.docker(['rm', '-f', '-v', name]);
      await dockerd!.docker(['volume', 'rm', '-f', volume]);
    }
  }, 180_000);

  it('runs every container as its non-root user, healthy', async () => {
    for (const service of [...SERVICES, 'flowtrace']) {
      const id = await containerOf(service);
      const [user, health] = (await dockerd!.docker(['inspect', '--format', '{{.Config.User}} {{.State.Health.Status}}', id])).trim().split(' ');
      expect(user, service).toBe(service === 'flowtrace' ? '10001:10001' : '10002:10002');
      expect(health, service).toBe('healthy');
      expect((await dockerd!.docker(['exec', id, 'id', '-u'])).trim(), service).not.toBe('0');
    }
  });

  it("reads the admin token from Compose's secret file without a permissions warning, and logs no secret", async () => {
    const id = await containerOf('flowtrace');
    // Root-owned and readable by the collector's user: the platform's mount, not the collector's file.
    const [mode, owner] = (await dockerd!.docker(['exec', id, 'stat', '-L', '-c', '%a %u', '/run/secrets/flowtrace-admin-token'])).trim().split(' ');
    expect(owner).toBe('0');
    expect(Number.parseInt(mode!, 8) & 0o222).toBe(0);
    const r = await runCommand('docker', ['logs', id], { env: dockerd!.env, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const logs = r.stdout + r.stderr;
    expect(logs).toContain('collector ready');
    expect(logs).not.toMatch(/readable by other users/);
    expect(logs).not.toContain(token);
  });
});

