/**
 * Times and durations as people read them, in the user's time zone, from the API's nanosecond
 * decimal strings (which JavaScript numbers cannot hold exactly: the raw text stays available).
 */

const NS_PER_MS = 1_000_000n;

/** Milliseconds since the epoch of a nanosecond decimal string (sub-millisecond digits dropped). */
export function nsToMs(ns: string): number {
  return Number(BigInt(ns) / NS_PER_MS);
}

/**
 * `2026-12-06 09:52:11.123` in `timeZone` (the browser's own when absent), with the zone's
 * short name: the form a timestamp takes everywhere in the dashboard.
 */
export function formatTimestamp(ns: string, timeZone?: string): string {
  const ms = nsToMs(ns);
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}.${millis} ${part('timeZoneName')}`;
}

/** What a hover shows: the exact nanoseconds since the epoch and the UTC instant. */
export function timestampTitle(ns: string): string {
  return `${ns} ns since the epoch (${new Date(nsToMs(ns)).toISOString()})`;
}

/** A duration in nanoseconds as `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`, `2 min 5 s`. */
export function formatDuration(ns: string | number | bigint): string {
  const n = typeof ns === 'bigint' ? Number(ns) : Number(ns);
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1_000) return `${n} ns`;
  if (n < 1_000_000) return `${round3(n / 1_000)} µs`;
  if (n < 1_000_000_000) return `${round3(n / 1_000_000)} ms`;
  if (n < 60_000_000_000) return `${round3(n / 1_000_000_000)} s`;
  const seconds = Math.round(n / 1_000_000_000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Three significant digits, without trailing zeros. */
function round3(x: number): string {
  return String(Number(x.toPrecision(3)));
}
