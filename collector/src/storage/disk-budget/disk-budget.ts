import type { ClickHouseClient } from '@clickhouse/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { DropRecorder } from '../../pipeline/drops.js';
import { storageName, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';

export interface DiskBudgetOptions {
  /** The writer session: it drops partitions. */
  client: ClickHouseClient;
  database: string;
  /** The span table (`storage.clickhouse.traces_table`), unquoted. */
  spanTable: string;
  /** Bytes `spanTable` may take on disk; undefined: measure only, never drop. */
  maxBytes: number | undefined;
  /** Between checks. */
  intervalMs: number;
  drops: DropRecorder;
  registry: Registry;
  logger: Logger;
}

/** One day partition of the span table as `system.parts` sees it. */
interface PartitionSize {
  partitionId: string;
  /** The partition's date (`toDate(Timestamp)`), for logs. */
  partition: string;
  bytes: number;
  rows: number;
}

/** What one check found and did. */
export interface BudgetCheck {
  /** The span table's active parts' bytes on disk, before any drop. */
  bytes: number;
  /** The partitions dropped, oldest first. */
  dropped: Array<{ partition: string; bytes: number; spans: number }>;
  /** Still over the budget with only today's (and later) partitions left: nothing was dropped for them. */
  overWithTodayOnly: boolean;
}

/** Services counted per dropped partition at most; the rest are summed under ''. */
const MAX_SERVICES_PER_PARTITION = 10_000;

/**
 * `storage.max_disk_gb`: every `intervalMs` the span table's size on disk is summed from
 * `system.parts` (active parts, `bytes_on_disk`: what the table holds now, compressed, indexes
 * included); over the budget, its oldest day partitions are dropped (`ALTER TABLE … DROP
 * PARTITION ID`, instant, no rewrite), oldest first, until it fits — never today's (in
 * ClickHouse's time zone) nor a later one. When today alone is over the budget, it logs a
 * warning and sets `flowtrace_storage_budget_exceeded` instead: dropping the day being written
 * would delete spans acknowledged minutes ago.
 *
 * Each dropped partition's spans are counted per service before the drop and recorded in the
 * drop ledger as `storage/disk_budget`. The trace-ID lookup table is not partitioned by day:
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
  private readonly droppedPartitions: Counter;
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
    this.budgetBytes = new Gauge({ name: 'flowtrace_storage_budget_bytes', help: 'storage.max_disk_gb in bytes: what the span table may take on disk (0: no budget).', registers });
    this.exceeded = new Gauge({ name: 'flowtrace_storage_budget_exceeded', help: '1 while the span table is over its disk budget with only today\'s partition left to drop (nothing is dropped then).', registers });
    this.droppedPartitions = new Counter({ name: 'flowtrace_storage_budget_dropped_partitions_total', help: 'Day partitions of the span table dropped to stay within storage.max_disk_gb.', registers });
    this.budgetBytes.set(options.maxBytes ?? 0);
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
    const { database, spanTable, maxBytes, logger } = this.options;
    const sizes = await this.rows<{ table: string; bytes: string }>(
      'SELECT table, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = {db:String} AND active GROUP BY table',
      { db: database },
    );
    this.tableBytes.reset();
    for (const s of sizes) this.tableBytes.set({ table: s.table }, Number(s.bytes));
    const partitions = (
      await this.rows<{ partition_id: string; partition: string; bytes: string; rows: string }>(
        `SELECT partition_id, any(partition) AS partition, toString(sum(bytes_on_disk)) AS bytes, toString(sum(rows)) AS rows
         FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active
         GROUP BY partition_id ORDER BY partition_id`,
        { db: database, t: storageName(spanTable, storeCluster(this.options.client)) },
      )
    ).map((p): PartitionSize => ({ partitionId: p.partition_id, partition: p.partition, bytes: Number(p.bytes), rows: Number(p.rows) }));
    let total = partitions.reduce((sum, p) => sum + p.bytes, 0);
    const result: BudgetCheck = { bytes: total, dropped: [], overWithTodayOnly: false };
    if (maxBytes === undefined || total <= maxBytes) {
      this.settle(false);
      return result;
    }
    // Today as the partition key sees it: toDate() in ClickHouse's own time zone.
    const [today] = await this.rows<{ id: string }>('SELECT toString(toYYYYMMDD(today())) AS id');
    for (const partition of partitions) {
      if (total <= maxBytes) break;
      if (!/^\d{8}$/.test(partition.partitionId) || partition.partitionId >= today!.id) break;
      const spans = await this.dropPartition(partition);
      total -= partition.bytes;
      result.dropped.push({ partition: partition.partition, bytes: partition.bytes, spans });
      logger.warn({ partition: partition.partition, bytes: partition.bytes, spans, budgetBytes: maxBytes }, 'disk budget: dropped the oldest day of spans to stay within storage.max_disk_gb');
    }
    result.overWithTodayOnly = total > maxBytes;
    this.settle(result.overWithTodayOnly, total);
    return result;
  }

  /** Counts the partition's spans per service, drops it, then records them. */
  private async dropPartition(partition: PartitionSize): Promise<number> {
    const { client, database, spanTable, drops } = this.options;
    const table = `\`${database}\`.\`${spanTable}\``;
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
    this.droppedPartitions.inc();
    let counted = 0;
    for (const row of perService) {
      const spans = Number(row.spans);
      counted += spans;
      drops.count('storage', 'disk_budget', row.service, spans);
    }
    // Services beyond the cap, and spans of parts that were merging while counted.
    if (partition.rows > counted) drops.count('storage', 'disk_budget', '', partition.rows - counted);
    return Math.max(counted, partition.rows);
  }

  private settle(overWithTodayOnly: boolean, total = 0): void {
    this.exceeded.set(overWithTodayOnly ? 1 : 0);
    if (overWithTodayOnly && !this.warnedOverToday) {
      this.options.logger.warn(
        { bytes: total, budgetBytes: this.options.maxBytes },
        'disk budget: today\'s spans alone exceed storage.max_disk_gb; today\'s partition is never dropped — raise the budget or lower the intake (filter, sampling)',
      );
    }
    this.warnedOverToday = overWithTodayOnly;
  }

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await this.options.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }
}
