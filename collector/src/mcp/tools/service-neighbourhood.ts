import { z } from 'zod';
import { parseWindow } from '../../query/params.js';
import { serviceGraph, type ServiceGraphEdge } from '../../query/stitch-routes.js';
import { csvRow, isoTime } from '../format.js';
import { continuation, decodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'service_neighbourhood';
const BUDGET_TOKENS = 2000;
const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;
/** Edges read per call (as GET /api/service-graph?limit=10000): the graph is walked in memory. */
const MAX_EDGES = 10_000;

export const serviceNeighbourhoodTool = defineTool({
  name: NAME,
  title: 'Service neighbourhood',
  description:
    'Who calls a service and whom it calls, up to N hops away, over a time window: one CSV line per caller → callee → operation edge with calls, errors and latency (avg, p50, p90, p99 of the callee span). ' +
    'Aggregated from every call, not sampled. Use it to see where a slow or failing service sits before picking traces.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    service: z.string().min(1).max(1024).describe('service.name to centre on'),
    hops: z.number().int().min(1).max(5).optional().describe('how far to walk from the service (default 1: direct callers and callees)'),
    lookback: z.string().max(32).optional().describe('window length before end (default 1h)'),
    start: z.string().max(40).optional().describe('window start, ISO-8601 (overrides lookback)'),
    end: z.string().max(40).optional().describe('window end, ISO-8601 (default now)'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to see more edges'),
  },
  async run(input, ctx) {
    let offset = 0;
    let pin: Record<string, string>;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      offset = state.offset;
      pin = state.pin;
    } else {
      const { startNs, endNs } = parseWindow({ start: input.start, end: input.end, lookback: input.lookback }, DEFAULT_LOOKBACK_NS);
      pin = { service: input.service, hops: String(input.hops ?? 1), start: startNs.toString(), end: endNs.toString() };
    }
    if (pin.service !== input.service) throw new ToolInputError(`cursor: it continues the neighbourhood of ${JSON.stringify(pin.service)}; pass that service with it`);
    const edges = await serviceGraph(ctx.deps.reader, await ctx.reads(), { startNs: BigInt(pin.start!), endNs: BigInt(pin.end!), limit: MAX_EDGES });
    const near = neighbourhood(edges, pin.service!, Number(pin.hops));
    const window = `${isoTime(pin.start!)} .. ${isoTime(pin.end!)}`;
    if (near.length === 0) {
      return `# no calls to or from ${JSON.stringify(pin.service)} in ${window}: widen the window (lookback=24h), check the name, or your token may not read its neighbours (both ends of an edge must be readable)`;
    }
    const calls = near.reduce((n, e) => n + e.edge.calls, 0);
    const errors = near.reduce((n, e) => n + e.edge.errors, 0);
    const head = [
      `# ${near.length} edge(s) within ${pin.hops} hop(s) of ${pin.service} in ${window}: ${calls} calls, ${errors} errors${edges.length === MAX_EDGES ? ` (only the ${MAX_EDGES} busiest edges of the whole graph were read)` : ''}`,
      'hop,caller,callee,operation,calls,errors,error_pct,avg_ms,p50_ms,p90_ms,p99_ms',
    ];
    const rows = near.map(({ hop, edge: e }) =>
      csvRow([hop, e.caller, e.callee, e.operation, e.calls, e.errors, e.calls === 0 ? 0 : Math.round((1000 * e.errors) / e.calls) / 10, e.avgMs, e.p50Ms, e.p90Ms, e.p99Ms]),
    );
    const page = pageLines(rows, offset, BUDGET_TOKENS * 4 - head.join('\n').length - 300);
    return [...head, page.text, continuation(NAME, page.next, rows.length, pin, 'edges')].join('\n');
  },
});

/**
 * Edges reached by walking the graph both ways from `service`, each with the hop it was reached
 * at (1: touches the service), nearest first, then busiest. Exported for tests.
 */
export function neighbourhood(edges: readonly ServiceGraphEdge[], service: string, hops: number): Array<{ hop: number; edge: ServiceGraphEdge }> {
  const reached = new Map<string, number>([[service, 0]]);
  const out: Array<{ hop: number; edge: ServiceGraphEdge }> = [];
  const taken = new Set<ServiceGraphEdge>();
  for (let hop = 1; hop <= hops; hop++) {
    const frontier = [...reached].filter(([, h]) => h === hop - 1).map(([s]) => s);
    for (const edge of edges) {
      if (taken.has(edge)) continue;
      if (!frontier.includes(edge.caller) && !frontier.includes(edge.callee)) continue;
      taken.add(edge);
      out.push({ hop, edge });
      for (const s of [edge.caller, edge.callee]) if (!reached.has(s)) reached.set(s, hop);
    }
  }
  return out.sort((a, b) => a.hop - b.hop || b.edge.calls - a.edge.calls || a.edge.caller.localeCompare(b.edge.caller) || a.edge.callee.localeCompare(b.edge.callee));
}
