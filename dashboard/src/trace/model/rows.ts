import type { SiblingGroups } from './groups.js';
import type { TraceTree } from './tree.js';

/**
 * The visible rows of a waterfall: what a virtualised list draws. A row is a node (span or
 * missing-parent placeholder) or a group of repeated siblings; `rows[i] >= 0` is a node,
 * `rows[i] < 0` is group `-1 - rows[i]`. Collapsing or expanding splices only the rows that
 * change (the tail moves with one typed-array copy); showing a span as root, expanding to a
 * depth or revealing many nodes rebuilds the list in one O(visible) pass.
 */
export class TraceView {
  /** Row entries; only the first `length` are meaningful. */
  rows: Int32Array;
  /** Indentation of each row (a group's members sit one level below the group row). */
  rowDepth: Int32Array;
  length = 0;
  /** Bumped on every change, so a UI can memoise on it. */
  version = 0;
  /** The node shown as root, or -1 for the whole trace. */
  root = -1;
  private readonly collapsed: Uint8Array;
  private readonly groupOpen: Uint8Array;
  /** The repeated-sibling groups folded in this view (undefined when none or not asked for). */
  readonly groups: SiblingGroups | undefined;
  // Scratch for emitting: an item is a node (>= 0) or a group (< 0), with its depth.
  private readonly stackItem: Int32Array;
  private readonly stackDepth: Int32Array;
  private readonly scratch: Int32Array;
  private readonly scratchDepth: Int32Array;

  constructor(
    readonly tree: TraceTree,
    /** Repeated-sibling groups to fold (collapsed at first); undefined shows every span on its own. */
    groups?: SiblingGroups,
  ) {
    this.groups = groups && groups.count > 0 ? groups : undefined;
    const capacity = tree.nodeCount + (this.groups?.count ?? 0);
    this.rows = new Int32Array(capacity);
    this.rowDepth = new Int32Array(capacity);
    this.scratch = new Int32Array(capacity);
    this.scratchDepth = new Int32Array(capacity);
    this.stackItem = new Int32Array(capacity);
    this.stackDepth = new Int32Array(capacity);
    this.collapsed = new Uint8Array(tree.nodeCount);
    this.groupOpen = new Uint8Array(this.groups?.count ?? 0);
    this.rebuild();
  }

  isCollapsed(node: number): boolean {
    return this.collapsed[node] === 1;
  }

  isGroupOpen(group: number): boolean {
    return this.groupOpen[group] === 1;
  }

  hasChildren(node: number): boolean {
    return this.tree.childStart[node + 1]! > this.tree.childStart[node]!;
  }

  /** The node a row stands for; a group row stands for its first member. */
  nodeOfRow(row: number): number {
    const v = this.rows[row]!;
    return v >= 0 ? v : this.groups!.members[this.groups!.memberStart[-1 - v]!]!;
  }

  /** Row index of a node, or -1 when it is not visible. */
  rowOfNode(node: number): number {
    for (let r = 0; r < this.length; r++) if (this.rows[r] === node) return r;
    return -1;
  }

  /** Collapses an expanded node or group row, expands a collapsed one. */
  toggle(row: number): void {
    const v = this.rows[row]!;
    const open = v >= 0 ? !this.isCollapsed(v) : this.isGroupOpen(-1 - v);
    if (open) this.collapse(row);
    else this.expand(row);
  }

  /** Hides the row's subtree (or group members): removes the rows below it that are deeper. */
  collapse(row: number): void {
    const v = this.rows[row]!;
    if (v >= 0) {
      if (this.collapsed[v] === 1 || !this.hasChildren(v)) return;
      this.collapsed[v] = 1;
    } else {
      if (this.groupOpen[-1 - v] === 0) return;
      this.groupOpen[-1 - v] = 0;
    }
    const depth = this.rowDepth[row]!;
    let end = row + 1;
    while (end < this.length && this.rowDepth[end]! > depth) end++;
    this.rows.copyWithin(row + 1, end, this.length);
    this.rowDepth.copyWithin(row + 1, end, this.length);
    this.length -= end - row - 1;
    this.version++;
  }

