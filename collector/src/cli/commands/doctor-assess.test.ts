import { describe, expect, it } from 'vitest';
import type { CollectorStatus } from '../../query/status-routes.js';
import { assessClocks, assessDisk, assessDrops, assessQueues } from './doctor-assess.js';

const GIB = 1024 ** 3;
function status(over: Partial<CollectorStatus> = {}): CollectorStatus {
  return {
    ready: true,
    storage: { dataDirFreeBytes: 50 * GIB, dataDirTotalBytes: 100 * GIB, retentionDays: 7, dropsRetentionDays: 30 },
    queues: [{ exporter: 'clickhouse', records: 0, spans: 0, diskBytes: 0, capacityBytes: GIB, deadLetteredSpans: 0, droppedSpans: 0 }],
    senders: { windowMinutes: 5, clocks: [] },
    ...over,
  };
}

describe('doctor assessments', () => {
  it('flags full queues, dead letters and queue drops', () => {
    expect(assessQueues(status()).map((r) => r.status)).toEqual(['OK']);
    const q = { exporter: 'jaeger', records: 10, spans: 100, diskBytes: 0.95 * GIB, capacityBytes: GIB, deadLetteredSpans: 4, droppedSpans: 2 };
    const results = assessQueues(status({ queues: [q] }));
    expect(results.map((r) => [r.status, r.check])).toEqual([
      ['FAIL', 'queue jaeger'],
      ['WARN', 'dead letters jaeger'],
      ['WARN', 'dropped jaeger'],
    ]);
    expect(results[1]!.detail).toContain('queues/jaeger/dead-letter');
  });

  it('warns on low disk and fails when nearly none is left', () => {
    expect(assessDisk(status()).status).toBe('OK');
    expect(assessDisk(status({ storage: { ...status().storage, dataDirFreeBytes: GIB } })).status).toBe('WARN');
    expect(assessDisk(status({ storage: { ...status().storage, dataDirFreeBytes: 1024 } })).status).toBe('FAIL');
  });

  it('names senders whose clocks are ahead or far behind', () => {
    const clocks = [
      { service: 'checkout', aheadMs: 4_000, behindMs: 0 },
      { service: 'fine', aheadMs: 100, behindMs: 200 },
    ];
    const r = assessClocks(status({ senders: { windowMinutes: 5, clocks } }));
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain("checkout's clock is 4.0 s ahead");
    expect(assessClocks(status({ senders: { windowMinutes: 5, clocks: [clocks[1]!] } })).status).toBe('OK');
  });

  it('treats rule drops as intended and other drops as a warning', () => {
    const filtered = { stage: 'filter', reason: 'filtered', service: 'a', droppedSpans: 5, alteredValues: 0 };
    const invalid = { stage: 'receiver', reason: 'invalid', service: '', droppedSpans: 2, alteredValues: 0 };
    expect(assessDrops({ sinceUnixNano: '0', totals: { droppedSpans: 5, alteredValues: 0 }, drops: [filtered] })).toMatchObject({ status: 'OK', detail: 'no span lost in the last hour; by rules: 5 filtered' });
    expect(assessDrops({ sinceUnixNano: '0', totals: { droppedSpans: 7, alteredValues: 0 }, drops: [filtered, invalid] })).toMatchObject({
      status: 'WARN',
      detail: "2 spans not stored in the last hour: 2 invalid at receiver; run 'flowtrace drops' for all of them",
    });
    const logs = { stage: 'logs/receiver', reason: 'too_old', service: 'a', droppedSpans: 3, alteredValues: 0 };
    expect(assessDrops({ sinceUnixNano: '0', totals: { droppedSpans: 5, alteredValues: 0 }, drops: [invalid, logs] })).toMatchObject({
      status: 'WARN',
      detail: "2 spans and 3 log records not stored in the last hour: 2 invalid at receiver, 3 too_old at logs/receiver (a); run 'flowtrace drops' for all of them",
    });
  });
});
