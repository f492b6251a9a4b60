// End to end: a Node.js gateway under the Node agent calls a FastAPI service (uvicorn) and a Flask
// service (gunicorn, whose worker is forked after the agent started) under the Python agent
// (`flowtrace-instrument …`), all exporting over OTLP/gRPC to a real collector with embedded
// ClickHouse. One request must become one trace across the three services, the Python server spans
// children of the Node client spans, Python method spans (an async def among them) nested under
// them, the caller's x-request-id on every span, a secret argument masked and values capped.
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureVenv, oldestAndNewest } from '../agents/python/scripts/venv.mjs';
import { ensureAgentBuilt } from '../agents/node/test/helpers/ensure-built.mjs';
import { cleanup, sql, startCollector, traceOfCorrelationId, waitFor, type RunningCollector } from './helpers/collector.js';
import { agentEnv, startService, stopService, type Service } from './helpers/services.js';
import { ancestors, spanNamed } from './helpers/span-tree.js';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/python-services');
const CARD = '4111 1111 1111 1111';
const MAX_VALUE_BYTES = 64;

const services: Service[] = [];
let collector: RunningCollector;
let gateway: Service;
let venvBin: string;

function pythonEnv(name: string): NodeJS.ProcessEnv {
  return agentEnv(name, collector.grpcEndpoint, { FLOWTRACE_CAPTURE_RETURN: 'true', FLOWTRACE_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES) });
}

/** Starts a Python service as its users would (`flowtrace-instrument uvicorn|gunicorn …`), reading the port the server logs. */
async function startPython(name: string, args: string[], portLine: RegExp): Promise<Service> {
  const env = pythonEnv(name);
  env.PATH = `${venvBin}:${env.PATH ?? ''}`;
  env.PYTHONUNBUFFERED = '1';
  const service = await startService(name, join(venvBin, 'flowtrace-instrument'), args, join(FIXTURES, name), env, portLine);
  services.push(service);
  return service;
}

beforeAll(async () => {
  const newest = oldestAndNewest().at(-1);
  if (newest === undefined) throw new Error('no Python 3.9–3.13 under ~/.pyenv/versions');
  venvBin = dirname(ensureVenv(newest));
  await ensureAgentBuilt();
  collector = await startCollector();
  const [quotes, payments] = await Promise.all([
    startPython('quotes', ['uvicorn', 'quotes_app.main:app', '--host', '127.0.0.1', '--port', '0'], /Uvicorn running on http:\/\/127\.0\.0\.1:(\d+)/),
    startPython('payments', ['gunicorn', '-c', 'gunicorn.conf.py', 'payments_app.main:app'], /Listening at: http:\/\/127\.0\.0\.1:(\d+)/),
  ]);
  gateway = await startService(
    'gateway',
    process.execPath,
    ['--require', '@flowtrace/agent-node/register', 'server.js'],
    join(FIXTURES, 'gateway'),
    { ...pythonEnv('gateway'), QUOTES_URL: `http://127.0.0.1:${quotes.port}`, PAYMENTS_URL: `http://127.0.0.1:${payments.port}` },
  );
  services.push(gateway);
}, 300_000);

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

const PYTHON_METHODS = ['main.quote', 'pricing.quote', 'pricing.line_total', 'main.charge', 'ChargeService.charge', 'ChargeService.card_looks_valid'];

