/**
 * `npx tsx bench/dashboard-model.ts`: the trace view's pure model (dashboard/src/trace/model) on
 * method-level skeletons of 10,000 and 100,000 spans — what the browser does between the
 * skeleton's bytes arriving and the first rows drawn, then one interaction of each kind:
 * JSON.parse → decode → tree → sibling groups → first flatten (rows) → expand everything →
 * collapse the biggest subtree → expand it again → search (highlight) → reveal every match → self-time tables → critical path (computed
 * locally, for traces over the API's 10,000-span analysis cap) → next error.
 * Medians of several runs after a warm-up, in ms. Goal: all of it for 100,000 spans well under
 * the 1.5 s for 10,000 end to end. Writes bench/results/dashboard-model.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  buildTree,
  computeCriticalPath,
  decodeSkeleton,
  errorNodes,
  findSiblingGroups,
  jumpToError,
  searchSpans,
  selfTimeTables,
  TraceView,
  type SkeletonJson,
} from '../dashboard/src/trace/model/index.js';
import { methodLevelTrace } from '../dashboard/src/trace/model/skeleton.testing.js';

type Step = 'parse' | 'decode' | 'tree' | 'groups' | 'firstFlatten' | 'expandAll' | 'collapse' | 'expand' | 'search' | 'revealMatches' | 'selfTime' | 'criticalPath' | 'nextError';

function once(text: string): { times: Record<Step, number>; facts: Record<string, number> } {
  const times = {} as Record<Step, number>;
  const time = <T>(step: Step, fn: () => T): T => {
    const t0 = performance.now();
    const out = fn();
    times[step] = performance.now() - t0;
    return out;
  };
  const json = time('parse', () => JSON.parse(text) as SkeletonJson);
  const data = time('decode', () => decodeSkeleton(json));
  const tree = time('tree', () => buildTree(data));
  const groups = time('groups', () => findSiblingGroups(tree));
  const view = time('firstFlatten', () => new TraceView(tree, groups));
  const rowsAtFirst = view.length;
  // Worst case for a splice: everything open, then the biggest subtree below the root folded.
  time('expandAll', () => view.expandAll());
  const rowsExpanded = view.length;
  let row = 1;
  let biggest = 0;
  for (let r = 1; r < view.length && view.rowDepth[r]! >= 1; r++) {
    const v = view.rows[r]!;
    if (view.rowDepth[r] === 1 && v >= 0 && tree.subtreeEnd[v]! - tree.position[v]! > biggest) {
      biggest = tree.subtreeEnd[v]! - tree.position[v]!;
      row = r;
    }
  }
  time('collapse', () => view.collapse(row));
  const rowsCollapsed = view.length;
  time('expand', () => view.expand(row));
  const found = time('search', () => searchSpans(tree, 'stockrepository'));
  time('revealMatches', () => view.revealAll(found.nodes));
  time('selfTime', () => selfTimeTables(tree));
  time('criticalPath', () => computeCriticalPath(tree));
  const errors = errorNodes(tree);
  time('nextError', () => jumpToError(view, errors, 0, 1));
  return { times, facts: { spans: data.size, groups: groups.count, rowsAtFirst, rowsExpanded, rowsCollapsed, matches: found.nodes.length, errors: errors.length } };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return +sorted[Math.floor(sorted.length / 2)]!.toFixed(2);
}

const results: Record<string, unknown> = {};
for (const size of [10_000, 100_000]) {
  const text = JSON.stringify(methodLevelTrace(size, 42));
  const runs = size >= 100_000 ? 7 : 21;
  for (let i = 0; i < 3; i++) once(text);
  const samples = Array.from({ length: runs }, () => once(text));
  const steps = Object.keys(samples[0]!.times) as Step[];
  const ms = Object.fromEntries(steps.map((s) => [s, median(samples.map((x) => x.times[s]))]));
  const loadToRows = ['parse', 'decode', 'tree', 'groups', 'firstFlatten'] as const;
  results[`spans${size}`] = {
    ...samples[0]!.facts,
    skeletonJsonBytes: Buffer.byteLength(text),
    ms,
    msUntilFirstRows: +loadToRows.reduce((sum, s) => sum + ms[s]!, 0).toFixed(2),
    msTotal: +steps.reduce((sum, s) => sum + ms[s]!, 0).toFixed(2),
  };
}
const result = {
  benchmark: 'dashboard-model',
  command: 'npx tsx bench/dashboard-model.ts',
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30) },
  ...results,
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'dashboard-model.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
