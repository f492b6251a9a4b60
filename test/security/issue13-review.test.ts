/**
 * Attacks from the review of issue 13's newest faces, against the real collector (child process,
 * API bound off loopback so credentials are required):
 *
 * - the attribute-key catalog (`GET /api/search/keys`, `GET /api/search/values`) and the `hints`
 *   of an empty `/api/search` and MCP `find_traces` (their "did you mean" suggestions): a token
 *   limited to `alphasvc` learns no key or value only `betasvc` carries — while the admin token
 *   does through the same calls, so each check can fail; a token limited to environments is
 *   refused the catalog (it has no environment column) and gets no hints;
 * - hostile catalog parameters (long prefixes and keys, out-of-range days and limits, repeated
 *   parameters, SQL-ish text) are a 400 naming the parameter or a 200 that leaks nothing;
 * - alerts: a service and operation name sent over OTLP (`<!channel>`, `<https://evil|runbook>`)
 *   reach the Slack webhook's `text` escaped (no mention, no disguised link), the structured
 *   `flowtrace` copy unchanged;
 * - `POST /api/export`: a `where` with heredoc strings (`$$…$$`), which the engine reads as
 *   strings but a quote-aware balance check does not, cannot leave its parentheses (it used to
 *   reshape the statement with a UNION that dropped the `since` window); `count: true` honours the
 *   read rules.
 *
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

afterAll(cleanup);

const ALPHA = 'alphasvc';
const BETA = 'betasvc';
/** Only betasvc's spans carry these: none may reach a token limited to alphasvc. */
const BETA_KEY = 'beta.secret.key';
const BETA_RESOURCE_KEY = 'beta.resource.key';
const BETA_MARKERS = [BETA, BETA_KEY, BETA_RESOURCE_KEY, 'beta-attr-val', 'beta_secret_stmt', 'beta-resource-val'];

let c: RunningCollector;
let admin: string;
let alphaReader: string;
let alphaSql: string;
let prodReader: string;
const mcpClients: Client[] = [];

const kv = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const enc = encodeURIComponent;

async function get(path: string, token: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: bearer(token) });
  return { status: res.status, body: await res.text() };
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** The beta markers in `body`, leaving out those the caller itself sent (an echoed parameter is no leak). */
function leaked(body: string, sent: string): string[] {
  return BETA_MARKERS.filter((m) => !sent.includes(m) && body.includes(m));
}

function spans(service: string, traceId: string, startNs: bigint, attributes: OtlpKeyValue[], resource: OtlpKeyValue[]): string {
  const span: OtlpSpan = {
    traceId,
    spanId: '00000000000000a1',
    name: `${service} GET /x`,
    kind: 2,
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: (startNs + 5_000_000n).toString(),
    attributes,
  };
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', service), ...resource] }, scopeSpans: [{ scope: { name: 'review' }, spans: [span] }] }] });
}

