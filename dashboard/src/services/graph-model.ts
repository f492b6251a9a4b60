/**
 * The service map's model, from the service-graph edges and the RED totals of a time range:
 * one node per service (sized by its request rate), one edge per caller → callee pair (the
 * callee's operations summed), and the error-rate band that colours it. The same model feeds
 * the canvas (cytoscape) and the accessible table beside it, so both always say the same.
 */
import type { GraphEdge, RedPoint } from './types';

/** Span kinds that count as requests a service answers. */
const SERVED_KINDS = new Set(['Server', 'Consumer']);

export const NODE_MIN_PX = 36;
export const NODE_MAX_PX = 96;

/** Error-rate bands: none, under 1 %, under 5 %, 5 % and over. */
export type ErrorBand = 'none' | 'low' | 'medium' | 'high';

export function errorBand(errorRatio: number): ErrorBand {
  if (!(errorRatio > 0)) return 'none';
  if (errorRatio < 0.01) return 'low';
  if (errorRatio < 0.05) return 'medium';
  return 'high';
}

export interface MapNode {
  service: string;
  /** Requests the service answered in the range (RED server/consumer spans; else calls into it; else calls out of it). */
  requests: number;
  errors: number;
  /** Requests per second over the range. */
  rate: number;
  errorRatio: number;
  /** Diameter on the map, pixels: by the square root of the rate, so that area follows rate. */
  size: number;
  /** Services it calls and services calling it. */
  callees: number;
  callers: number;
}

export interface MapEdge {
  /** Stable ID for the canvas: the pair, JSON-encoded (service names may hold any character). */
  id: string;
  caller: string;
  callee: string;
  calls: number;
  errors: number;
  errorRatio: number;
  band: ErrorBand;
  /** The slowest p99 among the callee operations (quantiles of different operations cannot be merged). */
  p99Ms: number;
  /** The callee operations behind this edge, busiest first. */
  operations: GraphEdge[];
}

export interface ServiceMapModel {
  nodes: MapNode[];
  edges: MapEdge[];
}

export function edgeId(caller: string, callee: string): string {
  return JSON.stringify([caller, callee]);
}

/**
 * The map of `edges` (per operation, as the API lists them) and `red` (one point per service,
 * operation and kind over the range), rates over `seconds`. Services with RED but no edge are
 * nodes too: a service that calls nobody still shows.
 */
export function buildServiceMap(edges: readonly GraphEdge[], red: readonly RedPoint[], seconds: number): ServiceMapModel {
  const pairs = new Map<string, MapEdge>();
  for (const e of edges) {
    const id = edgeId(e.caller, e.callee);
    let pair = pairs.get(id);
    if (!pair) pairs.set(id, (pair = { id, caller: e.caller, callee: e.callee, calls: 0, errors: 0, errorRatio: 0, band: 'none', p99Ms: 0, operations: [] }));
    pair.calls += e.calls;
    pair.errors += e.errors;
    pair.p99Ms = Math.max(pair.p99Ms, e.p99Ms);
    pair.operations.push(e);
  }
  const mapEdges = [...pairs.values()];
  for (const e of mapEdges) {
    e.errorRatio = e.calls === 0 ? 0 : e.errors / e.calls;
    e.band = errorBand(e.errorRatio);
    e.operations.sort((a, b) => b.calls - a.calls || a.operation.localeCompare(b.operation));
  }
  mapEdges.sort((a, b) => b.calls - a.calls || a.caller.localeCompare(b.caller) || a.callee.localeCompare(b.callee));

  const served = new Map<string, { requests: number; errors: number }>();
  for (const p of red) {
    if (!SERVED_KINDS.has(p.spanKind)) {
      if (!served.has(p.service)) served.set(p.service, { requests: 0, errors: 0 });
      continue;
    }
    const s = served.get(p.service) ?? { requests: 0, errors: 0 };
    s.requests += p.requests;
    s.errors += p.errors;
    served.set(p.service, s);
  }
  const names = new Set<string>([...served.keys()]);
  for (const e of mapEdges) names.add(e.caller).add(e.callee);

  const nodes = [...names].map((service): MapNode => {
    const incoming = mapEdges.filter((e) => e.callee === service);
    const outgoing = mapEdges.filter((e) => e.caller === service);
    const sum = (list: MapEdge[], key: 'calls' | 'errors') => list.reduce((n, e) => n + e[key], 0);
    const own = served.get(service);
    // RED counts every request before sampling; the edges only see calls from traced callers.
    const [requests, errors] =
      own && own.requests > 0 ? [own.requests, own.errors] : incoming.length > 0 ? [sum(incoming, 'calls'), sum(incoming, 'errors')] : [sum(outgoing, 'calls'), sum(outgoing, 'errors')];
    return {
      service,
      requests,
      errors,
      rate: seconds > 0 ? requests / seconds : 0,
      errorRatio: requests === 0 ? 0 : errors / requests,
      size: NODE_MIN_PX,
      callees: outgoing.length,
      callers: incoming.length,
    };
  });
  const maxRate = Math.max(0, ...nodes.map((n) => n.rate));
  for (const n of nodes) n.size = nodeSize(n.rate, maxRate);
  nodes.sort((a, b) => b.rate - a.rate || a.service.localeCompare(b.service));
  return { nodes, edges: mapEdges };
}

/** Diameter from NODE_MIN_PX (no traffic) to NODE_MAX_PX (the busiest), area proportional to rate. */
export function nodeSize(rate: number, maxRate: number): number {
  if (!(maxRate > 0) || !(rate > 0)) return NODE_MIN_PX;
  return Math.round(NODE_MIN_PX + (NODE_MAX_PX - NODE_MIN_PX) * Math.sqrt(Math.min(rate, maxRate) / maxRate));
}

/** Edge width, 1.5 to 8 px, by the log of its calls relative to the busiest edge. */
export function edgeWidth(calls: number, maxCalls: number): number {
  if (!(maxCalls > 1) || !(calls > 0)) return 1.5;
  return Math.round((1.5 + 6.5 * (Math.log(calls) / Math.log(maxCalls))) * 10) / 10;
}

/** `1.2 req/s`, `3.4 req/min` below one a second, `0 req/s`. */
export function formatRate(rate: number): string {
  if (!(rate > 0)) return '0 req/s';
  if (rate >= 1) return `${round3(rate)} req/s`;
  return `${round3(rate * 60)} req/min`;
}

/** `0 %`, `0.12 %`, `4.5 %`, `100 %`. */
export function formatPercent(ratio: number): string {
  if (!(ratio > 0)) return '0 %';
  return `${round3(ratio * 100)} %`;
}

/** A millisecond figure as `0 ms`, `850 µs`, `12.3 ms`, `1.5 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${round3(ms * 1000)} µs`;
  if (ms < 1000) return `${round3(ms)} ms`;
  return `${round3(ms / 1000)} s`;
}

/** The edge's label on the map, on two lines: calls and error rate, then p99. */
export function edgeLabel(e: MapEdge): string {
  return `${e.calls} ${e.calls === 1 ? 'call' : 'calls'} · ${formatPercent(e.errorRatio)} err\np99 ${formatMs(e.p99Ms)}`;
}

/** The edges into and out of `service`, for its panel. */
export function neighbours(model: ServiceMapModel, service: string): { incoming: MapEdge[]; outgoing: MapEdge[] } {
  return { incoming: model.edges.filter((e) => e.callee === service), outgoing: model.edges.filter((e) => e.caller === service) };
}

function round3(x: number): string {
  return String(Number(x.toPrecision(3)));
}
