/**
 * `flowtrace anomalies` against a real collector (API off loopback: the token comes from
 * --token-file or FLOWTRACE_TOKEN) with a real anomaly: nine steady minutes of shop
 * `GET /checkout` (30 requests a minute, 10…39 ms) then one minute at 200…229 ms, and a steady
 * billing `POST /charge` alongside, all three hours ago, sent with explicit past timestamps (RED
 * counts a span in the minute it started, so nothing waits on the clock). The command reads
 * them back through GET /api/anomalies and prints exactly that minute's p99 as the one anomaly.
 *
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from '../../../../test/helpers/collector.js';
import type { OtlpSpan } from '../../../../test/helpers/otlp-json.js';
import { postTraces } from '../../../../test/helpers/otlp-send.js';
import type { AnomaliesAnswer } from './anomalies.js';

const exec = promisify(execFile);
const MS = 1_000_000n;
const SERVER = 2;
const PER_MINUTE = 30;
const STEADY_MINUTES = 9;
const SPIKE_MINUTE_MS = Math.floor(Date.now() / 60_000) * 60_000 - 180 * 60_000;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const spikeTrace = (i: number) => hex(1_000_000 + i, 32);

function span(name: string, minuteMs: number, i: number, durationMs: number, traceNo: number): OtlpSpan {
  const start = BigInt(minuteMs + 1_000 + i * 100) * MS;
  return { traceId: hex(traceNo, 32), spanId: hex(traceNo, 16), parentSpanId: '', name, kind: SERVER, startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(durationMs) * MS) };
}

function request(): string {
  const shop: OtlpSpan[] = [];
  const billing: OtlpSpan[] = [];
  for (let m = STEADY_MINUTES; m >= 0; m--) {
    const minuteMs = SPIKE_MINUTE_MS - m * 60_000;
    for (let i = 0; i < PER_MINUTE; i++) {
      // Noise: the slowest steady request of a minute is 39 ms, ±1 ms from minute to minute.
      shop.push(span('GET /checkout', minuteMs, i, m === 0 ? 200 + i : 10 + i + (m % 3) - 1, m === 0 ? 1_000_000 + i : m * 1_000 + i));
      billing.push(span('POST /charge', minuteMs, i, 5 + (i % 4), 500_000 + m * 1_000 + i));
    }
  }
  const resource = (service: string, spans: OtlpSpan[]) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'cli-anomalies-e2e' }, spans }] });
  return JSON.stringify({ resourceSpans: [resource('shop', shop), resource('billing', billing)] });
}

let c: RunningCollector;
let tokenFile: string;
let billingOnly: string;

async function flowtrace(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', FLOWTRACE_TOKEN: '', FLOWTRACE_API_URL: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `flowtrace anomalies` with 1m windows over the last 4h (the spike is 3h ago), the collector's address and the token file. */
const anomalies = (args: string[] = []) => flowtrace(['anomalies', '--api', c.apiUrl, '--token-file', tokenFile, '--window', '1m', '--since', '4h', ...args]);

beforeAll(async () => {
  const bootDir = newTempDir('ft-cli-anomalies-');
  const bootstrap = join(bootDir, 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', bootstrap], config: 'processors:\n  stitch:\n    decision_wait_ms: 200\nred:\n  flush_interval_ms: 200\n' });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  const admin = readFileSync(bootstrap, 'utf8').trim();
  tokenFile = join(bootDir, 'token');
  writeFileSync(tokenFile, `${admin}\n`, { mode: 0o600 });
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'billing-only', scopes: ['read'], services: ['billing'] }),
  });
  expect(created.status).toBe(201);
  billingOnly = ((await created.json()) as { token: string }).token;
  expect(await postTraces(c.httpEndpoint, request(), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  // The RED minutes and the spike's stored spans (its example traces) are both readable.
  await waitFor(async () => {
    const res = await fetch(`${c.apiUrl}/api/anomalies?window=1m&lookback=4h`, { headers: { authorization: `Bearer ${admin}` } });
    const body = (await res.json()) as AnomaliesAnswer;
    return body.anomalies?.[0]?.exampleTraceIds.length === 3 ? true : undefined;
  }, 'the spike judged with its three example traces', 60_000);
}, 150_000);
afterAll(cleanup);

