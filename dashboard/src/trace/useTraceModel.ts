/**
 * Loads a trace's skeleton and turns it into the model the waterfall reads (model/): typed
 * arrays, tree, repeated-sibling groups, the visible rows. Then, without holding up the first
 * rows, the critical path: from the API up to its 10,000-span analysis cap (and only for the
 * stored times: the API does not apply the clock-skew offsets), else computed here.
 */
import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import { useSession } from '../session/useSession';
import {
  buildTree,
  computeCriticalPath,
  decodeSkeleton,
  errorNodes,
  findSiblingGroups,
  mapCriticalPath,
  spanIndex,
  TraceView,
  type CriticalPathJson,
  type CriticalPathMap,
  type SkeletonJson,
  type TraceData,
  type TraceTree,
} from './model';
import { skeletonPath } from './trace-url';

/** The analysis routes (critical path, insights) refuse traces over this many spans (413). */
export const ANALYSIS_SPAN_CAP = 10_000;

export interface TraceModel {
  data: TraceData;
  tree: TraceTree;
  /** Mutable: collapse/expand change it in place (its `version` says when). */
  view: TraceView;
  errors: Int32Array;
  /** Span ID → node, built on first use (a Map of 100,000 entries costs ~10 ms). */
  nodeOfSpan(spanId: string): number | undefined;
  maxDepth: number;
}

export type TraceState = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'done'; model: TraceModel };

export function buildModel(json: SkeletonJson): TraceModel {
  const data = decodeSkeleton(json);
  const tree = buildTree(data);
  const view = new TraceView(tree, findSiblingGroups(tree));
  let index: Map<string, number> | undefined;
  let maxDepth = 0;
  for (let v = 0; v < tree.nodeCount; v++) if (tree.depth[v]! > maxDepth) maxDepth = tree.depth[v]!;
  return {
    data,
    tree,
    view,
    errors: errorNodes(tree),
    nodeOfSpan: (spanId) => (index ??= spanIndex(tree)).get(spanId),
    maxDepth,
  };
}

/**
 * The skeleton request started during the page's first render rather than in its effect: React
 * holds back the commit of a page that has just come out of Suspense (its lazy chunk) for up to
 * 300 ms, and the effect would only send the request then. One entry, taken by the effect.
 */
let early: { path: string; promise: Promise<SkeletonJson> } | undefined;

export function prefetchSkeleton(path: string): void {
  if (early?.path === path) return;
  const promise = api<SkeletonJson>(path);
  promise.catch(() => undefined); // handled by whoever takes it
  early = { path, promise };
}

function takePrefetched(path: string): Promise<SkeletonJson> | undefined {
  const taken = early?.path === path ? early.promise : undefined;
  early = undefined;
  return taken;
}

export function useTraceModel(traceId: string, adjustClockSkew: boolean): TraceState {
  const { epoch } = useSession();
  const [state, setState] = useState<TraceState>({ status: 'loading' });
  const path = skeletonPath(traceId, adjustClockSkew);
  // Only before the first effect: later loads (the toggle, a login) start in the effect.
  const effectRan = useRef(false);
  if (!effectRan.current) prefetchSkeleton(path);
  useEffect(() => {
    effectRan.current = true;
    const controller = new AbortController();
    setState({ status: 'loading' });
    (takePrefetched(path) ?? api<SkeletonJson>(path, { signal: controller.signal })).then(
      (json) => {
        if (controller.signal.aborted) return;
        try {
          setState({ status: 'done', model: buildModel(json) });
        } catch (error) {
          setState({ status: 'error', error });
        }
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', error });
      },
    );
    return () => controller.abort();
  }, [path, epoch]);
  return state;
}

export interface CriticalPathState {
  map: CriticalPathMap | undefined;
  /** Where it came from, for the toggle's hint. */
  source: 'api' | 'local' | 'pending';
}

/** The critical path, after the first rows are on screen. */
export function useCriticalPath(traceId: string, model: TraceModel | undefined): CriticalPathState {
  const [state, setState] = useState<CriticalPathState>({ map: undefined, source: 'pending' });
  useEffect(() => {
    setState({ map: undefined, source: 'pending' });
    if (!model) return;
    const controller = new AbortController();
    // A macrotask: the browser paints the rows before a 100,000-span walk (~30 ms) runs.
    const local = () =>
      window.setTimeout(() => {
        if (!controller.signal.aborted) setState({ map: computeCriticalPath(model.tree), source: 'local' });
      }, 0);
    if (model.data.size > ANALYSIS_SPAN_CAP || model.data.adjusted) {
      const timer = local();
      return () => {
        controller.abort();
        window.clearTimeout(timer);
      };
    }
    api<CriticalPathJson>(`/api/traces/${encodeURIComponent(traceId)}/critical-path?limit=1`, { signal: controller.signal }).then(
      (path) => {
        if (!controller.signal.aborted) setState({ map: mapCriticalPath(model.tree, path), source: 'api' });
      },
      (error: unknown) => {
        // Refused (over the cap, or raced with new spans): the same algorithm runs here.
        if (!controller.signal.aborted && error instanceof ApiError) local();
      },
    );
    return () => controller.abort();
  }, [traceId, model]);
  return state;
}
