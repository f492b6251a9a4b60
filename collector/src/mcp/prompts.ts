import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/**
 * Prompts: ready-made investigations that tell the model which tools to call in which order.
 * Each is a single user message; the arguments fill in what to look at.
 */
export function registerPrompts(server: McpServer): void {
  const user = (text: string) => ({ messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] });

  server.registerPrompt(
    'investigate_slow_endpoint',
    {
      title: 'Investigate a slow endpoint',
      description: 'Why an endpoint is slow: from its slowest traces down to the spans that take the time',
      argsSchema: { service: z.string().describe('service.name of the endpoint'), operation: z.string().optional().describe('span name, e.g. "GET /orders/{id}"'), lookback: z.string().optional().describe('window, default 1h') },
    },
    ({ service, operation, lookback }) =>
      user(`Investigate why ${operation ? `"${operation}" of ` : ''}service "${service}" is slow${lookback ? ` over the last ${lookback}` : ''}.
1. service_neighbourhood service="${service}": note which downstream calls have high p99 or error rates.
2. find_traces service="${service}"${operation ? ` operation="${operation}"` : ''}${lookback ? ` lookback="${lookback}"` : ''}: compare the page's p50 and p90; then call it again with minDuration set near the p90 to get the slow ones.
3. hotspots service="${service}"${operation ? ` operation="${operation}"` : ''}${lookback ? ` lookback="${lookback}"` : ''}: the methods that burn the most self time over the window.
4. trace_outline on two or three of the slowest traces (maxDepth=3 first if they are big), and critical_path on each: the spans with most self time and the chain that makes up the latency; note "×N" lines (repeated calls), and insights for N+1 or sequential calls.
5. get_span on the one or two spans that take the time, for their statements, routes and events.
6. If the cause is unclear, compare_traces a slow trace with a fast one of the same operation (or b="typical").
Answer with: where the time goes (service, span, self time, share of the total), the evidence (trace and span IDs), and a likely fix.`),
  );

  server.registerPrompt(
    'explain_error',
    {
      title: 'Explain this error',
      description: 'Where an error started and why, from a trace ID, a correlation ID or a service',
      argsSchema: { traceId: z.string().optional(), correlationId: z.string().optional(), service: z.string().optional() },
    },
    ({ traceId, correlationId, service }) =>
      user(`Explain the error ${traceId ? `in trace ${traceId}` : correlationId ? `of request ${correlationId}` : service ? `in service "${service}"` : 'the user reports'}.
1. ${traceId ? `Start from trace ${traceId}.` : correlationId ? `lookup_correlation correlationId="${correlationId}" to get its traces.` : `find_traces${service ? ` service="${service}"` : ''} errorsOnly=true to get failing traces.`}
2. trace_outline on the trace: find the ERR lines; "+N below (k ERR)" means errors sit deeper, so narrow with rootSpanId there.
3. insights on the trace names the error origin (the deepest failed span and its exception) and says whether spans are missing and why. ERR on the origin's ancestors is propagation. get_span on the origin: read status.message and the exception events (exception.type, exception.message, exception.stacktrace; long values can be read in full with field/offset).
4. get_span on its parent to see what the caller was doing (route, statement, arguments).
Answer with: the origin span (service, name, span ID), the exception, how it propagated, and what to fix.`),
  );

  server.registerPrompt(
    'find_n_plus_one',
    {
      title: 'Find N+1 queries',
      description: 'Repeated database or HTTP calls in a loop, with how much time they cost',
      argsSchema: { service: z.string().describe('service.name to look at'), operation: z.string().optional(), lookback: z.string().optional() },
    },
    ({ service, operation, lookback }) =>
      user(`Find N+1 query patterns in service "${service}"${operation ? `, operation "${operation}"` : ''}.
1. find_traces service="${service}"${operation ? ` operation="${operation}"` : ''}${lookback ? ` lookback="${lookback}"` : ''}: pick traces with many spans.
2. trace_outline on each: lines with "×N" are N consecutive sibling calls with the same name; with a database or HTTP client name and N ≥ 5 they are N+1 suspects. Note total= against the parent's duration.
   insights on the same trace reports N+1 patterns with their statement or route and the time they cost.
3. get_span on the first and last span of a "×N" line (its #first..#last IDs) to read the statement (db.statement / db.query.text) or URL and confirm only a parameter changes.
4. If the sql tool is available, measure how common it is over the last hour:
   SELECT SpanName, count() AS loops, round(avg(n)) AS avg_calls, max(n) AS max_calls FROM (SELECT TraceId, ParentSpanId, SpanName, count() AS n FROM otel_traces WHERE ServiceName = ${sqlString(service)} AND Timestamp > now() - INTERVAL 1 HOUR GROUP BY TraceId, ParentSpanId, SpanName HAVING n >= 5) GROUP BY SpanName ORDER BY loops DESC LIMIT 20
Answer with: the repeated call, how many times per request, the time it costs, the parent that loops, and the batched query or join that replaces it.`),
  );
}

/** A SQL string literal for prompt text (the model runs it through the guest SQL path, never us). */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