async function mcp(token: string): Promise<Client> {
  const client = new Client({ name: 'issue13-review', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${c.apiUrl}/mcp`), { requestInit: { headers: bearer(token) } }));
  mcpClients.push(client);
  return client;
}

async function findTraces(client: Client, query: string): Promise<string> {
  const result = (await client.callTool({ name: 'find_traces', arguments: { query, lookback: '1h' } })) as CallToolResult;
  return result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-review13-boot-'), 'admin.token');
  c = await startCollector({
    args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile],
    // Alerts for every series of both services (stored only): what user SQL over flowtrace_alerts is attacked on.
    config:
      'red:\n  flush_interval_ms: 200\nalerts:\n  interval_ms: 300\n  rules:\n' +
      '    - { name: every-op, kind: red, metric: request_rate, op: ">=", threshold: 0, window_minutes: 60, min_requests: 1 }\n',
  });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  alphaReader = await createToken({ name: 'alpha-reader', scopes: ['read'], services: [ALPHA] });
  alphaSql = await createToken({ name: 'alpha-sql', scopes: ['read', 'sql'], services: [ALPHA] });
  prodReader = await createToken({ name: 'prod-reader', scopes: ['read'], environments: ['prod'] });

  const now = BigInt(Date.now()) * 1_000_000n;
  const alpha = spans(ALPHA, 'a1'.repeat(16), now - 60_000_000_000n, [kv('alpha.key', 'alpha-val'), kv('db.statement', 'SELECT alpha FROM t')], []);
  const beta = spans(BETA, 'b2'.repeat(16), now - 50_000_000_000n, [kv(BETA_KEY, 'beta-attr-val'), kv('db.statement', 'SELECT beta_secret_stmt FROM vault')], [kv(BETA_RESOURCE_KEY, 'beta-resource-val')]);
  // One older alphasvc span: what an export limited to the last minutes must leave out.
  const old = spans(ALPHA, 'a3'.repeat(16), now - 2n * 3_600_000_000_000n, [kv('alpha.key', 'alpha-old')], []);
  for (const body of [alpha, beta, old]) expect(await postTraces(c.httpEndpoint, body, 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => ((await get(`/api/search/keys?prefix=${enc('beta')}`, admin)).body.includes(BETA_KEY) ? true : undefined), 'the catalog to hold betasvc', 60_000);
  await waitFor(async () => ((await get('/api/search/keys?prefix=alpha', admin)).body.includes('alpha.key') ? true : undefined), 'the catalog to hold alphasvc', 60_000);
  await waitFor(async () => ((await get(`/api/traces/${'a3'.repeat(16)}`, admin)).status === 200 ? true : undefined), 'the old span to be stored', 60_000);
  await waitFor(async () => ((await get('/api/alerts/firing?limit=1000', admin)).body.includes(BETA) ? true : undefined), 'the alerts about betasvc', 60_000);
}, 120_000);

afterAll(async () => {
  for (const client of mcpClients) await client.close().catch(() => undefined);
});

describe('the attribute-key catalog under read rules', () => {
  const READS = [
    '/api/search/keys?limit=1000',
    `/api/search/keys?prefix=beta&limit=1000`,
    `/api/search/keys?service=${BETA}`,
    `/api/search/keys?scope=resource&limit=1000`,
    `/api/search/values?key=${BETA_KEY}`,
    `/api/search/values?key=${BETA_KEY}&service=${BETA}`,
    `/api/search/values?key=${BETA_RESOURCE_KEY}&scope=resource`,
    '/api/search/values?key=db.statement',
    '/api/search/values?key=db.statement&prefix=SELECT%20beta',
    '/api/search/values?key=service.name&scope=resource',
    '/api/search/values?key=service.name&scope=resource&days=366&limit=10',
  ];

  it('shows a token limited to alphasvc none of betasvc keys or values, while admin sees them through the same calls', async () => {
    for (const path of READS) {
      const mine = await get(path, alphaReader);
      expect(mine.status, `${path}: ${mine.body}`).toBe(200);
      expect(leaked(mine.body, path), `${path} leaked: ${mine.body}`).toEqual([]);
    }
    // Positive controls.
    let adminSaw = 0;
    for (const path of READS) {
      const theirs = await get(path, admin);
      expect(theirs.status, `${path} as admin: ${theirs.body}`).toBe(200);
      if (leaked(theirs.body, path).length > 0) adminSaw++;
    }
    expect(adminSaw).toBeGreaterThanOrEqual(8);
    // Alpha still gets its own.
    expect((await get('/api/search/keys?limit=1000', alphaReader)).body).toContain('alpha.key');
    expect((await get('/api/search/values?key=db.statement', alphaReader)).body).toContain('SELECT alpha FROM t');
  });

  it('refuses the catalog to a token limited to environments (no environment column), with 403', async () => {
    for (const path of ['/api/search/keys', '/api/search/values?key=db.statement']) {
      const res = await get(path, prodReader);
      expect(res.status, res.body).toBe(403);
      expect(leaked(res.body, path)).toEqual([]);
    }
  });

  it('suggests only readable keys in the hints of an empty search, on REST and MCP', async () => {
    const typo = 'span.beta.secret.kye exists';
    const mine = await get(`/api/search?q=${enc(typo)}&lookback=1h`, alphaReader);
    expect(mine.status, mine.body).toBe(200);
    const hints = (JSON.parse(mine.body) as { hints?: string[] }).hints ?? [];
    expect(hints.join(' ')).toContain('beta.secret.kye');
    expect(leaked(hints.join(' '), typo)).toEqual([]);
    expect(hints.join(' ')).not.toContain(BETA_KEY);
    // Control: admin is told the key it probably meant.
    const theirs = JSON.parse((await get(`/api/search?q=${enc(typo)}&lookback=1h`, admin)).body) as { hints?: string[] };
    expect((theirs.hints ?? []).join(' ')).toContain(`span.${BETA_KEY}`);
    // A key betasvc carries is "not seen" for alpha: the hint says so without confirming it exists elsewhere.
    const exact = JSON.parse((await get(`/api/search?q=${enc(`span.${BETA_KEY} exists`)}&lookback=1h`, alphaReader)).body) as { traces: unknown[]; hints?: string[] };
    expect(exact.traces).toEqual([]);
    expect((exact.hints ?? []).join(' ')).toMatch(/no span carried this key/);
    // Environment rules: no hints at all (the catalog cannot enforce them).
    const prod = JSON.parse((await get(`/api/search?q=${enc(typo)}&lookback=1h`, prodReader)).body) as { hints?: string[] };
    expect(prod.hints ?? []).toEqual([]);

    const mineMcp = await findTraces(await mcp(alphaReader), typo);
    expect(mineMcp).toContain('beta.secret.kye');
    expect(mineMcp).not.toContain(BETA_KEY);
    expect(await findTraces(await mcp(admin), typo)).toContain(`span.${BETA_KEY}`);
  });

  it('answers hostile catalog parameters with a 400 naming the parameter, or a 200 that leaks nothing', async () => {
    const bad: Array<[string, RegExp]> = [
      [`/api/search/keys?prefix=${'a'.repeat(1025)}`, /prefix/],
      [`/api/search/values?key=${'k'.repeat(1025)}`, /key/],
      ['/api/search/values', /key: required/],
      ['/api/search/keys?days=0', /days/],
      ['/api/search/keys?days=367', /days/],
      ['/api/search/keys?days=-1', /days/],
      ['/api/search/keys?days=1e2', /days/],
      ['/api/search/keys?days=99999999999', /days/],
      ['/api/search/keys?limit=1001', /limit/],
      ['/api/search/keys?limit=0', /limit/],
      ['/api/search/values?key=a&limit=11', /limit/],
      ['/api/search/keys?scope=everything', /scope/],
      ['/api/search/keys?service=a&service=b', /service/],
      ['/api/search/keys?prefix=a&prefix=b', /prefix/],
    ];
    for (const [path, message] of bad) {
      const res = await get(path, alphaReader);
      expect(res.status, `${path.slice(0, 80)}: ${res.body.slice(0, 300)}`).toBe(400);
      expect(res.body, path.slice(0, 80)).toMatch(message);
    }
    const sqlish = ["' OR 1=1 --", "x') UNION ALL SELECT Key FROM flowtrace_attribute_catalog --", '{allowed:Array(String)}', `${BETA}' OR ServiceName != '`];
    for (const s of sqlish) {
      for (const path of [`/api/search/keys?service=${enc(s)}`, `/api/search/keys?prefix=${enc(s)}`, `/api/search/values?key=${enc(s)}&prefix=${enc(s)}&service=${enc(s)}`]) {
        const res = await get(path, alphaReader);
        expect(res.status, `${path}: ${res.body}`).toBe(200);
        expect(leaked(res.body, path), `${path}: ${res.body}`).toEqual([]);
        expect(res.body).not.toContain('alpha.key');
      }
    }
  });
});

describe('user SQL over flowtrace_red and flowtrace_alerts with a one-service token', () => {
  async function sql(token: string, query: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return { status: res.status, body: await res.text() };
  }

  it('reads only its own service\'s alert and RED rows, however it asks, while admin reads both', async () => {
    const queries = [
      'SELECT DISTINCT Service, Operation, SeriesKey, Summary FROM flowtrace_alerts',
      `SELECT count() AS n FROM flowtrace_alerts WHERE Service = '${BETA}'`,
      'SELECT DISTINCT ServiceName FROM flowtrace_red',
      `SELECT * FROM flowtrace_alerts WHERE SeriesKey LIKE '%beta%'`,
      `SELECT Service FROM ${'`'}flowtrace_alerts${'`'} UNION ALL SELECT ServiceName FROM flowtrace_red`,
    ];
    for (const query of queries) {
      const mine = await sql(alphaSql, query);
      expect(mine.status, `${query}: ${mine.body}`).toBe(200);
      expect(leaked(mine.body, query), `${query}: ${mine.body}`).toEqual([]);
    }
    expect((await sql(alphaSql, 'SELECT DISTINCT Service FROM flowtrace_alerts')).body).toContain(ALPHA);
    expect(JSON.parse((await sql(alphaSql, queries[1]!)).body)).toMatchObject({ rows: [{ n: '0' }] });
    for (const query of [queries[0]!, queries[2]!]) expect((await sql(admin, query)).body, query).toContain(BETA);
    // Qualified names of the collector's own database are refused, not silently unfiltered.
    const qualified = await sql(alphaSql, 'SELECT Service FROM flowtrace.flowtrace_alerts');
    expect(qualified.status, qualified.body).toBeGreaterThanOrEqual(400);
    expect(leaked(qualified.body, 'flowtrace.flowtrace_alerts')).toEqual([]);
  });
});

describe('POST /api/export', () => {
  async function exportSpans(body: Record<string, unknown>): Promise<{ status: number; rows: string | null; text: string }> {
    const res = await fetch(`${c.apiUrl}/api/export`, { method: 'POST', headers: { ...bearer(alphaSql), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, rows: res.headers.get('x-flowtrace-rows'), text: await res.text() };
  }

  it('keeps a heredoc-quoted where inside its parentheses: the since window and read rules hold', async () => {
    // Balanced to a check that knows only '…', "…" and `…` quotes; the engine reads $$($$ and $$)$$ as strings.
    const reshaping = "$$($$ != '') UNION ALL SELECT * FROM otel_traces WHERE ($$)$$ != ''";
    const res = await exportSpans({ format: 'jsonl', since: '30m', where: reshaping, count: true });
    expect(res.status, res.text).toBe(400);
    expect(res.text).toMatch(/\$/);
    expect(res.text).not.toContain('alpha-old');
  });

  it('counts and exports only the caller\'s services and window, with count: true', async () => {
    const res = await exportSpans({ format: 'jsonl', since: '30m', count: true });
    expect(res.status, res.text).toBe(200);
    const lines = res.text.trim().split('\n');
    expect(res.rows).toBe(String(lines.length));
    expect(lines).toHaveLength(1);
    expect(leaked(res.text, '')).toEqual([]);
    const all = await exportSpans({ format: 'csv', where: `ServiceName = '${BETA}'`, count: true });
    expect(all.status, all.text).toBe(200);
    expect(all.rows).toBe('0');
    expect(all.text.trim().split('\n')).toHaveLength(1); // the header only
  });
});

describe('alert webhooks and names senders of spans choose', () => {
  let hooked: RunningCollector;
  let receiver: Server;
  const got: Array<{ text: string; flowtrace: { service: string; operation: string } }> = [];
  const SERVICE = '<!channel>';
  const OPERATION = 'GET <https://evil.example/login|Open the runbook>';

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        got.push(JSON.parse(body) as (typeof got)[number]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    hooked = await startCollector({
      config:
        'red:\n  flush_interval_ms: 200\n' +
        `alerts:\n  interval_ms: 300\n  webhooks:\n    slack: { url: "${url}", retries: 0 }\n` +
        '  rules:\n    - { name: every-op, kind: red, metric: request_rate, op: ">=", threshold: 0, window_minutes: 60, min_requests: 1, webhooks: [slack] }\n',
    });
    const span: OtlpSpan = {
      traceId: 'c4'.repeat(16),
      spanId: '00000000000000c1',
      name: OPERATION,
      kind: 2,
      startTimeUnixNano: (BigInt(Date.now() - 5_000) * 1_000_000n).toString(),
      endTimeUnixNano: (BigInt(Date.now() - 4_990) * 1_000_000n).toString(),
    };
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', SERVICE)] }, scopeSpans: [{ scope: { name: 'review' }, spans: [span] }] }] });
    expect(await postTraces(hooked.httpEndpoint, body, 'application/json')).toMatchObject({ status: 200, rejected: 0 });
    await waitFor(async () => (got.some((g) => g.flowtrace.service === SERVICE) ? true : undefined), 'the webhook notification', 60_000);
  }, 120_000);

  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('escapes them in the Slack text (no channel mention, no disguised link) and keeps them as they are in the structured copy', () => {
    const note = got.find((g) => g.flowtrace.service === SERVICE)!;
    expect(note.text).toContain('&lt;!channel&gt; GET &lt;https://evil.example/login|Open the runbook&gt;');
    expect(note.text).not.toMatch(/<[!@#]|<https?:/);
    expect(note.flowtrace).toMatchObject({ service: SERVICE, operation: OPERATION });
  });
});
