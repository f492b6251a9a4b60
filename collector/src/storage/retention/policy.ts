/**
 * The spans' retention as data: a default and ordered rules, the first rule a span matches
 * deciding how long it is kept. Built once from `storage.retention_days` and
 * `storage.retention_rules`; the store's TTL (exporters/clickhouse/retention-ttl.ts) and the
 * receivers' age check (span-matcher.ts) are both derived from it, so they cannot disagree.
 */

/** Span kinds as OTLP numbers them (SpanKind 0–5) and as `otel_traces.SpanKind` stores them. */
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
export type SpanKindName = (typeof SPAN_KINDS)[number];

/** Status codes as OTLP numbers them (0–2) and as `otel_traces.StatusCode` stores them. */
export const STATUSES = ['unset', 'ok', 'error'] as const;
export type StatusName = (typeof STATUSES)[number];

/** What a rule applies to; every criterion given must hold (AND). */
export interface RetentionMatch {
  /** `service.name` is one of these. */
  services?: readonly string[];
  status?: StatusName;
  kind?: SpanKindName;
  /**
   * Method spans: INTERNAL spans carrying `code.function.name` (or the older `code.function`),
   * as the FlowTrace Node.js and Java agents make them. false: every other span.
   */
  methodSpans?: boolean;
}

export interface RetentionRule {
  /** Named in refusals, `/api/status` and `flowtrace doctor`. */
  name: string;
  match: RetentionMatch;
  days: number;
}

export interface RetentionPolicy {
  /** For spans no rule matches (`storage.retention_days`). */
  defaultDays: number;
  /** In order: the first that matches a span decides. */
  rules: readonly RetentionRule[];
}

/** The attribute keys that make an INTERNAL span a method span. */
export const METHOD_ATTRIBUTES = ['code.function.name', 'code.function'] as const;

/** How long the longest-kept span lives: what the trace-ID lookup table must keep. */
export function longestDays(policy: RetentionPolicy): number {
  return Math.max(policy.defaultDays, ...policy.rules.map((r) => r.days));
}

/** One line per rule for people (`/api/status`, doctor, logs): `errors (status=error): 30 days`. */
export function describeMatch(match: RetentionMatch): string {
  const parts: string[] = [];
  if (match.services) parts.push(`service=${match.services.join('|')}`);
  if (match.status) parts.push(`status=${match.status}`);
  if (match.kind) parts.push(`kind=${match.kind}`);
  if (match.methodSpans !== undefined) parts.push(match.methodSpans ? 'method spans' : 'not method spans');
  return parts.join(', ');
}
