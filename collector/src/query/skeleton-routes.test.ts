/**
 * The skeleton's encoding over a fake reader (the SQL itself runs in test/trace-skeleton.e2e.test.ts,
 * on the real collector): parent indexes for duplicates and self-parents, the unit when times pass
 * 2^53 ns, the hidden-span count, and the 413 refusal before any span is read.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { MAX_SKELETON_SPANS, parseSpanId, readSkeleton, SkeletonTooLargeError, spanDetails } from './skeleton-routes.js';
import { QueryParamError } from './params.js';
import type { SpanView } from './span-view.js';

type Row = [string, string, string, string, string, string, string, string, number, number];

/** Answers the route's queries by their shape; records what ran. */
function fakeReader(opts: { visible: number; total?: number; rows: Row[]; base?: string }) {
  const ran: string[] = [];
  const client = {
    async query({ query }: { query: string }) {
      const kind = query.includes('min(Start)') ? 'bounds' : query.includes('count()') ? 'count' : query.includes('SpanAttributes[{key') ? 'correlation' : 'rows';
      ran.push(kind);
      const answer = (): unknown[] => {
        if (kind === 'bounds') return [{ start: '2026-01-01 00:00:00.000000000', end: '2026-01-01 00:00:01.000000000', base: opts.base ?? '1767225600000000000', n: '1' }];
        if (kind === 'count') return [{ n: String(query.includes('`all`') ? (opts.total ?? opts.visible) : opts.visible) }];
        if (kind === 'correlation') return [{ c: 'req-1' }];
        return opts.rows;
      };
      if (kind !== 'rows') return { json: async () => answer() };
      // The rows query asks for JSONColumnsWithMetadata: one array per column.
      const names = ['id', 'parentId', 'rel', 'dur', 'svc', 'nm', 'kd', 'st', 'method', 'ebs'];
      return { json: async () => ({ data: Object.fromEntries(names.map((name, c) => [name, opts.rows.map((r) => r[c])])) }) };
    },
  } as unknown as ClickHouseClient;
  return { client, ran };
}

const source = { traceId: 'a'.repeat(32), traces: '`db`.`otel_traces`', traceIds: '`db`.`otel_traces_trace_id_ts`' };
const row = (id: string, parent: string, start: number | string, duration: number | string, extra: Partial<{ service: string; name: string; kind: string; status: string; method: number }> = {}): Row => [
  id, parent, String(start), String(duration), extra.service ?? 'svc', extra.name ?? id, extra.kind ?? 'Internal', extra.status ?? 'Unset', extra.method ?? 0, 0,
];

describe('readSkeleton', () => {
  it('encodes parents by index: duplicates attach children to the first copy, a self-parent is an orphan', async () => {
    const { client } = fakeReader({
      visible: 5,
      rows: [row('r', '', 100, 50, { kind: 'Server' }), row('a', 'r', 110, 10, { method: 1 }), row('a', 'r', 115, 10), row('b', 'a', 112, 2, { status: 'Error' }), row('s', 's', 120, 1)],
    });
    const s = (await readSkeleton(client, source))!;
    expect(s.parent).toEqual([-1, 0, 0, 1, -2]);
    expect(s.missingParentIds).toEqual(['s']);
    expect(s.start).toEqual([0, 10, 15, 12, 20]);
    expect(s.startTimeUnixNano).toBe('1767225600000000100');
    expect(s.kind.map((k) => s.kinds[k])).toEqual(['Server', 'Internal', 'Internal', 'Internal', 'Internal']);
    expect(s.status.map((k) => s.statuses[k])).toEqual(['Unset', 'Unset', 'Unset', 'Error', 'Unset']);
    expect(s.flags).toEqual([0, 1, 0, 0, 0]);
    expect(s).toMatchObject({ unitNs: 1, correlationId: 'req-1', hiddenSpanCount: 0, readRestricted: false });
  });

  it('switches to a coarser unit when a time passes 2^53 ns (a trace ~200 days wide), never losing the order', async () => {
    const far = 200n * 86_400_000_000_000n;
    const { client } = fakeReader({ visible: 2, rows: [row('r', '', 0, 5), row('x', 'r', far.toString(), 1500)] });
    const s = (await readSkeleton(client, source))!;
    expect(s.unitNs).toBe(1000);
    expect(s.start).toEqual([0, Number(far / 1000n)]);
    // Durations round up: a span never looks shorter than it was.
    expect(s.duration).toEqual([1, 2]);
  });

  it('counts the spans a restricted reader may not see', async () => {
    const { client } = fakeReader({ visible: 1, total: 7, rows: [row('r', '', 0, 5)] });
    const s = (await readSkeleton(client, { ...source, allTraces: '`db`.`all`' }))!;
    expect(s).toMatchObject({ spanCount: 1, hiddenSpanCount: 6, readRestricted: true });
  });

  it('refuses a trace over the cap before reading its spans', async () => {
    const { client, ran } = fakeReader({ visible: MAX_SKELETON_SPANS + 1, rows: [] });
    await expect(readSkeleton(client, source)).rejects.toThrow(new SkeletonTooLargeError(source.traceId, MAX_SKELETON_SPANS + 1));
    expect(new SkeletonTooLargeError('t', 1).statusCode).toBe(413);
    expect(ran).not.toContain('rows');
  });
});

describe('span details', () => {
  it('orders captured arguments by index and keeps a return value that is present but empty', () => {
    const span = { attributes: { 'flowtrace.args.10': 'k', 'flowtrace.args.2': 'b', 'flowtrace.return': '' }, events: [] } as unknown as SpanView;
    const d = spanDetails(span);
    expect(d.arguments.map((a) => a.index)).toEqual([2, 10]);
    expect(d).toHaveProperty('returnValue', '');
  });

  it('accepts 16 hex digits as a span ID, in any case', () => {
    expect(parseSpanId('00000000000000AB')).toBe('00000000000000ab');
    expect(() => parseSpanId('abc')).toThrow(QueryParamError);
  });
});
