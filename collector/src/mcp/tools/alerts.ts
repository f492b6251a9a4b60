import { z } from 'zod';
import { queryAlerts, queryFiring, type AlertRecord } from '../../alerts/store.js';
import { parseSince } from '../../query/drops-routes.js';
import { csvRow } from '../format.js';
import { decodeCursor, pagedAnswer, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'alerts';
const BUDGET_TOKENS = 2000;
/** Firing series listed at most (first page only); more: filter by rule or service. */
const MAX_FIRING = 20;
/** History rows read at most; the answer pages through them. */
const MAX_HISTORY = 1000;
const MAX_SUMMARY = 160;
const NS_PER_MS = 1_000_000n;

/**
 * The alerts of the configured rules (alerts/: RED, anomalies, drop ledger), as GET
 * /api/alerts/firing and GET /api/alerts answer them: what fires now, then the transitions
 * (firing, resolved) since `since`, newest first, paged with a cursor that pins the window of
 * the first call. Only alerts about services the caller may read; refused to a token limited by
 * environment (alerts are not kept per environment).
 */
export const alertsTool = defineTool({
  name: NAME,
  title: 'Alerts',
  description:
    'Step 0: is anything alerting? Alerts of the configured rules (RED thresholds, anomalies, the drop ledger): the series firing now (rule, kind, service, operation, since when, value, threshold, summary, example trace IDs), then the history of transitions (firing, resolved) since `since`, newest first. ' +
    'state=firing: only what fires now; resolved: only resolved transitions; all (default): both. ' +
    'Next: red or anomalies for the operation; trace_outline or critical_path on an example trace; drops show up in the drop ledger (sql on flowtrace_drops).',
  budgetTokens: BUDGET_TOKENS,
  input: {
    state: z.enum(['firing', 'resolved', 'all']).optional().describe('firing: what fires now; resolved: resolved transitions; all (default): both'),
    since: z.string().max(40).optional().describe('history window back from now (default 24h): 1h, 7d is 168h, or an ISO-8601 time'),
    rule: z.string().max(64).optional().describe('only this rule'),
    service: z.string().max(256).optional().describe('only alerts about this service'),
    cursor: z.string().max(1024).optional().describe('from a previous answer, to get the next page of the history; the other fields are then taken from the cursor'),
  },
  async run(input, ctx) {
    const rules = ctx.principal.rules;
    if (rules.environments?.length) throw new ToolInputError('alerts are not kept per environment, so a token limited to some environments cannot read them; ask for a token without environment rules');
    const services = rules.services?.length ? rules.services : undefined;
    const { database, reader } = ctx.deps;

    let offset = 0;
    let pin: Record<string, string>;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      pin = state.pin;
      offset = state.offset;
      if (!/^\d{1,15}$/.test(pin.since ?? '') || !/^\d{1,15}$/.test(pin.until ?? '') || !['firing', 'resolved', 'all'].includes(pin.state ?? '')) {
        throw new ToolInputError(`cursor: not a cursor from ${NAME}; omit it to start over`);
      }
    } else {
      const untilMs = Date.now();
      const sinceMs = Number(parseSince(input.since || '24h', BigInt(untilMs) * NS_PER_MS) / NS_PER_MS);
      pin = { state: input.state ?? 'all', since: String(sinceMs), until: String(untilMs), rule: input.rule ?? '', service: input.service ?? '' };
    }
    const state = pin.state as 'firing' | 'resolved' | 'all';
    const rule = pin.rule || undefined;
    const service = pin.service || undefined;
    const filters = [rule && `rule=${rule}`, service && `service=${service}`].filter(Boolean).join(' ');

    const head: string[] = [];
    if (offset === 0 && state !== 'resolved') {
      const firing = await queryFiring(reader, database, { rule, service, services, limit: MAX_FIRING + 1 });
      head.push(`# firing now: ${firing.length > MAX_FIRING ? `more than ${MAX_FIRING}` : firing.length}${filters ? `; ${filters}` : ''}`);
      if (firing.length > 0) {
        head.push('rule,kind,service,operation,firing_since,value,threshold,summary,examples');
        for (const a of firing.slice(0, MAX_FIRING)) head.push(csvRow([a.rule, a.kind, a.service, a.operation, a.firingSince, round(a.value), a.threshold, short(a.summary), examples(a)]));
        if (firing.length > MAX_FIRING) head.push(`# more firing series not shown: filter by rule or service`);
      }
      if (state === 'firing') {
        if (firing.length === 0) head.push('# nothing fires now. state=all shows what fired and resolved lately; your token may also limit which services you can read');
        return head.join('\n');
      }
    }
    const history = await queryAlerts(reader, database, {
      state: state === 'all' ? undefined : state,
      rule,
      service,
      sinceMs: Number(pin.since),
      untilMs: Number(pin.until),
      services,
      limit: MAX_HISTORY,
    });
    const window = `${new Date(Number(pin.since)).toISOString()} .. ${new Date(Number(pin.until)).toISOString()}`;
    head.push(`# history ${window}${state === 'resolved' ? ', resolved only' : ''}${filters ? `; ${filters}` : ''}: ${history.length}${history.length === MAX_HISTORY ? '+ (the newest)' : ''} transitions, newest first`);
    if (history.length === 0) {
      head.push('# none: widen since (7d is 168h), drop a filter, or check the rule name (exact match)');
      return head.join('\n');
    }
    head.push('at,rule,state,service,operation,value,threshold,summary,examples');
    const lines = history.map((a) => csvRow([a.at, a.rule, a.state, a.service, a.operation, round(a.value), a.threshold, short(a.summary), examples(a)]));
    return pagedAnswer(NAME, BUDGET_TOKENS, head, lines, offset, pin, 'transitions');
  },
});

function examples(a: AlertRecord): string {
  const ids = a.details.exampleTraceIds;
  return Array.isArray(ids) ? ids.join(' ') : '';
}

function short(text: string): string {
  return text.length <= MAX_SUMMARY ? text : `${text.slice(0, MAX_SUMMARY - 1)}…`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
