import { describe, expect, it } from 'vitest';
import { mapCriticalPath } from './critical-path.js';
import { findSiblingGroups, type SiblingGroups } from './groups.js';
import { rowModel } from './row-model.js';
import { TraceView } from './rows.js';
import { searchSpans } from './search.js';
import { decodeSkeleton } from './skeleton.js';
import { methodLevelTrace, random, skeletonOf, type TestSpan } from './skeleton.testing.js';
import { buildTree, type TraceTree } from './tree.js';

/** root → handler → 6 SELECTs with different IDs + one other call; a second root branch. */
const SPANS: TestSpan[] = [
  { id: 'root', parent: '', start: 0, end: 1000, service: 'front', name: 'GET /orders' },
  { id: 'h', parent: 'root', start: 10, end: 500, service: 'orders', name: 'OrderService.list', method: true },
  ...Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, parent: 'h', start: 20 + i * 50, end: 60 + i * 50 + i, service: 'orders', name: `SELECT * FROM o WHERE id = ${100 + i}` })),
  { id: 'm', parent: 'h', start: 400, end: 450, service: 'orders', name: 'Mapper.map', method: true },
  { id: 'q0a', parent: 'q0', start: 21, end: 22, service: 'orders', name: 'Pool.acquire', method: true },
  { id: 'b', parent: 'root', start: 600, end: 900, service: 'front', name: 'render' },
];

function setup(spans = SPANS, grouped = true) {
  const tree = buildTree(decodeSkeleton(skeletonOf(spans)));
  const groups = grouped ? findSiblingGroups(tree) : undefined;
  return { tree, groups, view: new TraceView(tree, groups) };
}

/** Visible rows as text: span IDs, `[label ×n]` for a group, indented by depth. */
function rows(view: TraceView, groups?: SiblingGroups): string[] {
  const out: string[] = [];
  for (let r = 0; r < view.length; r++) {
    const v = view.rows[r]!;
    const text = v >= 0 ? view.tree.data.spanIds[v]! : `[${groups!.label[-1 - v]} ×${groups!.memberStart[-v]! - groups!.memberStart[-1 - v]!}]`;
    out.push(`${'  '.repeat(view.rowDepth[r]!)}${text}`);
  }
  return out;
}

/** The rows a fresh walk gives for the view's current collapse/group state (the reference). */
function reference(view: TraceView, tree: TraceTree, groups?: SiblingGroups): number[] {
  const out: number[] = [];
  const visit = (item: number, depth: number) => {
    out.push(item, depth);
    if (item < 0) {
      const g = -1 - item;
      if (!view.isGroupOpen(g)) return;
      for (let k = groups!.memberStart[g]!; k < groups!.memberStart[g + 1]!; k++) visit(groups!.members[k]!, depth + 1);
      return;
    }
    if (view.isCollapsed(item)) return;
    for (let c = tree.childStart[item]!; c < tree.childStart[item + 1]!; c++) {
      const child = tree.childList[c]!;
      const g = groups ? groups.groupOf[child]! : -1;
      if (g < 0) visit(child, depth + 1);
      else if (groups!.members[groups!.memberStart[g]!] === child) visit(-1 - g, depth + 1);
    }
  };
  for (const top of view.root >= 0 ? [view.root] : tree.tops) visit(top, 0);
  return out;
}

const actual = (view: TraceView) => Array.from({ length: view.length }, (_, r) => [view.rows[r]!, view.rowDepth[r]!]).flat();

