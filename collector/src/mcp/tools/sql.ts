import { z } from 'zod';
import { hasScope } from '../../auth/principal.js';
import { csvRow } from '../format.js';
import { pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';
import { SCHEMA_URI } from '../schema-resource.js';

const NAME = 'sql';
const BUDGET_TOKENS = 4000;

/**
 * Read-only SQL through the one guest path (query/sql/user-sql.ts, as POST /api/sql): the
 * statement check, a read-only session with the collector's limits, the caller's guest database
 * of filtered views. Needs the `sql` scope besides `read`, as /api/sql does.
 */
export const sqlTool = defineTool({
  name: NAME,
  title: 'Read-only SQL',
  description:
    `Escape hatch when no other tool answers: one read-only ClickHouse SELECT over the FlowTrace tables (schema: resource ${SCHEMA_URI}; main table otel_traces). ` +
    'Aggregate in SQL (GROUP BY, count(), quantile(0.99)(Duration)) rather than reading raw rows; page with LIMIT/OFFSET. Needs a token with the "sql" scope.',
  budgetTokens: BUDGET_TOKENS,
  input: {
    query: z.string().min(1).max(256 * 1024).describe('one SELECT statement; tables by bare name (otel_traces)'),
  },
  async run(input, ctx) {
    if (!hasScope(ctx.principal, 'sql')) {
      throw new ToolInputError(`${ctx.principal.name} lacks the scope "sql" this tool needs (as POST /api/sql does); use the other tools, or ask for a token with the sql scope`);
    }
    const result = await ctx.deps.userSql.run(input.query, ctx.principal);
    const columns = result.columns.map((c) => c.name);
    const head = `# ${result.rowCount} row(s)${result.truncated ? ' (cut at the collector\'s row or byte limit)' : ''}, ${result.elapsedMs} ms; columns: ${result.columns.map((c) => `${c.name} ${c.type}`).join(', ')}`;
    const rows = result.rows.map((r) => csvRow(columns.map((c) => r[c])));
    const page = pageLines([csvRow(columns), ...rows], 0, BUDGET_TOKENS * 4 - head.length - 300);
    const tail =
      page.next === undefined
        ? result.truncated
          ? '# more rows exist: aggregate, or add LIMIT/OFFSET'
          : '# end'
        : `# output cut after ${page.shown - 1} of ${rows.length} rows to stay within ~${BUDGET_TOKENS} tokens: aggregate (GROUP BY), select fewer columns, or page with LIMIT ${page.shown - 1} OFFSET ${page.shown - 1}`;
    return [head, page.text, tail].join('\n');
  },
});
