/**
 * The drop ledger end to end, against the real collector and its embedded engine: spans the
 * receiver refuses (bad IDs) and spans a filter rule drops are counted by stage, reason and
 * service in `flowtrace_drops`, answered by `/api/drops` and printed by `flowtrace drops`;
 * a token restricted to one service never sees another's drops.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { inspectStore } from './helpers/store-inspect.js';

const exec = promisify(execFile);

interface DropsAnswer {
  sinceUnixNano: string;
  totals: { droppedSpans: number; alteredValues: number };
  drops: Array<{ stage: string; reason: string; service: string; droppedSpans: number; alteredValues: number }>;
}

async function flowtrace(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { FLOWTRACE_TOKEN: _ignored, ...base } = process.env;
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
let spanCounter = 0;
function span(name: string, traceId: string): OtlpSpan {
  const end = nowNs();
  spanCounter++;
  return { traceId, spanId: spanCounter.toString(16).padStart(16, '0'), name, kind: 2, startTimeUnixNano: String(end - 1_000_000n), endTimeUnixNano: String(end) };
}

/** Per service: one span kept, one a filter rule drops, and one with a trace ID that is not 32 hex digits. */
function request(): OtlpRequest {
  return {
    resourceSpans: ['svc-a', 'svc-b'].map((service, i) => {
      const traceId = String(i + 1).repeat(32);
      return {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'e2e' }, spans: [span('GET /orders', traceId), span('healthcheck', traceId), span('bad ids', 'not-a-trace-id')] }],
      };
    }),
  };
}

const CONFIG = `
processors:
  filter:
    exclude:
      - span_name: { prefix: healthcheck }
`;

let c: RunningCollector;
let admin: string;
let readerA: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function drops(token: string, query = ''): Promise<DropsAnswer> {
  const res = await fetch(`${c.apiUrl}/api/drops${query}`, { headers: bearer(token) });
  if (!res.ok) throw new Error(`GET /api/drops${query}: ${res.status} ${await res.text()}`);
  return (await res.json()) as DropsAnswer;
}

const sum = (answer: DropsAnswer, stage: string, reason: string, service?: string) =>
  answer.drops.filter((d) => d.stage === stage && d.reason === reason && (service === undefined || d.service === service)).reduce((s, d) => s + d.droppedSpans, 0);

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-drops-boot-'), 'admin.token');
  c = await startCollector({ config: CONFIG, args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'reader-a', scopes: ['read'], services: ['svc-a'] }),
  });
  expect(created.status).toBe(201);
  readerA = ((await created.json()) as { token: string }).token;

  const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request()) });
  const body = (await res.json()) as { partialSuccess?: { rejectedSpans?: number | string } };
  expect(res.status).toBe(200);
  expect(Number(body.partialSuccess?.rejectedSpans)).toBe(2);
  // Counts reach the table in the background (every few seconds; the filter drops at once).
  await waitFor(async () => {
    const answer = await drops(admin);
    return sum(answer, 'receiver', 'invalid') === 2 && sum(answer, 'filter', 'filtered') === 2 ? true : undefined;
  }, 'the drops to reach flowtrace_drops');
}, 120_000);
afterAll(cleanup);

