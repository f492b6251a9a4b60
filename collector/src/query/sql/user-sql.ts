import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ClickHouseClients, GuestExportFormat } from '../../../../exporters/clickhouse/index.js';
import type { Principal } from '../../auth/principal.js';
import type { ReadScope } from '../read-scope.js';
import type { UserSqlConfig } from './config.js';
import { buildExportCountStatement, buildExportStatement } from './export-statement.js';
import { readResult } from './result.js';
import { StatementGate, engineMessage, type GuestEngine } from './statement-gate.js';

export { SqlRefusedError } from './statement.js';

const MIB = 1024 * 1024;
const TIMEOUT_EXCEEDED = '159';
const GUEST_BLOCK_ROWS = 8192;
/** Longest SQL text accepted (the engine's own `max_query_size` default). */
const MAX_QUERY_CHARS = 256 * 1024;

export interface UserSqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  /** True when the result had more rows or bytes than the limits and only the first ones are returned. */
  truncated: boolean;
  elapsedMs: number;
}

/** A query the engine refused or stopped (syntax, unknown column, a limit): the user's to fix. 400. */
export class UserSqlError extends Error {
  override name = 'UserSqlError';
  readonly statusCode = 400;
}

/** `api.sql.max_concurrent` user queries are already running: 429 with a retry hint. */
export class SqlBusyError extends Error {
  override name = 'SqlBusyError';
  readonly statusCode = 429;
  constructor(
    limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`too many SQL queries running (at most ${limit} at once): retry in ${retryAfterSeconds} s`);
  }
}

/**
 * The two independent defences. Both are always on; tests switch one off to prove the other
 * holds alone (FLOWTRACE_TEST_SQL_LAYERS, see {@link sqlLayersFromEnv}).
 */
export interface SqlLayers {
  /** The engine: a fresh read-only session with the collector's fixed limits. */
  engine: boolean;
  /** The statement: one SELECT over FlowTrace tables and allowed functions, checked on the engine's parse. */
  statement: boolean;
}

/** What to export: see export-statement.ts. */
export interface UserSqlExport {
  /** The span table, unqualified. */
  table: string;
  where: string;
  sinceSeconds?: number;
  format: GuestExportFormat;
}

/** The guest paths user SQL runs on: queries, and exports (raw bytes in an output format). */
export type UserSqlEngine = GuestEngine & Pick<ClickHouseClients, 'guestExport'>;

export interface UserSqlDeps {
  engine: UserSqlEngine;
  /** The principal's read scope: its guest database and the tables it may name. */
  scopeFor(principal: Principal): Promise<ReadScope>;
  config: UserSqlConfig;
  layers?: SqlLayers;
}

/**
 * The one guest path for SQL text that comes from a user (`/api/sql`, and later the MCP tool,
 * `export --where`, dashboard consoles): checked by the statement layer, then run on a fresh
 * read-only session with fixed limits, in the principal's guest database, streamed and cut at
 * the row and byte limits. The collector's own queries never go through here and never embed
 * user text.
 */
export class UserSql {
  private readonly gate: StatementGate;
  private readonly layers: SqlLayers;
  private running = 0;

  constructor(private readonly deps: UserSqlDeps) {
    this.gate = new StatementGate(deps.engine);
    this.layers = deps.layers ?? { engine: true, statement: true };
  }

  async run(sql: string, principal: Principal): Promise<UserSqlResult> {
    const query = sql.trim();
    if (query === '') throw new UserSqlError('query is empty');
    if (query.length > MAX_QUERY_CHARS) throw new UserSqlError(`query is longer than ${MAX_QUERY_CHARS} characters`);
    const { config } = this.deps;
    const slot = this.takeSlot();
    const started = performance.now();
    // The engine's max_execution_time stops the query; this also stops it between chunks, and bounds the statement check.
    const signal = AbortSignal.timeout(config.max_execution_seconds * 1000 + 2000);
    try {
      const scope = await this.deps.scopeFor(principal);
      const text = this.layers.statement ? await this.gate.check(query, scope, signal) : query.replace(/;\s*$/, '');
      slot.engineStarted = true;
      const chunks = this.deps.engine.guestQuery(text, {
        database: scope.guestDatabase,
        settings: { output_format_json_quote_64bit_integers: 1, ...(this.layers.engine ? this.engineLimits() : {}) },
        readonly: this.layers.engine,
        signal,
        onSettled: slot.release,
      });
      const result = await readResult(chunks, { maxRows: config.max_rows, maxBytes: config.max_result_bytes });
      return { ...result, rowCount: result.rows.length, elapsedMs: Math.round(performance.now() - started) };
    } catch (err) {
      throw this.userError(err, signal);
    } finally {
      if (!slot.engineStarted) slot.release();
    }
  }

