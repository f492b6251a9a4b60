import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { randomHex } from './helpers/raw-otlp.js';

/**
 * The analysis CLI against real collectors: analyze, search, waterfall, visualize, and
 * trace export → import into a second collector → export again.
 */

const exec = promisify(execFile);

async function flowtrace(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...process.env, NO_COLOR: '', ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const HOSTILE = '</script><script>alert(1)</script>';
const MS = 1_000_000n;

/**
 * gateway GET /checkout (0–100 ms) → client → orders POST /orders (5–95) → Orders.place
 * (method, 6–94) → 6 × SELECT item (N+1, 10–16, 20–26 …) and a payment call that fails
 * (70–90, with an exception event), plus a span named HOSTILE. Attributes of every type, a
 * link, scope attributes and schema URLs, so that export has everything to keep.
 */
interface SentSpan {
  spanId: string;
  events?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}
interface SentRequest {
  resourceSpans: Array<{
    resource?: { attributes?: unknown[]; droppedAttributesCount?: number };
    schemaUrl?: string;
    scopeSpans: Array<{ scope?: { name?: string; version?: string; attributes?: unknown[] }; schemaUrl?: string; spans: SentSpan[] }>;
  }>;
}

/** The fixture request as OTLP/JSON with every default written out, spans by ID: what export must give back. */
function withDefaults(body: SentRequest): Record<string, unknown> {
  const spans: Record<string, unknown> = {};
  const attrs = (a: unknown) => a ?? [];
  for (const rs of body.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const sp of ss.spans) {
        spans[sp.spanId] = {
          resource: { attributes: attrs(rs.resource?.attributes), droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0 },
          resourceSchemaUrl: rs.schemaUrl ?? '',
          scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '', attributes: attrs(ss.scope?.attributes), droppedAttributesCount: 0 },
          scopeSchemaUrl: ss.schemaUrl ?? '',
          span: {
            traceState: '',
            attributes: [],
            droppedAttributesCount: 0,
            droppedEventsCount: 0,
            links: [],
            droppedLinksCount: 0,
            status: { code: 0, message: '' },
            ...sp,
            events: (sp.events ?? []).map((e) => ({ droppedAttributesCount: 0, ...e })),
          },
        };
      }
    }
  }
  return spans;
}

function fixtureRequest(traceId: string, startNs: bigint): { body: SentRequest; spanIds: Record<string, string> } {
  const t = (ms: number) => (startNs + BigInt(ms) * MS).toString();
  const ids = { root: randomHex(8), call: randomHex(8), server: randomHex(8), place: randomHex(8), pay: randomHex(8), hostile: randomHex(8) };
  const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
  const base = (spanId: string, parentSpanId: string, name: string, kind: number, from: number, to: number, extra: Record<string, unknown> = {}): SentSpan => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: t(from),
    endTimeUnixNano: t(to),
    flags: 257,
    ...extra,
  });
  const selects = Array.from({ length: 6 }, (_, i) =>
    base(randomHex(8), ids.place, 'SELECT item', 3, 10 + i * 10, 16 + i * 10, {
      attributes: [kv('db.system', { stringValue: 'postgresql' }), kv('db.query.text', { stringValue: `SELECT * FROM item WHERE id = ${i}` })],
    }),
  );
  const gateway = {
    resource: { attributes: [kv('service.name', { stringValue: 'gateway' }), kv('host.cores', { intValue: '8' })], droppedAttributesCount: 1 },
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    scopeSpans: [
      {
        scope: { name: 'gw-http', version: '1.2.3', attributes: [kv('scope.flag', { boolValue: true })] },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        spans: [
          base(ids.root, '', 'GET /checkout', 2, 0, 100, {
            traceState: 'vendor=abc',
            attributes: [
              kv('http.route', { stringValue: '/checkout' }),
              kv('http.response.status_code', { intValue: '500' }),
              kv('ratio', { doubleValue: 2 }),
              kv('half', { doubleValue: 0.5 }),
              kv('big', { intValue: '9007199254740993' }),
              kv('ok', { boolValue: false }),
              kv('blob', { bytesValue: 'AQID' }),
              kv('tags', { arrayValue: { values: [{ stringValue: 'eu' }, { intValue: '7' }, { doubleValue: 1.5 }] } }),
              kv('nested', { kvlistValue: { values: [kv('a', { stringValue: 'b' }), kv('n', { boolValue: true })] } }),
              kv('nothing', {}),
            ],
            droppedAttributesCount: 2,
            links: [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', attributes: [kv('link.weight', { doubleValue: 3 })], droppedAttributesCount: 1, flags: 1 }],
            droppedLinksCount: 3,
            status: { code: 2, message: 'payment failed' },
          }),
          base(ids.call, ids.root, 'POST /orders', 3, 2, 98, { attributes: [kv('http.request.method', { stringValue: 'POST' })] }),
          base(ids.hostile, ids.root, HOSTILE, 1, 98, 99),
        ],
      },
    ],
  };
  const orders = {
    resource: { attributes: [kv('service.name', { stringValue: 'orders' })] },
    scopeSpans: [
      {
        scope: { name: 'orders-agent' },
        spans: [
          base(ids.server, ids.call, 'POST /orders', 2, 5, 95, { status: { code: 2, message: 'payment failed' } }),
          base(ids.place, ids.server, 'Orders.place', 1, 6, 94, {
            attributes: [kv('code.namespace', { stringValue: 'Orders' }), kv('code.function.name', { stringValue: 'place' })],
            status: { code: 2, message: 'payment failed' },
          }),
          ...selects,
          base(ids.pay, ids.place, 'POST /pay', 3, 70, 90, {
            attributes: [kv('http.request.method', { stringValue: 'POST' }), kv('server.address', { stringValue: 'payments' })],
            events: [
              { timeUnixNano: t(89), name: 'exception', attributes: [kv('exception.type', { stringValue: 'TimeoutError' }), kv('exception.message', { stringValue: 'payments timed out' })], droppedAttributesCount: 1 },
            ],
            droppedEventsCount: 4,
            status: { code: 2, message: 'payments timed out' },
          }),
        ],
      },
    ],
  };
  return { body: { resourceSpans: [gateway, orders] }, spanIds: ids };
}

