/**
 * A trace's skeleton (`GET /api/traces/:id/skeleton`) → the rows the webview draws, through the
 * dashboard's own trace model (dashboard/src/trace/model: decode, tree, repeated-sibling groups,
 * visible rows, row model), so the editor shows the waterfall the dashboard shows: the same
 * nesting, missing-parent placeholders and folded repeats. Rows are cut at `maxRows` (a
 * webview is a static page here, not the dashboard's virtualised list); the cut is reported.
 */
import { buildTree, decodeSkeleton, findSiblingGroups, formatDurationNs, rowModel, TraceView, type SkeletonJson } from '../../../../dashboard/src/trace/model/index.js';

export const DEFAULT_MAX_ROWS = 2000;

export interface WaterfallRow {
  kind: 'span' | 'missing-parent' | 'group';
  /** The span's ID for a span row (what "jump to source" asks about); '' otherwise. */
  spanId: string;
  depth: number;
  label: string;
  service: string;
  spanKind: string;
  method: boolean;
  error: boolean;
  /** A group's member count (1 for a span). */
  count: number;
  /** Bar position and width as a percentage of the trace's duration. */
  leftPct: number;
  widthPct: number;
  duration: string;
}

export interface WaterfallModel {
  traceId: string;
  spanCount: number;
  hiddenSpanCount: number;
  correlationId: string;
  services: string[];
  duration: string;
  rows: WaterfallRow[];
  /** Rows not drawn past `maxRows`. */
  omittedRows: number;
}

export function waterfallModel(skeleton: SkeletonJson, maxRows = DEFAULT_MAX_ROWS): WaterfallModel {
  const data = decodeSkeleton(skeleton);
  const tree = buildTree(data);
  const view = new TraceView(tree, findSiblingGroups(tree));
  let endNs = 0;
  for (let i = 0; i < data.size; i++) endNs = Math.max(endNs, data.endNs[i]!);
  const total = endNs > 0 ? endNs : 1;
  const shown = Math.min(view.length, maxRows);
  const rows: WaterfallRow[] = [];
  for (let r = 0; r < shown; r++) {
    const m = rowModel(view, r);
    const left = clampPct((m.startNs / total) * 100);
    rows.push({
      kind: m.kind,
      spanId: m.kind === 'span' ? data.spanIds[m.node]! : '',
      depth: m.depth,
      label: m.label,
      service: m.service,
      spanKind: m.spanKind,
      method: m.method,
      error: m.error,
      count: m.kind === 'group' ? m.count : 1,
      leftPct: left,
      widthPct: Math.min(100 - left, Math.max(0, ((m.endNs - m.startNs) / total) * 100)),
      duration: m.kind === 'missing-parent' ? '' : formatDurationNs(m.durationNs),
    });
  }
  return {
    traceId: data.traceId,
    spanCount: data.size,
    hiddenSpanCount: data.hiddenSpanCount,
    correlationId: data.correlationId,
    services: [...data.services],
    duration: formatDurationNs(endNs),
    rows,
    omittedRows: view.length - shown,
  };
}

function clampPct(n: number): number {
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0;
}
