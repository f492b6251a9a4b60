import { buildTree, methodOf } from '../../analysis/span-tree.js';
import type { SpanView } from '../../query/span-view.js';
import { formatDuration } from '../format.js';
import type { CriticalPathAnswer, Finding, InsightsAnswer } from './analysis-answers.js';
import type { Paint } from './terminal.js';

/** A method's self time within one trace: where the trace's own time went. */
export interface Hotspot {
  serviceName: string;
  /** `code.namespace.function` when the span records it, else the span name. */
  method: string;
  spans: number;
  selfNano: bigint;
  /** Of the trace's total self time, 0..1. */
  share: number;
}

/** Hotspots shown by default; --json has them all. */
export const TOP_HOTSPOTS = 10;
/** Spans named per insight or finding before "+N more". */
const NAMED_SPANS = 3;

/**
 * Self time by method within the trace, most first. `selfTimes` from the critical-path route;
 * `spans` (the trace) supply each span's method; a span without code attributes counts under
 * its own name.
 */
export function hotspotsOf(selfTimes: CriticalPathAnswer['selfTimes'], spans: readonly SpanView[]): Hotspot[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const groups = new Map<string, Omit<Hotspot, 'share'>>();
  let total = 0n;
  for (const t of selfTimes) {
    const span = byId.get(t.spanId);
    const method = (span && methodOf(span)) || t.name;
    const key = `${t.serviceName}\u0000${method}`;
    const group = groups.get(key) ?? { serviceName: t.serviceName, method, spans: 0, selfNano: 0n };
    group.spans += 1;
    group.selfNano += BigInt(t.selfNano);
    total += BigInt(t.selfNano);
    groups.set(key, group);
  }
  return [...groups.values()]
    .sort((a, b) => (b.selfNano > a.selfNano ? 1 : b.selfNano < a.selfNano ? -1 : a.method.localeCompare(b.method)))
    .map((g) => ({ ...g, share: total > 0n ? Number((g.selfNano * 10_000n) / total) / 10_000 : 0 }));
}

/** One line of the compact critical path: the path's spans with the same name and service under the same chain of ancestors. */
export interface PathStep {
  serviceName: string;
  name: string;
  depth: number;
  /** Time on the critical path, all its segments together. */
  nano: bigint;
  /** Distinct spans merged (a loop's calls). */
  spans: number;
  failed: boolean;
}

/**
 * The critical path compacted for a terminal: segments of the same span, and of sibling spans
 * with the same service and name (calls in a loop), become one step with their time added;
 * steps in order of first appearance, indented by depth below the path's top.
 */
export function compactPath(segments: CriticalPathAnswer['segments'], spans: readonly SpanView[]): PathStep[] {
  const tree = buildTree(spans);
  const keyOf = (spanId: string): string => {
    const parts: string[] = [];
    for (let n = tree.byId.get(spanId); n; n = n.parent) parts.push(`${n.span.serviceName}\u0000${n.span.name}`);
    return parts.reverse().join('\u0001');
  };
  const steps = new Map<string, PathStep & { ids: Set<string> }>();
  for (const seg of segments) {
    const key = tree.byId.has(seg.spanId) ? keyOf(seg.spanId) : `?${seg.spanId}`;
    const node = tree.byId.get(seg.spanId);
    const step = steps.get(key) ?? { serviceName: seg.serviceName, name: seg.name, depth: node?.depth ?? 0, nano: 0n, spans: 0, failed: false, ids: new Set<string>() };
    step.nano += BigInt(seg.durationNano);
    step.ids.add(seg.spanId);
    step.spans = step.ids.size;
    step.failed ||= node?.span.status.code === 'Error';
    steps.set(key, step);
  }
  const list = [...steps.values()];
  const top = Math.min(...list.map((s) => s.depth));
  return list.map(({ ids: _ids, ...step }) => ({ ...step, depth: step.depth - top }));
}

function percent(part: bigint, whole: bigint): string {
  return whole > 0n ? `${(Number((part * 1000n) / whole) / 10).toFixed(1)}%` : '—';
}

