import type { SpanView } from '../query/span-view.js';
import { callKey, callOf, type Call } from './calls.js';
import { selfTimeOf } from './critical-path.js';
import { buildTree, byStart, isError, methodOf, type SpanTree, type TreeNode } from './span-tree.js';

/**
 * Rule-based insights on one trace. Every insight names its spans; each rule and its
 * threshold is stated where it is defined. The rules only read what the spans say: they point
 * at likely problems, they do not prove them.
 */

export type InsightRule = 'n-plus-one' | 'sequential-calls' | 'error-origin' | 'retries' | 'slow-method';

export interface Insight {
  rule: InsightRule;
  /** One line for a person: what, where, how much. */
  summary: string;
  /** The spans the insight is about, most relevant first; capped at MAX_SPAN_IDS_PER_INSIGHT. */
  spanIds: string[];
  /** How many spans the insight is about (more than `spanIds` holds when capped). */
  spanCount: number;
  /** The span under which the rule found them ('' when not one parent). */
  parentSpanId: string;
  /** The time at stake, in nanoseconds: spent on the repeated calls, lost to retries, saved by parallel calls, the span's own duration. */
  impactNs: bigint;
  /** The facts behind the insight (statement, counts, shares, exception…). */
  evidence: Record<string, string | number | boolean>;
}

/**
 * N+1: this many calls or more with the same normalised statement or route under one parent.
 * Two or three identical calls are often deliberate (a cache check, a re-read after a write);
 * five is a loop issuing one call per item of an earlier result.
 */
export const N_PLUS_ONE_MIN_CALLS = 5;
/**
 * Sequential calls are reported only when running them in parallel would save at least this
 * share of their parent's duration: smaller gains are noise next to the parent's own work.
 */
export const SEQUENTIAL_MIN_SAVING_SHARE = 0.1;
/**
 * Two calls count as back to back only when the gap between them is at most this long (1 ms):
 * a longer gap is time the parent spent on something, perhaps on the first call's answer.
 */
export const SEQUENTIAL_MAX_GAP_NS = 1_000_000n;
/** A method "dominates" when its spans hold at least half of the trace's self time. */
export const SLOW_METHOD_MIN_SHARE = 0.5;
/** …and at least 1 ms of it: a sub-millisecond trace has nothing worth optimising in one method. */
export const SLOW_METHOD_MIN_SELF_NS = 1_000_000n;
/** Findings per rule, most impact first: a trace with 10,000 errors needs the first few. */
export const MAX_INSIGHTS_PER_RULE = 20;
export const MAX_SPAN_IDS_PER_INSIGHT = 100;
/** Exception messages and statements are cut to this many characters in the evidence. */
const MAX_TEXT = 1000;

export function insights(spans: readonly SpanView[]): Insight[] {
  return insightsOf(buildTree(spans));
}

export function insightsOf(tree: SpanTree): Insight[] {
  const calls = new Map<TreeNode, Call>();
  for (const node of tree.nodes) {
    const call = callOf(node.span);
    if (call) calls.set(node, call);
  }
  return [
    ...top(nPlusOne(calls)),
    ...top(sequentialCalls(tree, calls)),
    // Deepest first, as found: the order is the point.
    ...errorOrigins(tree).slice(0, MAX_INSIGHTS_PER_RULE),
    ...top(retries(calls)),
    ...top(slowMethods(tree)),
  ];
}

/**
 * The span repeated calls are grouped under: the call's parent, or — when methods are traced
 * — the nearest ancestor of the same service that is not a method span, so that a loop calling
 * a traced repository method once per row (each SELECT under its own method span) is caught.
 */
function anchorOf(node: TreeNode): TreeNode | undefined {
  let at = node.parent;
  while (at && at.parent && methodOf(at.span) !== '' && at.parent.span.serviceName === at.span.serviceName) at = at.parent;
  return at;
}

/** Calls grouped by anchor and call key, each group in start order. */
function repeatedCalls(calls: ReadonlyMap<TreeNode, Call>): Array<{ anchor: TreeNode; call: Call; nodes: TreeNode[] }> {
  const groups = new Map<string, { anchor: TreeNode; call: Call; nodes: TreeNode[] }>();
  for (const [node, call] of calls) {
    const anchor = anchorOf(node);
    if (!anchor) continue;
    const key = `${anchor.span.spanId}\n${callKey(call)}`;
    const group = groups.get(key);
    if (group) group.nodes.push(node);
    else groups.set(key, { anchor, call, nodes: [node] });
  }
  for (const group of groups.values()) group.nodes.sort(byStart);
  return [...groups.values()];
}

