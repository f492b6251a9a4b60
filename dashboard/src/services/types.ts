/** Shapes of the API answers the service pages read (collector/src/query/stitch-routes.ts, metrics/red/red-routes.ts, anomalies-routes.ts, hotspots-routes.ts). */

/** One caller → callee edge of `GET /api/service-graph`, per callee operation; latencies of the callee span. */
export interface GraphEdge {
  caller: string;
  callee: string;
  /** The callee span's name. */
  operation: string;
  calls: number;
  errors: number;
  avgMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface ServiceGraphAnswer {
  startUnixNano: string;
  endUnixNano: string;
  edges: GraphEdge[];
}

/** One point of `GET /api/metrics/red`: a service, operation and span kind over one step. */
export interface RedPoint {
  service: string;
  operation: string;
  spanKind: string;
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  errors: number;
  rate: number;
  errorRatio: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface RedAnswer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  stepSeconds: number;
  points: RedPoint[];
}

export interface Anomaly {
  service: string;
  operation: string;
  spanKind: string;
  metric: 'latency_p99' | 'error_rate';
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  errors: number;
  /** p99 in ms, or the error rate 0 to 1. */
  current: number;
  baseline: { median: number; mad: number; windows: number };
  score: number;
  exampleTraceIds: string[];
}

export interface AnomaliesAnswer {
  windowSeconds: number;
  anomalies: Anomaly[];
}

export interface Hotspot {
  service: string;
  method: string;
  calls: number;
  errors: number;
  selfNano: string;
  totalNano: string;
  /** Share of the total self time, 0 to 1. */
  share: number;
}

export interface HotspotsAnswer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  totalSelfNano: string;
  totalCalls: number;
  methodCount: number;
  hotspots: Hotspot[];
}