/** The report `flowtrace analyze` prints. */
export function formatAnalysis(path: CriticalPathAnswer, insights: InsightsAnswer, spans: readonly SpanView[], paint: Paint): string {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const total = BigInt(path.durationNano);
  const services = new Set(spans.map((s) => s.serviceName));
  const errors = spans.filter((s) => s.status.code === 'Error').length;
  const lines: string[] = [];
  lines.push(
    paint.bold(`trace ${path.traceId}`) +
      `  ${path.spanCount} spans · ${services.size} services · ${formatDuration(total)}` +
      (errors > 0 ? '  ' + paint.red(`${errors} error${errors === 1 ? '' : 's'}`) : ''),
  );
  if (insights.readRestricted) lines.push(paint.yellow('  your read rules hide some services: their spans look missing'));

  const steps = compactPath(path.segments, spans);
  lines.push('', paint.bold('Critical path') + `  ${formatDuration(total)}, ${path.segments.length} segments in ${steps.length} steps`);
  for (const step of steps) {
    const failed = step.failed ? paint.red(' ✗') : '';
    const times = step.spans > 1 ? paint.dim(` ×${step.spans}`) : '';
    lines.push(`  ${formatDuration(step.nano).padStart(9)} ${percent(step.nano, total).padStart(6)}  ${'  '.repeat(step.depth)}${step.name} ${paint.dim(`[${step.serviceName}]`)}${times}${failed}`);
  }
  if (path.asyncSpanIds.length > 0) lines.push(paint.dim(`  off the path (async): ${nameSpans(path.asyncSpanIds, path.asyncSpanIds.length, byId)}`));

  lines.push('', paint.bold('Insights') + `  ${insights.insights.length === 0 ? 'none' : insights.insights.length}`);
  for (const i of insights.insights) {
    const impact = i.impactNano !== undefined && i.impactNano !== '0' ? `  impact ${formatDuration(BigInt(i.impactNano))}` : '';
    const mark = i.rule === 'error-origin' || i.rule === 'retries' ? paint.red('✗') : paint.yellow('!');
    lines.push(`  ${mark} ${paint.bold(i.rule)}  ${i.summary}${impact}`);
    lines.push(`      spans: ${nameSpans(i.spanIds, i.spanCount, byId)}`);
  }

  const c = insights.completeness;
  const findings: Array<[string, Finding]> = [
    ...c.orphans.map((f): [string, Finding] => ['orphan', f]),
    ...c.unansweredClientSpans.map((f): [string, Finding] => ['unanswered call', f]),
    ...c.missingRemoteParents.map((f): [string, Finding] => ['missing remote parent', f]),
  ];
  lines.push('', paint.bold('Completeness') + '  ' + (c.complete ? paint.green('complete') : paint.yellow(`${findings.length} finding${findings.length === 1 ? '' : 's'}`)));
  for (const [what, f] of findings) {
    lines.push(`  ${what}: ${f.name} ${paint.dim(`[${f.serviceName}] ${f.spanId}`)}  ${f.reason}`);
    lines.push(`      ${f.explanation}`);
  }

  const hotspots = hotspotsOf(path.selfTimes, spans);
  lines.push('', paint.bold('Hotspots') + '  self time by method in this trace');
  for (const h of hotspots.slice(0, TOP_HOTSPOTS)) {
    lines.push(`  ${formatDuration(h.selfNano).padStart(9)} ${`${(h.share * 100).toFixed(1)}%`.padStart(6)}  ${h.method} ${paint.dim(`[${h.serviceName}]${h.spans > 1 ? ` ×${h.spans}` : ''}`)}`);
  }
  if (hotspots.length > TOP_HOTSPOTS) lines.push(paint.dim(`  … ${hotspots.length - TOP_HOTSPOTS} more (--json has them all)`));
  return lines.join('\n') + '\n';
}

/** Spans by name and service, grouped (`SELECT users ×12 [db]`), with the first IDs, then "+N more". */
export function nameSpans(spanIds: readonly string[], count: number, byId: ReadonlyMap<string, SpanView>): string {
  const groups = new Map<string, { label: string; ids: string[] }>();
  for (const id of spanIds) {
    const span = byId.get(id);
    const label = span ? `${span.name} [${span.serviceName}]` : '(not readable)';
    const group = groups.get(label) ?? { label, ids: [] };
    group.ids.push(id);
    groups.set(label, group);
  }
  const parts = [...groups.values()].map((g) => {
    const shown = g.ids.slice(0, NAMED_SPANS).join(', ');
    const more = g.ids.length > NAMED_SPANS ? `, +${g.ids.length - NAMED_SPANS} more` : '';
    return `${g.label}${g.ids.length > 1 ? ` ×${g.ids.length}` : ''} (${shown}${more})`;
  });
  const unlisted = count - spanIds.length;
  return parts.join('; ') + (unlisted > 0 ? `; +${unlisted} more spans` : '');
}
