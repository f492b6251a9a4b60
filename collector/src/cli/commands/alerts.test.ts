import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AlertRecord } from '../../alerts/store.js';
import { UsageError } from '../command.js';
import { alertsCommand, formatAlerts, sinceParameter } from './alerts.js';
import { colouredPaint, plainPaint } from './terminal.js';

const FIRING: AlertRecord = {
  at: '2026-01-01T00:05:00.000Z',
  rule: 'latency',
  kind: 'anomaly',
  state: 'firing',
  series: '["shop","GET /checkout","Server","latency_p99"]',
  service: 'shop',
  operation: 'GET /checkout',
  value: 229.5,
  threshold: 5,
  firingSince: '2026-01-01T00:05:00.000Z',
  summary: 'p99 229.5 ms against a baseline median of 39',
  details: { exampleTraceIds: ['a'.repeat(32)] },
};
const DROPS: AlertRecord = {
  ...FIRING,
  at: '2026-01-01T00:06:00.000Z',
  rule: 'drops',
  kind: 'drops',
  state: 'resolved',
  series: '["filter","filtered","shop"]',
  operation: '',
  value: 12,
  threshold: 0,
  summary: '12 spans dropped at filter (filtered) > 0 over the last 1m',
  details: { stage: 'filter', reason: 'filtered' },
};

describe('alerts formatting', () => {
  it('prints what fires now, then the history newest first; drop alerts name their stage and reason', () => {
    expect(formatAlerts({ firing: [FIRING], alerts: [DROPS, FIRING] }, '24h', plainPaint())).toBe(
      [
        'firing since              rule     kind     service  operation      value  threshold  summary',
        '────────────────────────  ───────  ───────  ───────  ─────────────  ─────  ─────────  ────────────────────────────────────────────',
        '2026-01-01T00:05:00.000Z  latency  anomaly  shop     GET /checkout  229.5          5  p99 229.5 ms against a baseline median of 39',
        '1 firing now.',
        '',
        'at                        state     rule     kind     service  operation          value  summary',
        '────────────────────────  ────────  ───────  ───────  ───────  ─────────────────  ─────  ──────────────────────────────────────────────────────────',
        '2026-01-01T00:06:00.000Z  resolved  drops    drops    shop     (filter filtered)     12  12 spans dropped at filter (filtered) > 0 over the last 1m',
        '2026-01-01T00:05:00.000Z  firing    latency  anomaly  shop     GET /checkout      229.5  p99 229.5 ms against a baseline median of 39',
        '2 transitions since 24h, newest first.',
        '',
      ].join('\n'),
    );
  });

  it('shows control characters in names senders of spans control as visible escapes, never as terminal commands', () => {
    // ESC ] 0 ; … BEL retitles the terminal, ESC [ 2 J clears it, a line break forges a row, CSI (U+009B) is a one-character ESC [.
    const hostile: AlertRecord = { ...FIRING, service: 'shop\u001b]0;pwned\u0007', operation: 'GET /x\u001b[2J\nforged row\u009b31m' };
    const out = formatAlerts({ firing: [hostile], alerts: [hostile] }, '24h', plainPaint());
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('shop\\x1b]0;pwned\\x07');
    expect(out).toContain('GET /x\\x1b[2J\\nforged row\\x9b31m');
    expect(out.split('\n').filter((l) => l.includes('forged row'))).toHaveLength(2);
  });

  it('says so when nothing fires or happened, and paints firing red and resolved green on a colour terminal', () => {
    expect(formatAlerts({ firing: [], alerts: [] }, '1h', plainPaint())).toBe('Nothing is firing.\n\nNo alert transitions since 1h.\n');
    expect(formatAlerts({ firing: [] }, '1h', plainPaint())).toBe('Nothing is firing.\n');
    const coloured = formatAlerts({ alerts: [DROPS, FIRING] }, '1h', colouredPaint());
    expect(coloured).toContain('\u001b[32mresolved\u001b[0m');
    expect(coloured).toContain('\u001b[31mfiring\u001b[0m');
  });

  it('takes durations, days and times for --since, and refuses the rest before sending anything', () => {
    expect(sinceParameter('30m')).toBe('30m');
    expect(sinceParameter('7d')).toBe('168h');
    expect(sinceParameter('2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00Z');
    for (const bad of ['yesterday', '1x', '-1h', "1h'; --"]) expect(() => sinceParameter(bad), bad).toThrow(UsageError);
  });
});

describe('flowtrace alerts against a stubbed collector', () => {
  afterEach(() => vi.unstubAllGlobals());

  async function run(args: string[], answer: (url: URL) => { status: number; body: unknown }) {
    const urls: URL[] = [];
    const auth: (string | null)[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      urls.push(new URL(url));
      auth.push(new Headers(init?.headers).get('authorization'));
      const a = answer(new URL(url));
      return new Response(JSON.stringify(a.body), { status: a.status });
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await alertsCommand.run(args, { stdout, stderr, env: { NO_COLOR: '1', FLOWTRACE_TOKEN: 'ft_test' }, cwd: '/' });
    return { urls, auth, out, err, code };
  }
  const ok = (url: URL) => ({ status: 200, body: url.pathname.endsWith('/firing') ? { firing: [FIRING] } : { alerts: [DROPS] } });
  const asked = (urls: URL[]) => urls.map((u) => [u.pathname, Object.fromEntries(u.searchParams)]);

  it('by default asks what fires now and the last 24h of history, with the token', async () => {
    const { urls, auth, out, code } = await run(['--api', 'http://collector:1'], ok);
    expect(code).toBe(0);
    expect(asked(urls)).toEqual([['/api/alerts/firing', {}], ['/api/alerts', { since: '24h' }]]);
    expect(auth).toEqual(['Bearer ft_test', 'Bearer ft_test']);
    expect(out).toContain('1 firing now.');
    expect(out).toContain('1 transitions since 24h');
  });

  it('--state firing asks only what fires now; --state resolved only resolved transitions, with the filters', async () => {
    expect(asked((await run(['--api', 'http://collector:1', '--state', 'firing', '--rule', 'latency'], ok)).urls)).toEqual([['/api/alerts/firing', { rule: 'latency' }]]);
    const resolved = await run(['--api', 'http://collector:1', '--state', 'resolved', '--since', '7d', '--service', 'shop', '--limit', '5', '--json'], ok);
    expect(asked(resolved.urls)).toEqual([['/api/alerts', { service: 'shop', limit: '5', since: '168h', state: 'resolved' }]]);
    expect(JSON.parse(resolved.out)).toEqual({ alerts: [DROPS] });
  });

  it('prints the collector\'s refusal and exits 1', async () => {
    const { err, out, code } = await run(['--api', 'http://collector:1'], () => ({ status: 403, body: { error: 'alerts are not kept per environment' } }));
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('flowtrace alerts: 403: alerts are not kept per environment\n');
  });

  it('refuses a bad flag or argument before calling the collector', async () => {
    for (const args of [['--state', 'burning'], ['--since', 'yesterday'], ['--limit', 'lots'], ['extra']]) {
      const r = run(['--api', 'http://collector:1', ...args], ok);
      await expect(r, args.join(' ')).rejects.toThrow(UsageError);
    }
  });
});