/** N+1: at least N_PLUS_ONE_MIN_CALLS database or HTTP calls with the same statement or route under one anchor. */
function nPlusOne(calls: ReadonlyMap<TreeNode, Call>): Insight[] {
  const out: Insight[] = [];
  for (const { anchor, call, nodes } of repeatedCalls(calls)) {
    if ((call.type !== 'db' && call.type !== 'http') || nodes.length < N_PLUS_ONE_MIN_CALLS) continue;
    const total = sum(nodes.map(durationOf));
    out.push(
      insight('n-plus-one', `${nodes.length} identical ${call.type === 'db' ? 'queries' : 'HTTP calls'} under ${label(anchor)}: ${cut(call.operation, 120)}`, nodes, anchor, total, {
        callType: call.type,
        target: call.target,
        operation: cut(call.operation, MAX_TEXT),
        calls: nodes.length,
        totalNs: total.toString(),
      }),
    );
  }
  return out;
}

/**
 * Sequential calls that could run in parallel, conservatively: under one parent, a run of at
 * least two back-to-back calls (each starts at most SEQUENTIAL_MAX_GAP_NS after the previous
 * ended, none overlaps the next) that are all read-only (SELECT, GET, HEAD…: no write the
 * next call could depend on), none failed, each to a different target or route, with no other
 * child of the parent starting between them (work there may compute the next call's input);
 * and parallelising them would save at least SEQUENTIAL_MIN_SAVING_SHARE of the parent's
 * duration. A data dependency the spans cannot show (the second call uses the first's answer)
 * is still possible: the insight is a candidate to check, named as such.
 */
function sequentialCalls(tree: SpanTree, calls: ReadonlyMap<TreeNode, Call>): Insight[] {
  const out: Insight[] = [];
  for (const parent of tree.nodes) {
    let run: TreeNode[] = [];
    const close = () => {
      if (run.length >= 2) {
        const durations = run.map(durationOf);
        const saving = sum(durations) - durations.reduce((m, d) => (d > m ? d : m), 0n);
        const parentNs = durationOf(parent);
        if (parentNs > 0n && Number(saving) >= SEQUENTIAL_MIN_SAVING_SHARE * Number(parentNs)) {
          out.push(
            insight('sequential-calls', `${run.length} independent-looking calls under ${label(parent)} run one after another; in parallel they could save ${ms(saving)}`, run, parent, saving, {
              calls: run.length,
              operations: cut(run.map((n) => calls.get(n)!.operation).join(' | '), MAX_TEXT),
              sequentialNs: sum(durations).toString(),
              savingNs: saving.toString(),
              savingShareOfParent: round(Number(saving) / Number(parentNs)),
            }),
          );
        }
      }
      run = [];
    };
    for (const child of parent.children) {
      const call = calls.get(child);
      const eligible = call !== undefined && call.readOnly && !call.failed && call.type !== 'client';
      if (!eligible) {
        close();
        continue;
      }
      const last = run[run.length - 1];
      const follows = last !== undefined && child.startNs >= last.endNs && child.startNs - last.endNs <= SEQUENTIAL_MAX_GAP_NS;
      const repeated = run.some((n) => callKey(calls.get(n)!) === callKey(call));
      if (last !== undefined && (!follows || repeated)) close();
      run.push(child);
    }
    close();
  }
  return out;
}

/**
 * Error origins: each error span with no error span below it, deepest first — where the
 * failure started, with its exception (the last `exception` event) and the error spans above
 * it that it propagated through.
 */
function errorOrigins(tree: SpanTree): Insight[] {
  const errorBelow = new Set<TreeNode>();
  for (const node of [...tree.nodes].sort((a, b) => b.depth - a.depth)) {
    if (node.parent && (isError(node.span) || errorBelow.has(node))) errorBelow.add(node.parent);
  }
  const origins = tree.nodes.filter((n) => isError(n.span) && !errorBelow.has(n)).sort((a, b) => b.depth - a.depth || byStart(a, b));
  return origins.map((origin) => {
    const chain = [origin];
    for (let at = origin.parent; at; at = at.parent) if (isError(at.span)) chain.push(at);
    const exception = [...origin.span.events].reverse().find((e) => e.name === 'exception');
    const type = exception ? text(exception.attributes['exception.type']) : '';
    const message = exception ? text(exception.attributes['exception.message']) : '';
    const what = type !== '' || message !== '' ? `${type}${type && message ? ': ' : ''}${message}` : origin.span.status.message || 'status Error';
    return insight('error-origin', `error starts in ${label(origin)}: ${cut(what, 200)}`, chain, origin.parent, durationOf(origin), {
      depth: origin.depth,
      exceptionType: cut(type, MAX_TEXT),
      exceptionMessage: cut(message, MAX_TEXT),
      statusMessage: cut(origin.span.status.message, MAX_TEXT),
      propagatedThrough: chain.length - 1,
    });
  });
}

