import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../command.js';
import { anomaliesCommand, formatAnomalies, minutesParameter, type AnomaliesAnswer } from './anomalies.js';
import { colouredPaint, plainPaint } from './terminal.js';

const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const MIN = 60_000_000_000n;

/** An hour judged in 5m windows: checkout's p99 at 1.2 s over a 40 ms baseline, billing failing 25 % over 0. */
const ANSWER: AnomaliesAnswer = {
  windowSeconds: 300,
  judgedFromUnixNano: String(T0),
  endTimeUnixNano: String(T0 + 60n * MIN),
  method: 'robust z-score',
  anomalies: [
    {
      service: 'shop',
      operation: 'GET /checkout',
      spanKind: 'Server',
      metric: 'latency_p99',
      startTimeUnixNano: String(T0 + 50n * MIN),
      seconds: 300,
      requests: 600,
      errors: 0,
      current: 1200,
      baseline: { median: 40, mad: 2, windows: 12 },
      spread: 2.97,
      score: 390.57,
      exampleTraceIds: ['a'.repeat(32), 'b'.repeat(32)],
    },
    {
      service: 'billing',
      operation: 'POST /charge',
      spanKind: 'Server',
      metric: 'error_rate',
      startTimeUnixNano: String(T0 + 55n * MIN),
      seconds: 300,
      requests: 40,
      errors: 10,
      current: 0.25,
      baseline: { median: 0, mad: 0, windows: 12 },
      spread: 0.02,
      score: 12.5,
      exampleTraceIds: [],
    },
  ],
};

describe('anomalies formatting', () => {
  it('prints one row per anomaly, latency as a duration and error rate as a percentage, then what was judged', () => {
    expect(formatAnomalies(ANSWER, plainPaint())).toBe(
      [
        'window start              service  operation      kind    metric    now  baseline  score  requests  examples',
        '────────────────────────  ───────  ─────────────  ──────  ──────  ─────  ────────  ─────  ────────  ─────────────────────────────────────────────────────────────────',
        `2026-01-01T00:50:00.000Z  shop     GET /checkout  Server  p99     1.20s   40.00ms  390.6       600  ${'a'.repeat(32)} ${'b'.repeat(32)}`,
        '2026-01-01T00:55:00.000Z  billing  POST /charge   Server  errors  25.0%        0%   12.5        40',
        '2 anomalies from 2026-01-01T00:00:00.000Z to 2026-01-01T01:00:00.000Z in 5m windows; score: robust z-score.',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing was found, and paints the current value red on a colour terminal', () => {
    expect(formatAnomalies({ ...ANSWER, anomalies: [] }, plainPaint())).toBe('No anomalies from 2026-01-01T00:00:00.000Z to 2026-01-01T01:00:00.000Z in 5m windows.\n');
    expect(formatAnomalies(ANSWER, colouredPaint())).toContain('\u001b[31m1.20s\u001b[0m');
  });

  it('accepts whole minutes or hours for --window and --since, and refuses the rest before sending anything', () => {
    expect(minutesParameter('--window', '5m')).toBe('5m');
    expect(minutesParameter('--since', '24h')).toBe('24h');
    for (const bad of ['30s', '0m', '1d', '5', 'm', '1h30m', "5m'; --"]) expect(() => minutesParameter('--window', bad), bad).toThrow(UsageError);
    expect(() => minutesParameter('--since', '90s')).toThrow("--since: expected a whole number of minutes or hours (5m, 1h), got '90s'");
  });
});

describe('flowtrace anomalies against a stubbed collector', () => {
  afterEach(() => vi.unstubAllGlobals());

  async function run(args: string[], answer: { status: number; body: unknown }): Promise<{ urls: URL[]; auth: (string | null)[]; out: string; err: string; code: number }> {
    const urls: URL[] = [];
    const auth: (string | null)[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      urls.push(new URL(url));
      auth.push(new Headers(init?.headers).get('authorization'));
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await anomaliesCommand.run(args, { stdout, stderr, env: { NO_COLOR: '1', FLOWTRACE_TOKEN: 'ft_test' }, cwd: '/' });
    return { urls, auth, out, err, code };
  }

  it('asks GET /api/anomalies with the filters, window and lookback, with the token', async () => {
    const { urls, auth, out, code } = await run(['--api', 'http://collector:1', '--service', 'shop', '--operation', 'GET /checkout', '--window', '1m', '--since', '3h'], { status: 200, body: ANSWER });
    expect(code).toBe(0);
    expect(urls.map((u) => [u.pathname, Object.fromEntries(u.searchParams)])).toEqual([['/api/anomalies', { service: 'shop', operation: 'GET /checkout', window: '1m', lookback: '3h' }]]);
    expect(auth).toEqual(['Bearer ft_test']);
    expect(out).toContain('GET /checkout');
  });

  it('defaults to 5m windows over the last hour, and --json prints the answer as it came', async () => {
    const { urls, out, code } = await run(['--api', 'http://collector:1', '--json'], { status: 200, body: ANSWER });
    expect(code).toBe(0);
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({ window: '5m', lookback: '1h' });
    expect(JSON.parse(out)).toEqual(ANSWER);
  });

  it('prints the collector\'s 400 and exits 1', async () => {
    const { err, out, code } = await run(['--api', 'http://collector:1', '--window', '1m', '--since', '24h'], { status: 400, body: { error: 'lookback: at most 288 windows; use a longer window' } });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('flowtrace anomalies: 400: lookback: at most 288 windows; use a longer window\n');
  });

  it('refuses a bad flag or argument before calling the collector', async () => {
    await expect(run(['--api', 'http://collector:1', '--window', '30s'], { status: 200, body: ANSWER })).rejects.toThrow(UsageError);
    await expect(run(['--api', 'http://collector:1', 'extra'], { status: 200, body: ANSWER })).rejects.toThrow("unexpected argument 'extra'");
  });
});
