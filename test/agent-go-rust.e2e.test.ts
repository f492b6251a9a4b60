// End to end across three languages: a Node.js gateway under the Node agent calls a gin service
// built with `flowtrace-go` (no tracing code of its own), which calls an axum service traced with
// `#[flowtrace::trace]`; all export over OTLP/gRPC to a real collector with embedded ClickHouse.
// One request with an x-request-id must become one trace: the Go and Rust server spans children
// of their callers' client spans, method spans nested under each server span (a Go function with
// no context.Context two calls below the handler, and one run in a goroutine the traced call
// started), the caller's ID on every span, secrets masked.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import { cleanup, startCollector, traceOfCorrelationId, waitFor, type RunningCollector } from './helpers/collector.js';
import { agentEnv, serviceEnv, startService, stopService, type Service } from './helpers/services.js';
import { ancestors, spanNamed } from './helpers/span-tree.js';

const ROOT = resolve(import.meta.dirname, '..');
const GO_AGENT = join(ROOT, 'agents/go');
const RUST_AGENT = join(ROOT, 'agents/rust');
const GATEWAY = join(import.meta.dirname, 'fixtures/polyglot/gateway');
// Build output outside the repository, reused between runs (as test:go and test:rust do).
const GO_BIN = join(homedir(), '.cache/flowtrace/go-bin');
const CARGO_TARGET = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/flowtrace/cargo-target');
const CARD = '4111 1111 1111 1111';

const services: Service[] = [];
let collector: RunningCollector;
let gateway: Service;

function run(what: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').slice(-4000)}`);
}

/** flowtrace-go, then the example gin service built with it (what is traced is chosen at build time). */
function buildGinService(): string {
  mkdirSync(GO_BIN, { recursive: true });
  const tool = join(GO_BIN, 'flowtrace-go');
  const service = join(GO_BIN, 'gin-service');
  run('go build of flowtrace-go', 'go', ['build', '-o', tool, './cmd/flowtrace-go'], GO_AGENT);
  run('flowtrace-go build of the gin example', tool, ['build', '-o', service, './examples/gin-service'], GO_AGENT, serviceEnv({}));
  return service;
}

function buildAxumService(): string {
  run('cargo build of the axum example', 'cargo', ['build', '--locked', '-p', 'flowtrace-example-axum'], RUST_AGENT, { ...process.env, CARGO_TARGET_DIR: CARGO_TARGET });
  return join(CARGO_TARGET, 'debug/flowtrace-example-axum');
}

const tracedEnv = (name: string, extra: Record<string, string> = {}) => agentEnv(name, collector.grpcEndpoint, { FLOWTRACE_CAPTURE_RETURN: 'true', ...extra });

beforeAll(async () => {
  const ginBinary = buildGinService();
  const axumBinary = buildAxumService();
  await ensureAgentBuilt();
  collector = await startCollector();
  const inventory = await startService('inventory', axumBinary, ['--port', '0'], RUST_AGENT, tracedEnv('inventory', { ADDR: '127.0.0.1' }), /listening on [\d.]+:(\d+)/);
  services.push(inventory);
  const checkout = await startService('checkout', ginBinary, ['-port', '0', '-addr', '127.0.0.1'], GO_AGENT, tracedEnv('checkout', { DOWNSTREAM_URL: `http://127.0.0.1:${inventory.port}/stock/A-1` }), /listening on [\d.]+:(\d+)/);
  services.push(checkout);
  gateway = await startService('gateway', process.execPath, ['--require', '@flowtrace/agent-node/register', 'server.js'], GATEWAY, tracedEnv('gateway', { CHECKOUT_URL: `http://127.0.0.1:${checkout.port}` }));
  services.push(gateway);
}, 900_000);

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

describe('Go and Rust agents behind a Node.js gateway', () => {
  it('turns one request into one trace across Node.js, gin and axum', async () => {
    const requestId = `e2e-go-rust-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${gateway.port}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ customer: 'ada', cardNumber: CARD }),
    });
    const answer = await res.text();
    expect(res.status, `${answer}\n${services.flatMap((s) => s.output).join('\n')}`).toBe(201);

    const wanted = ['Orders.place', 'Checkout.Handle', 'Checkout.Total', 'main.applyDiscount', 'main.linePrice', 'Checkout.Downstream', 'Inventory.report', 'pricing.quote'];
    const trace = await waitFor(async () => {
      const t = await traceOfCorrelationId(collector.apiUrl, requestId);
      const names = new Set(t?.spans.map((s) => s.name));
      const servers = t?.spans.filter((s) => s.kind === 'Server').length ?? 0;
      return wanted.every((n) => names.has(n)) && servers === 3 ? t : undefined;
    }, 'the request’s trace with every span stored', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${services.flatMap((x) => x.output).join('\n')}`);
    });
    const spans = trace!.spans;

    // One trace, three services, the caller's x-request-id on every span.
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['gateway', 'checkout', 'inventory']));
    for (const s of spans) expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);

    // Each server span is the child of its caller's client span.
    const serverOf = (service: string) => spans.find((s) => s.kind === 'Server' && s.serviceName === service)!;
    const clientIds = (service: string) => spans.filter((s) => s.kind === 'Client' && s.serviceName === service).map((s) => s.spanId);
    expect(clientIds('gateway')).toContain(serverOf('checkout').parentSpanId);
    expect(clientIds('checkout')).toContain(serverOf('inventory').parentSpanId);

    // Go: the handler under the server span; Total (no context) under it; applyDiscount (no context,
    // two calls below the handler) and linePrice (in goroutines Total started) under Total.
    const handle = spanNamed(spans, 'Checkout.Handle');
    const total = spanNamed(spans, 'Checkout.Total');
    expect(ancestors(spans, handle)).toContain(serverOf('checkout'));
    expect(total.parentSpanId).toBe(handle.spanId);
    expect(spanNamed(spans, 'main.applyDiscount').parentSpanId).toBe(total.spanId);
    const lines = spans.filter((s) => s.name === 'main.linePrice');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.parentSpanId).toBe(total.spanId);
    expect(total.attributes['flowtrace.args.1']).toBe('[REDACTED]'); // the `password` parameter (the card number's header)
    expect(ancestors(spans, serverOf('inventory'))).toContain(spanNamed(spans, 'Checkout.Downstream'));

    // Rust: the async method under the axum server span, the awaited function under it.
    const report = spanNamed(spans, 'Inventory.report');
    const quote = spanNamed(spans, 'pricing.quote');
    expect(ancestors(spans, report)).toContain(serverOf('inventory'));
    expect(quote.parentSpanId).toBe(report.spanId);
    expect(Number(quote.durationNano)).toBeGreaterThanOrEqual(5_000_000); // covers its 5 ms await
    expect(report.attributes['flowtrace.args.1']).toBe('[REDACTED]'); // api_key (the receiver is not an argument)
    for (const m of [handle, total, report, quote]) expect(m.kind).toBe('Internal');
    for (const m of [total, report]) expect(m.attributes['code.function.name'], m.name).toBeTruthy();
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111|sk_live_example/);
  }, 120_000);
});
