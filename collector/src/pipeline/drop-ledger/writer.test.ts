import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../../../exporters/clickhouse/embedded.testing.js';
import { DropLedger } from './ledger.js';
import type { DropRow } from './tally.js';
import { clickHouseDropSink, DROPS_TABLE, dropsTable, migrateDropsTable, type DropRowSink } from './table.js';
import { DropTableWriter } from './writer.js';

const logger = pino({ level: 'silent' });

/** A sink that fails while `down` is set. */
class FakeSink implements DropRowSink {
  written: DropRow[] = [];
  down = false;
  inserts = 0;
  async insert(rows: readonly DropRow[]): Promise<void> {
    this.inserts++;
    if (this.down) throw new Error('ClickHouse is away');
    this.written.push(...rows.map((r) => ({ ...r })));
  }
}

describe('DropTableWriter', () => {
  it('writes pending rows, keeps them through a failed write, and writes them once it works again', async () => {
    const ledger = new DropLedger(new Registry(), { clock: () => 120_000 });
    const sink = new FakeSink();
    const writer = new DropTableWriter(ledger, sink, { intervalMs: 60_000, logger });
    ledger.count('filter', 'filtered', 'a', 4);
    sink.down = true;
    expect(await writer.flush()).toBe(false);
    expect(ledger.pending.size).toBe(1);
    ledger.count('filter', 'filtered', 'a', 1);
    sink.down = false;
    expect(await writer.flush()).toBe(true);
    expect(sink.written).toEqual([{ minute: 120, stage: 'filter', reason: 'filtered', service: 'a', droppedSpans: 5, alteredValues: 0 }]);
    expect(ledger.pending.size).toBe(0);
    // Nothing pending: nothing sent.
    const before = sink.inserts;
    await writer.flush();
    expect(sink.inserts).toBe(before);
  });

  it('flushes what is left at shutdown, and gives up after a few attempts without throwing', async () => {
    const ledger = new DropLedger(new Registry());
    const sink = new FakeSink();
    const writer = new DropTableWriter(ledger, sink, { intervalMs: 60_000, logger });
    writer.start();
    ledger.count('exporter', 'dead_lettered', '', 9);
    await writer.shutdown();
    expect(sink.written.map((r) => r.droppedSpans)).toEqual([9]);

    const stuck = new DropLedger(new Registry());
    const down = new FakeSink();
    down.down = true;
    stuck.count('exporter', 'dead_lettered', '', 1);
    await expect(new DropTableWriter(stuck, down, { intervalMs: 60_000, logger }).shutdown()).resolves.toBeUndefined();
    expect(down.inserts).toBe(3);
  });
});

describe('flowtrace_drops in the embedded engine', () => {
  const store = openTestStore('ft-drops-');
  afterAll(() => store.close());

  it('sums rows written by several flushes, and its TTL follows the configured days', async () => {
    const client = store.clients.writer;
    await migrateDropsTable(client, 'default', 30);
    await migrateDropsTable(client, 'default', 30);
    const sink = clickHouseDropSink(client, 'default');
    // A recent minute: the TTL would drop older parts at the next merge.
    const minute = Math.floor(Date.now() / 60_000) * 60;
    const row = { minute, stage: 'receiver', reason: 'invalid', service: 'a', droppedSpans: 2, alteredValues: 0 };
    await sink.insert([row]);
    await sink.insert([{ ...row, droppedSpans: 3 }, { ...row, reason: 'masked', stage: 'redact', droppedSpans: 0, alteredValues: 4 }]);
    const rows = await (
      await client.query({
        query: `SELECT Stage, Reason, Service, toUInt32(Minute) AS Minute, sum(DroppedSpans) AS d, sum(AlteredValues) AS v FROM ${dropsTable('default')} GROUP BY Stage, Reason, Service, Minute ORDER BY Stage`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();
    expect(rows.map((r) => ({ ...r, d: Number(r.d), v: Number(r.v) }))).toEqual([
      { Stage: 'receiver', Reason: 'invalid', Service: 'a', Minute: minute, d: 5, v: 0 },
      { Stage: 'redact', Reason: 'masked', Service: 'a', Minute: minute, d: 0, v: 4 },
    ]);
    await migrateDropsTable(client, 'default', 3);
    const [engine] = await (
      await client.query({ query: `SELECT engine_full FROM system.tables WHERE name = '${DROPS_TABLE}'`, format: 'JSONEachRow' })
    ).json<{ engine_full: string }>();
    expect(engine!.engine_full).toContain('TTL Minute + toIntervalDay(3)');
  });
});
