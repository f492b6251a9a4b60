import type { ClickHouseClient } from '@clickhouse/client';

export interface UserSqlLimits {
  /** Rows returned at most; the rest is cut and the result flagged `truncated`. */
  maxRows: number;
  maxExecutionSeconds: number;
}

export interface UserSqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  /** True when the result had more than `maxRows` rows and only the first ones are returned. */
  truncated: boolean;
  elapsedMs: number;
}

/** A query ClickHouse refused (syntax, unknown table, a write in read-only mode): the user's to fix. */
export class UserSqlError extends Error {
  override name = 'UserSqlError';
}

/**
 * Runs user SQL read-only on a session of its own. ClickHouse itself enforces it
 * (`readonly=2`: no INSERT, DDL or ALTER, though limits may be set) with a time limit
 * (an error) and a row limit (the first rows, flagged `truncated`); the client also aborts
 * at the time limit in case a query's own SETTINGS raised it.
 */
export class UserSql {
  private session: ClickHouseClient;

  constructor(
    private readonly newSession: () => ClickHouseClient,
    private readonly limits: UserSqlLimits,
  ) {
    this.session = newSession();
  }

  async run(sql: string): Promise<UserSqlResult> {
    const query = sql.trim().replace(/;\s*$/, '');
    if (query === '') throw new UserSqlError('query is empty');
    const { maxRows, maxExecutionSeconds } = this.limits;
    const started = performance.now();
    const abort = AbortSignal.timeout(maxExecutionSeconds * 1000 + 1000);
    let text: string;
    try {
      const result = await this.session.query({
        query,
        format: 'JSON',
        abort_signal: abort,
        clickhouse_settings: {
          max_execution_time: maxExecutionSeconds,
          // 'break' stops reading at the limit (rounded up to a block): more rows than
          // maxRows means the result was cut.
          max_result_rows: String(maxRows + 1),
          result_overflow_mode: 'break',
          output_format_json_quote_64bit_integers: 1,
          readonly: '2',
        },
      });
      text = await result.text();
    } catch (err) {
      // The embedded engine can leak a failed query's partial output into the session's
      // next result: a failed query gets a fresh session (cheap with a server too).
      await this.replaceSession();
      if (abort.aborted) throw new UserSqlError(`query exceeded the time limit of ${maxExecutionSeconds} s`);
      if (isClickHouseError(err)) throw new UserSqlError((err as Error).message.trim());
      throw err;
    }
    let parsed: { meta?: Array<{ name: string; type: string }>; data?: Array<Record<string, unknown>> };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UserSqlError('the result is not JSON: remove any FORMAT clause, results are always returned as JSON rows');
    }
    const rows = parsed.data ?? [];
    return {
      columns: parsed.meta ?? [],
      rows: rows.slice(0, maxRows),
      rowCount: Math.min(rows.length, maxRows),
      truncated: rows.length > maxRows,
      elapsedMs: Math.round(performance.now() - started),
    };
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  private async replaceSession(): Promise<void> {
    const old = this.session;
    this.session = this.newSession();
    await old.close().catch(() => undefined);
  }
}

/** Errors ClickHouse raised for the query itself carry a numeric code; connection failures don't. */
function isClickHouseError(err: unknown): boolean {
  return err instanceof Error && 'code' in err && /^\d+$/.test(String((err as { code: unknown }).code));
}