describe('flowtrace anomalies against a real collector', () => {
  it('prints the spike as the one anomaly, with its baseline, score and slowest traces', async () => {
    const { code, stdout, stderr } = await anomalies();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^window start\s+service\s+operation\s+kind\s+metric\s+now\s+baseline\s+score\s+requests\s+examples$/);
    const spikeStart = new Date(SPIKE_MINUTE_MS).toISOString();
    const examples = [29, 28, 27].map(spikeTrace).join(' ');
    // p99 of 200…229 ms over a baseline p99 near 39 ms (each within the histogram's ~9 %).
    const row = new RegExp(`^${spikeStart}\\s+shop\\s+GET /checkout\\s+Server\\s+p99\\s+(\\d+\\.\\d+)ms\\s+(\\d+\\.\\d+)ms\\s+(\\d+\\.\\d)\\s+30\\s+${examples}$`).exec(lines[2]!);
    expect(row, lines[2]).not.toBeNull();
    const [now, baseline, score] = row!.slice(1).map(Number);
    expect(now).toBeGreaterThan(229 * 0.9);
    expect(now).toBeLessThan(229 * 1.1);
    expect(baseline).toBeGreaterThan(38 * 0.9);
    expect(baseline).toBeLessThan(40 * 1.1);
    expect(score).toBeGreaterThanOrEqual(5);
    expect(lines[3]).toMatch(/^1 anomalies from \S+Z to \S+Z in 1m windows; score: robust z-score/);
    expect(lines.slice(4)).toEqual(['']);
    expect(stdout).not.toContain('billing');
  });

  it('gives the route\'s answer with --json, and narrows by service', async () => {
    const json = await anomalies(['--json', '--service', 'shop', '--operation', 'GET /checkout']);
    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout) as AnomaliesAnswer;
    expect(answer.windowSeconds).toBe(60);
    expect(answer.anomalies).toHaveLength(1);
    expect(answer.anomalies[0]).toMatchObject({
      service: 'shop',
      operation: 'GET /checkout',
      spanKind: 'Server',
      metric: 'latency_p99',
      startTimeUnixNano: String(BigInt(SPIKE_MINUTE_MS) * MS),
      requests: PER_MINUTE,
      baseline: { windows: 9 },
      exampleTraceIds: [29, 28, 27].map(spikeTrace),
    });
    const steady = await anomalies(['--service', 'billing']);
    expect(steady.code).toBe(0);
    expect(steady.stdout).toMatch(/^No anomalies from \S+Z to \S+Z in 1m windows\.\n$/);
  });

  it('applies the token\'s read rules: a token limited to billing sees no anomaly of shop', async () => {
    const { code, stdout } = await flowtrace(['anomalies', '--api', c.apiUrl, '--window', '1m', '--since', '4h'], { FLOWTRACE_TOKEN: billingOnly });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^No anomalies from /);
    expect(stdout).not.toContain('shop');
  });

  it('exits 1 with the collector\'s reason (no token, too many windows, unreachable) and 2 on bad flags', async () => {
    const anonymous = await flowtrace(['anomalies', '--api', c.apiUrl]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^flowtrace anomalies: 401/);
    const tooMany = await anomalies(['--since', '24h']);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toBe('flowtrace anomalies: 400: lookback: at most 288 windows; use a longer window\n');
    const away = await flowtrace(['anomalies', '--api', 'http://127.0.0.1:9']);
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('cannot reach the collector');
    const bad = await anomalies(['--window', '90s']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--window: expected a whole number of minutes or hours (5m, 1h), got '90s'");
  });
});