describe('Python agent behind a Node.js gateway', () => {
  it('turns one request into one trace across Node.js, FastAPI and Flask', async () => {
    const requestId = `e2e-py-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${gateway.port}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ customer: 'ada', cardNumber: CARD, items: [{ sku: 'apple', qty: 4 }, { sku: 'pear', qty: 2 }], note: 'ring twice, '.repeat(20) }),
    });
    const answer = await res.text();
    expect(res.status, `${answer}\n${services.flatMap((s) => s.output).join('\n')}`).toBe(201);
    expect(JSON.parse(answer)).toEqual({ customer: 'ada', total: 3.5, approved: true });

    let seen = '';
    const trace = await waitFor(async () => {
      const all = await sql<{ s: string }>(collector.apiUrl, `SELECT concat(ServiceName, '/', SpanName, '/', TraceId, '/', SpanAttributes['flowtrace.correlation_id']) AS s FROM otel_traces`);
      seen = all.map((r) => r.s).join('\n');
      const t = await traceOfCorrelationId(collector.apiUrl, requestId);
      const names = new Set(t?.spans.map((s) => s.name));
      const servers = t?.spans.filter((s) => s.kind === 'Server').length ?? 0;
      return PYTHON_METHODS.every((n) => names.has(n)) && names.has('Checkout.placeOrder') && servers === 3 ? t : undefined;
    }, 'the request’s trace with every span stored', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nstored:\n${seen}\n${services.flatMap((x) => x.output).join('\n')}`);
    });
    const spans = trace!.spans;

    // One trace, three services, the caller's x-request-id on every span of every service.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace!.traceId]));
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['gateway', 'quotes', 'payments']));
    for (const s of spans) expect(s.attributes['flowtrace.correlation_id'], `${s.serviceName}/${s.name}`).toBe(requestId);

    // The Python server spans are children of the gateway's client spans.
    const clients = spans.filter((s) => s.kind === 'Client' && s.serviceName === 'gateway');
    const quotesServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'quotes')!;
    const paymentsServer = spans.find((s) => s.kind === 'Server' && s.serviceName === 'payments')!;
    expect(clients.map((c) => c.spanId)).toContain(quotesServer.parentSpanId);
    expect(clients.map((c) => c.spanId)).toContain(paymentsServer.parentSpanId);
    const placeOrder = spanNamed(spans, 'Checkout.placeOrder');
    for (const c of clients) expect(ancestors(spans, c)).toContain(placeOrder);

    // Python method spans under their server spans: the FastAPI handler and the async def it awaits.
    const handler = spanNamed(spans, 'main.quote');
    const quote = spanNamed(spans, 'pricing.quote');
    const lines = spans.filter((s) => s.name === 'pricing.line_total');
    expect(ancestors(spans, handler)).toContain(quotesServer);
    expect(quote.parentSpanId).toBe(handler.spanId);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.parentSpanId).toBe(quote.spanId);
    // The async def's span covers its awaits (two sleeps of 2 ms).
    expect(Number(quote.durationNano)).toBeGreaterThanOrEqual(4_000_000);
    expect(quote.attributes['flowtrace.return']).toBe('3.5');
    expect(quote.attributes['flowtrace.args.2']).toBe('[REDACTED]'); // api_token
    expect(quote.attributes['code.function.name']).toBe('quotes_app.pricing.quote');
    expect(quote.attributes['code.file.path']).toBe(join(FIXTURES, 'quotes/quotes_app/pricing.py'));
    expect(quote.attributes['code.line.number']).toBe(10);
    expect(quote.scope.name).toBe('flowtrace-agent');

    // Flask under gunicorn (a forked worker): handler, method, static method.
    const charge = spanNamed(spans, 'ChargeService.charge');
    const valid = spanNamed(spans, 'ChargeService.card_looks_valid');
    expect(ancestors(spans, charge)).toContain(spanNamed(spans, 'main.charge'));
    expect(ancestors(spans, charge)).toContain(paymentsServer);
    expect(valid.parentSpanId).toBe(charge.spanId);
    expect(charge.attributes['code.namespace']).toBe('payments_app.charges.ChargeService');
    expect(charge.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(charge.attributes['flowtrace.args.1']).toBe('[REDACTED]'); // card_number
    expect(valid.attributes['flowtrace.args.0']).toBe('"[REDACTED]"'); // a card by what it looks like
    const note = String(charge.attributes['flowtrace.args.3']);
    expect(note.startsWith('"ring twice')).toBe(true);
    expect(note.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    for (const m of [handler, quote, charge, valid]) expect(m.kind).toBe('Internal');
    expect(JSON.stringify(spans)).not.toMatch(/4111[ -]?1111|tok-secret-123/);
  }, 120_000);
});
