/**
 * `/compare?a=&b=`: the page's URL, the API call it becomes, and the shaping of the answer of
 * `GET /api/compare` (collector/src/analysis/compare.ts) into what the page draws: one summary
 * and one row per span path, parents before children, each marked as only in A, only in B,
 * changed (count or duration) or unchanged context. Nanoseconds stay BigInt until formatted.
 */
import { queryString } from '../api/client';

/** `b=typical`: compare trace A with the typical (median) shape of its root operation. */
export const TYPICAL = 'typical';
/** How the API joins the steps of a path, and marks a path whose top span's parent is missing. */
const STEP_SEPARATOR = ' > ';
const ORPHAN_MARK = '…';

/** One side of the answer; `traces` only for `b=typical` (how many traces its median is of), which has no duration. */
export interface CompareSide {
  traceId: string;
  spanCount: number;
  durationNano?: string;
  traces?: number;
}

export interface PathDiff {
  path: string;
  depth: number;
  countA: number;
  countB: number;
  totalNanoA: string;
  totalNanoB: string;
  /** totalNanoB - totalNanoA. */
  deltaNano: string;
}

export interface MissingPath extends PathDiff {
  /** Paths below this one missing too (not listed separately). */
  pathsBelow: number;
}

export interface CompareAnswer {
  a: CompareSide;
  b: CompareSide;
  onlyInA: MissingPath[];
  onlyInB: MissingPath[];
  changed: PathDiff[];
  unchangedPaths: number;
  truncated: boolean;
}

// ---- the URL ------------------------------------------------------------------------------

export interface CompareQuery {
  a: string;
  b: string;
}

/** The two IDs a URL names (trimmed; '' when absent). */
export function queryFromUrl(search: URLSearchParams): CompareQuery {
  return { a: (search.get('a') ?? '').trim(), b: (search.get('b') ?? '').trim() };
}

/** Both IDs given: the page can ask the API (which checks them and names what is wrong). */
export function isComplete(q: CompareQuery): boolean {
  return q.a !== '' && q.b !== '';
}

/** The page's own URL for two IDs: `/compare?a=…&b=…`. */
export function compareUrl(q: CompareQuery): string {
  return `/compare${queryString({ a: q.a.trim(), b: q.b.trim() })}`;
}

/** The API call answering the page. */
export function apiPathOf(q: CompareQuery): string {
  return `/api/compare${queryString({ a: q.a, b: q.b })}`;
}

/** Normalises what a user types or pastes: whitespace dropped, hex lower-cased, `Typical` → `typical`. */
export function normaliseId(text: string): string {
  const t = text.trim();
  return /^[0-9a-f]+$/i.test(t) || t.toLowerCase() === TYPICAL ? t.toLowerCase() : t;
}

/** A problem with a typed ID, shown beside the form before asking the API; undefined when fine. */
export function idProblem(text: string, side: 'a' | 'b'): string | undefined {
  const t = normaliseId(text);
  if (t === '') return `${side.toUpperCase()}: enter a trace ID`;
  if (side === 'b' && t === TYPICAL) return undefined;
  if (/^[0-9a-f]{32}$/.test(t) || /^[0-9a-f]{16}$/.test(t)) return undefined;
  return `${side.toUpperCase()}: a trace ID is 32 hex digits${side === 'b' ? ', or "typical"' : ''}`;
}

// ---- one step of a path -------------------------------------------------------------------

/** One step: `service:span name(method)` as compare.ts builds it. */
export interface Step {
  service: string;
  name: string;
  /** The method (`code.namespace.function`) when the span records one other than its name. */
  method: string;
}

/**
 * The parts of a step. The API joins them without escaping, so a `:` in a service name or a
 * `(…)` ending a span name is read as best it can be; the raw step stays available as the title.
 */
export function parseStep(step: string): Step {
  if (step === ORPHAN_MARK) return { service: '', name: '(missing parent)', method: '' };
  const colon = step.indexOf(':');
  const service = colon < 0 ? '' : step.slice(0, colon);
  let name = colon < 0 ? step : step.slice(colon + 1);
  let method = '';
  if (name.endsWith(')')) {
    const open = name.lastIndexOf('(');
    if (open > 0) {
      method = name.slice(open + 1, -1);
      name = name.slice(0, open);
    }
  }
  return { service, name, method };
}

