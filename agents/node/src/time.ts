import type { HrTime } from '@opentelemetry/api';

/**
 * Span times are kept as performance.now() readings plus an anchor (an integer
 * epoch millisecond and the performance.now() reading taken with it), and turned
 * into [seconds, nanoseconds] only at export. Children inherit their parent's
 * anchor, as the SDK's spans do, so a child never starts before its parent.
 */
export interface Anchor {
  readonly epochMs: number;
  readonly perf: number;
}

export function newAnchor(): Anchor {
  const epochMs = Date.now();
  return { epochMs, perf: performance.now() };
}

/** The anchor an SDK span used for its own start and end times, when it can be read. */
export function anchorOfSdkSpan(span: object): Anchor | undefined {
  const s = span as { startTime?: unknown; _performanceStartTime?: unknown };
  const start = s.startTime;
  const perf = s._performanceStartTime;
  if (!Array.isArray(start) || typeof perf !== 'number') return undefined;
  const ms = (start[0] as number) * 1000 + (start[1] as number) / 1e6;
  const whole = Math.floor(ms);
  return { epochMs: whole, perf: perf - (ms - whole) };
}

export function toHrTime(anchor: Anchor, perfNow: number): HrTime {
  const delta = perfNow - anchor.perf;
  const whole = Math.floor(delta);
  const ms = anchor.epochMs + whole;
  let sec = Math.floor(ms / 1000);
  let nanos = (ms - sec * 1000) * 1e6 + Math.round((delta - whole) * 1e6);
  if (nanos >= 1e9) {
    sec += 1;
    nanos -= 1e9;
  }
  return [sec, nanos];
}

export function durationHrTime(ms: number): HrTime {
  const d = Math.max(0, ms);
  let sec = Math.floor(d / 1000);
  let nanos = Math.round((d - sec * 1000) * 1e6);
  if (nanos >= 1e9) {
    sec += 1;
    nanos -= 1e9;
  }
  return [sec, nanos];
}

/** A TimeInput given to end() or addEvent(), as a performance.now() reading in the anchor's frame. */
export function perfFromTimeInput(anchor: Anchor, t: unknown): number | undefined {
  if (typeof t === 'number') {
    // Small numbers are performance.now() readings, large ones epoch milliseconds (the SDK's rule).
    return t <= performance.now() ? t : anchor.perf + (t - anchor.epochMs);
  }
  if (t instanceof Date) return anchor.perf + (t.getTime() - anchor.epochMs);
  if (Array.isArray(t) && t.length === 2) return anchor.perf + ((t[0] as number) * 1000 + (t[1] as number) / 1e6 - anchor.epochMs);
  return undefined;
}
