/**
 * The live tail end to end on the real collector (child process, embedded engine): spans sent
 * over OTLP/HTTP reach `/api/tail` after redaction, filtered by the query parameters and by the
 * token's per-service read rules; the client limit answers 429 and frees a place when a client
 * disconnects; `flowtrace tail` prints the same stream.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, type ServerSentEvent } from '../collector/src/query/tail/sse.js';
import type { TailSpan } from '../collector/src/query/tail/tail-line.js';
import { DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CLIENTS_PER_PRINCIPAL } from '../collector/src/query/tail/tail-hub.js';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';

let c: RunningCollector;
let admin: string;
let readerA: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let counter = 0;
function span(name: string, fields: Partial<OtlpSpan> = {}): OtlpSpan {
  const end = BigInt(Date.now()) * 1_000_000n;
  counter++;
  return { traceId: 'ab'.repeat(16), spanId: counter.toString(16).padStart(16, '0'), name, kind: 2, startTimeUnixNano: String(end - 3_000_000n), endTimeUnixNano: String(end), ...fields };
}

function request(perService: Record<string, OtlpSpan[]>): OtlpRequest {
  return {
    resourceSpans: Object.entries(perService).map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'e2e' }, spans }],
    })),
  };
}

async function send(body: OtlpRequest): Promise<void> {
  const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

/** A tail stream on its own connection. */
interface Tail {
  status: number;
  body: IncomingMessage;
  events: AsyncGenerator<ServerSentEvent>;
  close(): void;
}
function tail(query: string, token: string): Promise<Tail> {
  return new Promise((resolve, reject) => {
    const req = get(`${c.apiUrl}/api/tail${query}`, { agent: false, headers: bearer(token) }, (res) =>
      resolve({ status: res.statusCode ?? 0, body: res, events: readEvents(res), close: () => req.destroy() }),
    );
    req.on('error', reject);
  });
}

/** The next events until `enough` holds (bounded: 20 s). */
async function spansUntil(t: Tail, enough: (spans: TailSpan[]) => boolean): Promise<TailSpan[]> {
  const spans: TailSpan[] = [];
  const timer = setTimeout(() => t.close(), 20_000);
  try {
    for (;;) {
      const next = await t.events.next();
      if (next.done) break;
      if (next.value.event === 'span') spans.push(JSON.parse(next.value.data) as TailSpan);
      if (enough(spans)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return spans;
}

/** Waits for the `open` event: from then on the client is subscribed. */
async function opened(t: Tail): Promise<void> {
  const first = await t.events.next();
  expect(first.value?.event).toBe('open');
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-tail-boot-'), 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'reader-a', scopes: ['read'], services: ['svc-a'] }),
  });
  expect(created.status).toBe(201);
  readerA = ((await created.json()) as { token: string }).token;
}, 120_000);

/** A new token of scope read on every service. */
async function readToken(name: string): Promise<string> {
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes: ['read'] }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { token: string }).token;
}
afterAll(cleanup);

