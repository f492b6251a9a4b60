import { SqlRefusedError } from './statement.js';

/**
 * The statement behind `POST /api/export` / `flowtrace export`: every span column of the span
 * table, optionally narrowed by a user `where` condition and a look-back window, in time order,
 * capped at a row count. Only the `where` text comes from the user; it is placed inside its own
 * parentheses and the whole statement then goes through the same statement gate as `/api/sql`
 * (one SELECT, allowed functions, the principal's filtered tables). This module only makes
 * sure the condition cannot leave its parentheses, so it can narrow the export but never
 * reshape the statement (drop the time window, add a UNION, a FORMAT, SETTINGS, …).
 */
export interface ExportStatementInput {
  /** The span table, unqualified (the guest database's filtered view of it). */
  table: string;
  /** A ClickHouse boolean expression over the span columns, or empty for all rows. */
  where: string;
  /** Look-back in whole seconds (spans whose Timestamp is at most this old), or undefined for no window. */
  sinceSeconds?: number;
  /** Rows exported at most. */
  maxRows: number;
}

/** Longest `where` text accepted. */
export const MAX_WHERE_CHARS = 16 * 1024;

export function buildExportStatement(input: ExportStatementInput): string {
  if (!Number.isSafeInteger(input.maxRows) || input.maxRows < 1) throw new Error(`invalid row cap ${input.maxRows}`);
  return `SELECT * FROM ${input.table}${exportFilter(input)} ORDER BY Timestamp LIMIT ${input.maxRows}`;
}

/**
 * How many spans the same export holds (before its row cap): for a progress bar. The same
 * table, time window and `where`, so it goes through the same gate and read rules.
 */
export function buildExportCountStatement(input: Omit<ExportStatementInput, 'maxRows'>): string {
  return `SELECT count() AS spans FROM ${input.table}${exportFilter(input)}`;
}

/** ` WHERE …` of an export (the window and the user's condition), or '' for every row. */
function exportFilter(input: Omit<ExportStatementInput, 'maxRows'>): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(input.table)) throw new Error(`invalid table name ${JSON.stringify(input.table)}`);
  const conditions: string[] = [];
  if (input.sinceSeconds !== undefined) {
    if (!Number.isSafeInteger(input.sinceSeconds) || input.sinceSeconds < 1) throw new SqlRefusedError(`since: expected a positive number of seconds, got ${input.sinceSeconds}`);
    conditions.push(`Timestamp >= now64(9) - toIntervalSecond(${input.sinceSeconds})`);
  }
  const where = input.where.trim();
  if (where !== '') {
    checkWhereText(where);
    // Line breaks around the text: a trailing `--` comment could otherwise swallow the closing parenthesis
    // (comments are refused anyway; this keeps the shape even if that check ever changes).
    conditions.push(`(\n${where}\n)`);
  }
  return conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
}

/**
 * Refuses a condition that could close its parentheses or hide text: unbalanced parentheses
 * outside quotes, unterminated quotes, comments, `;`, heredoc strings (`$$…$$`, refused by their `$`). Quotes follow ClickHouse's lexer:
 * '…' strings, "…" and `…` identifiers, each with backslash escapes and doubled quotes.
 */
export function checkWhereText(where: string): void {
  if (where.length > MAX_WHERE_CHARS) throw new SqlRefusedError(`where: longer than ${MAX_WHERE_CHARS} characters`);
  let depth = 0;
  for (let i = 0; i < where.length; i++) {
    const c = where[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(where, i);
      continue;
    }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      depth--;
      if (depth < 0) throw new SqlRefusedError('where: a closing parenthesis has no opening one');
    } else if (c === ';') throw new SqlRefusedError('where: ";" is not allowed: give one condition');
    // ClickHouse reads $$…$$ and $tag$…$tag$ as strings (heredocs): parentheses inside would escape the count above.
    else if (c === '$') throw new SqlRefusedError('where: "$" is only allowed inside quotes (use \'…\' strings)');
    else if ((c === '-' && where[i + 1] === '-') || (c === '/' && where[i + 1] === '*') || c === '#') {
      throw new SqlRefusedError('where: comments are not allowed');
    }
  }
  if (depth !== 0) throw new SqlRefusedError('where: a parenthesis is not closed');
}

/** Index of the closing quote of the quoted text opening at `start`; throws when it is never closed. */
function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        i++;
        continue;
      }
      return i;
    }
  }
  throw new SqlRefusedError('where: a quote is not closed');
}
