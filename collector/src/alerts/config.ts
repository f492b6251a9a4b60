import { z } from 'zod';

/**
 * `alerts:` — rules evaluated every `interval_ms` against RED (`flowtrace_red`), anomalies
 * (analysis/anomalies.ts) and the drop ledger (`flowtrace_drops`), each transition (firing,
 * resolved) stored in `flowtrace_alerts` and posted to the rule's webhooks.
 *
 * Webhook URLs and headers are OPERATOR configuration: the collector posts to whatever they name
 * (internal addresses included), so only whoever writes the config file may set them — no API
 * route changes them. Secrets belong in the environment: `${env:SLACK_TOKEN}` in a header value.
 */

const whole = (min: number, max: number, unit: string) =>
  z.number().int('expected a whole number').min(min, `must be at least ${min}${unit}`).max(max, `must be at most ${max}${unit}`);
const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . or -');

export const webhookConfigSchema = z
  .object({
    /** Where notifications are POSTed: Slack-compatible JSON `{"text": …, "flowtrace": {…}}`. */
    url: z
      .string()
      .max(2048)
      .refine((s) => /^https?:\/\/[^\s/]+/.test(s) && URL.canParse(s), 'expected an http:// or https:// URL')
      // fetch refuses such a URL with an error that quotes it whole, secret included: credentials go in a header.
      .refine((s) => !URL.canParse(s) || (new URL(s).username === '' && new URL(s).password === ''), 'must not hold a user or password; put credentials in headers (authorization: "Basic ${env:HOOK_AUTH}")'),
    /** Extra request headers, e.g. `authorization: "Bearer ${env:HOOK_TOKEN}"`; never logged. */
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected a header name'),
        // fetch refuses a value with a line break or other control character with an error that quotes it (a secret, in the log).
        z.string().max(4096).regex(/^[^\u0000-\u0008\u000a-\u001f\u007f]*$/, 'must not hold line breaks or other control characters (check the ${env:…} it comes from)'),
      )
      .default({}),
    /** Per attempt. */
    timeout_ms: whole(100, 60_000, ' ms').default(5_000),
    /** Attempts after the first, on a network error, a timeout, 429 or 5xx. */
    retries: whole(0, 10, '').default(3),
    /** Wait before the first retry, doubled before each next one. */
    backoff_ms: whole(10, 60_000, ' ms').default(1_000),
  })
  .strict();

const comparison = z.enum(['>', '>=', '<', '<=']);

const common = {
  name,
  /** Webhook names (keys of `alerts.webhooks`); none: the transitions are only stored. */
  webhooks: z.array(name).max(10).default([]),
  /** Only this service / operation; absent: each one is its own series. */
  service: z.string().min(1).max(256).optional(),
  operation: z.string().min(1).max(256).optional(),
};

export const ruleConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('red'),
      ...common,
      /** error_rate 0…1, p99_ms, or request_rate per second; over the last `window_minutes` per series. */
      metric: z.enum(['error_rate', 'p99_ms', 'request_rate']),
      op: comparison.default('>'),
      threshold: z.number().min(0),
      window_minutes: whole(1, 60, ' min').default(5),
      /** Series with fewer requests in the window are not judged (a quiet series neither fires nor resolves on noise). */
      min_requests: whole(0, 1_000_000, '').default(10),
    })
    .strict(),
  z
    .object({
      kind: z.literal('anomaly'),
      ...common,
      /** Both when absent. */
      metric: z.enum(['latency_p99', 'error_rate']).optional(),
      window_minutes: whole(1, 60, ' min').default(5),
      baseline_windows: whole(4, 100, '').default(12),
      /** Score in scaled MADs. */
      threshold: z.number().min(1).max(100).default(5),
      min_requests: whole(1, 1_000_000, '').default(20),
    })
    .strict(),
  z
    .object({
      kind: z.literal('drops'),
      ...common,
      stage: z.string().min(1).max(64).optional(),
      reason: z.string().min(1).max(128).optional(),
      /** Fires when more spans than this were dropped in the window, per stage × reason × service. */
      threshold: z.number().int().min(0).default(0),
      window_minutes: whole(1, 1_440, ' min').default(5),
    })
    .strict(),
]);

export const alertsConfigSchema = z
  .object({
    /** Off (or no rules): nothing is evaluated; the history route still answers. */
    enabled: z.boolean().default(true),
    interval_ms: whole(100, 3_600_000, ' ms').default(30_000),
    /** Days `flowtrace_alerts` keeps transitions. */
    retention_days: whole(1, 3_650, ' days').default(30),
    /**
     * A series that resolved fires again only after this long; flapping around a threshold
     * costs at most one firing/resolved pair per series per period.
     */
    refire_after_ms: whole(0, 86_400_000, ' ms').default(300_000),
    /** Notifications waiting for delivery at most; beyond, new ones are dropped and logged. */
    max_pending_notifications: whole(1, 100_000, '').default(1_000),
    webhooks: z.record(name, webhookConfigSchema).default({}),
    rules: z.array(ruleConfigSchema).max(200).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name ${JSON.stringify(r.name)} is used twice` });
      seen.add(r.name);
      r.webhooks.forEach((w, j) => {
        if (!(w in c.webhooks)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'webhooks', j], message: `no webhook named ${JSON.stringify(w)} under alerts.webhooks` });
      });
    });
  });

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type RuleConfig = z.infer<typeof ruleConfigSchema>;
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
