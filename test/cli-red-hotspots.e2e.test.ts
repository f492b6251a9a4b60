/**
 * `flowtrace red` and `flowtrace hotspots` against a real collector that asks every request for
 * a token (bound beyond loopback): ten known checkout traces, two of them failing, sent over
 * OTLP/HTTP; the commands read them back through GET /api/metrics/red and GET /api/hotspots
 * with the token from --token-file or FLOWTRACE_TOKEN, never from the command line.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

const exec = promisify(execFile);
const MS = 1_000_000n;
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
const ERROR = 2;
const TRACES = 10;
const t0 = BigInt(Date.now() - 60_000) * MS;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const traceIdOf = (i: number) => (i + 1).toString(16).padStart(32, 'c');
const spanId = (n: number) => n.toString(16).padStart(16, '0');

function span(traceId: string, id: number, parent: number, name: string, kind: number, startMs: number, endMs: number, extra: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId,
    spanId: spanId(id),
    parentSpanId: parent === 0 ? '' : spanId(parent),
    name,
    kind,
    startTimeUnixNano: String(t0 + BigInt(startMs) * MS),
    endTimeUnixNano: String(t0 + BigInt(endMs) * MS),
    ...extra,
  };
}

/**
 * shop GET /checkout 0-100 (fails in traces 0 and 5) → Cart.total 10-55 (a method) and
 * POST /charge client 60-80 → billing POST /charge server 61-79.
 * Self time per trace: Cart.total 45, GET /checkout 100 − 45 − 20 = 35, billing 18, client 2:
 * 100 ms, so each method's share of the ten traces is its self time in percent.
 */
function checkout(i: number): OtlpRequest {
  const id = traceIdOf(i);
  const failed = i % 5 === 0 ? { status: { code: ERROR, message: 'card declined' } } : {};
  const byService: Record<string, OtlpSpan[]> = {
    shop: [
      span(id, 1, 0, 'GET /checkout', SERVER, 0, 100, failed),
      span(id, 2, 1, 'total', INTERNAL, 10, 55, { attributes: [str('code.namespace', 'com.shop.Cart'), str('code.function.name', 'total')] }),
      span(id, 3, 1, 'POST /charge', CLIENT, 60, 80),
    ],
    billing: [span(id, 4, 3, 'POST /charge', SERVER, 61, 79)],
  };
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [str('service.name', service)] },
      scopeSpans: [{ scope: { name: 'cli-red-hotspots-e2e' }, spans }],
    })),
  };
}

let c: RunningCollector;
let tokenFile: string;
let token: string;

