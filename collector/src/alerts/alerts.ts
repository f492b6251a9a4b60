import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { ReadScopes } from '../query/read-scope.js';
import type { CollectorMetrics } from '../telemetry.js';
import type { AlertsConfig } from './config.js';
import { AlertEvaluator, type Transition } from './evaluator.js';
import { Notifier } from './notifier.js';
import { outcomeOf } from './sources.js';
import { insertTransitions, migrateAlertsTable, stillFiring } from './store.js';

export interface AlertingDeps {
  /** Writes `flowtrace_alerts` (migration, inserts). */
  writer: ClickHouseClient;
  reader: ClickHouseClient;
  database: string;
  readScopes: ReadScopes;
  logger: Logger;
  /** The collector's own metrics (telemetry.ts `alert*`): transitions, rounds, deliveries. */
  metrics?: CollectorMetrics;
}

/** How long shutdown waits for webhook deliveries under way. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Evaluates every rule each `interval_ms` (the next round is scheduled once this one ends, so
 * rounds never overlap), stores the transitions, then hands them to the notifier (which
 * never blocks). A rule whose source fails is skipped for that round: its series keep their state.
 */
export class Alerting {
  private readonly evaluator: AlertEvaluator;
  readonly notifier: Notifier;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly config: AlertsConfig,
    private readonly deps: AlertingDeps,
  ) {
    this.evaluator = new AlertEvaluator(config.refire_after_ms);
    this.notifier = new Notifier(config.webhooks, { maxPending: config.max_pending_notifications, logger: deps.logger, metrics: deps.metrics });
  }

  async start(): Promise<void> {
    await migrateAlertsTable(this.deps.writer, this.deps.database, this.config.retention_days);
    const active = new Set(this.config.enabled ? this.config.rules.map((r) => r.name) : []);
    const orphans: Transition[] = [];
    for (const t of await stillFiring(this.deps.reader, this.deps.database)) {
      if (active.has(t.rule)) this.evaluator.restoreFiring(t.rule, t, t.firingSinceMs);
      else orphans.push({ ...t, state: 'resolved', summary: `resolved: the rule is no longer evaluated (last: ${t.summary})`, atMs: Date.now() });
    }
    // A series of a rule removed (or of alerts turned off) would otherwise look firing for ever
    // in GET /api/alerts/firing; stored only, not notified (its webhooks may be gone too).
    if (orphans.length > 0) await insertTransitions(this.deps.writer, this.deps.database, orphans);
    if (active.size === 0) return;
    this.schedule();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await this.notifier.close(SHUTDOWN_GRACE_MS);
  }

  /** One round over every rule; exported for tests. */
  async evaluateOnce(nowMs = Date.now()): Promise<Transition[]> {
    const started = performance.now();
    const metrics = this.deps.metrics;
    const all: Transition[] = [];
    for (const rule of this.config.rules) {
      let transitions: Transition[];
      try {
        transitions = this.evaluator.evaluate(await outcomeOf(this.deps, rule, nowMs), nowMs);
      } catch (err) {
        metrics?.alertEvaluationErrors.inc({ rule: rule.name });
        this.deps.logger.warn({ rule: rule.name, err: String(err) }, 'alerts: rule not evaluated this round');
        continue;
      } finally {
        metrics?.alertsFiring.set({ rule: rule.name }, this.evaluator.firing(rule.name).length);
      }
      for (const t of transitions) metrics?.alertTransitions.inc({ rule: t.rule, state: t.state });
      if (transitions.length === 0) continue;
      try {
        await insertTransitions(this.deps.writer, this.deps.database, transitions);
      } catch (err) {
        this.deps.logger.warn({ rule: rule.name, err: String(err) }, 'alerts: transitions not stored in the history');
      }
      for (const t of transitions) {
        this.deps.logger.info({ rule: t.rule, state: t.state, series: t.seriesKey }, `alert ${t.state}`);
        this.notifier.send(rule.webhooks, t);
      }
      all.push(...transitions);
    }
    metrics?.alertEvaluationSeconds.set((performance.now() - started) / 1000);
    metrics?.alertLastEvaluation.set(Date.now() / 1000);
    return all;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.evaluateOnce()
        .then(
          () => undefined,
          (err: unknown) => this.deps.logger.error({ err: String(err) }, 'alerts: evaluation round failed'),
        )
        .finally(() => this.schedule());
    }, this.config.interval_ms);
  }
}