/**
 * Retries: two or more calls with the same key under one anchor, one after another (each starts
 * after the previous ended), every attempt but the last failed. `impactNs` is the time from the
 * first attempt's start to the last one's: what the retries added.
 */
function retries(calls: ReadonlyMap<TreeNode, Call>): Insight[] {
  const out: Insight[] = [];
  for (const { anchor, call, nodes } of repeatedCalls(calls)) {
    let run: TreeNode[] = [];
    const close = () => {
      if (run.length >= 2) {
        const last = run[run.length - 1]!;
        const succeeded = !calls.get(last)!.failed;
        const lost = last.startNs - run[0]!.startNs;
        out.push(
          insight('retries', `${run.length} attempts of ${cut(call.operation, 120)} under ${label(anchor)}, ${succeeded ? 'the last succeeded' : 'all failed'}`, run, anchor, lost, {
            callType: call.type,
            target: call.target,
            operation: cut(call.operation, MAX_TEXT),
            attempts: run.length,
            failedAttempts: run.filter((n) => calls.get(n)!.failed).length,
            succeeded,
            lostNs: lost.toString(),
          }),
        );
      }
      run = [];
    };
    for (const node of nodes) {
      const previous = run[run.length - 1];
      if (previous && !(calls.get(previous)!.failed && node.startNs >= previous.endNs)) close();
      run.push(node);
    }
    close();
  }
  return out;
}

/** Slow methods: a method (`code.function.name`, per service) whose spans hold at least SLOW_METHOD_MIN_SHARE of the trace's self time. */
function slowMethods(tree: SpanTree): Insight[] {
  let total = 0n;
  const byMethod = new Map<string, { method: string; service: string; selfNs: bigint; nodes: Array<{ node: TreeNode; selfNs: bigint }> }>();
  for (const node of tree.nodes) {
    const selfNs = selfTimeOf(node);
    total += selfNs;
    const method = methodOf(node.span);
    if (method === '') continue;
    const key = `${node.span.serviceName}\n${method}`;
    const entry = byMethod.get(key) ?? { method, service: node.span.serviceName, selfNs: 0n, nodes: [] };
    entry.selfNs += selfNs;
    entry.nodes.push({ node, selfNs });
    byMethod.set(key, entry);
  }
  const out: Insight[] = [];
  if (total === 0n) return out;
  for (const m of byMethod.values()) {
    const share = Number(m.selfNs) / Number(total);
    if (share < SLOW_METHOD_MIN_SHARE || m.selfNs < SLOW_METHOD_MIN_SELF_NS) continue;
    const nodes = m.nodes.sort((a, b) => (a.selfNs > b.selfNs ? -1 : a.selfNs < b.selfNs ? 1 : byStart(a.node, b.node))).map((x) => x.node);
    const parents = new Set(nodes.map((n) => n.parent));
    out.push(
      insight('slow-method', `${m.method} (${m.service}) holds ${Math.round(share * 100)}% of the trace's self time (${ms(m.selfNs)} in ${nodes.length} call${nodes.length === 1 ? '' : 's'})`, nodes, parents.size === 1 ? nodes[0]!.parent : undefined, m.selfNs, {
        method: m.method,
        service: m.service,
        calls: nodes.length,
        selfNs: m.selfNs.toString(),
        traceSelfNs: total.toString(),
        share: round(share),
      }),
    );
  }
  return out;
}

function insight(rule: InsightRule, summary: string, nodes: readonly TreeNode[], parent: TreeNode | undefined, impactNs: bigint, evidence: Insight['evidence']): Insight {
  return {
    rule,
    summary,
    spanIds: nodes.slice(0, MAX_SPAN_IDS_PER_INSIGHT).map((n) => n.span.spanId),
    spanCount: nodes.length,
    parentSpanId: parent?.span.spanId ?? '',
    impactNs,
    evidence,
  };
}

/** The MAX_INSIGHTS_PER_RULE findings of one rule with the most impact (stable for ties). */
function top(found: Insight[]): Insight[] {
  return found
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.impactNs > b.f.impactNs ? -1 : a.f.impactNs < b.f.impactNs ? 1 : a.i - b.i))
    .slice(0, MAX_INSIGHTS_PER_RULE)
    .map((x) => x.f);
}

function durationOf(node: TreeNode): bigint {
  return node.endNs - node.startNs;
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((s, v) => s + v, 0n);
}

function label(node: TreeNode): string {
  return `${node.span.serviceName}: ${node.span.name}`;
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

function ms(ns: bigint): string {
  return `${Math.round(Number(ns) / 1_000) / 1_000} ms`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
