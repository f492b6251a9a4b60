import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { SpanKind } from '../../model/span.js';
import { testSpan } from '../../model/span.testing.js';
import { Journal } from './journal.js';
import { decodePositions, encodePositions, position } from './positions.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ft-journal-'));
  dirs.push(dir);
  return dir;
}

const open = (dir: string, segmentBytes = 1 << 20) => Journal.open({ dir, segmentBytes, logger: pino({ level: 'silent' }), registry: new Registry() });

const RESOURCE = { attributes: { 'service.name': 'svc' }, droppedAttributesCount: 0, schemaUrl: '', serviceName: 'svc' };
const SCOPE = { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

function spans(n: number, prefix: string): Span[] {
  return Array.from({ length: n }, (_, i) =>
    testSpan({
      resource: RESOURCE,
      scope: SCOPE,
      traceId: `${prefix}`.padEnd(32, '0'),
      spanId: `${prefix}${i}`.padEnd(16, '0'),
      name: `${prefix}-${i}`,
      kind: SpanKind.INTERNAL,
      startTimeUnixNano: 1n,
      endTimeUnixNano: 2n,
    }),
  );
}

/** What a restarted journal would feed the processors: (stage, span names). */
async function replayed(journal: Journal, storedTag: number): Promise<Array<[string, string[]]>> {
  await journal.recover(storedTag);
  const fed: Array<[string, string[]]> = [];
  await journal.replay(async (stage, list) => {
    fed.push([stage, list.map((s) => s.name)]);
  });
  return fed;
}

describe('journal positions', () => {
  it('round-trip any set of positions, sorted', () => {
    const list = [position(3, 7), position(1, 0), position(70_000, 2 ** 21 - 1), position(1, 1)];
    expect(decodePositions(encodePositions(list)).positions).toEqual([...list].sort((a, b) => a - b));
  });
});

describe('Journal', () => {
  it('replays, after a crash, the spans not yet in storage, with their positions', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const a = spans(3, 'a');
    const b = spans(2, 'b');
    await j.appendSpans('filter', a);
    await j.appendSpans('filter', b);
    // a[0] and b[*] reach the queues under tag 1; a[1] is dropped (sampled out); a[2] is held.
    const tag = j.nextTag();
    await j.emitted(tag, Journal.positionsOf([a[0], ...b]));
    j.resolve(Journal.positionsOf([a[0], ...b, a[1]]));
    // kill -9: nothing closed.
    const again = await open(dir);
    // Storage's queue holds tag 1: only what was neither emitted nor resolved on disk comes back.
    // (a[1]'s drop was not journaled: it is replayed and dropped again by the same rule.)
    expect(await replayed(again, 1)).toEqual([['filter', ['a-1', 'a-2']]]);
  });

  it('numbers spans in the order the record holds them: a partial replay of mixed services is exact', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const other = { ...RESOURCE, attributes: { 'service.name': 'other' }, serviceName: 'other' };
    const [a1, a2] = spans(2, 'a');
    const [b1, b2] = spans(2, 'b').map((s) => ({ ...s, resource: other }));
    // Stitch releases two traces mixing services; the record groups them by resource.
    const released = [a1, b1, a2, b2];
    await j.appendSpans('sample', released);
    const tag = j.nextTag();
    await j.emitted(tag, Journal.positionsOf([a1, b1]));
    j.resolve(Journal.positionsOf([a1, b1]));
    expect(await replayed(await open(dir), tag)).toEqual([['sample', ['a-1', 'b-1']]]);
  });

  it('replays an emission whose tag storage does not hold, or that was cancelled', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const a = spans(2, 'a');
    await j.appendSpans('filter', a);
    const first = j.nextTag();
    await j.emitted(first, Journal.positionsOf([a[0]]));
    await j.cancel(first); // the queue append failed: a[0] was offered again later
    const second = j.nextTag();
    await j.emitted(second, Journal.positionsOf([a[1]]));
    // Storage holds tag 2 (so tag 1 would count as held, were it not cancelled).
    expect(await replayed(await open(dir), 2)).toEqual([['filter', ['a-0']]]);
    // Storage holds nothing: both again.
    const dir2 = tempDir();
    const k = await open(dir2);
    await k.recover(0);
    const c = spans(2, 'c');
    await k.appendSpans('filter', c);
    await k.emitted(k.nextTag(), Journal.positionsOf(c));
    expect(await replayed(await open(dir2), 0)).toEqual([['filter', ['c-0', 'c-1']]]);
  });

  it('never replays a record the pipeline refused (the client sends it again)', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const seq = await j.appendSpans('filter', spans(2, 'a'));
    await j.refused(seq);
    expect(await replayed(await open(dir), 0)).toEqual([]);
  });

  it('replays a stage output instead of its inputs, and its side rows until they are written', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const a = spans(2, 'a');
    await j.appendSpans('filter', a);
    // Stage 2 (stitch) releases them, changed, with side rows: one record consumes the inputs.
    a[0].attributes['flowtrace.orphan'] = 'true';
    const seq = await j.appendSpans('sample', a, Journal.positionsOf(a), { flowtrace_service_graph: [{ Calls: 1 }] });
    const tokenBefore = j.tokenOf(seq);
    const again = await open(dir);
    const fed: Span[][] = [];
    await again.recover(0);
    expect(again.recoveredSideRows).toEqual([{ seq, side: { flowtrace_service_graph: [{ Calls: 1 }] } }]);
    expect(again.tokenOf(seq)).toBe(tokenBefore);
    await again.replay(async (stage, list) => {
      expect(stage).toBe('sample');
      fed.push(list);
    });
    expect(fed.map((l) => l.map((s) => s.name))).toEqual([['a-0', 'a-1']]);
    expect(fed[0][0].attributes['flowtrace.orphan']).toBe('true');
    // Written now: the next crash does not insert them again.
    again.sideRowsWritten(seq);
    await again.close();
    const third = await open(dir);
    await third.recover(0);
    expect(third.recoveredSideRows).toEqual([]);
  });

  it('recovers trace decisions, and writes again those the stage still remembers when it trims them', async () => {
    const dir = tempDir();
    const j = await open(dir, 64 * 1024);
    await j.recover(0);
    const remembered = new Map([['t1', '-']]);
    j.keepDecisionsWhile('sample', (traceId) => remembered.get(traceId));
    j.decide('sample', 't1', '-');
    j.decide('sample', 't2', '80');
    // Enough traffic, all done, for the segment holding the decisions to be deleted.
    for (let i = 0; i < 40; i++) {
      const batch = spans(50, `x${i}`);
      await j.appendSpans('filter', batch);
      j.resolve(Journal.positionsOf(batch));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThan(3);
    const again = await open(dir);
    await again.recover(0);
    // t1 is still remembered: carried forward. t2 was forgotten and its segment is gone.
    expect(again.decisionsOf('sample').get('t1')).toBe('-');
    expect(again.decisionsOf('sample').has('t2')).toBe(false);
  });

  it('a clean shutdown leaves nothing to replay', async () => {
    const dir = tempDir();
    const j = await open(dir);
    await j.recover(0);
    const a = spans(2, 'a');
    await j.appendSpans('filter', a);
    j.resolve(Journal.positionsOf(a));
    await j.close();
    expect(await replayed(await open(dir), 0)).toEqual([]);
  });

  it('deletes segments once every record in them is done, and keeps those with pending spans', async () => {
    const dir = tempDir();
    const j = await open(dir, 64 * 1024);
    await j.recover(0);
    const held = spans(1, 'held');
    await j.appendSpans('filter', held);
    for (let i = 0; i < 150; i++) {
      const batch = spans(50, `x${i}`);
      await j.appendSpans('filter', batch);
      j.resolve(Journal.positionsOf(batch));
    }
    const segments = () => readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
    const before = segments();
    expect(before).toBeGreaterThan(2);
    j.resolve(Journal.positionsOf(held));
    for (let i = 0; i < 200 && segments() > 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(segments()).toBe(1);
    await j.close();
    expect(await replayed(await open(dir), 0)).toEqual([]);
  });
});
