import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { unrestricted, type ReadRules } from '../auth/principal.js';
import { STITCH_TABLES } from '../processors/stitch/tables.js';
import { DROPS_TABLE } from '../pipeline/drop-ledger/table.js';
import { RED_TABLE } from '../metrics/red/table.js';
import { ALERTS_TABLE } from '../alerts/store.js';
import { LOGS_TABLE } from '../../../exporters/clickhouse/logs-schema.js';
import type { TraceStore, TraceTables } from './trace-store.js';
import { activeHotColumns, type HotColumns } from '../storage/hot-attributes/hot-columns.js';

/** The rules cannot be enforced on a table this principal asked for: 403. */
export class ReadScopeError extends Error {
  override name = 'ReadScopeError';
  readonly statusCode = 403;
  constructor(readonly table: string) {
    super(`cannot enforce your read rules on table ${table}`);
  }
}

/**
 * What one principal's read rules let it read, resolved to tables. The collector's own reads
 * take qualified names from `table()` / `traceTables`; user SQL runs with `guestDatabase` as its
 * current database, which holds a view per readable FlowTrace table and nothing else, so an
 * unqualified name can only ever resolve to a (filtered) FlowTrace table.
 */
export interface ReadScope {
  readonly restricted: boolean;
  readonly guestDatabase: string;
  /** Every FlowTrace table user SQL may name (filtered for a restricted principal). */
  readonly allowedTables: ReadonlySet<string>;
  /** FlowTrace tables these rules cannot be enforced on: refused with 403. */
  readonly refusedTables: ReadonlySet<string>;
  /** The qualified table the collector's own reads of `name` go through; throws ReadScopeError. */
  table(name: string): string;
  /**
   * The span table (filtered) and the trace-ID lookup table, which the trace store only uses to
   * narrow its scan of the span table, never to answer: so it stays unfiltered.
   */
  readonly traceTables: TraceTables;
}

/** What the collector's own reads go through for one request. */
export interface ScopedReads {
  store: TraceStore;
  /** Qualified table for `name`; throws ReadScopeError when the rules cannot be enforced on it. */
  table(name: string): string;
}

export interface ReadScopeSource {
  /** Where the collector's tables are. */
  database: string;
  /** `otel_traces` or as configured; its trace-ID table is `<name>_trace_id_ts`. */
  tracesTable: string;
  traceIdSuffix: string;
}

/** A condition on one table's rows for a set of rules, or undefined when it has no column to enforce them on. */
type RowFilter = (services: string[], environments: string[]) => string | undefined;

const ENVIRONMENT = `if(ResourceAttributes['deployment.environment.name'] != '', ResourceAttributes['deployment.environment.name'], ResourceAttributes['deployment.environment'])`;

/** Rows that carry their emitter's service and resource (spans, log records). */
const serviceAndEnvironmentFilter: RowFilter = (services, environments) =>
  [services.length > 0 ? `ServiceName IN ${list(services)}` : '', environments.length > 0 ? `${ENVIRONMENT} IN ${list(environments)}` : ''].filter(Boolean).join(' AND ');

/** Rows of tables that only know caller and callee services: both must be readable; no environment column. */
const edgeFilter: RowFilter = (services, environments) =>
  environments.length > 0 ? undefined : `Caller IN ${list(services)} AND Callee IN ${list(services)}`;

/** Creates (idempotently) and hands out read scopes, one guest database per distinct rule set. */
export class ReadScopes {
  private readonly filters: ReadonlyMap<string, RowFilter>;
  private readonly scopes = new Map<string, { scope: Promise<ReadScope>; complete: boolean; at: number; hot: HotColumns }>();

  constructor(
    /** A session allowed to create databases and views. */
    private readonly admin: ClickHouseClient,
    private readonly source: ReadScopeSource,
  ) {
    this.filters = new Map<string, RowFilter>([
      [source.tracesTable, serviceAndEnvironmentFilter],
      // Trace ID → time range only: no service to filter on.
      [source.tracesTable + source.traceIdSuffix, () => undefined],
      [STITCH_TABLES.serviceGraph, edgeFilter],
      [STITCH_TABLES.clockSkew, edgeFilter],
      [
        STITCH_TABLES.correlations,
        (services, environments) => (environments.length > 0 ? undefined : `arrayAll(s -> s IN ${list(services)}, Services)`),
      ],
      // The drop ledger: by service only (no environment column); rows of unknown service ('') are nobody's to show.
      [DROPS_TABLE, (services, environments) => (environments.length > 0 ? undefined : `Service IN ${list(services)}`)],
      // RED minutes: by service only (counted per service, operation and kind; no environment column).
      [RED_TABLE, (services, environments) => (environments.length > 0 ? undefined : `ServiceName IN ${list(services)}`)],
      // Alert history: by service only, as /api/alerts; drop alerts without a service ('') are nobody's to show.
      [ALERTS_TABLE, (services, environments) => (environments.length > 0 ? undefined : `Service IN ${list(services)}`)],
      // Log records carry the service and resource of their emitter, as spans do: the same rule.
      [LOGS_TABLE, serviceAndEnvironmentFilter],
    ]);
  }

