/**
 * The web dashboard's attacks, against a real collector that requires credentials (with an OIDC
 * client configured, so that the login flow is there to attack) and, where a browser is the
 * attacker's tool, Debian's chromium driven by playwright-core:
 * - CSRF: pages on another site (localhost vs 127.0.0.1) and on the same site but another origin
 *   (another port) post forms and fire fetches at /api/sql, /api/tokens, /api/session with the
 *   victim's cookie: SameSite=Strict withholds it cross-site, the x-csrf-token check refuses it
 *   same-site; over plain HTTP, the cookie with a missing or wrong token is refused on every route;
 * - session fixation: a planted session ID (unknown, or the attacker's own live session) is never
 *   continued by a login; logout ends the session on the server, not only in the browser;
 * - XSS: markup, `javascript:` URLs, `</script>` and SVG in span names, service names, attribute
 *   keys and values, event messages, exception stacks and status messages, seeded over OTLP and
 *   shown on every page the app has built so far (PAGES: a page joins as soon as router.tsx
 *   declares its route): no script runs, no dialog opens, no CSP violation is reported;
 * - clickjacking, secrets in URLs and storage, cache headers, open redirects, path traversal on
 *   the static route, and the Host check on the pages.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const ROOT = resolve(import.meta.dirname, '../..');
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const adminToken = `ft_${randomBytes(32).toString('base64url')}`;
const SESSION_COOKIE = 'flowtrace_session';

let c: RunningCollector;
let idp: OidcProvider;
let browser: TestBrowser;

// ---- span data that tries to run -----------------------------------------------------------

/** Every payload sets this flag (and some open a dialog) if it ever runs. */
const FLAG = '__pwned';
const run = (label: string) => `window.${FLAG}='${label}';alert('${label}')`;
const SERVICE_PAYLOAD = `<img src=x onerror="${run('service')}">`;
const SERVICE2_PAYLOAD = `javascript:${run('service2')}//`;
const ROOT_NAME_PAYLOAD = `<svg onload="${run('span-name')}"><script>${run('span-name-script')}</script></svg>`;
const SERVER_NAME_PAYLOAD = `</script><script>${run('server-name')}</script>`;
/** A plain name, so that a page can be told to open the span carrying the attribute payloads. */
const DETAIL_SPAN = `xss-detail-${hex(4)}`;
const KEY_PAYLOAD = `<img src=x onerror="${run('attr-key')}">`;
const VALUE_PAYLOAD = `"><iframe src="javascript:${run('attr-value')}"></iframe>`;
const URL_PAYLOAD = `javascript:${run('url')}`;
const EVENT_PAYLOAD = `<details open ontoggle="${run('event')}">`;
const STACK_PAYLOAD = `Error: boom\n    at <a href="javascript:${run('stack')}">f</a> (</script><svg/onload=${run('stack-svg')}>:1:1)`;
const STATUS_PAYLOAD = `<img src=x onerror=${run('status')}>`;
const METHOD_PAYLOAD = `</script><img src=x onerror=${run('method')}>`;
const xssTrace = hex(16);
/** A second trace of the same operation, without the downstream hop: what /compare diffs against. */
const xssTrace2 = hex(16);

const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

function xssSpans(traceId: string, withDownstream: boolean): { front: OtlpSpan[]; back: OtlpSpan[] } {
  const start = BigInt(Date.now() - 30_000) * 1_000_000n;
  const ms = (n: number) => (start + BigInt(n) * 1_000_000n).toString();
  const rootId = hex(8);
  const detailId = hex(8);
  const root: OtlpSpan = {
    traceId,
    spanId: rootId,
    name: ROOT_NAME_PAYLOAD,
    kind: 2,
    startTimeUnixNano: ms(0),
    endTimeUnixNano: ms(50),
    attributes: [str('http.url', URL_PAYLOAD), str('http.route', ROOT_NAME_PAYLOAD)],
    status: { code: 2, message: STATUS_PAYLOAD },
  };
  const detail: OtlpSpan = {
    traceId,
    spanId: detailId,
    parentSpanId: rootId,
    name: DETAIL_SPAN,
    kind: 3,
    startTimeUnixNano: ms(5),
    endTimeUnixNano: ms(45),
    attributes: [
      str(KEY_PAYLOAD, VALUE_PAYLOAD),
      str('http.url', URL_PAYLOAD),
      str('url.full', URL_PAYLOAD),
      str('code.namespace', 'Xss'),
      str('code.function.name', METHOD_PAYLOAD),
      { key: 'flowtrace.args', value: { arrayValue: { values: [{ stringValue: VALUE_PAYLOAD }] } } },
    ],
    events: [
      { timeUnixNano: ms(10), name: EVENT_PAYLOAD, attributes: [str('message', EVENT_PAYLOAD), str(KEY_PAYLOAD, URL_PAYLOAD)] },
      {
        timeUnixNano: ms(20),
        name: 'exception',
        attributes: [str('exception.type', SERVICE_PAYLOAD), str('exception.message', EVENT_PAYLOAD), str('exception.stacktrace', STACK_PAYLOAD)],
      },
    ],
    links: [{ traceId: xssTrace2, spanId: hex(8), attributes: [str(KEY_PAYLOAD, VALUE_PAYLOAD)] }],
    status: { code: 2, message: STATUS_PAYLOAD },
  };
  const server: OtlpSpan = { traceId, spanId: hex(8), parentSpanId: detailId, name: SERVER_NAME_PAYLOAD, kind: 2, startTimeUnixNano: ms(10), endTimeUnixNano: ms(40), attributes: [str('http.url', URL_PAYLOAD)] };
  return { front: [root, detail], back: withDownstream ? [server] : [] };
}

