/**
 * Token budgets and continuation cursors for MCP tool outputs. A model pays for every
 * character it reads, so each tool answers within a budget (tokens estimated as characters / 4,
 * the usual rule of thumb for English and code) and, when there is more, says so and hands out
 * a cursor to continue. Cursors are opaque to the model but plain to us: base64url JSON naming
 * the tool they belong to, so a cursor passed to the wrong tool or edited is refused clearly.
 */

export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** A mistake in a tool's input, phrased so the model can fix its next call. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export interface Page {
  /** The lines that fit, joined with newlines. */
  text: string;
  /** Index of the first line not shown; undefined when every line was shown. */
  next: number | undefined;
  /** Lines shown. */
  shown: number;
}

/**
 * As many whole lines from `offset` as fit in `budgetChars` (at least one, cut itself to the
 * budget if it alone is longer, so a page always advances and never overflows).
 */
export function pageLines(lines: readonly string[], offset: number, budgetChars: number): Page {
  const out: string[] = [];
  let used = 0;
  let i = offset;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const cost = line.length + 1;
    if (out.length > 0 && used + cost > budgetChars) break;
    out.push(out.length === 0 && cost > budgetChars ? `${line.slice(0, Math.max(0, budgetChars - 2))}…` : line);
    used += cost;
  }
  return { text: out.join('\n'), next: i < lines.length ? i : undefined, shown: out.length };
}

export interface CursorState {
  /** The tool the cursor continues. */
  tool: string;
  /** Where the next page starts (lines or rows, per tool). */
  offset: number;
  /** What the first call pinned (a trace ID, a time window…), so later pages read the same data. */
  pin: Record<string, string>;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify([state.tool, state.offset, state.pin])).toString('base64url');
}

/** The state of a cursor handed out by `tool`; ToolInputError for anything else. */
export function decodeCursor(tool: string, cursor: string): CursorState {
  const bad = () => new ToolInputError(`cursor: not a cursor from ${tool}; pass the "cursor" value of its previous answer unchanged, or omit it to start over`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad();
  const [name, offset, pin] = parsed as [unknown, unknown, unknown];
  if (name !== tool || !Number.isSafeInteger(offset) || (offset as number) < 0 || pin === null || typeof pin !== 'object' || Array.isArray(pin)) throw bad();
  for (const v of Object.values(pin)) if (typeof v !== 'string') throw bad();
  return { tool, offset: offset as number, pin: pin as Record<string, string> };
}

/** The line that ends a page: how to continue, or that this was the end. */
export function continuation(tool: string, next: number | undefined, total: number, pin: Record<string, string>, unit = 'lines'): string {
  if (next === undefined) return `# end (${total} ${unit})`;
  return `# more: ${total - next} of ${total} ${unit} not shown; call ${tool} again with cursor="${encodeCursor({ tool, offset: next, pin })}"`;
}

export interface Truncated {
  text: string;
  /** Length of the whole value; set only when `text` is a part of it. */
  totalChars?: number;
}

/** A long value cut to `max` characters, with where it was cut. */
export function truncate(value: string, max: number): Truncated {
  return value.length <= max ? { text: value } : { text: value.slice(0, max), totalChars: value.length };
}

/**
 * A paged answer: `head` lines, then as many of `lines` from `offset` as fit in the tool's
 * budget, then the continuation line (cursor pinned to `pin`). ToolInputError for an offset
 * past the end (a cursor from a different state of the data).
 */
export function pagedAnswer(tool: string, budgetTokens: number, head: readonly string[], lines: readonly string[], offset: number, pin: Record<string, string>, unit = 'lines'): string {
  if (offset > lines.length) throw new ToolInputError(`cursor: past the end (${lines.length} ${unit}); omit it to start over`);
  const headText = head.join('\n');
  // Room for the continuation line (a cursor is a few hundred characters at most).
  const page = pageLines(lines, offset, budgetTokens * CHARS_PER_TOKEN - headText.length - 500);
  return [...head, page.text, continuation(tool, page.next, lines.length, pin, unit)].filter((l) => l !== '').join('\n');
}
