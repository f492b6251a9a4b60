/**
 * Trace analysis: pure functions over one trace's spans (`SpanView`, as the query API reads
 * them), shared by every face — REST (query/analysis-routes.ts), and next the MCP server and
 * the CLI — so that each answers the same. See README.md in this folder.
 */
export { criticalPath, criticalPathOf, selfTimeOf, type CriticalPath, type PathSegment, type SelfTime } from './critical-path.js';
export {
  insights,
  insightsOf,
  MAX_INSIGHTS_PER_RULE,
  MAX_SPAN_IDS_PER_INSIGHT,
  N_PLUS_ONE_MIN_CALLS,
  SEQUENTIAL_MAX_GAP_NS,
  SEQUENTIAL_MIN_SAVING_SHARE,
  SLOW_METHOD_MIN_SELF_NS,
  SLOW_METHOD_MIN_SHARE,
  type Insight,
  type InsightRule,
} from './insights.js';
export { compareShapes, compareTraces, shapeOf, typicalShape, type MissingPath, type PathDiff, type PathStats, type TraceComparison, type TraceShape } from './compare.js';
export {
  completeness,
  correlationIdsOf,
  JOIN_TOLERANCE_NS,
  type Completeness,
  type CompletenessContext,
  type CompletenessFinding,
  type DropEvidence,
  type MissingReason,
  type Orphan,
} from './completeness.js';
export { callKey, callOf, normalisePath, normaliseStatement, type Call } from './calls.js';
export { buildTree, mainTop, methodOf, type SpanTree, type TreeNode } from './span-tree.js';
export { hotspots, hotspotsQuery, traceWindow, MAX_HOTSPOTS, MAX_WINDOW_NS, HotspotsTooBroadError, type Hotspot, type Hotspots, type HotspotFilter } from './hotspots.js';