async function seedXss(): Promise<void> {
  const one = xssSpans(xssTrace, true);
  const two = xssSpans(xssTrace2, false);
  const request: OtlpRequest = {
    resourceSpans: [
      { resource: { attributes: [str('service.name', SERVICE_PAYLOAD), str(KEY_PAYLOAD, VALUE_PAYLOAD)] }, scopeSpans: [{ scope: { name: SERVICE_PAYLOAD }, spans: [...one.front, ...two.front] }] },
      { resource: { attributes: [str('service.name', SERVICE2_PAYLOAD)] }, scopeSpans: [{ scope: { name: 'xss' }, spans: one.back }] },
    ],
  };
  expect(await postTraces(c.httpEndpoint, JSON.stringify(request), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const res = await api(`/api/traces/${xssTrace}`, { bearer: adminToken });
    return res.status === 200 && JSON.stringify(res.body).includes(SERVER_NAME_PAYLOAD.slice(2, 20)) ? true : undefined;
  }, 'the XSS traces to be stored');
  await waitFor(async () => {
    const res = await api(`/api/traces?service=${encodeURIComponent(SERVICE_PAYLOAD)}`, { bearer: adminToken });
    return res.status === 200 && (res.body.traces as unknown[]).length === 2 ? true : undefined;
  }, 'the XSS traces to be searchable');
}

/**
 * Every page of the issue, with a URL that shows the seeded payloads. A page is visited once
 * router.tsx declares its route, so this test covers each page as it lands; `nav` ties the
 * list to shell/nav.ts (every nav entry must be here). `shows`: text the page must display
 * (proof that the payloads were really rendered, as text); `open`: a text to click to open the
 * span carrying the attribute, event and exception payloads; `live`: spans arrive while it is open.
 */
interface PageCase {
  route: string;
  nav?: string;
  url: () => string;
  shows?: string;
  open?: string;
  live?: boolean;
  /** What a user does on the page first (run a query…), before `shows` is looked for. */
  act?: (page: Page) => Promise<void>;
}
const enc = encodeURIComponent;
const PAGES: readonly PageCase[] = [
  { route: 'search', nav: '/search', url: () => `/search?service=${enc(SERVICE_PAYLOAD)}`, shows: ROOT_NAME_PAYLOAD },
  { route: 'search', nav: '/search', url: () => `/search?tags=${enc(JSON.stringify({ 'http.route': ROOT_NAME_PAYLOAD }))}`, shows: SERVICE_PAYLOAD },
  { route: 'traces/:traceId', url: () => `/traces/${xssTrace}`, shows: SERVER_NAME_PAYLOAD, open: DETAIL_SPAN },
  { route: 'services', nav: '/services', url: () => '/services', shows: SERVICE2_PAYLOAD },
  { route: 'services/:service', url: () => `/services/${enc(SERVICE_PAYLOAD)}`, shows: ROOT_NAME_PAYLOAD },
  { route: 'flame', nav: '/flame', url: () => `/flame?service=${enc(SERVICE_PAYLOAD)}`, shows: METHOD_PAYLOAD },
  { route: 'compare', nav: '/compare', url: () => `/compare?a=${xssTrace}&b=${xssTrace2}`, shows: SERVER_NAME_PAYLOAD },
  { route: 'tail', nav: '/tail', url: () => '/tail', live: true },
  {
    route: 'sql',
    nav: '/sql',
    url: () => '/sql',
    act: async (page) => {
      await page.locator('textarea').first().fill(`SELECT ServiceName, SpanName, SpanAttributes, Events.Name, Events.Attributes, StatusMessage FROM otel_traces WHERE TraceId = '${xssTrace}'`);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
    },
    shows: SERVER_NAME_PAYLOAD,
  },
];

/** The routes router.tsx declares (`path: '…'`), and the paths shell/nav.ts lists (`to: '…'`). */
function declared(file: string, key: 'path' | 'to'): Set<string> {
  const text = readFileSync(join(ROOT, 'dashboard/src', file), 'utf8');
  return new Set([...text.matchAll(new RegExp(`\\b${key}:\\s*['"\`]([^'"\`]+)['"\`]`, 'g'))].map((m) => m[1]!));
}

/** The routes the app has built so far. */
const routes = () => declared('router.tsx', 'path');