// ---- rows ---------------------------------------------------------------------------------

/**
 * - `only-a`/`only-b`: the subtree exists on one side only (`pathsBelow` more paths under it);
 * - `changed`: in both, with a different count or total duration;
 * - `context`: an ancestor of a listed path, in both and unchanged (or, when the answer was
 *   cut at its limit, possibly changed but not listed: `listed` false says so).
 */
export type RowKind = 'only-a' | 'only-b' | 'changed' | 'context';

export interface CompareRow {
  path: string;
  /** Steps from the top (0 for a top span). */
  depth: number;
  step: Step;
  /** The raw last step. */
  rawStep: string;
  kind: RowKind;
  /** Counts and total durations (ns); undefined for context rows (the API lists only differences). */
  countA?: number;
  countB?: number;
  totalA?: bigint;
  totalB?: bigint;
  /** B − A in ns. */
  delta?: bigint;
  /** The count differs (a loop ran more or fewer times). */
  countChanged: boolean;
  /** How the duration moved from A to B. */
  change: DurationChange;
  pathsBelow: number;
}

/** `slower`/`faster`: B's total differs from A's by at least {@link SIGNIFICANT_RATIO} and {@link SIGNIFICANT_NS}. */
export type DurationChange = 'slower' | 'faster' | 'same' | 'unknown';

/** A change smaller than 10% of the larger side, or than 100 µs, is noise (timer and scheduling jitter). */
export const SIGNIFICANT_RATIO = 0.1;
export const SIGNIFICANT_NS = 100_000n;

export function durationChange(a: bigint, b: bigint): DurationChange {
  const delta = b - a;
  const abs = delta < 0n ? -delta : delta;
  const larger = a > b ? a : b;
  if (abs === 0n) return 'same';
  if (abs < SIGNIFICANT_NS || Number(abs) < Number(larger) * SIGNIFICANT_RATIO) return 'same';
  return delta > 0n ? 'slower' : 'faster';
}

/**
 * The answer's paths as rows in tree order: every listed path plus its ancestors (context),
 * parents before children; siblings biggest change first, then by name, so the eye lands on
 * what moved the most.
 */
export function rowsOf(answer: CompareAnswer): CompareRow[] {
  const rows = new Map<string, CompareRow>();
  const add = (d: PathDiff, kind: RowKind, pathsBelow: number) => {
    const totalA = BigInt(d.totalNanoA);
    const totalB = BigInt(d.totalNanoB);
    const steps = d.path.split(STEP_SEPARATOR);
    const rawStep = steps[steps.length - 1]!;
    rows.set(d.path, {
      path: d.path,
      depth: steps.length - 1,
      step: parseStep(rawStep),
      rawStep,
      kind,
      countA: d.countA,
      countB: d.countB,
      totalA,
      totalB,
      delta: BigInt(d.deltaNano),
      countChanged: d.countA !== d.countB,
      change: kind === 'changed' ? durationChange(totalA, totalB) : kind === 'only-a' ? 'faster' : 'slower',
      pathsBelow,
    });
  };
  for (const d of answer.changed) add(d, 'changed', 0);
  for (const d of answer.onlyInA) add(d, 'only-a', d.pathsBelow);
  for (const d of answer.onlyInB) add(d, 'only-b', d.pathsBelow);
  // Ancestors not listed are in both traces: context rows, so every row hangs under its parent.
  for (const path of [...rows.keys()]) {
    const steps = path.split(STEP_SEPARATOR);
    for (let i = 1; i < steps.length; i++) {
      const prefix = steps.slice(0, i).join(STEP_SEPARATOR);
      if (rows.has(prefix)) continue;
      const rawStep = steps[i - 1]!;
      rows.set(prefix, { path: prefix, depth: i - 1, step: parseStep(rawStep), rawStep, kind: 'context', countChanged: false, change: 'unknown', pathsBelow: 0 });
    }
  }
  return treeOrder([...rows.values()]);
}

