import { UsageError } from '../command.js';
import { callApi } from '../api-client.js';
import type { SpanView } from '../../query/span-view.js';

/**
 * The analysis routes' answers as the CLI reads them (collector/src/query/analysis-routes.ts):
 * times are nanosecond strings. Kept here, not imported, because the routes declare them as
 * JSON schemas.
 */
export interface SpanRef {
  spanId: string;
  serviceName: string;
  name: string;
}

export interface CriticalPathAnswer {
  traceId: string;
  rootSpanId: string;
  durationNano: string;
  spanCount: number;
  segments: Array<SpanRef & { startTimeUnixNano: string; endTimeUnixNano: string; durationNano: string }>;
  selfTimes: Array<SpanRef & { durationNano: string; selfNano: string; criticalNano: string }>;
  asyncSpanIds: string[];
}

export interface Finding extends SpanRef {
  reason: string;
  explanation: string;
  joinedTraceId?: string;
  joinedSpanId?: string;
  parentSpanId?: string;
  remoteParent?: boolean;
}

export interface InsightsAnswer {
  traceId: string;
  spanCount: number;
  readRestricted: boolean;
  insights: Array<{
    rule: string;
    summary: string;
    spanIds: string[];
    spanCount: number;
    parentSpanId?: string;
    impactNano?: string;
    evidence?: Record<string, string | number | boolean>;
  }>;
  completeness: { complete: boolean; orphans: Finding[]; unansweredClientSpans: Finding[]; missingRemoteParents: Finding[] };
}

export interface TraceAnswer {
  traceId: string;
  spans: SpanView[];
}

/** Self times returned by the critical-path route, at most: the route's own cap (MAX_ANALYSIS_SPANS). */
export const ALL_SELF_TIMES = 10_000;

/** GET /api/traces/:traceId, clock skew adjusted as the analysis routes see it. */
export function getTrace(base: string, traceId: string, token: string | undefined, adjust = false): Promise<TraceAnswer> {
  return callApi<TraceAnswer>(base, `/api/traces/${encodeURIComponent(traceId)}${adjust ? '?adjust=clock-skew' : ''}`, { token });
}

/** A trace ID as the API takes it: checked here so a typo is a usage error (exit 2), not a 400. */
export function isTraceId(text: string): boolean {
  return /^[0-9a-fA-F]{32}$/.test(text) || /^[0-9a-fA-F]{16}$/.test(text);
}

/** The options every command that reads one trace through the API takes. */
export const TRACE_COMMAND_OPTIONS = {
  api: { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The command's one positional, a trace ID; a usage error otherwise. */
export function traceIdArgument(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('expected one trace ID');
  const traceId = positionals[0]!;
  if (!isTraceId(traceId)) throw new UsageError(`TRACE_ID: expected 32 hex digits, got '${traceId.slice(0, 64)}'`);
  return traceId;
}