// ---- helpers ---------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function api(path: string, init: RequestInit & { bearer?: string; cookie?: string; csrf?: string } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.bearer) headers.set('authorization', `Bearer ${init.bearer}`);
  if (init.cookie) headers.set('cookie', init.cookie);
  if (init.csrf !== undefined) headers.set('x-csrf-token', init.csrf);
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  const res = await fetch(`${c.apiUrl}${path}`, { ...init, headers, redirect: 'manual' });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

/** Logs in over HTTP with `token` (optionally sending a planted cookie): the session cookie pair and CSRF token. */
async function login(token: string, planted?: string): Promise<{ cookie: string; value: string; csrf: string }> {
  const res = await api('/api/session', { method: 'POST', body: JSON.stringify({ token }), cookie: planted });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const set = res.headers.getSetCookie().find((s) => s.startsWith(`${SESSION_COOKIE}=`));
  expect(set).toBeDefined();
  const cookie = set!.split(';')[0]!;
  return { cookie, value: cookie.slice(SESSION_COOKIE.length + 1), csrf: res.body.csrfToken as string };
}

/** A raw GET: the path exactly as given (no URL normalisation), any Host header. */
function rawGet(path: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(c.apiUrl);
  return new Promise((res, rej) => {
    const req = httpRequest({ hostname, port, path, method: 'GET', headers: host ? { host } : {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (d: Buffer) => chunks.push(d));
      response.on('end', () => res({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', rej);
    req.end();
  });
}

/** An API token made by the admin, with `scopes`. */
async function makeToken(name: string, scopes: string[]): Promise<string> {
  const res = await api('/api/tokens', { method: 'POST', bearer: adminToken, body: JSON.stringify({ name, scopes }) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.token as string;
}

interface AuditLine {
  method: string;
  route: string;
  status: number;
  principalId: string;
}

/** The audit lines the collector logged from log index `from` on. */
function auditSince(from: number): AuditLine[] {
  const out: AuditLine[] = [];
  for (const line of c.logs.slice(from)) {
    for (const part of line.split('\n')) {
      if (!part.includes('"component":"audit"')) continue;
      try {
        out.push(JSON.parse(part) as AuditLine);
      } catch {
        // a partial line of stderr
      }
    }
  }
  return out;
}

/**
 * The log index after which only later requests are audited: a marker request is made and its
 * audit line awaited (lines are logged in order, after each answer).
 */
async function auditBarrier(): Promise<number> {
  const marker = `/api/audit-barrier-${hex(6)}`;
  expect((await api(marker, { bearer: adminToken })).status).toBe(404);
  return waitFor(async () => {
    const at = c.logs.findIndex((line) => line.includes('"component":"audit"') && line.includes(marker));
    return at < 0 ? undefined : at + 1;
  }, 'the barrier request to be audited');
}

/** A browser context signed in as `token` (the login the dashboard makes), with its CSRF token. */
async function victim(token: string): Promise<{ context: BrowserContext; page: Page; csrf: string; cookie: string }> {
  const { page, context } = await browser.newPage();
  const res = await page.request.post(`${c.apiUrl}/api/session`, { data: { token } });
  expect(res.status()).toBe(200);
  const csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  const cookie = (await context.cookies(c.apiUrl)).find((k) => k.name === SESSION_COOKIE)!.value;
  return { context, page, csrf, cookie };
}

/** Who the context's cookie is signed in as (401: nobody). */
async function whoAmI(page: Page): Promise<{ status: number; name?: string }> {
  const res = await page.request.get(`${c.apiUrl}/api/session`);
  const body = res.ok() ? ((await res.json()) as { user: { name: string } }) : undefined;
  return { status: res.status(), name: body?.user.name };
}

// ---- the attacker's pages --------------------------------------------------------------------

let attacker: Server;
let attackerPort: number;

/**
 * The attacker's site: `/csrf` posts forms and fires fetches at the API (its origin in `?api=`),
 * then titles itself "done" with what each attempt saw in `window.results`; `/frame` frames a
 * dashboard page (`?src=`).
 */
function attackerPage(path: string, query: URLSearchParams): string {
  const apiOrigin = query.get('api')!;
  if (path === '/frame') return `<!doctype html><title>frame</title><iframe id="victim" src="${query.get('src')}" width="800" height="600"></iframe>`;
  const forms = [
    ['sql', '/api/sql', '{"query":"SELECT 1","pad":"', '"}'],
    ['tokens', '/api/tokens', '{"name":"csrf-made","scopes":["admin"],"pad":"', '"}'],
    ['login', '/api/session', `{"token":"${query.get('attackerToken')}","pad":"`, '"}'],
  ];
  return `<!doctype html><title>attack</title>
${forms.map(([id, action, name, value]) => `<iframe name="sink-${id}"></iframe><form id="form-${id}" method="POST" enctype="text/plain" action="${apiOrigin}${action}" target="sink-${id}"><input name='${name}' value='${value}'></form>`).join('\n')}
<script>
const api = ${JSON.stringify(apiOrigin)};
const results = {};
window.results = results;
function submitForm(id) {
  return new Promise((done) => {
    const sink = document.querySelector('iframe[name="sink-' + id + '"]');
    sink.addEventListener('load', () => { results['form-' + id] = 'submitted'; done(); }, { once: true });
    document.getElementById('form-' + id).submit();
  });
}
async function attempt(id, path, init) {
  try {
    const res = await fetch(api + path, { credentials: 'include', ...init });
    results[id] = 'answered ' + res.type + ' ' + res.status;
  } catch (err) {
    results[id] = 'blocked: ' + err.message;
  }
}
(async () => {
  for (const id of ['sql', 'tokens', 'login']) await submitForm(id);
  const text = { 'content-type': 'text/plain' };
  await attempt('fetch-sql', '/api/sql', { method: 'POST', mode: 'no-cors', headers: text, body: '{"query":"SELECT 1"}' });
  await attempt('fetch-tokens', '/api/tokens', { method: 'POST', mode: 'no-cors', headers: text, body: '{"name":"csrf-made","scopes":["admin"]}' });
  await attempt('fetch-json-sql', '/api/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"SELECT 1"}' });
  await attempt('fetch-guessed-token', '/api/tokens', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': 'guess' }, body: '{"name":"csrf-made","scopes":["admin"]}' });
  await attempt('fetch-logout', '/api/session', { method: 'DELETE' });
  await attempt('fetch-read', '/api/session', { mode: 'cors' });
  document.title = 'done';
})();
</script>`;
}

// ---- setup -----------------------------------------------------------------------------------

beforeAll(async () => {
  idp = await startOidcProvider();
  const tokenFile = join(newTempDir('ft-dash-sec-'), 'admin-token');
  writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
  c = await startCollector({
    config: [
      'auth:',
      '  api: { require_credentials: always }',
      `  bootstrap_token_file: ${JSON.stringify(tokenFile)}`,
      '  oidc:',
      `    issuer: ${JSON.stringify(idp.issuer)}`,
      `    audience: ${JSON.stringify(idp.audience)}`,
      '    roles: { viewer: { scopes: [read] } }',
      `    client_id: ${JSON.stringify(idp.client.id)}`,
      `    client_secret: ${JSON.stringify(idp.client.secret)}`,
      '',
    ].join('\n'),
  });
  attacker = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://attacker');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackerPage(url.pathname, url.searchParams));
  });
  await new Promise<void>((done) => attacker.listen(0, '127.0.0.1', done));
  attackerPort = (attacker.address() as AddressInfo).port;
  browser = await launchBrowser(import.meta.filename);
  await seedXss();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => attacker?.close(done));
  await c?.stop();
  await idp?.close();
  await cleanup();
});

// ---- CSRF ------------------------------------------------------------------------------------

describe('CSRF', () => {
  /** Runs the attack page from `attackerOrigin` in the victim's browser; returns what it saw and the audit lines of its requests. */
  async function attackFrom(attackerOrigin: string, context: BrowserContext, attackerToken: string) {
    const before = await auditBarrier();
    const page = await context.newPage();
    const query = new URLSearchParams({ api: c.apiUrl, attackerToken });
    await page.goto(`${attackerOrigin}/csrf?${query}`);
    await page.waitForFunction(() => document.title === 'done');
    const results = (await page.evaluate(() => (window as unknown as { results: Record<string, string> }).results)) as Record<string, string>;
    await page.close();
    // Every request that reached the API is audited; the state-changing ones are the attack
    // (the GET and the OPTIONS preflights the browser sent got nothing readable: CORS is off).
    const changes = () => auditSince(before).filter((a) => a.route.startsWith('/api/') && a.method !== 'GET' && a.method !== 'OPTIONS');
    await expect.poll(() => changes().length).toBeGreaterThanOrEqual(5);
    return { results, audited: changes() };
  }

  it('a page on another site: SameSite=Strict keeps the cookie home, nothing is done as the victim', async () => {
    const attackerToken = await makeToken('csrf-attacker-1', ['read']);
    const { page, context } = await victim(adminToken);
    const tokensBefore = (await api('/api/tokens', { bearer: adminToken })).body.tokens as unknown[];

    // localhost and 127.0.0.1 are different sites.
    const { results, audited } = await attackFrom(`http://localhost:${attackerPort}`, context, attackerToken);
    expect(results).toMatchObject({ 'form-sql': 'submitted', 'form-tokens': 'submitted', 'form-login': 'submitted' });
    // CORS is off: a request that needs a preflight never leaves the browser, a readable answer is never given.
    for (const id of ['fetch-json-sql', 'fetch-guessed-token', 'fetch-logout', 'fetch-read']) expect(results[id], id).toMatch(/^blocked/);
    expect(results['fetch-sql']).toBe('answered opaque 0');

    // What reached the API came without the victim's cookie: refused, or (the login form) unparsable.
    const byRoute = audited.map((a) => `${a.method} ${a.route} ${a.status} ${a.principalId}`).sort();
    expect(byRoute).toEqual(['POST /api/session 400 unauthenticated', 'POST /api/sql 401 unauthenticated', 'POST /api/sql 401 unauthenticated', 'POST /api/tokens 401 unauthenticated', 'POST /api/tokens 401 unauthenticated']);
    expect((await api('/api/tokens', { bearer: adminToken })).body.tokens).toEqual(tokensBefore);
    // The victim is still signed in as themselves.
    expect(await whoAmI(page)).toMatchObject({ status: 200, name: expect.not.stringContaining('csrf-attacker') });
  });

  it('a page on the same site (another port): the cookie goes along, the missing CSRF token refuses it', async () => {
    const attackerToken = await makeToken('csrf-attacker-2', ['read']);
    const { page, context } = await victim(adminToken);
    const tokensBefore = (await api('/api/tokens', { bearer: adminToken })).body.tokens as unknown[];

    const { results, audited } = await attackFrom(`http://127.0.0.1:${attackerPort}`, context, attackerToken);
    for (const id of ['fetch-json-sql', 'fetch-guessed-token', 'fetch-logout', 'fetch-read']) expect(results[id], id).toMatch(/^blocked/);
    const byRoute = audited.map((a) => `${a.method} ${a.route} ${a.status}`).sort();
    // Same site: the cookie is sent, so each state change is refused for want of x-csrf-token.
    expect(byRoute).toEqual(['POST /api/session 400', 'POST /api/sql 403', 'POST /api/sql 403', 'POST /api/tokens 403', 'POST /api/tokens 403']);
    expect((await api('/api/tokens', { bearer: adminToken })).body.tokens).toEqual(tokensBefore);
    const me = await whoAmI(page);
    expect(me.status).toBe(200);
    expect(me.name).not.toBe('csrf-attacker-2');
  });

  it('over plain HTTP: the cookie with a missing, wrong or other session’s token is refused on every state change', async () => {
    const mine = await login(adminToken);
    const other = await login(adminToken);
    const attempts: Array<[string, string, string | undefined]> = [
      ['POST', '/api/sql', JSON.stringify({ query: 'SELECT 1' })],
      ['POST', '/api/tokens', JSON.stringify({ name: 'csrf-made', scopes: ['admin'] })],
      ['DELETE', '/api/session', undefined],
      ['DELETE', '/api/tokens/some-id', undefined],
    ];
    for (const [method, path, body] of attempts) {
      for (const csrf of [undefined, '', 'wrong', other.csrf, mine.csrf.slice(0, -1)]) {
        const res = await api(path, { method, body, cookie: mine.cookie, csrf });
        expect(res.status, `${method} ${path} with x-csrf-token ${JSON.stringify(csrf)}`).toBe(403);
        expect(res.body.error).toMatch(/x-csrf-token/);
      }
    }
    // Every other state-changing route the API has (its OpenAPI document, and MCP) too: the check
    // is one, in the session authenticator, so a route added later is covered without a change.
    const doc = (await api('/api/openapi.json', { bearer: adminToken })).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x')] as const));
    const changing = [...operations.filter(([m]) => !['GET', 'HEAD', 'OPTIONS'].includes(m)), ['POST', '/mcp'] as const];
    expect(changing.length).toBeGreaterThan(4);
    for (const [method, path] of changing) {
      // Logging in authenticates by the token in its body, never by the cookie.
      if (method === 'POST' && path === '/api/session') continue;
      const res = await api(path, { method, cookie: mine.cookie, body: '{}' });
      expect(res.status, `${method} ${path} with the cookie and no x-csrf-token`).toBe(403);
    }
    // Still signed in (the refused logout ended nothing), and the right token works.
    expect((await api('/api/session', { cookie: mine.cookie })).status).toBe(200);
    expect((await api('/api/sql', { method: 'POST', cookie: mine.cookie, csrf: mine.csrf, body: JSON.stringify({ query: 'SELECT 1' }) })).status).toBe(200);
  });
});

// ---- session fixation and logout -------------------------------------------------------------

describe('session fixation and logout', () => {
  it('a planted unknown session ID is not adopted: the login issues a fresh one', async () => {
    const planted = randomBytes(32).toString('base64url');
    const session = await login(adminToken, `${SESSION_COOKIE}=${planted}`);
    expect(session.value).not.toBe(planted);
    expect((await api('/api/session', { cookie: `${SESSION_COOKIE}=${planted}` })).status).toBe(401);
    expect((await api('/api/session', { cookie: session.cookie })).status).toBe(200);
  });

  it("the attacker's own live session planted in the victim's browser is ended by the victim's login", async () => {
    const attackerToken = await makeToken('fixation-attacker', ['read']);
    const theirs = await login(attackerToken);
    const victimToken = await makeToken('fixation-victim', ['read']);
    const mine = await login(victimToken, theirs.cookie);
    expect(mine.value).not.toBe(theirs.value);
    expect(mine.csrf).not.toBe(theirs.csrf);
    // The attacker's session cannot be used to watch the victim's: it is gone.
    expect((await api('/api/session', { cookie: theirs.cookie })).status).toBe(401);
    expect((await api('/api/session', { cookie: mine.cookie })).body.user).toMatchObject({ name: 'fixation-victim' });
  });

  it('in the browser: a cookie planted before the login form is replaced by a fresh one', async () => {
    const { page, context } = await browser.newPage();
    const planted = randomBytes(32).toString('base64url');
    const { hostname } = new URL(c.apiUrl);
    await context.addCookies([{ name: SESSION_COOKIE, value: planted, domain: hostname, path: '/', httpOnly: true, sameSite: 'Strict' }]);
    await page.goto(`${c.apiUrl}/search`);
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Search traces' }).waitFor();
    const cookie = (await context.cookies(c.apiUrl)).find((k) => k.name === SESSION_COOKIE)!;
    expect(cookie.value).not.toBe(planted);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('logout ends the session on the server: the old cookie value gets 401 afterwards', async () => {
    const session = await login(adminToken);
    expect((await api('/api/services', { cookie: session.cookie })).status).toBe(200);
    const out = await api('/api/session', { method: 'DELETE', cookie: session.cookie, csrf: session.csrf });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
    // A browser that kept (or an attacker who copied) the old value gets nothing with it.
    for (const path of ['/api/session', '/api/services', `/api/traces/${xssTrace}`]) expect((await api(path, { cookie: session.cookie })).status, path).toBe(401);
    expect((await api('/api/sql', { method: 'POST', cookie: session.cookie, csrf: session.csrf, body: JSON.stringify({ query: 'SELECT 1' }) })).status).toBe(401);
  });

  it('signing out in the dashboard ends the session on the server too', async () => {
    const { page, context } = await browser.newPage();
    await page.goto(`${c.apiUrl}/search`);
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const value = (await context.cookies(c.apiUrl)).find((k) => k.name === SESSION_COOKIE)!.value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(async () => (await context.cookies(c.apiUrl)).some((k) => k.name === SESSION_COOKIE)).toBe(false);
    expect((await api('/api/session', { cookie: `${SESSION_COOKIE}=${value}` })).status).toBe(401);
  });
});

// ---- XSS through span data -------------------------------------------------------------------

describe('XSS through span data', () => {
  it('covers every page of the navigation', () => {
    const covered = new Set(PAGES.map((p) => p.nav).filter(Boolean));
    for (const to of declared('shell/nav.ts', 'to')) expect(covered.has(to), `${to} (shell/nav.ts) has no entry in PAGES`).toBe(true);
    // The pages built so far are visited below; there is at least the search page.
    expect(PAGES.filter((p) => routes().has(p.route)).length).toBeGreaterThan(0);
  });

  it.each(PAGES.map((p) => [p.url(), p] as const))('%s: payloads show as text, nothing runs', async (_url, pageCase) => {
    if (!routes().has(pageCase.route)) {
      console.info(`XSS: /${pageCase.route} is not built yet (not in dashboard/src/router.tsx): skipped`);
      return;
    }
    const { page } = await victim(adminToken);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // Injected by the driver, outside the page's CSP: records every violation the page reports.
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(`${c.apiUrl}${pageCase.url()}`);
    await page.waitForLoadState('networkidle');
    await pageCase.act?.(page);
    if (pageCase.shows) await page.getByText(pageCase.shows, { exact: false }).first().waitFor();
    if (pageCase.live) {
      // New spans while the page is open (live tail): the same payloads under fresh IDs, sent
      // again until the page shows them (its stream may connect after the page is idle).
      await waitFor(async () => {
        const again = xssSpans(hex(16), true);
        const request: OtlpRequest = { resourceSpans: [{ resource: { attributes: [str('service.name', SERVICE_PAYLOAD)] }, scopeSpans: [{ spans: [...again.front, ...again.back] }] }] };
        expect((await postTraces(c.httpEndpoint, JSON.stringify(request), 'application/json')).status).toBe(200);
        await page.waitForTimeout(500);
        return (await page.getByText(DETAIL_SPAN).count()) > 0 ? true : undefined;
      }, 'the live page to show the spans sent').catch(async (err: unknown) => {
        await browser.screenshot(page, 'xss-tail-nothing-shown');
        throw err;
      });
      await page.getByText(SERVER_NAME_PAYLOAD).first().waitFor();
    }
    if (pageCase.open) {
      // The row holding that text, however the page lays it out (a label may be clipped).
      await page
        .getByText(pageCase.open, { exact: true })
        .first()
        .evaluate((el) => ((el.closest('[role="row"], [role="treeitem"], tr, li, button, a, [tabindex]') ?? el) as HTMLElement).click());
      await page.waitForLoadState('networkidle');
      // Its details are on screen: the attribute key and value payloads, as text.
      await page.getByText(KEY_PAYLOAD).first().waitFor();
      await page.getByText(VALUE_PAYLOAD).first().waitFor();
    }
    await browser.screenshot(page, `xss-${pageCase.route.replace(/[/:]/g, '-')}`);

    const state = await page.evaluate((flag) => {
      const all = [...document.querySelectorAll('*')];
      return {
        flag: (window as unknown as Record<string, unknown>)[flag],
        csp: (window as unknown as { __csp: string[] }).__csp,
        handlerAttributes: all.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName} ${a.name}`)),
        scriptUrls: all.flatMap((el) => ['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].map((n) => el.getAttribute(n) ?? '').filter((v) => /^\s*(javascript|data:text\/html|vbscript):/i.test(v))),
        inlineScripts: document.querySelectorAll('script:not([src])').length,
        frames: document.querySelectorAll('iframe, object, embed').length,
      };
    }, FLAG);
    expect(state).toEqual({ flag: undefined, csp: [], handlerAttributes: [], scriptUrls: [], inlineScripts: 0, frames: 0 });
    expect(dialogs).toEqual([]);
    expect(errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});

// ---- framing, secrets, caching ---------------------------------------------------------------

describe('clickjacking', () => {
  it('every page forbids framing: frame-ancestors none and X-Frame-Options DENY', async () => {
    for (const path of ['/', '/search', `/traces/${xssTrace}`, '/services', '/services/x', '/flame', '/compare?a=1&b=2', '/tail', '/sql']) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-security-policy'], path).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['x-frame-options'], path).toBe('DENY');
    }
  });

  it('a page of another site cannot frame the dashboard', async () => {
    const { page } = await browser.newPage();
    await page.goto(`http://localhost:${attackerPort}/frame?${new URLSearchParams({ api: c.apiUrl, src: `${c.apiUrl}/search` })}`);
    const frame = page.frameLocator('#victim');
    await page.waitForLoadState('load');
    // Chromium replaces a refused frame with its error page: no dashboard inside.
    const child = page.frames().find((f) => f !== page.mainFrame());
    expect(child?.url()).not.toBe(`${c.apiUrl}/search`);
    expect(await frame.locator('.topbar').count()).toBe(0);
  });
});

describe('secrets in URLs and storage', () => {
  it('a full session (login, search, compare, trace links, sign out) puts no token, session ID or CSRF token in any URL or storage', async () => {
    const { page, context } = await browser.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('framenavigated', (f) => urls.push(f.url()));
    await page.goto(`${c.apiUrl}/`);
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Search traces' }).waitFor();
    const cookie = (await context.cookies(c.apiUrl)).find((k) => k.name === SESSION_COOKIE)!.value;
    const csrf = ((await (await page.request.get(`${c.apiUrl}/api/session`)).json()) as { csrfToken: string }).csrfToken;

    await page.getByLabel('Service').fill(SERVICE_PAYLOAD);
    await page.getByRole('button', { name: 'Find traces' }).click();
    await page.locator('table.results').waitFor();
    if (routes().has('compare')) {
      await page.goto(`${c.apiUrl}/compare?a=${xssTrace}&b=${xssTrace2}`);
      await page.waitForLoadState('networkidle');
    }
    await page.goto(`${c.apiUrl}/search?service=${enc(SERVICE_PAYLOAD)}`);
    await page.locator(`tr[data-trace-id="${xssTrace}"] a.trace-link`).click();
    await page.waitForURL(`**/traces/${xssTrace}*`);
    await page.waitForLoadState('networkidle');
    await page.goBack();
    const storage = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();

    expect(urls.length).toBeGreaterThan(5);
    for (const secret of [adminToken, cookie, csrf, encodeURIComponent(adminToken)]) {
      expect(urls.filter((u) => u.includes(secret))).toEqual([]);
      expect(storage).not.toContain(secret);
    }
    // Storage holds the theme at most; the cookie is HttpOnly, invisible to scripts.
    const [local, session, visibleCookies] = JSON.parse(storage) as [Record<string, string>, Record<string, string>, string];
    expect(Object.keys(local).filter((k) => k !== 'flowtrace.theme')).toEqual([]);
    expect(session).toEqual({});
    expect(visibleCookies).toBe('');
    for (const u of urls) expect(new URL(u).origin, u).toBe(c.apiUrl);
  });
});

describe('cache headers', () => {
  it('index.html is revalidated, never cached as immutable; hashed assets are', async () => {
    for (const path of ['/', '/search', '/compare']) {
      const res = await rawGet(path);
      expect(res.headers['cache-control'], path).toBe('no-cache');
    }
    const html = (await rawGet('/')).body;
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect((await rawGet(asset!)).headers['cache-control']).toContain('immutable');
  });

  it('API answers to a signed-in browser are no-store, so no cache keeps one user’s data', async () => {
    const session = await login(adminToken);
    const answers: Array<[string, Answer]> = [
      ['GET /api/session', await api('/api/session', { cookie: session.cookie })],
      ['GET /api/services', await api('/api/services', { cookie: session.cookie })],
      ['GET /api/traces', await api(`/api/traces?service=${enc(SERVICE_PAYLOAD)}`, { cookie: session.cookie })],
      ['GET /api/traces/:id', await api(`/api/traces/${xssTrace}`, { cookie: session.cookie })],
      ['GET /api/compare', await api(`/api/compare?a=${xssTrace}&b=${xssTrace2}`, { cookie: session.cookie })],
      ['GET /api/tokens', await api('/api/tokens', { cookie: session.cookie })],
      ['POST /api/sql', await api('/api/sql', { method: 'POST', cookie: session.cookie, csrf: session.csrf, body: JSON.stringify({ query: 'SELECT 1' }) })],
      ['GET /jaeger/api/services', await api('/jaeger/api/services', { cookie: session.cookie })],
      ['GET /metrics', await api('/metrics', { cookie: session.cookie })],
      ['GET /api/traces (bearer)', await api('/api/traces', { bearer: adminToken })],
      ['GET /auth/oidc/callback (refused)', await api('/auth/oidc/callback?code=x&state=y')],
      ['GET /api/services (refused)', await api('/api/services')],
      ['DELETE /api/session', await api('/api/session', { method: 'DELETE', cookie: session.cookie, csrf: session.csrf })],
    ];
    for (const [what, res] of answers) {
      expect(res.status, what).toBeLessThan(500);
      expect(res.headers.get('cache-control'), what).toBe('no-store');
    }
  });
});

// ---- redirects, traversal, Host -------------------------------------------------------------

describe('open redirects', () => {
  it('/auth/oidc/login takes no destination: it always goes to the issuer, back to this API’s callback, then to /', async () => {
    const evil = 'https://evil.example/steal';
    const params = new URLSearchParams({ next: evil, redirect: evil, redirect_uri: evil, return_to: evil, returnTo: evil, url: '//evil.example' });
    const start = await api(`/auth/oidc/login?${params}`);
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location')!);
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get('redirect_uri')).toBe(`${c.apiUrl}/auth/oidc/callback`);
    expect(start.headers.get('location')).not.toContain('evil.example');

    // Through the issuer and back: the callback page navigates to / and nowhere else.
    const stateCookie = start.headers.getSetCookie().find((s) => s.startsWith('flowtrace_oidc_state='))!.split(';')[0]!;
    const back = await fetch(location, { redirect: 'manual' });
    const callback = new URL(back.headers.get('location')!);
    expect(callback.origin).toBe(c.apiUrl);
    callback.searchParams.set('next', evil);
    const done = await api(callback.pathname + callback.search, { cookie: stateCookie });
    expect(done.status).toBe(200);
    expect(done.body.text).toContain('content="0;url=/"');
    expect(done.body.text).not.toContain('evil.example');
  });

  it('the dashboard’s login screen stays on this origin whatever the URL asks', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${c.apiUrl}/search?next=${enc('https://evil.example/')}&redirect=${enc('//evil.example')}&returnTo=${enc('javascript:alert(1)')}`);
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Search traces' }).waitFor();
    expect(new URL(page.url()).origin).toBe(c.apiUrl);
    expect(await page.getByRole('link', { name: 'Sign in with SSO' }).count()).toBe(0);
  });

  it('the SSO link is a same-origin path', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${c.apiUrl}/search?next=${enc('https://evil.example/')}`);
    expect(await page.getByRole('link', { name: 'Sign in with SSO' }).getAttribute('href')).toBe('/auth/oidc/login');
  });
});

describe('path traversal on the static route', () => {
  const attempts = [
    '/assets/../../package.json',
    '/assets/../../../package.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/%2E%2E/%2E%2E/%2E%2E/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/assets/..%2F..%2F..%2Fpackage.json',
    '/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/assets/..%5c..%5cpackage.json',
    '/assets/..\\..\\package.json',
    '/assets/%2e%2e%5c%2e%2e%5c%2e%2e%5cpackage.json',
    '/assets/%252e%252e/%252e%252e/package.json',
    '/assets/....//....//package.json',
    '/assets/.%2e/.%2e/package.json',
    '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/package.json',
    '/assets/..%00/package.json',
    '/assets//etc/passwd',
    '/assets/%2fetc%2fpasswd',
    '/assets/../../../../../../etc/passwd',
    '/assets/%2e%2e/index.html',
    '/search/../package.json',
    '/%2e%2e/package.json',
  ];

  it.each(attempts)('%s reads nothing outside dashboard/dist/assets', async (path) => {
    const res = await rawGet(path);
    expect(res.status, `${path}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).not.toMatch(/"name":\s*"(@flowtrace|flowtrace)|root:x:0:0|<!doctype html>/i);
  });
});

describe('Host header', () => {
  it('pages, assets and the login flow answer 421 to a name that is not this API’s', async () => {
    const html = (await rawGet('/')).body;
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    for (const path of ['/', '/search', '/compare?a=1&b=2', `/traces/${xssTrace}`, asset, '/auth/oidc/login', '/api/session']) {
      for (const host of ['evil.example', `evil.example:${new URL(c.apiUrl).port}`, 'localhost.evil.example']) {
        const res = await rawGet(path, host);
        expect(res.status, `${path} Host: ${host}`).toBe(421);
        expect(res.body).not.toMatch(/<!doctype html>/i);
      }
      expect((await rawGet(path, 'localhost')).status, `${path} Host: localhost`).not.toBe(421);
    }
  });
});