describe('the drop ledger', () => {
  it('/api/drops answers by stage, reason and service', async () => {
    const answer = await drops(admin, '?since=1h');
    expect(sum(answer, 'filter', 'filtered', 'svc-a')).toBe(1);
    expect(sum(answer, 'filter', 'filtered', 'svc-b')).toBe(1);
    expect(sum(answer, 'receiver', 'invalid')).toBe(2);
    for (const d of answer.drops.filter((x) => x.stage === 'receiver')) expect(['svc-a', 'svc-b', '']).toContain(d.service);
    expect(answer.totals.droppedSpans).toBe(answer.drops.reduce((s, d) => s + d.droppedSpans, 0));
    expect(answer.totals.droppedSpans).toBeGreaterThanOrEqual(4);

    const onlyB = await drops(admin, '?service=svc-b&since=' + encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString()));
    expect(onlyB.drops.every((d) => d.service === 'svc-b')).toBe(true);
    expect(sum(onlyB, 'filter', 'filtered')).toBe(1);
    // A time in the future: nothing since.
    expect((await drops(admin, `?since=${(Date.now() + 3_600_000) * 1000}`)).drops).toEqual([]);
  });

  it('/api/drops refuses bad input with a 400 naming the parameter', async () => {
    for (const since of ['yesterday', '1x', '-1h']) {
      const res = await fetch(`${c.apiUrl}/api/drops?since=${encodeURIComponent(since)}`, { headers: bearer(admin) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^since: /);
    }
    const twice = await fetch(`${c.apiUrl}/api/drops?since=1h&since=2h`, { headers: bearer(admin) });
    expect(twice.status).toBe(400);
    expect((await fetch(`${c.apiUrl}/api/drops`)).status).toBe(401);
  });

  it('a token restricted to one service sees only that service\'s drops', async () => {
    const answer = await drops(readerA, '?since=1h');
    expect(answer.drops.length).toBeGreaterThan(0);
    expect(answer.drops.every((d) => d.service === 'svc-a')).toBe(true);
    expect(sum(answer, 'filter', 'filtered')).toBe(1);
    expect((await drops(readerA, '?service=svc-b')).drops).toEqual([]);
    // /api/status names recent senders: only its own.
    const status = await fetch(`${c.apiUrl}/api/status`, { headers: bearer(readerA) });
    expect(status.status).toBe(200);
    const senders = ((await status.json()) as { senders: { clocks: Array<{ service: string }> } }).senders.clocks.map((s) => s.service);
    expect(senders).toEqual(['svc-a']);
  });

  it('flowtrace drops prints a table, and exits 2 on bad arguments', async () => {
    const out = await flowtrace(['drops', '--api', c.apiUrl, '--since', '1h'], { FLOWTRACE_TOKEN: admin });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^stage\s+reason\s+service\s+spans\s+values\s+meaning\n/);
    expect(out.stdout).toMatch(/\nfilter\s+filtered\s+svc-a\s+1\s+0\s+dropped by a filter or redaction rule\n/);
    expect(out.stdout).toMatch(/\nreceiver\s+invalid\s+/);
    expect(out.stdout).toMatch(/Since \S+: \d+ spans not stored, \d+ values changed\.\n$/);

    const onlyA = await flowtrace(['drops', '--api', c.apiUrl, '--service', 'svc-a', '--json'], { FLOWTRACE_TOKEN: readerA });
    expect(onlyA.code).toBe(0);
    expect((JSON.parse(onlyA.stdout) as DropsAnswer).drops.every((d) => d.service === 'svc-a')).toBe(true);

    const bad = await flowtrace(['drops', '--api', c.apiUrl, '--since', 'yesterday'], { FLOWTRACE_TOKEN: admin });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since: expected a duration such as 30m, 1h or 7d");
    expect((await flowtrace(['drops', '--bogus'], {})).code).toBe(2);
    const away = await flowtrace(['drops', '--api', 'http://127.0.0.1:9'], {});
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('cannot reach the collector');
  });

  it('counts recorded just before a stop are in flowtrace_drops after it', async () => {
    const late: OtlpRequest = {
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-late' } }] }, scopeSpans: [{ spans: [span('healthcheck late', 'f'.repeat(32))] }] }],
    };
    const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(late) });
    expect(res.status).toBe(200);
    expect(await c.stop()).toBe(0);
    const [rows] = await inspectStore<{ n: number | string }>(c.dataDir, [
      "SELECT sum(DroppedSpans) AS n FROM default.flowtrace_drops WHERE Service = 'svc-late' AND Stage = 'filter' AND Reason = 'filtered'",
    ]);
    expect(Number(rows![0]!.n)).toBe(1);
  });
});
