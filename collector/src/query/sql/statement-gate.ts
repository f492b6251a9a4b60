import type { ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import type { ReadScope } from '../read-scope.js';
import { AstParseError, parseExplainAst, type AstNode } from './ast.js';
import { FunctionAllowList, type FunctionRow } from './functions.js';
import { readResult } from './result.js';
import { SqlRefusedError, checkStatement } from './statement.js';

export type GuestEngine = Pick<ClickHouseClients, 'guestQuery'>;

/** The gate's own queries are small: they get tight limits of their own. */
const GATE_SETTINGS = { max_execution_time: 10, max_result_rows: 100_000, max_memory_usage: 256 * 1024 * 1024 } as const;
const READONLY = '164';
/** A backquoted identifier of the canonical text holding an escaped line break. */
const LINE_BREAK_IN_IDENTIFIER = /`(?:[^`\\]|\\[^nr])*\\[nr]/;

/**
 * The statement layer: the user's text is parsed by the engine's own parser, never by a
 * look-alike. `formatQuery` (with the text as a bound parameter) turns it into exactly one
 * canonical statement — it refuses several — and `EXPLAIN AST` of that canonical text gives
 * the tree that {@link checkStatement} accepts or refuses. Both run on read-only guest
 * sessions, so even a statement the parser treated unexpectedly could not change anything.
 */
export class StatementGate {
  private functions?: Promise<FunctionAllowList>;

  constructor(private readonly engine: GuestEngine) {}

  /** The canonical text to run, or a refusal. */
  async check(sql: string, scope: ReadScope, signal: AbortSignal): Promise<string> {
    const text = await this.normalise(sql, scope.guestDatabase, signal);
    // EXPLAIN AST prints identifiers and aliases raw: a line break in one would print lines that
    // look like nodes. ast.ts refuses trees whose shape does not add up; this refuses the text.
    if (LINE_BREAK_IN_IDENTIFIER.test(text)) throw new SqlRefusedError('identifiers and aliases may not contain line breaks');
    const ast = await this.explain(text, scope.guestDatabase, signal);
    checkStatement(ast, { functions: await this.allowList(signal), allowedTables: scope.allowedTables, refusedTables: scope.refusedTables });
    return text;
  }

  private async normalise(sql: string, database: string, signal: AbortSignal): Promise<string> {
    try {
      const [row] = await this.rows('SELECT formatQuery({q:String})', database, signal, { q: sql });
      return String(row?.[0] ?? '');
    } catch (err) {
      const message = engineMessage(err);
      if (/Multi-statements are not allowed/i.test(message)) throw new SqlRefusedError('only a single statement is allowed');
      throw new SqlRefusedError(message.replace(/:? In scope SELECT formatQuery\([\s\S]*$/, ''));
    }
  }

  private async explain(text: string, database: string, signal: AbortSignal): Promise<AstNode> {
    let lines: unknown[][];
    try {
      lines = await this.rows(`EXPLAIN AST ${text}`, database, signal);
    } catch (err) {
      // On a read-only session, a SETTINGS clause fails already when explained.
      if ((err as { code?: unknown }).code === READONLY) throw new SqlRefusedError('a SETTINGS clause is not allowed');
      throw new SqlRefusedError(engineMessage(err));
    }
    try {
      return parseExplainAst(lines.map((l) => String(l[0])).join('\n'));
    } catch (err) {
      if (err instanceof AstParseError) throw new SqlRefusedError(err.message);
      throw err;
    }
  }

  private allowList(signal: AbortSignal): Promise<FunctionAllowList> {
    this.functions ??= this.rows('SELECT name, categories, is_aggregate, case_insensitive, alias_to FROM system.functions', 'system', signal).then(
      (rows) => new FunctionAllowList(rows.map(([name, categories, is_aggregate, case_insensitive, alias_to]) => ({ name, categories, is_aggregate, case_insensitive, alias_to }) as FunctionRow)),
    );
    this.functions.catch(() => (this.functions = undefined));
    return this.functions;
  }

  private async rows(sql: string, database: string, signal: AbortSignal, params?: Record<string, unknown>): Promise<unknown[][]> {
    const result = await readResult(this.engine.guestQuery(sql, { database, settings: GATE_SETTINGS, readonly: true, signal, params }), {
      maxRows: GATE_SETTINGS.max_result_rows,
      maxBytes: 64 * 1024 * 1024,
    });
    return result.rows.map((r) => Object.values(r));
  }
}

/**
 * The engine's message without its code, type and version decorations, and without its
 * spelling hints, which name tables of other databases (`Maybe you meant default.flowtrace_api_tokens?`).
 */
export function engineMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/\s*Maybe you meant[^?]*\?/g, '')
    .replace(/^(Code: \d+\. DB::Exception: )+/g, '')
    .replace(/\s*\(version [^)]*\)\.?/g, '')
    .replace(/\s*\([A-Z_]+\)\s*$/, '')
    .replace(/\. \(([A-Z_]+)\)$/, '')
    .trim();
}