/** Parents before children; siblings by |delta| (context rows by their biggest descendant), then name. */
function treeOrder(rows: CompareRow[]): CompareRow[] {
  const children = new Map<string, CompareRow[]>();
  const weight = new Map<string, bigint>();
  for (const row of rows) {
    const parent = parentOf(row.path);
    (children.get(parent) ?? children.set(parent, []).get(parent)!).push(row);
    // A row's weight is the biggest |delta| in its subtree.
    const abs = row.delta === undefined ? 0n : row.delta < 0n ? -row.delta : row.delta;
    for (let p: string | undefined = row.path; p !== undefined; p = p === '' ? undefined : parentOf(p)) {
      if ((weight.get(p) ?? -1n) < abs) weight.set(p, abs);
    }
  }
  for (const list of children.values()) {
    list.sort((x, y) => {
      const wx = weight.get(x.path) ?? 0n;
      const wy = weight.get(y.path) ?? 0n;
      return wx > wy ? -1 : wx < wy ? 1 : x.path < y.path ? -1 : x.path > y.path ? 1 : 0;
    });
  }
  const out: CompareRow[] = [];
  const stack = [...(children.get('') ?? [])].reverse();
  while (stack.length > 0) {
    const row = stack.pop()!;
    out.push(row);
    const below = children.get(row.path);
    if (below) for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
  }
  return out;
}

/** The parent path ('' for a top step). */
function parentOf(path: string): string {
  const at = path.lastIndexOf(STEP_SEPARATOR);
  return at < 0 ? '' : path.slice(0, at);
}

// ---- the summary --------------------------------------------------------------------------

export interface CompareSummary {
  /** B is the typical shape of A's operation, not a trace. */
  typical: boolean;
  /** How many traces the typical shape is the median of. */
  typicalOf?: number;
  spansA: number;
  spansB: number;
  durationA?: bigint;
  durationB?: bigint;
  /** B − A, when both durations are known. */
  durationDelta?: bigint;
  change: DurationChange;
  onlyInA: number;
  onlyInB: number;
  changed: number;
  /** Of the changed paths, those whose span count differs. */
  countChanged: number;
  unchanged: number;
  /** A list was cut at the API's limit: more differences exist than shown. */
  truncated: boolean;
  /** Nothing differs at all. */
  identical: boolean;
}

export function summaryOf(answer: CompareAnswer): CompareSummary {
  const typical = answer.b.traceId === TYPICAL;
  const durationA = answer.a.durationNano === undefined ? undefined : BigInt(answer.a.durationNano);
  const durationB = typical || answer.b.durationNano === undefined ? undefined : BigInt(answer.b.durationNano);
  const both = durationA !== undefined && durationB !== undefined;
  const onlyInA = answer.onlyInA.reduce((n, d) => n + 1 + d.pathsBelow, 0);
  const onlyInB = answer.onlyInB.reduce((n, d) => n + 1 + d.pathsBelow, 0);
  return {
    typical,
    typicalOf: typical ? answer.b.traces : undefined,
    spansA: answer.a.spanCount,
    spansB: answer.b.spanCount,
    durationA,
    durationB,
    durationDelta: both ? durationB - durationA : undefined,
    change: both ? durationChange(durationA, durationB) : 'unknown',
    onlyInA,
    onlyInB,
    changed: answer.changed.length,
    countChanged: answer.changed.filter((d) => d.countA !== d.countB).length,
    unchanged: answer.unchangedPaths,
    truncated: answer.truncated,
    identical: onlyInA === 0 && onlyInB === 0 && answer.changed.length === 0 && !answer.truncated,
  };
}

/** A signed duration difference as `+12.3 ms` / `−4 µs` / `±0`, with `format` for the magnitude. */
export function signedDelta(delta: bigint, format: (ns: bigint) => string): string {
  if (delta === 0n) return '±0';
  return delta > 0n ? `+${format(delta)}` : `−${format(-delta)}`;
}

/** A signed count difference: `+3`, `−1`, `±0`. */
export function signedCount(a: number, b: number): string {
  const d = b - a;
  return d === 0 ? '±0' : d > 0 ? `+${d}` : `−${-d}`;
}