describe('GET /api/tail on the real collector', () => {
  it('streams accepted spans after redaction, filtered by parameters and by the token\'s services', async () => {
    const all = await tail('', admin);
    const errors = await tail('?errorsOnly=true&minDuration=1ms', admin);
    const onlyA = await tail('', readerA);
    const asksB = await tail('?service=svc-b', readerA);
    expect([all.status, errors.status, onlyA.status, asksB.status]).toEqual([200, 200, 200, 200]);
    await Promise.all([all, errors, onlyA, asksB].map(opened));

    await send(
      request({
        'svc-a': [span('GET /a', { attributes: [{ key: 'user.password', value: { stringValue: 'hunter2-secret' } }] }), span('fail-a', { status: { code: 2, message: 'boom' } })],
        'svc-b': [span('GET /b'), span('fail-b', { status: { code: 2 } })],
      }),
    );
    const everything = await spansUntil(all, (s) => s.length >= 4);
    expect(everything.map((s) => `${s.service} ${s.name}`).sort()).toEqual(['svc-a GET /a', 'svc-a fail-a', 'svc-b GET /b', 'svc-b fail-b']);
    const withSecret = everything.find((s) => s.name === 'GET /a')!;
    expect(withSecret.attributes['user.password']).toBeDefined();
    expect(withSecret.attributes['user.password']).not.toContain('hunter2');
    expect(JSON.stringify(everything)).not.toContain('hunter2');

    expect((await spansUntil(errors, (s) => s.length >= 2)).map((s) => s.name).sort()).toEqual(['fail-a', 'fail-b']);
    // The restricted token: only svc-a, also when it asks for svc-b. A later svc-a span shows that nothing else was queued before it.
    await send(request({ 'svc-b': [span('later-b')], 'svc-a': [span('later-a')] }));
    expect((await spansUntil(onlyA, (s) => s.some((x) => x.name === 'later-a'))).map((s) => `${s.service} ${s.name}`)).toEqual(['svc-a GET /a', 'svc-a fail-a', 'svc-a later-a']);
    for (const t of [all, errors, onlyA, asksB]) t.close();
    const none = await fetch(`${c.apiUrl}/api/tail`);
    expect(none.status).toBe(401);
  }, 60_000);

  it('refuses clients beyond the limit with 429 and takes one again after a disconnect', async () => {
    // Each principal holds at most DEFAULT_MAX_CLIENTS_PER_PRINCIPAL streams: enough readers to fill every place.
    const readers: string[] = [];
    for (let i = 0; i < DEFAULT_MAX_CLIENTS / DEFAULT_MAX_CLIENTS_PER_PRINCIPAL + 1; i++) readers.push(await readToken(`tail-reader-${i}`));
    const extra = readers.pop()!;
    const streams: Tail[] = [];
    // Earlier tests' streams may still be closing on the server: wait until every place is free.
    for (let attempt = 0; streams.length < DEFAULT_MAX_CLIENTS && attempt < 200; attempt++) {
      const t = await tail('', readers[Math.floor(streams.length / DEFAULT_MAX_CLIENTS_PER_PRINCIPAL)]!);
      if (t.status === 200) streams.push(t);
      else {
        t.close();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(streams).toHaveLength(DEFAULT_MAX_CLIENTS);
    const refused = await tail('', extra);
    expect(refused.status).toBe(429);
    refused.close();
    streams.pop()!.close();
    // The place freed belongs to everyone: a reader already holding its share is still refused, another caller gets it.
    const yours = await tail('', readers[0]!);
    expect(yours.status).toBe(429);
    yours.close();
    let again: Tail | undefined;
    for (let i = 0; i < 100 && again === undefined; i++) {
      const t = await tail('', extra);
      if (t.status === 200) again = t;
      else {
        t.close();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(again?.status).toBe(200);
    again?.close();
    for (const t of streams) t.close();
  }, 60_000);

  it('flowtrace tail prints the stream, one line per span', async () => {
    const { FLOWTRACE_TOKEN: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, [FLOWTRACE_BIN, 'tail', '--api', c.apiUrl, '--service', 'svc-a', '--errors-only'], {
      env: { ...env, FLOWTRACE_TOKEN: admin, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      // Keep sending until the CLI has subscribed and printed one (it may still be connecting).
      for (let i = 0; i < 100 && !stdout.includes('cli-fail'); i++) {
        await send(request({ 'svc-a': [span('cli-ok'), span('cli-fail', { status: { code: 2, message: 'bad' } })], 'svc-b': [span('cli-fail-b', { status: { code: 2 } })] }));
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      child.kill('SIGTERM');
    }
    const first = stdout.split('\n')[0]!;
    expect(first).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} {2}svc-a {2}Server {2}cli-fail {2}3\.0ms {2}ERROR bad {2}[0-9a-f]{32}\/[0-9a-f]{16}$/);
    expect(stdout).not.toContain('cli-ok');
    expect(stdout).not.toContain('svc-b');
    expect(stdout).not.toContain('\u001b['); // not a TTY: no colours
  }, 60_000);

  it('ends open streams when the collector shuts down, which then exits cleanly', async () => {
    const open = await tail('', admin);
    await opened(open);
    expect(await c.stop()).toBe(0);
    const rest: string[] = [];
    for await (const e of open.events) rest.push(e.event);
    expect(rest.every((e) => e === 'span')).toBe(true);
  }, 60_000);
});
