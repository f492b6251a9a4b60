/**
 * The alert state machine, pure: each evaluation hands in, per rule, the series whose condition
 * holds now (`breaching`) and the series seen but too thin to judge (`unjudged`); out come the
 * transitions to store and notify. One `firing` per rule × series until it resolves, then one
 * `resolved`; a series that resolved fires again only `refireAfterMs` later, so a value
 * flapping around its threshold yields at most one pair per series per period.
 */

export type AlertState = 'firing' | 'resolved';

/** One series of one rule whose condition holds now. */
export interface Observation {
  /** Stable within the rule: service, operation and whatever else tells series apart. */
  seriesKey: string;
  service: string;
  operation: string;
  value: number;
  /** One line for people, e.g. `error rate 0.31 > 0.05 (93/300 requests, last 5m)`. */
  summary: string;
  /** Example trace IDs, stage and reason of drops, baseline of an anomaly… */
  details: Record<string, string | number | string[]>;
}

export interface RuleOutcome {
  rule: string;
  kind: string;
  threshold: number;
  breaching: readonly Observation[];
  /** Series with data too thin to judge: they keep their state. */
  unjudged: ReadonlySet<string>;
}

export interface Transition {
  rule: string;
  kind: string;
  state: AlertState;
  seriesKey: string;
  service: string;
  operation: string;
  /** The value now (firing) or the value it fired with (resolved). */
  value: number;
  threshold: number;
  summary: string;
  details: Observation['details'];
  /** When the series started firing, ms since the epoch. */
  firingSinceMs: number;
  atMs: number;
}

interface SeriesState {
  firing: boolean;
  /** The last firing observation (for the resolved notice). */
  last: Observation;
  firingSinceMs: number;
  resolvedAtMs: number;
}

export class AlertEvaluator {
  private readonly series = new Map<string, SeriesState>();

  constructor(private readonly refireAfterMs: number) {}

  /** Series of `rule` firing now. */
  firing(rule: string): string[] {
    const out: string[] = [];
    for (const [key, s] of this.series) if (s.firing && key.startsWith(`${JSON.stringify(rule)}\n`)) out.push(key.slice(key.indexOf('\n') + 1));
    return out;
  }

  /** Restores a series found firing in the history (after a restart), so it is not announced twice. */
  restoreFiring(rule: string, o: Observation, sinceMs: number): void {
    this.series.set(keyOf(rule, o.seriesKey), { firing: true, last: o, firingSinceMs: sinceMs, resolvedAtMs: 0 });
  }

  evaluate(outcome: RuleOutcome, nowMs: number): Transition[] {
    const out: Transition[] = [];
    const breaching = new Set<string>();
    for (const o of outcome.breaching) {
      const key = keyOf(outcome.rule, o.seriesKey);
      breaching.add(key);
      const s = this.series.get(key);
      if (s?.firing) {
        s.last = o;
        continue;
      }
      if (s && nowMs - s.resolvedAtMs < this.refireAfterMs) continue; // flapping: held back
      this.series.set(key, { firing: true, last: o, firingSinceMs: nowMs, resolvedAtMs: 0 });
      out.push(transition(outcome, 'firing', o, nowMs, nowMs));
    }
    const prefix = `${JSON.stringify(outcome.rule)}\n`;
    for (const [key, s] of this.series) {
      if (!key.startsWith(prefix)) continue;
      if (s.firing) {
        if (breaching.has(key) || outcome.unjudged.has(s.last.seriesKey)) continue;
        s.firing = false;
        s.resolvedAtMs = nowMs;
        out.push(transition(outcome, 'resolved', s.last, s.firingSinceMs, nowMs));
      } else if (nowMs - s.resolvedAtMs >= this.refireAfterMs) {
        this.series.delete(key); // nothing left to hold back: keeps the map bounded by live series
      }
    }
    return out;
  }

  /** Drops the state of rules no longer configured. */
  retain(rules: ReadonlySet<string>): void {
    for (const key of this.series.keys()) if (!rules.has(JSON.parse(key.slice(0, key.indexOf('\n'))) as string)) this.series.delete(key);
  }
}

function keyOf(rule: string, seriesKey: string): string {
  return `${JSON.stringify(rule)}\n${seriesKey}`;
}

function transition(outcome: RuleOutcome, state: AlertState, o: Observation, sinceMs: number, atMs: number): Transition {
  return {
    rule: outcome.rule,
    kind: outcome.kind,
    state,
    seriesKey: o.seriesKey,
    service: o.service,
    operation: o.operation,
    value: o.value,
    threshold: outcome.threshold,
    summary: o.summary,
    details: o.details,
    firingSinceMs: sinceMs,
    atMs,
  };
}
