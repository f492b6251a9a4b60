import type { ClickHouseClient } from '@clickhouse/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { DropRecorder, DropStage } from '../../pipeline/drops.js';
import { storageName, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';

export interface DiskBudgetOptions {
  /** The writer session: it drops partitions. */
  client: ClickHouseClient;
  database: string;
  /** The span table (`storage.clickhouse.traces_table`), unquoted. */
  spanTable: string;
  /** The log table (`otel_logs`), unquoted: its old days are dropped as the span table's are. */
  logsTable: string;
  /** Bytes every table of `database` together may take on disk; undefined: measure only, never drop. */
  maxBytes: number | undefined;
  /** Between checks. */
  intervalMs: number;
  drops: DropRecorder;
  registry: Registry;
  logger: Logger;
}

/** A table whose day partitions the budget drops, and where its dropped rows are counted. */
interface DayTable {
  table: string;
  /** The drop-ledger stage of its rows: `storage` (spans) or `logs/storage` (log records). */
  stage: DropStage;
}

/** One day partition of a span or log table as `system.parts` sees it. */
interface PartitionSize {
  table: DayTable;
  partitionId: string;
  /** The partition's date (`toDate(Timestamp)`), for logs. */
  partition: string;
  bytes: number;
  rows: number;
}

/** What one check found and did. */
export interface BudgetCheck {
  /** Every table's active parts' bytes on disk, before any drop. */
  bytes: number;
  /** The partitions dropped, oldest day first; `rows`: the spans or log records they held. */
  dropped: Array<{ table: string; partition: string; bytes: number; rows: number }>;
  /** Still over the budget with only today's (and later) partitions left: nothing was dropped for them. */
  overWithTodayOnly: boolean;
}

/** Services counted per dropped partition at most; the rest are summed under ''. */
const MAX_SERVICES_PER_PARTITION = 10_000;

/**
 * `storage.max_disk_gb`: every `intervalMs` the size on disk of every table in the database is
 * summed from `system.parts` (active parts, `bytes_on_disk`: what the tables hold now,
 * compressed, indexes included); over the budget, the oldest day partitions of the span table
 * and of the log table are dropped (`ALTER TABLE … DROP PARTITION ID`, instant, no rewrite),
 * oldest day first across both, until the total fits — never today's (in ClickHouse's time zone)
 * nor a later one. The other tables count but are never dropped from (their own TTLs bound
 * them). When only today is left and the total is still over, it logs a warning and sets
 * `flowtrace_storage_budget_exceeded` instead: dropping the day being written would delete data
 * acknowledged minutes ago.
 *
 * Each dropped partition's rows are counted per service before the drop and recorded in the
 * drop ledger: spans as `storage/disk_budget`, log records as `logs/storage/disk_budget`;
 * `flowtrace_storage_budget_dropped_partitions_total{table}` counts the drops. The trace-ID lookup table is not partitioned by day:
 * its rows for dropped spans stay until its TTL, and a trace-by-ID read that finds bounds but
 * no span answers "not found" as for any expired trace.
 *
 * On a ClickHouse cluster (`storage.clickhouse.cluster`) there is no budget (the config refuses
 * `max_disk_gb` there, and so does the constructor): each node's disk holds only its shards'
 * parts, and dropping a day on all of them for one node's size would be wrong elsewhere. The
 * check then only measures the node the collector talks to (its local tables, `…_local`).
 */
export class DiskBudget {
  private readonly tableBytes: Gauge<'table'>;
  private readonly budgetBytes: Gauge;
  private readonly exceeded: Gauge;
  private readonly droppedPartitions: Counter<'table'>;
  private readonly dayTables: DayTable[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** So the "today alone is over the budget" warning is logged once per episode, not every check. */
  private warnedOverToday = false;

  constructor(private readonly options: DiskBudgetOptions) {
    if (options.maxBytes !== undefined && storeCluster(options.client) !== '') {
      throw new Error('storage.max_disk_gb is not supported with storage.clickhouse.cluster: size each node\'s disk in ClickHouse (TTL, storage policies) instead');
    }
    const registers = [options.registry];
    this.tableBytes = new Gauge({ name: 'flowtrace_storage_bytes', help: 'Bytes on disk of each table in the storage database (active parts), as of the last disk check.', labelNames: ['table'] as const, registers });
    this.budgetBytes = new Gauge({ name: 'flowtrace_storage_budget_bytes', help: 'storage.max_disk_gb in bytes: what the storage database\'s tables together may take on disk (0: no budget).', registers });
    this.exceeded = new Gauge({ name: 'flowtrace_storage_budget_exceeded', help: '1 while the tables are over the disk budget with only today\'s partitions left to drop (nothing is dropped then).', registers });
    this.droppedPartitions = new Counter({ name: 'flowtrace_storage_budget_dropped_partitions_total', help: 'Day partitions of the span and log tables dropped to stay within storage.max_disk_gb, per table.', labelNames: ['table'] as const, registers });
    this.budgetBytes.set(options.maxBytes ?? 0);
    this.dayTables = [
      { table: options.spanTable, stage: 'storage' },
      { table: options.logsTable, stage: 'logs/storage' },
    ];
  }

  /** Checks now, then every interval; a check never overlaps the previous one. */
  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.check()
        .catch((err: unknown) => {
          // Without a budget the check only measures: a store that hides system.parts is no warning.
          const log = this.options.maxBytes === undefined ? this.options.logger.debug.bind(this.options.logger) : this.options.logger.warn.bind(this.options.logger);
          log({ err: String(err) }, 'disk budget: check failed; trying again at the next interval');
        })
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One measurement and, over the budget, the drops; callable directly (tests, the first check). */
  async check(): Promise<BudgetCheck> {
    const { database, maxBytes, logger } = this.options;
    const sizes = await this.rows<{ table: string; bytes: string }>(
      'SELECT table, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = {db:String} AND active GROUP BY table',
      { db: database },
    );
    this.tableBytes.reset();
    let total = 0;
    for (const s of sizes) {
      this.tableBytes.set({ table: s.table }, Number(s.bytes));
      total += Number(s.bytes);
    }
    const result: BudgetCheck = { bytes: total, dropped: [], overWithTodayOnly: false };
    if (maxBytes === undefined || total <= maxBytes) {
      this.settle(false);
      return result;
    }
    // Today as the partition key sees it: toDate() in ClickHouse's own time zone.
    const [today] = await this.rows<{ id: string }>('SELECT toString(toYYYYMMDD(today())) AS id');
    for (const partition of await this.oldDays(today!.id)) {
      if (total <= maxBytes) break;
      const rows = await this.dropPartition(partition);
      total -= partition.bytes;
      const table = partition.table.table;
      result.dropped.push({ table, partition: partition.partition, bytes: partition.bytes, rows });
      logger.warn({ table, partition: partition.partition, bytes: partition.bytes, rows, budgetBytes: maxBytes }, 'disk budget: dropped the oldest day to stay within storage.max_disk_gb');
    }
    result.overWithTodayOnly = total > maxBytes;
    this.settle(result.overWithTodayOnly, total);
    return result;
  }

  /**
   * The day partitions of the span and log tables before `todayId`, oldest day first (the span
   * table's before the log table's on the same day); partitions not named by a day are never dropped.
   */
  private async oldDays(todayId: string): Promise<PartitionSize[]> {
    const cluster = storeCluster(this.options.client);
    const byName = new Map(this.dayTables.map((t) => [storageName(t.table, cluster), t]));
    const rows = await this.rows<{ table: string; partition_id: string; partition: string; bytes: string; rows: string }>(
      `SELECT table, partition_id, any(partition) AS partition, toString(sum(bytes_on_disk)) AS bytes, toString(sum(rows)) AS rows
       FROM system.parts WHERE database = {db:String} AND table IN {tables:Array(String)} AND active
       GROUP BY table, partition_id`,
      { db: this.options.database, tables: [...byName.keys()] },
    );
    return rows
      .filter((p) => /^\d{8}$/.test(p.partition_id) && p.partition_id < todayId)
      .map((p): PartitionSize => ({ table: byName.get(p.table)!, partitionId: p.partition_id, partition: p.partition, bytes: Number(p.bytes), rows: Number(p.rows) }))
      .sort((a, b) => (a.partitionId === b.partitionId ? this.dayTables.indexOf(a.table) - this.dayTables.indexOf(b.table) : a.partitionId < b.partitionId ? -1 : 1));
  }

  /** Counts the partition's rows per service, drops it, then records them. */
  private async dropPartition(partition: PartitionSize): Promise<number> {
    const { client, database, drops } = this.options;
    const { stage } = partition.table;
    const table = `\`${database}\`.\`${partition.table.table}\``;
    const perService = await this.rows<{ service: string; spans: string }>(
      `SELECT ServiceName AS service, toString(count()) AS spans FROM ${table} WHERE _partition_id = {p:String}
       GROUP BY service ORDER BY count() DESC LIMIT ${MAX_SERVICES_PER_PARTITION}`,
      { p: partition.partitionId },
    );
    // A server refuses to drop a partition over 50 GB (`max_partition_size_to_drop`) unless told
    // otherwise; it is a query setting since ClickHouse 24, a server-only one before.
    const [lifted] = await this.rows<{ n: string }>("SELECT toString(count()) AS n FROM system.settings WHERE name = 'max_partition_size_to_drop'");
    // The ID is eight digits (checked by the caller): no quoting question.
    await client.command({
      query: `ALTER TABLE ${table} DROP PARTITION ID '${partition.partitionId}'`,
      clickhouse_settings: lifted?.n === '1' ? { max_partition_size_to_drop: '0' } : {},
    });
    this.droppedPartitions.inc({ table: partition.table.table });
    let counted = 0;
    for (const row of perService) {
      const spans = Number(row.spans);
      counted += spans;
      drops.count(stage, 'disk_budget', row.service, spans);
    }
    // Services beyond the cap, and rows of parts that were merging while counted.
    if (partition.rows > counted) drops.count(stage, 'disk_budget', '', partition.rows - counted);
    return Math.max(counted, partition.rows);
  }

  private settle(overWithTodayOnly: boolean, total = 0): void {
    this.exceeded.set(overWithTodayOnly ? 1 : 0);
    if (overWithTodayOnly && !this.warnedOverToday) {
      this.options.logger.warn(
        { bytes: total, budgetBytes: this.options.maxBytes },
        'disk budget: today\'s spans and logs, with the tables not partitioned by day, alone exceed storage.max_disk_gb; today\'s partitions are never dropped — raise the budget or lower the intake (filter, sampling)',
      );
    }
    this.warnedOverToday = overWithTodayOnly;
  }

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await this.options.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }
}
