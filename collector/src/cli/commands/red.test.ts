import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../command.js';
import { bar, renderTable, sparkline } from './metric-table.js';
import { formatErrorPercent, kindParameter, redCommand, formatRate, formatRed, formatRedSteps, rateSeries, stepParameter, type RedAnswer, type RedPoint } from './red.js';
import { colouredPaint, plainPaint } from './terminal.js';

const MIN = 60_000_000_000n;
const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

function point(service: string, operation: string, spanKind: string, minute: number, seconds: number, requests: number, errors: number, p50Ms = 1, p90Ms = 2, p99Ms = 3): RedPoint {
  return {
    service,
    operation,
    spanKind,
    startTimeUnixNano: String(T0 + BigInt(minute) * MIN),
    seconds,
    requests,
    errors,
    rate: requests / seconds,
    errorRatio: requests === 0 ? 0 : errors / requests,
    avgMs: 0,
    minMs: 0,
    maxMs: 0,
    p50Ms,
    p90Ms,
    p99Ms,
  };
}

/** Ten minutes: shop GET /checkout 1200 requests (24 failing), billing POST /charge 6. */
const SUMMARY: RedAnswer = {
  startTimeUnixNano: String(T0),
  endTimeUnixNano: String(T0 + 10n * MIN),
  stepSeconds: 600,
  points: [point('shop', 'GET /checkout', 'Server', 0, 600, 1200, 24, 12.5, 80.25, 1250), point('billing', 'POST /charge', 'Server', 0, 600, 6, 0, 0.0042, 0.9, 3.1)],
};

/** The same window in 2-minute steps: checkout busiest in the last step, billing only in the first. */
const STEPS: RedAnswer = {
  startTimeUnixNano: String(T0),
  endTimeUnixNano: String(T0 + 10n * MIN),
  stepSeconds: 120,
  points: [
    point('shop', 'GET /checkout', 'Server', 0, 120, 120, 0),
    point('billing', 'POST /charge', 'Server', 0, 120, 6, 0),
    point('shop', 'GET /checkout', 'Server', 4, 120, 240, 4),
    point('shop', 'GET /checkout', 'Server', 8, 120, 840, 20),
  ],
};

describe('red formatting', () => {
  it('prints rates, error % and durations at a precision fit for their size', () => {
    expect([0, 0.004, 0.0167, 2, 123.45, 98_765.4].map(formatRate)).toEqual(['0', '<0.01', '0.02', '2.00', '123.5', '98765']);
    expect([0, 0.0004, 0.02, 1].map(formatErrorPercent)).toEqual(['0%', '<0.1%', '2.0%', '100.0%']);
  });

  it('prints one row per series, busiest first, with the totals', () => {
    expect(formatRed(SUMMARY, plainPaint())).toBe(
      [
        'service  operation      kind    requests  rate/s  errors      p50      p90     p99',
        '───────  ─────────────  ──────  ────────  ──────  ──────  ───────  ───────  ──────',
        'shop     GET /checkout  Server      1200    2.00    2.0%  12.50ms  80.25ms   1.25s',
        'billing  POST /charge   Server         6    0.01      0%    4.2µs  900.0µs  3.10ms',
        '2 series, 1206 requests, 24 errors, from 2026-01-01T00:00:00.000Z to 2026-01-01T00:10:00.000Z.',
        '',
      ].join('\n'),
    );
    expect(formatRed({ ...SUMMARY, points: [] }, plainPaint())).toBe('No requests counted from 2026-01-01T00:00:00.000Z to 2026-01-01T00:10:00.000Z.\n');
  });

  it('adds the rate per step as a sparkline, zero steps blank', () => {
    const text = formatRed(SUMMARY, plainPaint(), { steps: STEPS, sparkCells: 60 });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/p99  rate per 2m$/);
    // checkout 120, 0, 240, 0, 840 per 2 min; billing 6, then nothing.
    expect(lines[2]).toMatch(/1\.25s  ▂ ▃ █$/);
    expect(lines[3]).toMatch(/3\.10ms  █$/);
  });

  it('merges steps when there are more than the sparkline has cells', () => {
    const { rates, cellLabel } = rateSeries(STEPS, 3);
    expect(cellLabel).toBe('4m');
    // Cells of 4, 4 and 2 minutes: (120 + 0) / 240 s, 240 / 240 s, 840 / 120 s.
    expect(rates.get(JSON.stringify(['shop', 'GET /checkout', 'Server']))).toEqual([0.5, 1, 7]);
    expect(rates.get(JSON.stringify(['billing', 'POST /charge', 'Server']))).toEqual([0.025, 0, 0]);
  });

  it('prints the steps as rows off a terminal', () => {
    const lines = formatRedSteps(STEPS, plainPaint()).split('\n');
    expect(lines[0]).toBe('step start                service  operation      kind    requests  rate/s  errors     p50     p90     p99');
    expect(lines[2]).toBe('2026-01-01T00:00:00.000Z  shop     GET /checkout  Server       120    1.00      0%  1.00ms  2.00ms  3.00ms');
    expect(lines[5]).toBe('2026-01-01T00:08:00.000Z  shop     GET /checkout  Server       840    7.00    2.4%  1.00ms  2.00ms  3.00ms');
    expect(lines).toHaveLength(7);
  });

  it('paints error rates red and the header bold only when asked to', () => {
    const text = formatRed(SUMMARY, colouredPaint());
    expect(text.split('\n')[0]).toBe('\u001b[1mservice  operation      kind    requests  rate/s  errors      p50      p90     p99\u001b[0m');
    expect(text).toContain('  \u001b[31m2.0%\u001b[0m  ');
    expect(text.split('\n')[3]).not.toContain('\u001b[');
    expect(formatRed(SUMMARY, plainPaint())).not.toContain('\u001b[');
  });

  it('takes --kind in any case, as the stored name', () => {
    expect(kindParameter('server')).toBe('Server');
    expect(kindParameter('CONSUMER')).toBe('Consumer');
    expect(() => kindParameter('backend')).toThrow(/^--kind: expected one of unspecified, internal, server, client, producer, consumer, got 'backend'$/);
  });

  it('checks --step before anything is sent', () => {
    expect(stepParameter('5m')).toBe('5m');
    expect(stepParameter('2h')).toBe('2h');
    expect(stepParameter('1d')).toBe('24h');
    for (const bad of ['0m', '30s', '1.5m', 'm', '5 m', '1w']) expect(() => stepParameter(bad), bad).toThrow(/^--step: /);
    expect(() => stepParameter('30s')).toThrow(UsageError);
  });
});