async function flowtrace(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], {
      env: { ...process.env, NO_COLOR: '', FLOWTRACE_TOKEN: '', FLOWTRACE_API_URL: '', ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A client command with the collector's address and the token file. */
const client = (args: string[]) => flowtrace([...args, '--api', c.apiUrl, '--token-file', tokenFile]);

interface RedPointJson {
  service: string;
  operation: string;
  spanKind: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}
interface RedJson {
  summary: { points: RedPointJson[] };
  steps?: { stepSeconds: number; points: RedPointJson[] };
}

beforeAll(async () => {
  const bootDir = newTempDir('ft-cli-red-');
  const bootstrap = join(bootDir, 'admin.token');
  c = await startCollector({
    args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', bootstrap],
    config: 'processors:\n  stitch:\n    decision_wait_ms: 300\nred:\n  flush_interval_ms: 200\n',
  });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  token = readFileSync(bootstrap, 'utf8').trim();
  tokenFile = join(bootDir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  for (let i = 0; i < TRACES; i++) {
    expect(await postTraces(c.httpEndpoint, JSON.stringify(checkout(i)), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  }
  const headers = { authorization: `Bearer ${token}` };
  await waitFor(async () => {
    const red = (await (await fetch(`${c.apiUrl}/api/metrics/red`, { headers })).json()) as { points: RedPointJson[] };
    const hot = (await (await fetch(`${c.apiUrl}/api/hotspots`, { headers })).json()) as { totalCalls: number };
    const requests = red.points.reduce((n, p) => n + p.requests, 0);
    return requests === 4 * TRACES && hot.totalCalls === 4 * TRACES ? true : undefined;
  }, 'the RED minutes and the spans to be stored', 60_000);
}, 180_000);
afterAll(cleanup);

describe('flowtrace red', () => {
  it('prints one row per service, operation and kind with the true counts', async () => {
    const { code, stdout, stderr } = await client(['red']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^service\s+operation\s+kind\s+requests\s+rate\/s\s+errors\s+p50\s+p90\s+p99$/);
    const rows = lines.slice(2, 6);
    expect(rows.find((l) => l.startsWith('shop') && l.includes('GET /checkout'))).toMatch(/^shop\s+GET \/checkout\s+Server\s+10\s+<0\.01\s+20\.0%\s+\S+ms\s+\S+ms\s+\S+ms$/);
    expect(rows.find((l) => l.startsWith('billing'))).toMatch(/^billing\s+POST \/charge\s+Server\s+10\s+<0\.01\s+0%\s/);
    expect(rows.filter((l) => /^shop\s+POST \/charge\s+Client\s+10\s/.test(l))).toHaveLength(1);
    expect(lines[6]).toMatch(/^4 series, 40 requests, 2 errors, from \S+Z to \S+Z\.$/);
    expect(stdout).not.toContain('\u001b[');
  });

  it('gives the route\'s answer as JSON, with the steps adding up to the summary', async () => {
    const { code, stdout } = await client(['red', '--service', 'shop', '--operation', 'GET /checkout', '--step', '1m', '--json']);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as RedJson;
    expect(answer.summary.points).toHaveLength(1);
    const checkoutRed = answer.summary.points[0]!;
    expect(checkoutRed).toMatchObject({ service: 'shop', operation: 'GET /checkout', spanKind: 'Server', requests: 10, errors: 2 });
    // Every root lasted 100 ms; the histogram is within about 9 %.
    expect(Math.abs(checkoutRed.p50Ms - 100)).toBeLessThanOrEqual(9);
    expect(answer.steps?.stepSeconds).toBe(60);
    const steps = answer.steps!.points;
    expect(steps.every((p) => p.service === 'shop' && p.operation === 'GET /checkout')).toBe(true);
    expect(steps.reduce((n, p) => n + p.requests, 0)).toBe(10);
    expect(steps.reduce((n, p) => n + p.errors, 0)).toBe(2);
  });

  it('prints the steps as rows off a terminal', async () => {
    const { code, stdout } = await client(['red', '--service', 'billing', '--step', '1m', '--since', '2h']);
    expect(code).toBe(0);
    const [summary, steps] = stdout.split('\n\n');
    expect(summary!.split('\n').filter((l) => l.startsWith('billing'))).toHaveLength(1);
    const stepLines = steps!.split('\n');
    expect(stepLines[0]).toMatch(/^step start\s+service\s+operation/);
    const rows = stepLines.slice(2).filter((l) => l !== '');
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const counts = rows.map((l) => /^\S+Z\s+billing\s+POST \/charge\s+Server\s+(\d+)\s/.exec(l)?.[1]);
    expect(counts.reduce((n, x) => n + Number(x), 0)).toBe(10);
  });

  it('filters by span kind, given in any case', async () => {
    const { code, stdout } = await client(['red', '--service', 'shop', '--kind', 'client']);
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(2, 3)).toEqual([expect.stringMatching(/^shop\s+POST \/charge\s+Client\s+10\s+<0\.01\s+0%\s/)]);
    expect(stdout).toMatch(/\n1 series, 10 requests, 0 errors, /);
  });

  it('says so when nothing was counted', async () => {
    const { code, stdout } = await client(['red', '--service', 'nobody']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^No requests counted from \S+Z to \S+Z\.\n$/);
  });

  it('refuses bad flags before calling the collector, naming the flag (exit 2)', async () => {
    for (const [args, flag] of [
      [['red', '--step', '30s'], '--step'],
      [['red', '--since', 'yesterday'], '--since'],
      [['red', '--bogus'], '--bogus'],
      [['red', '--kind', 'backend'], '--kind'],
      [['red', 'extra'], 'extra'],
    ] as const) {
      const { code, stderr } = await flowtrace([...args, '--api', 'http://127.0.0.1:9']);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr, args.join(' ')).toContain(flag);
      expect(stderr).toContain("Run 'flowtrace red --help' for usage.");
    }
  });

  it('reports the collector\'s refusal (exit 1)', async () => {
    const { code, stderr } = await client(['red', '--since', '40d']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^flowtrace red: 400: lookback: the window is at most 31 days/);
  });

  it('has help', async () => {
    const { code, stdout } = await flowtrace(['red', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: flowtrace red [options]');
    expect(stdout).toContain('--token-file FILE');
    const top = await flowtrace(['--help']);
    expect(top.stdout).toMatch(/\n {2}red +rate, error %/);
    expect(top.stdout).toMatch(/\n {2}hotspots +methods by self time/);
  });
});

describe('flowtrace hotspots', () => {
  it('prints methods by self time with calls and shares', async () => {
    const { code, stdout, stderr } = await client(['hotspots']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'method               service  calls      self  share',
      '───────────────────  ───────  ─────  ────────  ─────',
      'com.shop.Cart.total  shop        10  450.00ms  45.0%',
      'GET /checkout        shop        10  350.00ms  35.0%',
      'POST /charge         billing     10  180.00ms  18.0%',
      'POST /charge         shop        10   20.00ms   2.0%',
      expect.stringMatching(/^4 methods; 1\.00s self time over 40 calls, from \S+Z to \S+Z\.$/),
      '',
    ]);
  });

  it('filters by service, trace and limit', async () => {
    const billing = await client(['hotspots', '--service', 'billing']);
    expect(billing.code).toBe(0);
    expect(billing.stdout.split('\n').slice(2, 3)).toEqual(['POST /charge  billing     10  180.00ms  100.0%']);

    // One trace, over its own time range (no --since).
    const one = await client(['hotspots', '--trace', traceIdOf(3)]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/\n4 methods; 100\.00ms self time over 4 calls, /);

    const top = await client(['hotspots', '--limit', '2']);
    expect(top.stdout.split('\n').slice(2, 4).map((l) => l.split(/\s{2,}/)[0])).toEqual(['com.shop.Cart.total', 'GET /checkout']);
    expect(top.stdout).toMatch(/\n2 of 4 methods; /);
  });

  it('gives the route\'s answer as JSON', async () => {
    const { code, stdout } = await client(['hotspots', '--operation', 'GET /checkout', '--json']);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { totalSelfNano: string; totalCalls: number; hotspots: Array<{ method: string; selfNano: string; share: number }> };
    expect(answer.totalSelfNano).toBe(String(1_000n * MS));
    expect(answer.totalCalls).toBe(40);
    expect(answer.hotspots[0]).toMatchObject({ method: 'com.shop.Cart.total', selfNano: String(450n * MS), share: 0.45 });
  });

  it('reads the token and the address from the environment', async () => {
    const { code, stdout } = await flowtrace(['hotspots', '--limit', '1'], { FLOWTRACE_TOKEN: token, FLOWTRACE_API_URL: c.apiUrl });
    expect(code).toBe(0);
    expect(stdout).toContain('com.shop.Cart.total');
  });

  it('without a token, says how to give one (exit 1)', async () => {
    const { code, stderr } = await flowtrace(['hotspots', '--api', c.apiUrl]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^flowtrace hotspots: 401: .*\(set FLOWTRACE_TOKEN or --token-file\)\n$/);
  });

  it('refuses bad flags before calling the collector, naming the flag (exit 2)', async () => {
    for (const [args, flag] of [
      [['hotspots', '--limit', '0'], '--limit'],
      [['hotspots', '--limit', '101'], '--limit'],
      [['hotspots', '--trace', 'xyz'], '--trace'],
      [['hotspots', '--since', 'soon'], '--since'],
      [['hotspots', '--token', 'secret'], '--token'],
    ] as const) {
      const { code, stderr } = await flowtrace([...args, '--api', 'http://127.0.0.1:9']);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr, args.join(' ')).toContain(flag);
    }
  });
});