  /**
   * The collector's own reads for these rules: the store as it is and the raw tables when they
   * restrict nothing (no cost), the filtered views otherwise.
   */
  async readsFor(rules: ReadRules, store: TraceStore): Promise<ScopedReads> {
    if (unrestricted(rules)) {
      const { database } = this.source;
      return { store, table: (name) => `${quote(database)}.${quote(name)}` };
    }
    const scope = await this.forRules(rules);
    return { store: store.withTables(scope.traceTables), table: (name) => scope.table(name) };
  }

  /** The FlowTrace tables user SQL may ever name. */
  get tableNames(): string[] {
    return [...this.filters.keys()];
  }

  /** The scope of these rules, its guest database and views created on first use. */
  async forRules(rules: ReadRules): Promise<ReadScope> {
    const services = [...new Set(rules.services ?? [])].sort();
    const environments = [...new Set(rules.environments ?? [])].sort();
    const restricted = !unrestricted(rules);
    const guestDatabase = restricted
      ? `flowtrace_guest_${createHash('sha256').update(JSON.stringify([services, environments])).digest('hex').slice(0, 16)}`
      : 'flowtrace_guest';
    const cached = this.scopes.get(guestDatabase);
    // A scope made before every table existed (the stitch tables come with the processor) is made again, at most every 30 s.
    // Views made before the migration set the hot columns (a request during start) lack them: made again.
    const hot = activeHotColumns();
    if (cached && cached.hot === hot && (cached.complete || Date.now() - cached.at < 30_000)) return cached.scope;
    const entry = { scope: this.create(guestDatabase, restricted, services, environments, hot, (complete) => (entry.complete = complete)), complete: false, at: Date.now(), hot };
    this.scopes.set(guestDatabase, entry);
    entry.scope.catch(() => this.scopes.delete(guestDatabase));
    return entry.scope;
  }

  private async create(
    guestDatabase: string,
    restricted: boolean,
    services: string[],
    environments: string[],
    /** The span table's hot attribute columns: `SELECT *` leaves MATERIALIZED columns out, so the view names them. */
    hot: HotColumns,
    setComplete: (complete: boolean) => void,
  ): Promise<ReadScope> {
    const { database } = this.source;
    const existing = new Set(
      (
        await (
          await this.admin.query({ query: 'SELECT name FROM system.tables WHERE database = {db:String}', query_params: { db: database }, format: 'JSONEachRow' })
        ).json<{ name: string }>()
      ).map((r) => r.name),
    );
    const allowed = new Set<string>();
    const refused = new Set<string>();
    const filters = new Map<string, string>();
    for (const [name, filter] of this.filters) {
      const condition = restricted ? filter(services, environments) : '';
      if (condition === undefined) refused.add(name);
      else {
        allowed.add(name);
        filters.set(name, condition);
      }
    }
    await this.admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${quote(guestDatabase)}` });
    for (const [name, condition] of filters) {
      if (!existing.has(name)) continue;
      // DEFINER: on a server the guest user needs SELECT on the guest database only, never on the source tables.
      await this.admin.command({
        query: `CREATE OR REPLACE VIEW ${quote(guestDatabase)}.${quote(name)} SQL SECURITY DEFINER AS
                SELECT *${name === this.source.tracesTable ? hotColumnList(hot) : ''}${name === LOGS_TABLE ? LOGS_MATERIALIZED_COLUMNS : ''} FROM ${quote(database)}.${quote(name)}${condition ? ` WHERE ${condition}` : ''}`,
      });
    }
    setComplete([...filters.keys()].every((name) => existing.has(name)));
    const raw = (name: string) => `${quote(database)}.${quote(name)}`;
    const table = (name: string): string => {
      if (refused.has(name)) throw new ReadScopeError(name);
      return restricted ? `${quote(guestDatabase)}.${quote(name)}` : raw(name);
    };
    return {
      restricted,
      guestDatabase,
      allowedTables: allowed,
      refusedTables: refused,
      table,
      traceTables: { traces: table(this.source.tracesTable), traceIds: raw(this.source.tracesTable + this.source.traceIdSuffix) },
    };
  }
}

/** The log table's MATERIALIZED column (exporters/clickhouse/logs-schema.ts), which `SELECT *` leaves out. */
const LOGS_MATERIALIZED_COLUMNS = ', CorrelationId';

/** `SELECT *` leaves MATERIALIZED columns out: the hot attribute columns are named (storage/hot-attributes/). */
function hotColumnList(hot: HotColumns): string {
  return hot.columns.map((column) => `, ${column}`).join('');
}

function quote(identifier: string): string {
  return `\`${identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function list(values: string[]): string {
  return `(${values.map(literal).join(', ')})`;
}
