/**
 * Keyboard navigation of the waterfall (a tree, as WAI-ARIA's tree pattern has it): ↑/↓ move,
 * Home/End and PageUp/PageDown jump, ← collapses an open row or moves to its parent, → expands a
 * closed row or moves to its first child, Enter opens the span's details (a group or missing-parent
 * row: opens or closes it). Pure: it says what to do; the component does it.
 */
import type { TraceView } from './model';

export type KeyAction = { kind: 'move'; row: number } | { kind: 'collapse' | 'expand' | 'toggle' | 'open'; row: number };

export const PAGE_ROWS = 20;

function isOpen(view: TraceView, row: number): boolean {
  const v = view.rows[row]!;
  return v >= 0 ? view.hasChildren(v) && !view.isCollapsed(v) : view.isGroupOpen(-1 - v);
}

function isExpandable(view: TraceView, row: number): boolean {
  const v = view.rows[row]!;
  return v < 0 || view.hasChildren(v);
}

/** The row above `row` one level up, or undefined at the top. */
export function parentRow(view: TraceView, row: number): number | undefined {
  const depth = view.rowDepth[row]!;
  for (let r = row - 1; r >= 0; r--) if (view.rowDepth[r]! < depth) return r;
  return undefined;
}

/** What a key does on the row with the cursor; undefined: not a waterfall key. */
export function keyAction(view: TraceView, row: number, key: string): KeyAction | undefined {
  const last = view.length - 1;
  if (last < 0) return undefined;
  const at = Math.min(Math.max(row, 0), last);
  const move = (to: number): KeyAction => ({ kind: 'move', row: Math.min(Math.max(to, 0), last) });
  switch (key) {
    case 'ArrowDown':
      return move(at + 1);
    case 'ArrowUp':
      return move(at - 1);
    case 'Home':
      return move(0);
    case 'End':
      return move(last);
    case 'PageDown':
      return move(at + PAGE_ROWS);
    case 'PageUp':
      return move(at - PAGE_ROWS);
    case 'ArrowLeft': {
      if (isOpen(view, at)) return { kind: 'collapse', row: at };
      const up = parentRow(view, at);
      return up === undefined ? undefined : move(up);
    }
    case 'ArrowRight':
      if (isExpandable(view, at) && !isOpen(view, at)) return { kind: 'expand', row: at };
      if (isOpen(view, at) && at < last) return move(at + 1);
      return undefined;
    case 'Enter':
      // Groups and missing-parent placeholders have no details of their own: Enter opens or closes them.
      return view.rows[at]! < 0 || view.rows[at]! >= view.tree.data.size ? { kind: 'toggle', row: at } : { kind: 'open', row: at };
    default:
      return undefined;
  }
}
