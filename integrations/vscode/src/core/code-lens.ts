/**
 * What the CodeLens above a traced function says and on which line it sits.
 *
 * Text: "312 calls · p99 41 ms · 2 errors, last hour" (errors only when there were some). One
 * function reported by several services (or under several reported paths) is one lens: calls
 * and errors summed, the highest p99 shown; the tooltip lists each service. Clicking a lens opens
 * the trace of the slowest call (of the group with the highest p99).
 *
 * Placement: agents report `code.line.number` where the function was defined when the code
 * ran. The lens goes on that line when it still names the function; otherwise (the file was
 * edited since) on the nearest line that defines a function of that name (`name(`, `def name`,
 * `fn name`, `func name`, `function name`, `name =`, `name:`); otherwise it is not shown — a
 * lens on the wrong function would be worse than none.
 */
import type { MethodStats } from './api-client.js';

export interface PlacedLens {
  /** 0-based line of the document. */
  line: number;
  text: string;
  tooltip: string;
  /** The function as reported (`code.function.name`). */
  function: string;
  calls: number;
  errors: number;
  /** The trace of the slowest call among those counted: clicking the lens opens its waterfall. */
  slowestTraceId: string;
}

export interface Placement {
  lenses: PlacedLens[];
  /** Functions reported for this file that no line of it defines any more. */
  unplaced: string[];
}

const WINDOW_LABELS: Record<string, string> = {
  '15m': 'last 15 minutes',
  '1h': 'last hour',
  '6h': 'last 6 hours',
  '24h': 'last 24 hours',
  '168h': 'last 7 days',
};

export function windowLabel(lookback: string): string {
  return WINDOW_LABELS[lookback] ?? `last ${lookback}`;
}

/** `41 ms`, `0.4 ms`, `2.5 s`, from nanoseconds. */
export function formatMs(ns: number): string {
  const ms = ns / 1e6;
  if (ms >= 1000) return `${trim(ms / 1000)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 0.1) return `${trim(ms)} ms`;
  return `${Math.round(ns / 1000)} µs`;
}

function trim(n: number): string {
  return n >= 10 ? n.toFixed(0) : n.toFixed(1).replace(/\.0$/, '');
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export interface FunctionStats {
  function: string;
  line: number;
  calls: number;
  errors: number;
  p99Ns: number;
  /** The slowest call's trace of the group with the highest p99. */
  slowestTraceId: string;
  byService: Array<{ service: string; calls: number; errors: number; p99Ns: number }>;
}

/** One entry per (function, reported line), across services and reported paths. */
export function mergeByFunction(methods: readonly MethodStats[]): FunctionStats[] {
  const merged = new Map<string, FunctionStats>();
  for (const m of methods) {
    const key = `${m.line}\u0000${m.function}`;
    const p99Ns = Number(m.p99Nano);
    let entry = merged.get(key);
    if (!entry) {
      entry = { function: m.function, line: m.line, calls: 0, errors: 0, p99Ns: -1, slowestTraceId: '', byService: [] };
      merged.set(key, entry);
    }
    entry.calls += m.calls;
    entry.errors += m.errors;
    if (p99Ns > entry.p99Ns) {
      entry.p99Ns = p99Ns;
      entry.slowestTraceId = m.slowestTraceId;
    }
    const service = entry.byService.find((s) => s.service === m.service);
    if (service) {
      service.calls += m.calls;
      service.errors += m.errors;
      service.p99Ns = Math.max(service.p99Ns, p99Ns);
    } else {
      entry.byService.push({ service: m.service, calls: m.calls, errors: m.errors, p99Ns });
    }
  }
  return [...merged.values()];
}

export function lensText(stats: Pick<FunctionStats, 'calls' | 'errors' | 'p99Ns'>, lookback: string): string {
  const parts = [plural(stats.calls, 'call', 'calls'), `p99 ${formatMs(stats.p99Ns)}`];
  if (stats.errors > 0) parts.push(plural(stats.errors, 'error', 'errors'));
  return `${parts.join(' · ')}, ${windowLabel(lookback)}`;
}

export function lensTooltip(stats: FunctionStats, lookback: string): string {
  const lines = stats.byService.map((s) => `${s.service}: ${plural(s.calls, 'call', 'calls')}, p99 ${formatMs(s.p99Ns)}, ${plural(s.errors, 'error', 'errors')}`);
  return `${stats.function} (${windowLabel(lookback)})\n${lines.join('\n')}\nClick to open the slowest call's trace.`;
}

/** The name a source line would spell: the last segment of `Class.method`, `mod::fn`, `pkg.(*T).M`. */
export function shortName(fn: string): string {
  const parts = fn.split(/::|\.|#/).filter((p) => p !== '');
  const last = parts[parts.length - 1] ?? fn;
  return last.replace(/[()*]/g, '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A line that defines (or assigns) a function named `name`. */
export function definesFunction(lineText: string, name: string): boolean {
  if (name === '') return false;
  const n = escapeRegExp(name);
  // `function name`, `def name`, `fn name`, `func (r *T) name`, …
  if (new RegExp(`\\b(?:function\\*?|def|fn|func|fun|sub)\\s+(?:\\([^)]*\\)\\s*)?${n}\\b`).test(lineText)) return true;
  // `name = async (…) =>`, `name: function`, …
  if (new RegExp(`(?:^|[^\\w$.])${n}\\s*[:=]\\s*(?:async\\b|function\\b|\\(|[\\w$]+\\s*=>)`).test(lineText)) return true;
  // A method: `  name(args) {`, `public Order name(…)` — not a call (`.name(`, `return name(`, `name(x);`).
  if (!new RegExp(`(?:^|[^\\w$.])${n}\\s*(?:<[^>]*>\\s*)?\\(`).test(lineText)) return false;
  if (new RegExp(`(?:\\breturn|\\bawait|\\bnew|\\bthrow|[=!(,])\\s*${n}\\s*\\(`).test(lineText)) return false;
  return !/;\s*$/.test(lineText);
}

/** Where each function's lens goes in a document of `lines` (see the module comment). */
export function placeLenses(methods: readonly MethodStats[], lines: readonly string[], lookback: string): Placement {
  const lenses: PlacedLens[] = [];
  const unplaced: string[] = [];
  for (const stats of mergeByFunction(methods)) {
    const name = shortName(stats.function);
    const line = findDefinition(lines, name, stats.line - 1);
    if (line === undefined) {
      unplaced.push(stats.function);
      continue;
    }
    lenses.push({
      line,
      text: lensText(stats, lookback),
      tooltip: lensTooltip(stats, lookback),
      function: stats.function,
      calls: stats.calls,
      errors: stats.errors,
      slowestTraceId: stats.slowestTraceId,
    });
  }
  lenses.sort((a, b) => a.line - b.line || b.calls - a.calls);
  return { lenses, unplaced };
}

/**
 * The reported line when it defines `name` (or names it, for agents reporting the line of a
 * decorator or annotation just above: up to two lines below are looked at); else the nearest
 * definition; undefined when none.
 */
export function findDefinition(lines: readonly string[], name: string, reported: number): number | undefined {
  if (name === '') return undefined;
  if (reported >= 0 && reported < lines.length) {
    for (let k = reported; k < Math.min(lines.length, reported + 3); k++) if (definesFunction(lines[k]!, name)) return k;
  }
  let best: number | undefined;
  for (let k = 0; k < lines.length; k++) {
    if (!definesFunction(lines[k]!, name)) continue;
    if (best === undefined || Math.abs(k - reported) < Math.abs(best - reported)) best = k;
  }
  return best;
}
