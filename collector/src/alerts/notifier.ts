import type { Logger } from 'pino';
import type { CollectorMetrics } from '../telemetry.js';
import type { WebhookConfig } from './config.js';
import type { Transition } from './evaluator.js';

/**
 * Delivers transitions to webhooks as Slack-compatible JSON: `text` is what Slack (and most chat
 * incoming webhooks) shows; `flowtrace` carries the same facts structured, for other receivers.
 *
 * `send` only enqueues — it never waits on the network, so a slow or dead webhook cannot hold up
 * the evaluator. Each webhook has its own queue, delivered in order (a `resolved` never
 * overtakes its `firing`), one request at a time, each attempt bounded by `timeout_ms`, retried
 * on network errors, timeouts, 429 and 5xx with doubling backoff. The queues together hold at
 * most `maxPending`; beyond, new notifications are dropped and counted.
 */

export interface WebhookPayload {
  text: string;
  flowtrace: {
    rule: string;
    kind: string;
    state: Transition['state'];
    service: string;
    operation: string;
    series: string;
    value: number;
    threshold: number;
    summary: string;
    details: Transition['details'];
    firingSince: string;
    at: string;
  };
}

export interface NotifierStats {
  delivered: number;
  failed: number;
  /** Attempts after a failed one. */
  retried: number;
  dropped: number;
  pending: number;
}

/** The collector's metrics the notifier feeds (telemetry.ts); absent in unit tests. */
export type NotifierMetrics = Pick<CollectorMetrics, 'alertDeliveries' | 'alertDeliveryRetries' | 'alertNotificationsDropped' | 'alertNotificationsPending'>;

export interface NotifierOptions {
  maxPending: number;
  logger: Logger;
  metrics?: NotifierMetrics;
}

/**
 * Slack's control characters in text: `<…>` makes links (`<https://x|label>`) and mentions
 * (`<!channel>`, `<@U123>`), so they are escaped as Slack asks (&amp; &lt; &gt;), which it shows as
 * the characters themselves.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function payloadOf(t: Transition): WebhookPayload {
  // Service and operation names come from whoever sends spans: escaped, so they cannot ping a channel or disguise a link.
  const where = [t.service, t.operation].filter(Boolean).map(slackEscape).join(' ');
  const head = t.state === 'firing' ? ':rotating_light: FIRING' : ':white_check_mark: RESOLVED';
  return {
    text: `${head} [${t.rule}]${where ? ` ${where}` : ''}: ${t.summary}`,
    flowtrace: {
      rule: t.rule,
      kind: t.kind,
      state: t.state,
      service: t.service,
      operation: t.operation,
      series: t.seriesKey,
      value: t.value,
      threshold: t.threshold,
      summary: t.summary,
      details: t.details,
      firingSince: new Date(t.firingSinceMs).toISOString(),
      at: new Date(t.atMs).toISOString(),
    },
  };
}

export class Notifier {
  private readonly queues = new Map<string, WebhookPayload[]>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly stats_: NotifierStats = { delivered: 0, failed: 0, retried: 0, dropped: 0, pending: 0 };
  private closed = false;
  private readonly wake = new Set<() => void>();

  constructor(
    private readonly webhooks: Readonly<Record<string, WebhookConfig>>,
    private readonly options: NotifierOptions,
  ) {}

  get stats(): NotifierStats {
    return { ...this.stats_ };
  }

  /** Enqueues `t` for each named webhook; returns at once. */
  send(webhookNames: readonly string[], t: Transition): void {
    if (this.closed) return;
    const payload = payloadOf(t);
    for (const name of webhookNames) {
      if (!this.webhooks[name]) continue;
      if (this.stats_.pending >= this.options.maxPending) {
        this.stats_.dropped++;
        this.options.metrics?.alertNotificationsDropped.inc({ webhook: name });
        this.options.logger.warn({ webhook: name, rule: t.rule, state: t.state }, 'alerts: too many notifications waiting; this one is dropped');
        continue;
      }
      let queue = this.queues.get(name);
      if (!queue) this.queues.set(name, (queue = []));
      queue.push(payload);
      this.stats_.pending++;
      this.options.metrics?.alertNotificationsPending.set(this.stats_.pending);
      if (!this.running.has(name)) {
        this.running.set(name, this.drain(name).finally(() => this.running.delete(name)));
      }
    }
  }

  /** Resolves once every queue is empty (delivered or given up); for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Stops: waits at most `graceMs` for deliveries under way, then abandons the rest. */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.closed = true;
    for (const w of this.wake) w();
  }

  private async drain(name: string): Promise<void> {
    const queue = this.queues.get(name)!;
    const hook = this.webhooks[name];
    for (let payload = queue.shift(); payload; payload = queue.shift()) {
      const ok = await this.deliver(name, hook, payload);
      this.stats_.pending--;
      if (ok) this.stats_.delivered++;
      else this.stats_.failed++;
      this.options.metrics?.alertNotificationsPending.set(this.stats_.pending);
      this.options.metrics?.alertDeliveries.inc({ webhook: name, outcome: ok ? 'ok' : 'failed' });
    }
  }

  private async deliver(name: string, hook: WebhookConfig, payload: WebhookPayload): Promise<boolean> {
    const body = JSON.stringify(payload);
    let lastError = '';
    for (let attempt = 0; attempt <= hook.retries && !this.closed; attempt++) {
      if (attempt > 0) await this.sleep(hook.backoff_ms * 2 ** (attempt - 1));
      if (this.closed) break;
      if (attempt > 0) {
        this.stats_.retried++;
        this.options.metrics?.alertDeliveryRetries.inc({ webhook: name });
      }
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { ...hook.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(hook.timeout_ms),
          redirect: 'error',
        });
        await res.body?.cancel();
        if (res.ok) return true;
        lastError = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) break; // the receiver refuses this payload: retrying cannot help
      } catch (err) {
        lastError = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${hook.timeout_ms} ms` : String((err as Error).cause ?? err);
        // fetch quotes a URL or header value it refuses whole: never let them (or their secrets) into the log.
        lastError = lastError.split(hook.url).join('<the webhook URL>');
        for (const [header, value] of Object.entries(hook.headers)) if (value.trim() !== '') lastError = lastError.split(value.trim()).join(`<the ${header} header>`);
      }
    }
    // The URL is not logged: it may carry a token (Slack's do).
    this.options.logger.warn({ webhook: name, rule: payload.flowtrace.rule, state: payload.flowtrace.state, error: lastError }, 'alerts: webhook delivery failed');
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }
}
