/** Shapes of the query API's answers the dashboard reads (collector/src/query/*-routes.ts). */

/** One trace as `/api/traces` and `/api/correlations/:id` list it; nanoseconds as decimal strings. */
export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootSpanName: string;
  startTimeUnixNano: string;
  durationNano: string;
  spanCount: number;
  errorCount: number;
  services: string[];
}

export interface TracesAnswer {
  traces: TraceSummary[];
}

export interface CorrelationAnswer {
  correlationId: string;
  traces: TraceSummary[];
  missingTraceIds: string[];
}

export interface ServicesAnswer {
  services: string[];
}

export interface OperationsAnswer {
  operations: Array<{ name: string; spanKind: string }>;
}

export interface SessionUser {
  id: string;
  kind: string;
  name: string;
  scopes: string[];
}

export interface SessionAnswer {
  user: SessionUser;
  csrfToken: string;
  expiresAt: string;
}
