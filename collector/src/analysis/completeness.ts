import { CORRELATION_ATTRIBUTE } from '../processors/stitch/stitcher.js';
import type { SpanView } from '../query/span-view.js';
import { callOf } from './calls.js';
import { attr, buildTree, type TreeNode } from './span-tree.js';

/**
 * Trace completeness: what the trace refers to but does not hold, each with its likely reason.
 *
 * - **Orphans**: spans whose parent ID is not in the trace. The parent is remote when the
 *   span's flags say so (OTLP's `CONTEXT_HAS_IS_REMOTE`/`IS_REMOTE` bits) or, without them,
 *   when the span is a SERVER or CONSUMER.
 * - **Unanswered client spans**: HTTP/RPC client spans with no server span (nor any span of
 *   another service) below them. Database calls are left out: databases export no spans.
 * - **Missing remote parents**: root SERVER/CONSUMER spans that another trace of the same
 *   correlation ID (`flowtrace.correlation_id`) called — its unanswered client span was running
 *   when this root started: the trace context was lost on the way (the header was not passed).
 *
 * Reasons, first that applies: `header-lost` (joined back by correlation ID, naming the other
 * trace's span), `not-sampled-upstream` (the span's sampled flag is off: its caller decided not
 * to record, this service recorded anyway), `not-readable` (the reader's rules hide some
 * services, which may hold the span: the likeliest reason for such a reader, so the ones below
 * are not guessed for it), `not-reached` (a client call that failed with no answer), `dropped`
 * (the drop ledger counts spans dropped for the service around the trace's time),
 * `not-instrumented` (the other side exported nothing: not instrumented, a proxy passing the
 * header on, or outside the system), `unknown` (a parent in the same service never arrived).
 */

export type MissingReason = 'header-lost' | 'not-sampled-upstream' | 'not-reached' | 'dropped' | 'not-readable' | 'not-instrumented' | 'unknown';

export interface CompletenessFinding {
  spanId: string;
  serviceName: string;
  name: string;
  reason: MissingReason;
  /** The reason in a sentence, with its evidence. */
  explanation: string;
  /** For `header-lost`: the span in another trace of the same correlation ID that holds the missing side. */
  joinedTraceId?: string;
  joinedSpanId?: string;
}

export interface Orphan extends CompletenessFinding {
  parentSpanId: string;
  remoteParent: boolean;
}

export interface Completeness {
  /** No orphan, no unanswered client span, no missing remote parent. */
  complete: boolean;
  orphans: Orphan[];
  unansweredClientSpans: CompletenessFinding[];
  missingRemoteParents: CompletenessFinding[];
}

/** Spans the drop ledger counts as dropped around the trace's time, per service ('' when unknown). */
export interface DropEvidence {
  service: string;
  stage: string;
  reason: string;
  droppedSpans: number;
}

export interface CompletenessContext {
  /** Spans of other traces; only those sharing a correlation ID with this trace are used. */
  correlatedSpans?: readonly SpanView[];
  drops?: readonly DropEvidence[];
  /** The reader's rules hide some services. */
  readRestricted?: boolean;
}

/**
 * How far apart (1 s) a lost call's client and the server root of the other trace may start,
 * beyond the client's own interval: the two are on different hosts, and no skew adjustment
 * applies across traces.
 */
export const JOIN_TOLERANCE_NS = 1_000_000_000n;
/** Findings per list: a broken trace of 50,000 spans needs its first few explained, not all. */
export const MAX_FINDINGS = 200;

const SAMPLED = 0x01;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

export function completeness(spans: readonly SpanView[], context: CompletenessContext = {}): Completeness {
  const tree = buildTree(spans);
  const ids = correlationIdsOf(spans);
  const traceId = spans[0]?.traceId ?? '';
  const others = (context.correlatedSpans ?? []).filter((s) => s.traceId !== traceId);
  const sharing = new Set(others.filter((s) => ids.has(attr(s, CORRELATION_ATTRIBUTE))).map((s) => s.traceId));
  const otherTree = buildTree(others.filter((s) => sharing.has(s.traceId)));
  const serverRoots = otherTree.tops.filter((n) => n.span.parentSpanId === '' && isEntry(n.span));
  const lostCalls = otherTree.nodes.filter(isUnanswered);
  const drops = context.drops ?? [];

  const orphans: Orphan[] = [];
  for (const node of tree.tops) {
    if (node.span.parentSpanId === '' || orphans.length >= MAX_FINDINGS) continue;
    const remote = isRemoteChild(node.span);
    const { reason, explanation } =
      remote && (node.span.flags & SAMPLED) === 0
        ? { reason: 'not-sampled-upstream' as const, explanation: 'the span is not flagged sampled: its caller chose not to record the trace, and this service recorded anyway' }
        : fallbackReason(remote ? undefined : node.span.serviceName, drops, context.readRestricted === true, remote ? 'the remote parent' : 'the parent');
    orphans.push({ ...finding(node, reason, explanation), parentSpanId: node.span.parentSpanId, remoteParent: remote });
  }

  const unansweredClientSpans: CompletenessFinding[] = [];
  for (const node of tree.nodes) {
    if (!isUnanswered(node) || unansweredClientSpans.length >= MAX_FINDINGS) continue;
    const joined = serverFor(node, serverRoots);
    if (joined) {
      unansweredClientSpans.push(joinedFinding(node, joined, `the called service started trace ${joined.span.traceId} (same correlation ID) while this call ran: the trace context header was lost on the way`));
      continue;
    }
    const status = attr(node.span, 'http.response.status_code') || attr(node.span, 'http.status_code');
    if (node.span.status.code === 'Error' && status === '' && context.readRestricted !== true) {
      unansweredClientSpans.push(finding(node, 'not-reached', 'the call failed without an answer: the server may never have seen it'));
      continue;
    }
    const { reason, explanation } = fallbackReason(undefined, drops, context.readRestricted === true, 'the server span');
    unansweredClientSpans.push(finding(node, reason, explanation));
  }

  const missingRemoteParents: CompletenessFinding[] = [];
  for (const root of tree.tops) {
    if (root.span.parentSpanId !== '' || !isEntry(root.span) || missingRemoteParents.length >= MAX_FINDINGS) continue;
    const caller = callerOf(root, lostCalls);
    if (caller) {
      missingRemoteParents.push(
        joinedFinding(root, caller, `called by ${caller.span.serviceName} in trace ${caller.span.traceId} (same correlation ID), whose trace context did not arrive: the header was lost on the way`),
      );
    }
  }
  return { complete: orphans.length + unansweredClientSpans.length + missingRemoteParents.length === 0, orphans, unansweredClientSpans, missingRemoteParents };
}

