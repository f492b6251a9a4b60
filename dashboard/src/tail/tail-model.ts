/**
 * The live tail's list: spans newest first, bounded, and what pausing does.
 *
 * Pausing keeps the stream open and stops the list from moving; what arrives meanwhile waits in
 * a buffer bounded like the list (LIST_LIMIT: more could never be shown, since the list keeps the
 * newest LIST_LIMIT), the oldest waiting spans making room and counted. Resuming puts the buffer
 * on top. Closing the stream instead would lose every span of the pause without a count, and
 * reopening it would race other tabs for the collector's per-user stream slots.
 *
 * Three counts are kept apart: spans the collector dropped for this client (it fell behind;
 * the stream's `dropped` events), spans that did not fit the pause buffer, and spans received.
 */

/** One span on the stream (collector/src/query/tail/tail-line.ts `TailSpan`). */
export interface TailSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  durationNano: string;
  status: { code: string; message: string };
  attributes: Record<string, string>;
  attributesOmitted?: true;
}

export interface TailRow {
  /** Arrival order, unique for the page's life: the list's React key. */
  seq: number;
  span: TailSpan;
}

/** Spans the list (and the pause buffer) keeps at most. */
export const LIST_LIMIT = 1000;

export interface TailState {
  /** Newest first, at most LIST_LIMIT. */
  rows: TailRow[];
  /** While paused: arrivals, newest first, at most LIST_LIMIT. */
  waiting: TailRow[];
  paused: boolean;
  received: number;
  /** Spans that did not fit the pause buffer. */
  overflowWhilePaused: number;
  /** Spans the collector dropped for this page (slow client or rate cap), summed over its `dropped` events (and reconnections). */
  droppedByCollector: number;
  nextSeq: number;
}

export const INITIAL_TAIL: TailState = { rows: [], waiting: [], paused: false, received: 0, overflowWhilePaused: 0, droppedByCollector: 0, nextSeq: 0 };

/** Newest first on top of `list`, at most LIST_LIMIT; returns the list and how many fell off. */
function prepend(list: readonly TailRow[], newestFirst: readonly TailRow[]): { list: TailRow[]; lost: number } {
  const all = newestFirst.length >= LIST_LIMIT ? newestFirst.slice(0, LIST_LIMIT) : [...newestFirst, ...list.slice(0, LIST_LIMIT - newestFirst.length)];
  return { list: all, lost: newestFirst.length + list.length - all.length };
}

/** Spans in arrival order (oldest first, as the stream gives them). */
export function receive(state: TailState, spans: readonly TailSpan[]): TailState {
  if (spans.length === 0) return state;
  const rows: TailRow[] = [];
  for (let i = spans.length - 1; i >= 0; i--) rows.push({ seq: state.nextSeq + i, span: spans[i]! });
  const base = { ...state, received: state.received + spans.length, nextSeq: state.nextSeq + spans.length };
  if (state.paused) {
    const { list, lost } = prepend(state.waiting, rows);
    return { ...base, waiting: list, overflowWhilePaused: state.overflowWhilePaused + lost };
  }
  return { ...base, rows: prepend(state.rows, rows).list };
}

export function pause(state: TailState): TailState {
  return state.paused ? state : { ...state, paused: true };
}

export function resume(state: TailState): TailState {
  if (!state.paused) return state;
  return { ...state, paused: false, rows: prepend(state.rows, state.waiting).list, waiting: [] };
}

/** A `dropped` event: `dropped` spans missed since the previous one (its `total` restarts with every stream, so the increments are summed). */
export function droppedByCollector(state: TailState, dropped: number): TailState {
  return dropped > 0 ? { ...state, droppedByCollector: state.droppedByCollector + dropped } : state;
}

/** Empties the list (a new filter, or the user's Clear); the pause stays as it was. `resetCounts` for a new filter: the counts start again. */
export function clear(state: TailState, resetCounts = false): TailState {
  return { ...state, rows: [], waiting: [], overflowWhilePaused: 0, ...(resetCounts ? { droppedByCollector: 0, received: 0 } : {}) };
}

const HEX32 = /^[0-9a-f]{32}$/;
const DIGITS = /^\d+$/;

/** A `span` event's data, or undefined when it is not one (the list shows only what it can read). */
export function parseTailSpan(data: string): TailSpan | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const text = (key: string) => (typeof v[key] === 'string' ? (v[key] as string) : undefined);
  const traceId = text('traceId');
  const start = text('startTimeUnixNano');
  const duration = text('durationNano');
  if (traceId === undefined || !HEX32.test(traceId) || start === undefined || !DIGITS.test(start) || duration === undefined || !DIGITS.test(duration)) return undefined;
  const status = (v.status ?? {}) as Record<string, unknown>;
  const attributes: Record<string, string> = {};
  if (v.attributes !== null && typeof v.attributes === 'object') {
    for (const [key, val] of Object.entries(v.attributes as Record<string, unknown>)) if (typeof val === 'string') attributes[key] = val;
  }
  return {
    traceId,
    spanId: text('spanId') ?? '',
    parentSpanId: text('parentSpanId') ?? '',
    service: text('service') ?? '',
    name: text('name') ?? '',
    kind: text('kind') ?? '',
    startTimeUnixNano: start,
    durationNano: duration,
    status: { code: typeof status.code === 'string' ? status.code : 'Unset', message: typeof status.message === 'string' ? status.message : '' },
    attributes,
    ...(v.attributesOmitted === true ? { attributesOmitted: true as const } : {}),
  };
}

/** A `dropped` event's count (spans missed since the previous event), or undefined. */
export function parseDropped(data: string): number | undefined {
  try {
    const value = JSON.parse(data) as { dropped?: unknown };
    return typeof value.dropped === 'number' && Number.isFinite(value.dropped) && value.dropped >= 0 ? value.dropped : undefined;
  } catch {
    return undefined;
  }
}