  /**
   * An export: the statement built from the request (export-statement.ts) goes through the same
   * gate, slot and engine limits as {@link run}, with the export's own row and byte caps, and the
   * result is streamed as raw bytes in `format`. Refusals and engine errors surface from the
   * first `next()`, before any byte is yielded, so a route can still answer them with a 4xx.
   */
  async *export(request: UserSqlExport, principal: Principal): AsyncGenerator<Buffer> {
    const { config } = this.deps;
    const slot = this.takeSlot();
    const signal = AbortSignal.timeout(config.max_execution_seconds * 1000 + 2000);
    try {
      const sql = buildExportStatement({ table: request.table, where: request.where, sinceSeconds: request.sinceSeconds, maxRows: config.export_max_rows });
      const scope = await this.deps.scopeFor(principal);
      const text = this.layers.statement ? await this.gate.check(sql, scope, signal) : sql;
      slot.engineStarted = true;
      const limits = this.layers.engine
        ? {
            ...this.engineLimits(),
            // LIMIT in the statement caps the rows exactly; these make a larger result an error, never a silent cut.
            max_result_rows: config.export_max_rows,
            max_result_bytes: config.export_max_result_mib * MIB,
            result_overflow_mode: 'throw',
          }
        : {};
      const chunks = this.deps.engine.guestExport(text, request.format, {
        database: scope.guestDatabase,
        settings: { output_format_json_quote_64bit_integers: 1, ...limits },
        readonly: this.layers.engine,
        signal,
        onSettled: slot.release,
      });
      for await (const chunk of chunks) {
        yield chunk;
        // The event loop gets a turn between slices of a result the engine handed over whole.
        await nextTurn();
      }
    } catch (err) {
      throw this.userError(err, signal);
    } finally {
      if (!slot.engineStarted) slot.release();
    }
  }

  /**
   * How many rows the same export would return (its row cap applied), for a client's progress
   * bar: a `count()` over the same table, window and `where`, through {@link run} (the same gate,
   * read rules, limits and slots). Spans arriving between the count and the export make it an
   * estimate.
   */
  async countExport(request: Omit<UserSqlExport, 'format'>, principal: Principal): Promise<number> {
    const sql = buildExportCountStatement({ table: request.table, where: request.where, sinceSeconds: request.sinceSeconds });
    const { rows } = await this.run(sql, principal);
    const spans = Number(rows[0]?.spans ?? 0);
    return Math.min(Number.isFinite(spans) ? spans : 0, this.deps.config.export_max_rows);
  }

  /**
   * A concurrency slot, or SqlBusyError. It is held until the engine is done with the query, not
   * only until the caller stops waiting: an embedded query can run on after its time limit (the
   * engine checks it between blocks), and each one occupies a native worker thread the rest of
   * the collector needs too.
   */
  private takeSlot(): { release: () => void; engineStarted: boolean } {
    const { config } = this.deps;
    if (this.running >= config.max_concurrent) throw new SqlBusyError(config.max_concurrent, 1);
    this.running++;
    let released = false;
    return {
      engineStarted: false,
      release: () => {
        if (released) return;
        released = true;
        this.running--;
      },
    };
  }

  /** The error the caller sees: time limit and engine errors as UserSqlError (400), the rest as they are. */
  private userError(err: unknown, signal: AbortSignal): unknown {
    if (signal.aborted || (err as { code?: unknown }).code === TIMEOUT_EXCEEDED) {
      return new UserSqlError(`query exceeded the time limit of ${this.deps.config.max_execution_seconds} s`);
    }
    if (isEngineError(err)) return new UserSqlError(engineMessage(err));
    return err;
  }

  /** Fixed by the collector, set before `readonly = 1`, so the statement cannot raise them. */
  private engineLimits(): Record<string, number | string> {
    const c = this.deps.config;
    return {
      max_execution_time: c.max_execution_seconds,
      timeout_overflow_mode: 'throw',
      max_memory_usage: c.max_memory_mib * MIB,
      max_rows_to_read: c.max_rows_to_read,
      max_bytes_to_read: c.max_bytes_to_read_mib * MIB,
      read_overflow_mode: 'throw',
      // One row more than returned shows the result was cut; the byte limit is exact in readResult,
      // the engine's (in-memory bytes) only keeps a huge result from being produced at all.
      max_result_rows: c.max_rows + 1,
      max_result_bytes: 2 * c.max_result_bytes,
      result_overflow_mode: 'break',
      max_threads: c.max_threads,
      // The time limit is checked between blocks: small blocks keep a costly expression from
      // running long past it.
      max_block_size: GUEST_BLOCK_ROWS,
      allow_introspection_functions: 0,
    };
  }
}

/** Test-only: `FLOWTRACE_TEST_SQL_LAYERS=engine|statement` keeps only that layer on. */
export function sqlLayersFromEnv(env: NodeJS.ProcessEnv = process.env): SqlLayers {
  const only = env.FLOWTRACE_TEST_SQL_LAYERS;
  if (only === 'engine') return { engine: true, statement: false };
  if (only === 'statement') return { engine: false, statement: true };
  return { engine: true, statement: true };
}

/** Errors ClickHouse raised for the query itself carry a numeric code; connection failures don't. */
function isEngineError(err: unknown): boolean {
  return err instanceof Error && 'code' in err && /^\d+$/.test(String((err as { code: unknown }).code));
}