/** The correlation IDs the trace's spans carry. */
export function correlationIdsOf(spans: readonly SpanView[]): Set<string> {
  const ids = new Set<string>();
  for (const s of spans) {
    const id = attr(s, CORRELATION_ATTRIBUTE);
    if (id !== '') ids.add(id);
  }
  return ids;
}

/** An HTTP/RPC client span with no server span (nor any span of another service) below it. */
function isUnanswered(node: TreeNode): boolean {
  if (node.span.kind !== 'Client') return false;
  const call = callOf(node.span);
  if (!call || call.type === 'db') return false;
  return !node.children.some((c) => c.span.kind === 'Server' || c.span.serviceName !== node.span.serviceName);
}

function isEntry(span: SpanView): boolean {
  return span.kind === 'Server' || span.kind === 'Consumer';
}

function isRemoteChild(span: SpanView): boolean {
  if ((span.flags & HAS_IS_REMOTE) !== 0) return (span.flags & IS_REMOTE) !== 0;
  return isEntry(span);
}

/** The server root (of another service) that started closest to this call's start, within the call (± JOIN_TOLERANCE_NS). */
function serverFor(call: TreeNode, roots: readonly TreeNode[]): TreeNode | undefined {
  return nearest(call.startNs, roots.filter((r) => r.span.serviceName !== call.span.serviceName && within(r.startNs, call)));
}

/** The lost call (of another service) that was running when this root started (± JOIN_TOLERANCE_NS), the closest start first. */
function callerOf(root: TreeNode, calls: readonly TreeNode[]): TreeNode | undefined {
  return nearest(root.startNs, calls.filter((c) => c.span.serviceName !== root.span.serviceName && within(root.startNs, c)));
}

function within(t: bigint, interval: TreeNode): boolean {
  return t >= interval.startNs - JOIN_TOLERANCE_NS && t <= interval.endNs + JOIN_TOLERANCE_NS;
}

function nearest(t: bigint, candidates: readonly TreeNode[]): TreeNode | undefined {
  let best: TreeNode | undefined;
  for (const c of candidates) if (!best || abs(c.startNs - t) < abs(best.startNs - t)) best = c;
  return best;
}

function fallbackReason(service: string | undefined, drops: readonly DropEvidence[], restricted: boolean, what: string): { reason: MissingReason; explanation: string } {
  if (restricted) return { reason: 'not-readable', explanation: `${what} may belong to a service your read rules hide` };
  const relevant = drops.filter((d) => d.droppedSpans > 0 && (service === undefined || d.service === service || d.service === ''));
  if (relevant.length > 0) {
    const total = relevant.reduce((s, d) => s + d.droppedSpans, 0);
    const where = [...new Set(relevant.map((d) => `${d.stage}/${d.reason}`))].sort().join(', ');
    return { reason: 'dropped', explanation: `${what} may have been dropped: the drop ledger counts ${total} span${total === 1 ? '' : 's'} dropped around this trace's time (${where})` };
  }
  if (service !== undefined) {
    return { reason: 'unknown', explanation: `${what}, in the same service, never arrived: still open when the process stopped, or lost before the collector` };
  }
  return { reason: 'not-instrumented', explanation: `${what} was never exported: the other side is not instrumented, is a proxy passing the header on, or sends elsewhere` };
}

function finding(node: TreeNode, reason: MissingReason, explanation: string): CompletenessFinding {
  return { spanId: node.span.spanId, serviceName: node.span.serviceName, name: node.span.name, reason, explanation };
}

function joinedFinding(node: TreeNode, other: TreeNode, explanation: string): CompletenessFinding {
  return { ...finding(node, 'header-lost', explanation), joinedTraceId: other.span.traceId, joinedSpanId: other.span.spanId };
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
