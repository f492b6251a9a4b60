import { z } from 'zod';
import { parseTraceId } from '../../query/params.js';
import { fieldValue, spanDetail } from '../span-detail.js';
import { continuation, decodeCursor, pageLines, ToolInputError } from '../paging.js';
import { defineTool } from '../tool.js';

const NAME = 'get_span';
const BUDGET_TOKENS = 4000;
/** Each attribute, event or status value is cut here in the full view. */
const MAX_VALUE_CHARS = 1000;
/** What one `field` + `offset` call returns of a long value. */
const FIELD_CHUNK_CHARS = 12_000;

export const getSpanTool = defineTool({
  name: NAME,
  title: 'One span in full',
  description:
    'Last step: one span with everything stored about it: timing, status, attributes, resource, scope, events (exceptions, logs) and links. ' +
    `Values longer than ${MAX_VALUE_CHARS} characters are cut and marked with a field name; call again with that field and offset to read the rest.`,
  budgetTokens: BUDGET_TOKENS,
  input: {
    traceId: z.string().max(64).describe('32 hex digits'),
    spanId: z.string().regex(/^[0-9a-fA-F]{16}$/, 'expected 16 hex digits').describe('16 hex digits, from a trace_outline line (#…)'),
    field: z.string().max(4096).optional().describe('read one long value in full, e.g. attributes:db.statement (as named in a "[cut at …]" mark)'),
    offset: z.number().int().min(0).optional().describe('with field: the character to start from'),
    cursor: z.string().max(4096).optional().describe('from a previous answer, to continue a span with very many attributes'),
  },
  async run(input, ctx) {
    const traceId = parseTraceId(input.traceId);
    const spanId = input.spanId.toLowerCase();
    const { store } = await ctx.reads();
    const spans = await store.getTrace(traceId);
    if (!spans) throw new ToolInputError(`trace ${traceId} not found: it may be older than the retention, not stored yet, or not readable with your token`);
    const span = spans.find((s) => s.spanId === spanId);
    if (!span) throw new ToolInputError(`span ${spanId} is not in trace ${traceId} (or not readable with your token); take span IDs from trace_outline (#…)`);
    if (input.field !== undefined) {
      const text = fieldValue(span, input.field);
      const from = input.offset ?? 0;
      if (from > text.length) throw new ToolInputError(`offset ${from} is past the end of ${input.field} (${text.length} characters)`);
      const to = Math.min(text.length, from + FIELD_CHUNK_CHARS);
      const more = to < text.length ? `# more: call ${NAME} with field="${input.field}" offset=${to}` : '# end of value';
      return [`# ${input.field} of span ${spanId}: characters ${from}-${to} of ${text.length}`, text.slice(from, to), more].join('\n');
    }
    if (input.offset !== undefined) throw new ToolInputError('offset needs field (the value to read from that offset)');
    let offset = 0;
    if (input.cursor !== undefined) {
      const state = decodeCursor(NAME, input.cursor);
      if (state.pin.trace !== traceId || state.pin.span !== spanId) throw new ToolInputError(`cursor: it continues span ${state.pin.span} of trace ${state.pin.trace}; pass those IDs with it`);
      offset = state.offset;
    }
    const lines = spanDetail(span, MAX_VALUE_CHARS);
    const page = pageLines(lines, offset, BUDGET_TOKENS * 4 - 400);
    return [page.text, continuation(NAME, page.next, lines.length, { trace: traceId, span: spanId })].join('\n');
  },
});
