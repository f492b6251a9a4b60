import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testSpan } from '../../model/span.testing.js';
import type { Resource } from '../../model/span.js';
import { DropLedger } from './ledger.js';
import { DropTally, OTHER_SERVICES } from './tally.js';

const resource = (serviceName: string): Resource => ({ attributes: { 'service.name': serviceName }, droppedAttributesCount: 0, schemaUrl: '', serviceName });
const scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const span = (r: Resource, i: number) =>
  testSpan({ resource: r, scope, traceId: 'a'.repeat(32), spanId: i.toString(16).padStart(16, '0'), name: 's', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n });

const MINUTE = 60_000;

describe('DropLedger', () => {
  it('sums spans per minute, stage, reason and service, and counts them as metrics', async () => {
    let now = 10 * MINUTE + 5_000;
    const registry = new Registry();
    const ledger = new DropLedger(registry, { clock: () => now });
    const a = resource('a');
    const b = resource('b');
    ledger.spans('sample', 'sampled_out', [span(a, 1), span(a, 2), span(b, 3), span(a, 4)]);
    ledger.count('receiver', 'invalid', '', 3);
    ledger.count('receiver', 'invalid', '', 2);
    ledger.values('redact', 'masked', 'a', 7);
    now += MINUTE;
    ledger.count('receiver', 'invalid', '', 1);
    ledger.count('receiver', 'invalid', '', 0);

    const rows = ledger.pending.take().sort((x, y) => x.minute - y.minute || `${x.stage}${x.service}`.localeCompare(`${y.stage}${y.service}`));
    expect(rows).toEqual([
      { minute: 600, stage: 'receiver', reason: 'invalid', service: '', droppedSpans: 5, alteredValues: 0 },
      { minute: 600, stage: 'redact', reason: 'masked', service: 'a', droppedSpans: 0, alteredValues: 7 },
      { minute: 600, stage: 'sample', reason: 'sampled_out', service: 'a', droppedSpans: 3, alteredValues: 0 },
      { minute: 600, stage: 'sample', reason: 'sampled_out', service: 'b', droppedSpans: 1, alteredValues: 0 },
      { minute: 660, stage: 'receiver', reason: 'invalid', service: '', droppedSpans: 1, alteredValues: 0 },
    ]);
    expect(ledger.pending.size).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain('flowtrace_spans_dropped_by_stage_total{stage="sample",reason="sampled_out",service="a"} 3');
    expect(text).toContain('flowtrace_spans_dropped_by_stage_total{stage="receiver",reason="invalid",service=""} 6');
    expect(text).toContain('flowtrace_values_altered_total{stage="redact",reason="masked",service="a"} 7');
  });

  it('keeps a bounded number of service labels on the metrics', async () => {
    const registry = new Registry();
    const ledger = new DropLedger(registry, { maxMetricServices: 2 });
    for (const s of ['a', 'b', 'c', 'd']) ledger.count('filter', 'filtered', s, 1);
    const text = await registry.metrics();
    expect(text).toContain(`service="${OTHER_SERVICES}"} 2`);
    expect(text).not.toContain('service="c"');
    // The table rows keep every service while under their own bound.
    expect(ledger.pending.take().map((r) => r.service).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('DropTally', () => {
  it('counts services beyond its bound under one row, and then loses rows rather than grow', () => {
    const tally = new DropTally(3);
    for (let i = 0; i < 5; i++) tally.add({ minute: 0, stage: 'filter', reason: 'filtered', service: `s${i}`, droppedSpans: 1, alteredValues: 0 });
    const rows = tally.take();
    expect(rows.map((r) => [r.service, r.droppedSpans])).toEqual([['s0', 1], ['s1', 1], ['s2', 1], [OTHER_SERVICES, 2]]);
    // Counts stay exact; only names are merged.
    expect(rows.reduce((s, r) => s + r.droppedSpans, 0)).toBe(5);

    const full = new DropTally(1);
    for (let minute = 0; minute < 2_000; minute++) full.add({ minute: minute * 60, stage: 'filter', reason: 'filtered', service: 'x', droppedSpans: 1, alteredValues: 0 });
    expect(full.size).toBeLessThanOrEqual(1 + 1_000);
    expect(full.lostRows).toBeGreaterThan(0);
  });

  it('cuts very long service names', () => {
    const tally = new DropTally();
    tally.add({ minute: 0, stage: 'receiver', reason: 'invalid', service: 'x'.repeat(10_000), droppedSpans: 1, alteredValues: 0 });
    expect(tally.take()[0]!.service.length).toBe(256);
  });

  it('adds rows put back after a failed write to what arrived meanwhile', () => {
    const tally = new DropTally();
    const row = { minute: 60, stage: 'filter', reason: 'filtered', service: 'a', droppedSpans: 2, alteredValues: 0 };
    tally.add(row);
    const taken = tally.take();
    tally.add({ ...row, droppedSpans: 3 });
    tally.putBack(taken);
    expect(tally.take()).toEqual([{ ...row, droppedSpans: 5 }]);
  });
});