describe('TraceView', () => {
  it('folds repeated siblings with the same normalised name into one row with count, total and max', () => {
    const { view, groups } = setup();
    expect(rows(view, groups)).toEqual(['root', '  h', '    [SELECT * FROM o WHERE id = ? ×6]', '    m', '  b']);
    expect(groups!.count).toBe(1);
    expect(groups!.totalNs[0]).toBe(240 + 15);
    expect(groups!.maxNs[0]).toBe(45);
  });

  it('expands a group to its members, each with its own subtree, and folds it back', () => {
    const { view, groups } = setup();
    view.toggle(2);
    expect(rows(view, groups)).toEqual([
      'root', '  h', '    [SELECT * FROM o WHERE id = ? ×6]', '      q0', '        q0a', '      q1', '      q2', '      q3', '      q4', '      q5', '    m', '  b',
    ]);
    view.toggle(2);
    expect(rows(view, groups)).toEqual(['root', '  h', '    [SELECT * FROM o WHERE id = ? ×6]', '    m', '  b']);
  });

  it('leaves fewer than five repeats alone, and shows every span without grouping', () => {
    const few = SPANS.filter((s) => !['q4', 'q5'].includes(s.id));
    expect(rows(setup(few).view)).toContain('    q3');
    expect(setup(SPANS, false).view.length).toBe(SPANS.length);
  });

  it('collapses and expands a subtree, keeping what was collapsed inside it', () => {
    const { view, groups } = setup();
    view.expandAll();
    view.collapse(view.rowOfNode(view.tree.data.spanIds.indexOf('q0')));
    view.collapse(1);
    expect(rows(view, groups)).toEqual(['root', '  h', '  b']);
    view.expand(1);
    expect(rows(view, groups)).toContain('      q0');
    expect(rows(view, groups)).not.toContain('        q0a');
  });

  it('expands to a depth and shows a span as root', () => {
    const { view, groups } = setup();
    view.expandToDepth(1);
    expect(rows(view, groups)).toEqual(['root', '  h', '  b']);
    view.setRoot(view.tree.data.spanIds.indexOf('h'));
    view.expandToDepth(1);
    expect(rows(view, groups)).toEqual(['h', '  [SELECT * FROM o WHERE id = ? ×6]', '  m']);
    // Depth counts from the shown root: back on the whole trace, root and h are open.
    view.setRoot(-1);
    expect(rows(view, groups)).toEqual(['root', '  h', '    [SELECT * FROM o WHERE id = ? ×6]', '    m', '  b']);
  });

  it('reveals a span inside a collapsed subtree and a folded group, leaving a root that hides it', () => {
    const { view, groups } = setup();
    view.setRoot(view.tree.data.spanIds.indexOf('b'));
    view.expandToDepth(0);
    const q0a = view.tree.data.spanIds.indexOf('q0a');
    const row = view.reveal(q0a);
    expect(view.root).toBe(-1);
    expect(rows(view, groups)[row]).toBe('        q0a');
  });

  it('splices the same rows a full walk gives, over random collapse/expand sequences on a method-level trace', () => {
    const tree = buildTree(decodeSkeleton(methodLevelTrace(3000, 7)));
    const groups = findSiblingGroups(tree);
    expect(groups.count).toBeGreaterThan(5);
    const view = new TraceView(tree, groups);
    const rnd = random(3);
    for (let step = 0; step < 300; step++) {
      const row = Math.floor(rnd() * view.length);
      if (rnd() < 0.05) view.expandToDepth(Math.floor(rnd() * 6));
      else view.toggle(row);
      expect(actual(view)).toEqual(reference(view, tree, groups));
    }
  });
});

describe('rowModel', () => {
  it('describes span, group and missing-parent rows with what the waterfall draws', () => {
    const { tree, view } = setup([...SPANS, { id: 'orphan', parent: 'gone', start: 950, end: 960, service: 'worker', name: 'job' }]);
    const search = searchSpans(tree, 'select');
    const criticalPath = mapCriticalPath(tree, { rootSpanId: 'root', segments: [{ spanId: 'q3', durationNano: '10' }] });
    const ctx = { search, criticalPath };
    expect(rowModel(view, 0, ctx)).toMatchObject({ kind: 'span', label: 'GET /orders', service: 'front', spanKind: 'Internal', expandable: true, expanded: true, match: false, durationNs: 1000 });
    expect(rowModel(view, 1, ctx)).toMatchObject({ kind: 'span', label: 'OrderService.list', method: true });
    expect(rowModel(view, 2, ctx)).toMatchObject({ kind: 'group', label: 'SELECT * FROM o WHERE id = ?', count: 6, durationNs: 255, maxNs: 45, startNs: 20, endNs: 315, expanded: false, match: true, onCriticalPath: true, depth: 2 });
    const last = view.length - 2;
    expect(rowModel(view, last, ctx)).toMatchObject({ kind: 'missing-parent', label: 'gone', startNs: 950, endNs: 960, expandable: true });
  });
});