describe('metric table pieces', () => {
  it('draws sparklines scaled to their largest value', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8])).toBe(' ▁▂▃▄▅▆▇█');
    expect(sparkline([0.001, 100])).toBe('▁█');
    expect(sparkline([0, 0])).toBe('  ');
    expect(sparkline([])).toBe('');
  });

  it('draws bars in eighths of a cell', () => {
    expect(bar(1, 4)).toBe('████');
    expect(bar(0.5, 4)).toBe('██');
    expect(bar(0.3, 4)).toBe('█▎'); // 9.6 eighths: 10
    expect(bar(0.27, 4)).toBe('█▏'); // 8.6 eighths: 9
    expect(bar(0.01, 4)).toBe(''); // 0.3 eighths: none
    expect(bar(0, 4)).toBe('');
    expect(bar(2, 2)).toBe('██');
  });

  it('right-aligns numbers and measures wide characters by code point', () => {
    expect(renderTable([{ title: 'name' }, { title: 'n', right: true }], [['µs', '5'], ['a', '120']], plainPaint())).toBe('name    n\n────  ───\nµs      5\na     120\n');
  });
});

describe('flowtrace red on a terminal', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** Runs the command with stdout a TTY, the API answered by `SUMMARY` then `STEPS`; returns what was asked and printed. */
  async function runOnTty(args: string[], env: NodeJS.ProcessEnv): Promise<{ urls: URL[]; out: string; code: number }> {
    const urls: URL[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(new URL(url));
      return new Response(JSON.stringify(urls.length === 1 ? SUMMARY : STEPS), { status: 200 });
    });
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await redCommand.run(args, { stdout, stderr: new PassThrough(), env, cwd: '/' });
    return { urls, out, code };
  }

  it('asks for the steps over the summary\'s own window and draws them as sparklines', async () => {
    const { urls, out, code } = await runOnTty(['--api', 'http://collector:1', '--service', 'shop', '--kind', 'server', '--step', '2m', '--since', '10m'], { NO_COLOR: '1' });
    expect(code).toBe(0);
    expect(urls.map((u) => Object.fromEntries(u.searchParams))).toEqual([
      { service: 'shop', spanKind: 'Server', lookback: '10m', limit: '1000' },
      { service: 'shop', spanKind: 'Server', start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:10:00.000Z', step: '2m', limit: '10000' },
    ]);
    expect(out.split('\n')[2]).toMatch(/1\.25s  ▂ ▃ █$/);
    expect(out).not.toContain('\u001b[');
  });

  it('colours only without NO_COLOR', async () => {
    const { out } = await runOnTty(['--api', 'http://collector:1', '--step', '2m'], {});
    expect(out).toContain('\u001b[36m▂ ▃ █\u001b[0m');
    expect(out).toContain('\u001b[31m2.0%\u001b[0m');
  });
});
