import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookConfigSchema, type WebhookConfig } from './config.js';
import type { Transition } from './evaluator.js';
import { Notifier, payloadOf, type WebhookPayload } from './notifier.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: WebhookPayload;
}

/** A webhook receiver on a free loopback port; `answer` picks each request's status (or hangs). */
async function receiver(answer: (n: number) => number | 'hang'): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(data) as WebhookPayload });
      const status = answer(got.length);
      if (status === 'hang') hanging.push(res);
      else res.writeHead(status).end();
    });
  });
  server.on('close', () => hanging.forEach((r) => r.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const hook = (url: string, more: Partial<WebhookConfig> = {}): WebhookConfig => webhookConfigSchema.parse({ url, backoff_ms: 10, timeout_ms: 200, ...more });
const logger = pino({ level: 'silent' });
const transition = (state: Transition['state'], atMs = 1_700_000_000_000): Transition => ({
  rule: 'checkout-errors',
  kind: 'red',
  state,
  seriesKey: '["shop","GET /checkout","SERVER"]',
  service: 'shop',
  operation: 'GET /checkout',
  value: 0.31,
  threshold: 0.05,
  summary: 'error rate 0.31 (93/300 requests) > 0.05 over the last 5m',
  details: { requests: 300, errors: 93 },
  firingSinceMs: 1_700_000_000_000,
  atMs,
});

describe('webhook notifier', () => {
  it('posts a Slack-compatible payload with the structured flowtrace object and the configured headers', async () => {
    const r = await receiver(() => 200);
    const n = new Notifier({ slack: hook(r.url, { headers: { authorization: 'Bearer s3cret' } }) }, { maxPending: 10, logger });
    n.send(['slack'], transition('firing'));
    n.send(['slack'], transition('resolved', 1_700_000_060_000));
    await n.idle();
    expect(r.got).toHaveLength(2);
    expect(r.got[0].headers.authorization).toBe('Bearer s3cret');
    expect(r.got[0].headers['content-type']).toBe('application/json');
    expect(r.got[0].body.text).toBe(':rotating_light: FIRING [checkout-errors] shop GET /checkout: error rate 0.31 (93/300 requests) > 0.05 over the last 5m');
    expect(r.got[0].body.flowtrace).toEqual({
      rule: 'checkout-errors',
      kind: 'red',
      state: 'firing',
      service: 'shop',
      operation: 'GET /checkout',
      series: '["shop","GET /checkout","SERVER"]',
      value: 0.31,
      threshold: 0.05,
      summary: 'error rate 0.31 (93/300 requests) > 0.05 over the last 5m',
      details: { requests: 300, errors: 93 },
      firingSince: '2023-11-14T22:13:20.000Z',
      at: '2023-11-14T22:13:20.000Z',
    });
    // In order: the resolved notice never overtakes its firing.
    expect(r.got[1].body.flowtrace.state).toBe('resolved');
    expect(r.got[1].body.text.startsWith(':white_check_mark: RESOLVED [checkout-errors]')).toBe(true);
    expect(n.stats).toEqual({ delivered: 2, failed: 0, retried: 0, dropped: 0, pending: 0 });
  });

  it('escapes Slack control characters in the service and operation names senders of spans control', () => {
    const hostile = { ...transition('firing'), service: '<!channel>', operation: 'GET <https://evil.example/login|Open the runbook> & more' };
    const { text, flowtrace } = payloadOf(hostile);
    expect(text).toBe(
      ':rotating_light: FIRING [checkout-errors] &lt;!channel&gt; GET &lt;https://evil.example/login|Open the runbook&gt; &amp; more: error rate 0.31 (93/300 requests) > 0.05 over the last 5m',
    );
    expect(text).not.toMatch(/<[!@#]|<https?:/);
    // The structured copy keeps the names as they are.
    expect(flowtrace).toMatchObject({ service: '<!channel>', operation: 'GET <https://evil.example/login|Open the runbook> & more' });
  });

  it('retries 5xx and 429 with backoff until delivered', async () => {
    const r = await receiver((i) => (i === 1 ? 503 : i === 2 ? 429 : 200));
    const n = new Notifier({ h: hook(r.url, { retries: 3 }) }, { maxPending: 10, logger });
    n.send(['h'], transition('firing'));
    await n.idle();
    expect(r.got).toHaveLength(3);
    expect(n.stats).toMatchObject({ delivered: 1, failed: 0, retried: 2 });
  });

  it('gives up after the configured retries, and does not retry a 4xx refusal', async () => {
    const failing = await receiver(() => 500);
    const refusing = await receiver(() => 400);
    const n = new Notifier({ a: hook(failing.url, { retries: 2 }), b: hook(refusing.url, { retries: 2 }) }, { maxPending: 10, logger });
    n.send(['a', 'b'], transition('firing'));
    await n.idle();
    expect(failing.got).toHaveLength(3);
    expect(refusing.got).toHaveLength(1);
    expect(n.stats).toMatchObject({ delivered: 0, failed: 2, retried: 2, pending: 0 });
  });

  it('times out a receiver that never answers, and retries it', async () => {
    const r = await receiver((i) => (i === 1 ? 'hang' : 200));
    const n = new Notifier({ h: hook(r.url, { timeout_ms: 100, retries: 1 }) }, { maxPending: 10, logger });
    n.send(['h'], transition('firing'));
    await n.idle();
    expect(r.got).toHaveLength(2);
    expect(n.stats).toMatchObject({ delivered: 1, failed: 0 });
  });

  it('never blocks the caller: send returns before a hanging receiver answers, and the queue is bounded', async () => {
    const r = await receiver(() => 'hang');
    const n = new Notifier({ h: hook(r.url, { timeout_ms: 60_000, retries: 0 }) }, { maxPending: 3, logger });
    for (let i = 0; i < 5; i++) n.send(['h'], transition('firing', i));
    // All five calls returned while the first request hangs: three wait, two were dropped.
    expect(n.stats).toMatchObject({ pending: 3, dropped: 2, delivered: 0 });
    await n.close(50);
  });

  it('counts a refused connection as failed after its retries', async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    r.server.close();
    const n = new Notifier({ h: hook(url, { retries: 1 }) }, { maxPending: 10, logger });
    n.send(['h'], transition('firing'));
    await n.idle();
    expect(n.stats).toMatchObject({ delivered: 0, failed: 1 });
  });
});

describe('webhook config', () => {
  it('accepts only http(s) URLs', () => {
    expect(webhookConfigSchema.safeParse({ url: 'file:///etc/passwd' }).success).toBe(false);
    expect(webhookConfigSchema.safeParse({ url: 'ftp://x/y' }).success).toBe(false);
    expect(webhookConfigSchema.safeParse({ url: 'https://hooks.slack.com/services/T/B/X' }).success).toBe(true);
  });

  it('refuses URLs with credentials (fetch would quote them in its error) and URLs that do not parse', () => {
    const refused = webhookConfigSchema.safeParse({ url: 'https://bot:s3cretpass@hooks.example.com/x' });
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).toMatch(/headers/);
    expect(JSON.stringify(refused.error?.issues)).not.toContain('s3cretpass');
    expect(webhookConfigSchema.safeParse({ url: 'http://a b/x?token=t' }).success).toBe(false);
    const header = webhookConfigSchema.safeParse({ url: 'https://hooks.example.com/x', headers: { authorization: 'Bearer s3cret\nX-Injected: 1' } });
    expect(header.success).toBe(false);
    expect(JSON.stringify(header.error?.issues)).not.toContain('s3cret');
    expect(webhookConfigSchema.safeParse({ url: 'https://hooks.example.com/x', headers: { authorization: 'Bearer s3cret' } }).success).toBe(true);
  });
});

describe('webhook delivery failures in the log', () => {
  it('never logs the webhook URL or its secrets, even when fetch quotes the URL in its error', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    // As if the config check were bypassed: fetch refuses a URL with credentials, quoting it whole.
    const bad: WebhookConfig = { ...hook('http://127.0.0.1:1/hook'), url: 'https://bot:s3cretpass@127.0.0.1:1/hook?token=t0ken', retries: 0 };
    const n = new Notifier({ bad }, { maxPending: 10, logger: capture });
    n.send(['bad'], transition('firing'));
    await n.idle();
    expect(n.stats.failed).toBe(1);
    const log = lines.join('');
    expect(log).toContain('webhook delivery failed');
    expect(log).not.toContain('s3cretpass');
    expect(log).not.toContain('t0ken');
  });

  it('never logs a header value fetch refuses (it quotes it in its error)', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const r = await receiver(() => 200);
    const bad: WebhookConfig = { ...hook(r.url), headers: { authorization: 'Bearer s3cret\u0000tail' }, retries: 0 };
    const n = new Notifier({ bad }, { maxPending: 10, logger: capture });
    n.send(['bad'], transition('firing'));
    await n.idle();
    expect(n.stats.failed).toBe(1);
    const log = lines.join('');
    expect(log).toContain('webhook delivery failed');
    expect(log).not.toContain('s3cret');
  });
});
