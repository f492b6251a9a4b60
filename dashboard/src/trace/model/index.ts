/** The trace view's pure model: skeleton → tree → visible rows, and what the waterfall shows on them. */
export { decodeSkeleton, SkeletonError, FLAG_METHOD, FLAG_END_BEFORE_START, STATUS_ERROR, type SkeletonJson, type TraceData } from './skeleton.js';
export { buildTree, ancestorsOf, isPlaceholder, type TraceTree, type Completeness, type MissingParent } from './tree.js';
export { normaliseName } from './names.js';
export { findSiblingGroups, groupSize, DEFAULT_MIN_REPEAT, type SiblingGroups } from './groups.js';
export { TraceView } from './rows.js';
export { searchSpans, errorNodes, nextInTreeOrder, jumpToError, attributeMatches, type SearchResult, type SpanDetailsLike } from './search.js';
export { mapCriticalPath, computeCriticalPath, groupOnPath, spanIndex, type CriticalPathJson, type CriticalPathMap, type LocalCriticalPath } from './critical-path.js';
export { selfTimes, selfTimeTables, type SelfTimeRow, type SelfTimeTables } from './self-time.js';
export { timeScale, timeTicks, niceStep, formatDurationNs, type TimeScale, type Tick } from './time-axis.js';
export { rowModel, type RowModel, type RowContext } from './row-model.js';