  /** Shows the row's children (or group members) as they were left (collapsed descendants stay so). */
  expand(row: number): void {
    const v = this.rows[row]!;
    if (v >= 0) {
      if (this.collapsed[v] === 0) return;
      this.collapsed[v] = 0;
    } else {
      if (this.groupOpen[-1 - v] === 1) return;
      this.groupOpen[-1 - v] = 1;
    }
    // Emit the row's subtree into scratch, then splice all but its own first row in.
    const added = this.emit(v, this.rowDepth[row]!, this.scratch, this.scratchDepth) - 1;
    this.rows.copyWithin(row + 1 + added, row + 1, this.length);
    this.rowDepth.copyWithin(row + 1 + added, row + 1, this.length);
    this.rows.set(this.scratch.subarray(1, 1 + added), row + 1);
    this.rowDepth.set(this.scratchDepth.subarray(1, 1 + added), row + 1);
    this.length += added;
    this.version++;
  }

  /** Nodes shallower than `depth` (below the shown root) open, the rest collapsed. Groups keep their state. */
  expandToDepth(depth: number): void {
    const base = this.root >= 0 ? this.tree.depth[this.root]! : 0;
    for (let v = 0; v < this.tree.nodeCount; v++) this.collapsed[v] = this.tree.depth[v]! - base >= depth ? 1 : 0;
    this.rebuild();
  }

  expandAll(): void {
    this.collapsed.fill(0);
    this.groupOpen.fill(1);
    this.rebuild();
  }

  /** Shows only this node's subtree ("show this span as root"); -1 shows the whole trace again. */
  setRoot(node: number): void {
    this.root = node;
    this.rebuild();
  }

  /**
   * Makes a node visible: opens its ancestors and the groups on the way, and leaves a "show as
   * root" that does not contain it. Returns its row.
   */
  reveal(node: number): number {
    this.open([node]);
    this.rebuild();
    return this.rowOfNode(node);
  }

  /** Makes every given node visible in one pass (search results); O(n) however many. */
  revealAll(nodes: ArrayLike<number>): void {
    this.open(nodes);
    this.rebuild();
  }

  private open(nodes: ArrayLike<number>): void {
    const { parent } = this.tree;
    const done = new Uint8Array(this.tree.nodeCount);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (this.root >= 0 && !this.inSubtree(this.root, node)) this.root = -1;
      for (let v = node; v >= 0 && done[v] === 0; v = parent[v]!) {
        done[v] = 1;
        if (v !== node) this.collapsed[v] = 0;
        const g = this.groups?.groupOf[v] ?? -1;
        if (g >= 0) this.groupOpen[g] = 1;
      }
    }
  }

  inSubtree(top: number, node: number): boolean {
    const p = this.tree.position[node]!;
    return p >= this.tree.position[top]! && p < this.tree.subtreeEnd[top]!;
  }

  private rebuild(): void {
    let at = 0;
    const tops = this.root >= 0 ? [this.root] : this.tree.tops;
    for (const top of tops) {
      const emitted = this.emit(top, 0, this.scratch, this.scratchDepth);
      this.rows.set(this.scratch.subarray(0, emitted), at);
      this.rowDepth.set(this.scratchDepth.subarray(0, emitted), at);
      at += emitted;
    }
    this.length = at;
    this.version++;
  }

  /** Writes the visible rows of `item` (node or group) and below into out; returns how many. */
  private emit(item: number, depth: number, out: Int32Array, outDepth: Int32Array): number {
    const { childStart, childList } = this.tree;
    const groups = this.groups;
    const stackItem = this.stackItem;
    const stackDepth = this.stackDepth;
    let sp = 0;
    let count = 0;
    stackItem[sp] = item;
    stackDepth[sp++] = depth;
    while (sp > 0) {
      const v = stackItem[--sp]!;
      const d = stackDepth[sp]!;
      out[count] = v;
      outDepth[count++] = d;
      if (v >= 0) {
        if (this.collapsed[v] === 1) continue;
        // Reverse order onto the stack, so children come out earliest first.
        for (let c = childStart[v + 1]! - 1; c >= childStart[v]!; c--) {
          const child = childList[c]!;
          const g = groups ? groups.groupOf[child]! : -1;
          if (g < 0) {
            stackItem[sp] = child;
            stackDepth[sp++] = d + 1;
          } else if (groups!.members[groups!.memberStart[g]!] === child) {
            // A group shows where its first member would.
            stackItem[sp] = -1 - g;
            stackDepth[sp++] = d + 1;
          }
        }
      } else {
        const g = -1 - v;
        if (this.groupOpen[g] === 0) continue;
        for (let k = groups!.memberStart[g + 1]! - 1; k >= groups!.memberStart[g]!; k--) {
          stackItem[sp] = groups!.members[k]!;
          stackDepth[sp++] = d + 1;
        }
      }
    }
    return count;
  }
}
