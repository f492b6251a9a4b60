import type { CriticalPathMap } from './critical-path.js';
import type { TraceView } from './rows.js';
import type { SearchResult } from './search.js';
import { FLAG_METHOD, STATUS_ERROR } from './skeleton.js';
import { isPlaceholder } from './tree.js';

/** Everything one waterfall row draws, so that the React row component only renders. */
export interface RowModel {
  kind: 'span' | 'missing-parent' | 'group';
  /** The node (span or placeholder), or a group's first member. */
  node: number;
  depth: number;
  /** Span name; the parent ID for a placeholder; the shared normalised name for a group. */
  label: string;
  service: string;
  /** Span kind name (`Server`, `Client`, …); '' for placeholders and groups. */
  spanKind: string;
  method: boolean;
  error: boolean;
  /** Group: how many members, and how many failed. */
  count: number;
  errors: number;
  /** Bar: start and end in ns from the trace start (a group spans its members). */
  startNs: number;
  endNs: number;
  /** Span duration; group: total of its members (maxNs: the longest one). */
  durationNs: number;
  maxNs: number;
  expandable: boolean;
  expanded: boolean;
  /** The search matches this row (a group: one of its members). */
  match: boolean;
  onCriticalPath: boolean;
}

export interface RowContext {
  search?: SearchResult;
  criticalPath?: CriticalPathMap;
}

export function rowModel(view: TraceView, row: number, ctx: RowContext = {}): RowModel {
  const { tree } = view;
  const { data } = tree;
  const v = view.rows[row]!;
  const depth = view.rowDepth[row]!;
  if (v < 0) {
    const g = -1 - v;
    const groups = view.groups!;
    let match = false;
    let onPath = false;
    for (let k = groups.memberStart[g]!; k < groups.memberStart[g + 1]!; k++) {
      const member = groups.members[k]!;
      match ||= ctx.search?.matches[member] === 1;
      onPath ||= ctx.criticalPath?.onPath[member] === 1;
    }
    return {
      kind: 'group',
      node: groups.members[groups.memberStart[g]!]!,
      depth,
      label: groups.label[g]!,
      service: data.services[groups.service[g]!]!,
      spanKind: '',
      method: false,
      error: groups.errors[g]! > 0,
      count: groups.memberStart[g + 1]! - groups.memberStart[g]!,
      errors: groups.errors[g]!,
      startNs: groups.startNs[g]!,
      endNs: groups.endNs[g]!,
      durationNs: groups.totalNs[g]!,
      maxNs: groups.maxNs[g]!,
      expandable: true,
      expanded: view.isGroupOpen(g),
      match,
      onCriticalPath: onPath,
    };
  }
  const placeholder = isPlaceholder(tree, v);
  const span = !placeholder;
  return {
    kind: placeholder ? 'missing-parent' : 'span',
    node: v,
    depth,
    label: placeholder ? data.missingParentIds[v - data.size]! : data.names[data.name[v]!]!,
    service: span ? data.services[data.service[v]!]! : '',
    spanKind: span ? (data.kinds[data.kind[v]!] ?? '') : '',
    method: span && (data.flags[v]! & FLAG_METHOD) !== 0,
    error: span && data.status[v] === STATUS_ERROR,
    count: 1,
    errors: span && data.status[v] === STATUS_ERROR ? 1 : 0,
    startNs: tree.startNs[v]!,
    endNs: tree.endNs[v]!,
    durationNs: tree.endNs[v]! - tree.startNs[v]!,
    maxNs: tree.endNs[v]! - tree.startNs[v]!,
    expandable: view.hasChildren(v),
    expanded: view.hasChildren(v) && !view.isCollapsed(v),
    match: ctx.search?.matches[v] === 1,
    onCriticalPath: ctx.criticalPath?.onPath[v] === 1,
  };
}