let a: RunningCollector;
let b: RunningCollector;
let traceId: string;
let spanIds: Record<string, string>;
let dir: string;
let sentRequest: SentRequest;

async function storedTrace(api: string, id: string): Promise<{ spans: Array<{ spanId: string; name: string }> } | undefined> {
  const res = await fetch(`${api}/api/traces/${id}`);
  return res.ok ? ((await res.json()) as { spans: Array<{ spanId: string; name: string }> }) : undefined;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startCollector(), startCollector()]);
  dir = newTempDir('ft-cli-analysis-');
  traceId = randomHex(16);
  const made = fixtureRequest(traceId, BigInt(Date.now() - 60_000) * MS);
  spanIds = made.spanIds;
  sentRequest = made.body;
  const sent = await postTraces(a.httpEndpoint, JSON.stringify(made.body), 'application/json');
  expect(sent).toEqual({ status: 200, rejected: 0, message: '' });
  await waitFor(async () => ((await storedTrace(a.apiUrl, traceId))?.spans.length === 12 ? true : undefined), 'trace stored');
}, 120_000);
afterAll(cleanup);

describe('flowtrace analyze', () => {
  it('prints the critical path, insights naming spans, completeness and hotspots', async () => {
    const out = await flowtrace(['analyze', traceId, '--api', a.apiUrl]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const text = out.stdout;
    expect(text).not.toContain('\u001b[');
    expect(text).toMatch(new RegExp(`^trace ${traceId}  12 spans · 2 services · 100\\.00ms  4 errors\\n`));
    // The path: gateway root → client → orders server → Orders.place → the payment call that finished last.
    const path = text.slice(text.indexOf('Critical path'), text.indexOf('Insights'));
    // Compact: each span once, the loop's six queries as one step, indented by depth.
    expect(path.split('\n').slice(1, -2)).toEqual([
      '     3.00ms   3.0%  GET /checkout [gateway] ✗',
      '     6.00ms   6.0%    POST /orders [gateway]',
      '     2.00ms   2.0%      POST /orders [orders] ✗',
      '    32.00ms  32.0%        Orders.place [orders] ✗',
      '    36.00ms  36.0%          SELECT item [orders] ×6',
      '    20.00ms  20.0%          POST /pay [orders] ✗',
      `     1.00ms   1.0%    ${HOSTILE} [gateway]`,
    ]);
    const insights = text.slice(text.indexOf('Insights'), text.indexOf('Completeness'));
    expect(insights).toMatch(/n-plus-one .*\n {6}spans: SELECT item \[orders\] ×6 \([0-9a-f]{16}, [0-9a-f]{16}, [0-9a-f]{16}, \+3 more\)/);
    expect(insights).toContain(`error-origin`);
    expect(insights).toContain(`POST /pay [orders] (${spanIds.pay})`);
    // The payment call got no answer from a traced server: the likely reason is named.
    expect(text).toContain(`Completeness  1 finding\n  unanswered call: POST /pay [orders] ${spanIds.pay}  not-reached\n`);
    const hotspots = text.slice(text.indexOf('Hotspots'));
    expect(hotspots).toMatch(/% {2}Orders\.place \[orders\]\n/);
    expect(hotspots).toMatch(/% {2}SELECT item \[orders\] ×6\n/);
  });

  it('--json has the critical path, the insights and the hotspots', async () => {
    const out = await flowtrace(['analyze', traceId, '--json'], { FLOWTRACE_API_URL: a.apiUrl });
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout) as { criticalPath: { spanCount: number; durationNano: string }; insights: { insights: Array<{ rule: string }> }; hotspots: Array<{ method: string; selfNano: string }> };
    expect(json.criticalPath).toMatchObject({ spanCount: 12, durationNano: '100000000' });
    expect(json.insights.insights.map((i) => i.rule)).toEqual(expect.arrayContaining(['n-plus-one', 'error-origin']));
    const total = json.hotspots.reduce((s, h) => s + BigInt(h.selfNano), 0n);
    expect(total).toBe(100_000_000n); // self times add up to the trace's one root's duration
  });

  it('exits 2 on bad input and 1 on a trace that is not there', async () => {
    const bad = await flowtrace(['analyze', 'not-a-trace', '--api', a.apiUrl]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("TRACE_ID: expected 32 hex digits, got 'not-a-trace'");
    expect((await flowtrace(['analyze', '--api', a.apiUrl])).code).toBe(2);
    expect((await flowtrace(['analyze', traceId, '--colour'])).stderr).toContain("Unknown option '--colour'");
    const missing = await flowtrace(['analyze', 'ab'.repeat(16), '--api', a.apiUrl]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
  });
});

describe('flowtrace search', () => {
  it('finds the trace by the search language', async () => {
    const out = await flowtrace(['search', '{ service = orders AND status = error } AND trace.spans >= 12', '--since', '1h', '--api', a.apiUrl]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^start +duration +spans +errors +root +trace\\n.*\\n\\S+ +100\\.00ms +12 +4 +gateway: GET /checkout +${traceId}\\n1 trace\\n$`));
    const json = await flowtrace(['search', 'name = "Orders.place"', '--json', '--limit', '5', '--api', a.apiUrl]);
    expect((JSON.parse(json.stdout) as { traces: Array<{ traceId: string }> }).traces.map((t) => t.traceId)).toEqual([traceId]);
    const none = await flowtrace(['search', 'service = nowhere', '--api', a.apiUrl]);
    expect(none).toMatchObject({ code: 0, stdout: 'No trace matches.\n' });
  });

  it('shows a parse error with a caret under its column, exit 2', async () => {
    const out = await flowtrace(['search', 'service = orders AND duration >', '--api', a.apiUrl]);
    expect(out.code).toBe(2);
    const [message, query, caret] = out.stderr.split('\n');
    expect(message).toMatch(/^flowtrace search: q: at column (\d+): /);
    const column = Number(/column (\d+)/.exec(message!)![1]);
    expect(query).toBe('  service = orders AND duration >');
    expect(caret).toBe(' '.repeat(column + 1) + '^');
  });

  it('exits 2 on bad flags, naming them', async () => {
    expect((await flowtrace(['search', 'x = 1', '--limit', '0'])).stderr).toContain("--limit: expected a whole number from 1 to 1000, got '0'");
    const since = await flowtrace(['search', 'x = 1', '--since', 'soon']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("--since: expected a duration");
    expect((await flowtrace(['search'])).code).toBe(2);
  });
});

describe('flowtrace waterfall', () => {
  it('prints a bar per span scaled to the width', async () => {
    const out = await flowtrace(['waterfall', traceId, '--width', '80', '--api', a.apiUrl]);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1 + 12 + 1);
    expect(lines[2]).toMatch(/^GET \/checkout \[gateway\] +▓+ +100\.00ms$/); // ▓: failed
    expect(lines[3]).toMatch(/^ {2}POST \/orders \[gateway\] +█+ +96\.00ms$/);
    for (const line of lines.slice(2, 14)) expect([...line].length).toBe(79);
    expect(out.stdout).toContain('Orders.place [orders]');
  });

  it('exits 2 on a width too small', async () => {
    const out = await flowtrace(['waterfall', traceId, '--width', '10']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--width: expected a whole number of columns, at least 40');
  });
});

describe('flowtrace visualize', () => {
  it('writes a self-contained page no span name can break out of', async () => {
    const file = join(dir, 'trace.html');
    const out = await flowtrace(['visualize', traceId, '--out', file, '--api', a.apiUrl]);
    expect(out.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toContain(HOSTILE);
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toMatch(/\s(src|href)\s*=|@import|url\(/i);
    const data = JSON.parse(/<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as { spans: Array<{ name: string }> };
    expect(data.spans).toHaveLength(12);
    expect(data.spans.map((s) => s.name)).toContain(HOSTILE);
  });

  it('exits 2 without --out', async () => {
    const out = await flowtrace(['visualize', traceId, '--api', a.apiUrl]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--out: the HTML file to write is required');
  });
});

describe('flowtrace trace export / import', () => {
  /**
   * What a collector's pipeline may legitimately add on import, left out on both sides: the
   * stitch processor's `flowtrace.orphan` attribute (a span whose parent never arrived) and
   * the links it adds with `flowtrace.link.reason` (joined by correlation ID). Redaction
   * is idempotent (a masked value stays masked), so it changes nothing on a second pass. With
   * this fixture and the default configuration neither applies: the exports are identical.
   */
  function normalised(text: string): unknown {
    const request = JSON.parse(text) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ attributes: Array<{ key: string }>; links: Array<{ attributes: Array<{ key: string }> }> }> }> }> };
    for (const span of request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))) {
      span.attributes = span.attributes.filter((a) => a.key !== 'flowtrace.orphan');
      span.links = span.links.filter((l) => !l.attributes.some((a) => a.key === 'flowtrace.link.reason'));
    }
    return request;
  }

  it('round-trips: export, import into a second collector, export again, equal', async () => {
    const first = await flowtrace(['trace', 'export', traceId, '--api', a.apiUrl]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const exported = JSON.parse(first.stdout) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    const root = exported.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.spanId === spanIds.root)!;
    expect(root.attributes).toEqual(
      expect.arrayContaining([
        { key: 'http.response.status_code', value: { intValue: '500' } },
        { key: 'ratio', value: { doubleValue: 2 } },
        { key: 'big', value: { intValue: '9007199254740993' } },
        { key: 'blob', value: { bytesValue: 'AQID' } },
        { key: 'nothing', value: {} },
      ]),
    );
    expect(root).toMatchObject({ traceState: 'vendor=abc', droppedAttributesCount: 2, droppedLinksCount: 3, kind: 2, status: { code: 2, message: 'payment failed' } });
    // Faithful: every span, with its resource and scope, as it was sent (defaults written out).
    expect(withDefaults(exported as never)).toEqual(withDefaults(sentRequest));
    const file = join(dir, 't.json');
    writeFileSync(file, first.stdout);

    const imported = await flowtrace(['trace', 'import', file, '--otlp-http', b.httpEndpoint]);
    expect(imported.stderr).toBe('');
    expect(imported).toMatchObject({ code: 0, stdout: `12 of 12 spans accepted by ${b.httpEndpoint}/v1/traces\n` });
    await waitFor(async () => ((await storedTrace(b.apiUrl, traceId))?.spans.length === 12 ? true : undefined), 'imported trace stored');

    const second = await flowtrace(['trace', 'export', traceId, '--out', join(dir, 't2.json'), '--api', b.apiUrl]);
    expect(second.code).toBe(0);
    const again = readFileSync(join(dir, 't2.json'), 'utf8');
    expect(normalised(again)).toEqual(normalised(first.stdout));
    expect(again).toBe(first.stdout);
  });

  it('refuses a file that is not OTLP JSON, exit 2', async () => {
    const notJson = join(dir, 'notes.txt');
    writeFileSync(notJson, 'hello');
    const out = await flowtrace(['trace', 'import', notJson, '--otlp-http', b.httpEndpoint]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/notes\.txt: not JSON/);
    const wrongShape = join(dir, 'wrong.json');
    writeFileSync(wrongShape, JSON.stringify({ spans: [] }));
    const wrong = await flowtrace(['trace', 'import', wrongShape, '--otlp-http', b.httpEndpoint]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('not OTLP JSON: expected an object with a "resourceSpans" array');
    expect((await flowtrace(['trace', 'import', join(dir, 'absent.json')])).stderr).toContain('cannot read');
    expect((await flowtrace(['trace', 'import', notJson, '--otlp-http', 'localhost:4318'])).stderr).toContain('--otlp-http: expected an http:// or https:// URL');
    expect((await flowtrace(['trace', 'export', 'xyz'])).code).toBe(2);
  });
});

describe('--help', () => {
  it('every new command has one', async () => {
    for (const command of [['analyze'], ['search'], ['waterfall'], ['visualize'], ['trace', 'export'], ['trace', 'import']]) {
      const out = await flowtrace([...command, '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^Usage: flowtrace ${command.join(' ')} `));
    }
  });
});
