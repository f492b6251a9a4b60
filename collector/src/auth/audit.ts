import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { createTableStatements, onCluster, SHARD_EVENLY, storeCluster } from '../../../exporters/clickhouse/cluster-ddl.js';
import { bringTtlTo } from '../processors/stitch/tables.js';
import { dateTime } from './token-store.js';
import { redactTokens } from './token-format.js';

/** `flowtrace_audit`: one row per audited request, kept `auth.audit.retention_days`. */
export const AUDIT_TABLE = 'flowtrace_audit';

/** Who did what, when, from where, with what outcome. Never holds a credential. */
export interface AuditRecord {
  time: Date;
  /** `token:<id>`, `oidc:<sub>`, `session:<id>`, `anonymous:loopback`, or `unauthenticated`. */
  principalId: string;
  principalName: string;
  /** `query`, `sql`, `token.create`, `token.list`, `token.revoke`, `auth.failure`, `host.refused`, … */
  action: string;
  method: string;
  /** The route pattern (`/api/traces/:traceId`), or the path when no route matched. */
  route: string;
  /** Path and query string. */
  url: string;
  /** The SQL text, for `sql`. */
  statement: string;
  clientAddress: string;
  status: number;
  resultBytes: number;
  /** Rows returned, where the handler knows them. */
  resultRows?: number;
  durationMs: number;
  /** The refusal or error message, if any. */
  error: string;
}

export interface AuditOptions {
  /** Rows held for ClickHouse at most; beyond, rows are dropped from the table (the log line is still written). */
  maxBuffered?: number;
  flushIntervalMs?: number;
  /** Rows per insert at most. */
  batchRows?: number;
}

/**
 * The audit log: a structured pino line per record (component `audit`) at once, and a row in
 * `flowtrace_audit` written in batches by a timer, off the request path. The buffer is bounded:
 * a slow or failing ClickHouse costs audit rows (counted and logged), never a request.
 */
export class AuditLog {
  private buffer: AuditRecord[] = [];
  private dropped = 0;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private started = false;
  private readonly maxBuffered: number;
  private readonly batchRows: number;
  private readonly flushIntervalMs: number;
  private readonly log: Logger;

  constructor(
    private readonly writer: ClickHouseClient,
    private readonly database: string,
    private readonly retentionDays: number,
    logger: Logger,
    options: AuditOptions = {},
  ) {
    this.log = logger.child({ component: 'audit' });
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.batchRows = options.batchRows ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
  }

  private get table(): string {
    return `\`${this.database}\`.\`${AUDIT_TABLE}\``;
  }

  /** Creates the table (TTL brought to the configured retention) and starts the flush timer. */
  async start(): Promise<void> {
    const ttl = `toDateTime(Timestamp) + toIntervalDay(${this.retentionDays})`;
    const cluster = storeCluster(this.writer);
    await this.writer.command({ query: `CREATE DATABASE IF NOT EXISTS \`${this.database}\`${onCluster(cluster)}` });
    const create = `CREATE TABLE IF NOT EXISTS ${this.table} (
        Timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
        PrincipalId String CODEC(ZSTD(1)),
        PrincipalName String CODEC(ZSTD(1)),
        Action LowCardinality(String),
        Method LowCardinality(String),
        Route LowCardinality(String),
        Url String CODEC(ZSTD(1)),
        Statement String CODEC(ZSTD(1)),
        ClientAddress String CODEC(ZSTD(1)),
        Status UInt16,
        ResultBytes UInt64,
        ResultRows Nullable(UInt64),
        DurationMs Float64,
        Error String CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(Timestamp)
      ORDER BY Timestamp
      TTL ${ttl}
      SETTINGS ttl_only_drop_parts = 1`;
    // Cluster mode (cluster-ddl.ts): an append-only log, read across shards; spread evenly.
    for (const query of createTableStatements(create, cluster, SHARD_EVENLY)) await this.writer.command({ query });
    await bringTtlTo(this.writer, this.database, AUDIT_TABLE, ttl);
    this.started = true;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  record(input: AuditRecord): void {
    const record = { ...input, url: redactTokens(input.url), statement: redactTokens(input.statement), error: redactTokens(input.error) };
    const { time, ...fields } = record;
    this.log.info({ ...fields, at: time.toISOString() }, 'audit');
    if (this.buffer.length >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(record);
  }

  /** Writes what is buffered (one batch at a time; concurrent calls share the running one). */
  flush(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.flushing ??= this.writeBuffered().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async writeBuffered(): Promise<void> {
    if (this.dropped > 0) {
      this.log.warn({ dropped: this.dropped }, 'audit rows dropped: the buffer for flowtrace_audit was full (the log lines were written)');
      this.dropped = 0;
    }
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchRows);
      try {
        await this.writer.insert({ table: this.table, format: 'JSONEachRow', values: batch.map(toRow) });
      } catch (err) {
        // Put the batch back if there is room, to be retried on the next tick.
        const room = this.maxBuffered - this.buffer.length;
        this.buffer.unshift(...batch.slice(0, Math.max(0, room)));
        this.log.warn({ err, rows: batch.length }, 'could not write audit rows to flowtrace_audit; retrying');
        return;
      }
    }
  }
}

function toRow(r: AuditRecord): Record<string, unknown> {
  return {
    Timestamp: dateTime(r.time),
    PrincipalId: r.principalId,
    PrincipalName: r.principalName,
    Action: r.action,
    Method: r.method,
    Route: r.route,
    Url: r.url,
    Statement: r.statement,
    ClientAddress: r.clientAddress,
    Status: r.status,
    ResultBytes: r.resultBytes,
    ResultRows: r.resultRows ?? null,
    DurationMs: r.durationMs,
    Error: r.error,
  };
}
