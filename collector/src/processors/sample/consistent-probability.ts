/**
 * OpenTelemetry consistent probability sampling (OTEP 235; the specification's "TraceState
 * handling" for probability sampling), the parts a collector needs.
 *
 * Every trace carries 56 bits of randomness R: the `rv:` value of the `ot=` tracestate entry
 * when present, otherwise the last 14 hex digits of the trace ID. A sampler with probability p
 * has the rejection threshold T = (1 − p)·2^56 and keeps a trace when R ≥ T; `ot=th:` carries
 * T downstream (hex, trailing zeros removed), so every stage that samples the same trace
 * draws against the same R and a later stage can only raise T, never re-roll.
 *
 * Thresholds and randomness are kept as 14 lower-case hex digits: strings of equal length in
 * [0-9a-f] order like the numbers they spell, so R ≥ T is one string comparison and 56-bit
 * values never pass through a float.
 */

/** A rejection threshold T: exactly 14 lower-case hex digits. */
export type Threshold = string;

const HEX_DIGITS = 14;
const TWO_POW_56 = 2n ** 56n;

/** T = 0: keep everything (`th:0`). Also the threshold of a policy that keeps deterministically. */
export const ALWAYS_SAMPLE: Threshold = '0'.repeat(HEX_DIGITS);

const HEX_1_TO_14 = /^[0-9a-f]{1,14}$/;
const HEX_14 = /^[0-9a-f]{14}$/;

/**
 * The threshold for keeping a fraction `p` (0–1) of traces, at full 56-bit precision; undefined
 * for p = 0, which no threshold expresses (nothing is kept).
 */
export function probabilityToThreshold(p: number): Threshold | undefined {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be 0–1, got ${p}`);
  if (p === 0) return undefined;
  // p·2^56 only scales the exponent: exact in a double. Below 2^53 it may have a fraction (round
  // it); above, every double is an integer already.
  const kept = BigInt(Math.round(p * 2 ** 56));
  return (TWO_POW_56 - kept).toString(16).padStart(HEX_DIGITS, '0');
}

/** The `th:` value: the threshold's hex digits without trailing zeros, `0` for T = 0. */
export function encodeThreshold(t: Threshold): string {
  const trimmed = t.replace(/0+$/, '');
  return trimmed === '' ? '0' : trimmed;
}

/** Reads a `th:` value (1–14 hex digits, right-padded with zeros); undefined when malformed. */
export function parseThreshold(th: string): Threshold | undefined {
  const lower = th.toLowerCase();
  return HEX_1_TO_14.test(lower) ? lower.padEnd(HEX_DIGITS, '0') : undefined;
}

export function maxThreshold(a: Threshold, b: Threshold): Threshold {
  return a >= b ? a : b;
}

/** R for a span: its valid `rv:` value, else the trace ID's last 14 hex digits. */
export function randomness(traceId: string, rv: string | undefined): string {
  if (rv !== undefined) return rv;
  return traceId.length >= HEX_DIGITS ? traceId.slice(-HEX_DIGITS) : traceId.padStart(HEX_DIGITS, '0');
}

export function shouldSample(r: string, t: Threshold): boolean {
  return r >= t;
}

/** Few distinct thresholds occur (one per configured rate and upstream sampler): compute each once. */
const countCache = new Map<Threshold, number>();
const COUNT_CACHE_MAX = 1024;

/**
 * The adjusted count 1/p = 2^56 / (2^56 − T): how many traces each kept one stands for. Rounded
 * to 12 significant digits so that 1 % reads 100 rather than 100.00000000000004 (the 56-bit
 * threshold cannot spell 0.01 exactly); the error is far below any statistical use.
 */
export function adjustedCount(t: Threshold): number {
  let count = countCache.get(t);
  if (count === undefined) {
    count = Number((Number(TWO_POW_56) / Number(TWO_POW_56 - BigInt('0x' + t))).toPrecision(12));
    if (countCache.size >= COUNT_CACHE_MAX) countCache.clear();
    countCache.set(t, count);
  }
  return count;
}

/** What the `ot=` tracestate entry says about sampling. */
export interface OtSampling {
  /** `th:`, when present and well-formed. */
  th?: Threshold;
  /** `rv:`, when present and well-formed (exactly 14 hex digits). */
  rv?: string;
}

const NONE: OtSampling = Object.freeze({});

/** Reads `th` and `rv` from a W3C tracestate's `ot` entry; malformed values count as absent. */
export function readOtSampling(traceState: string): OtSampling {
  if (traceState.length === 0 || !traceState.includes('ot=')) return NONE; // the common case, no parse
  const value = otValue(traceState);
  if (value === undefined) return NONE;
  const result: OtSampling = {};
  for (const part of value.split(';')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const key = part.slice(0, colon);
    const v = part.slice(colon + 1);
    if (key === 'th') {
      const th = parseThreshold(v);
      if (th !== undefined) result.th = th;
    } else if (key === 'rv') {
      const rv = v.toLowerCase();
      if (HEX_14.test(rv)) result.rv = rv;
    }
  }
  return result;
}

/**
 * The tracestate with the `ot` entry's `th:` set to `t` (or removed, for undefined). Other
 * `ot` sub-keys and other vendors' entries stay as they were; the changed `ot` entry moves to
 * the front, as W3C Trace Context asks of a modified entry.
 */
export function withThreshold(traceState: string, t: Threshold | undefined): string {
  const members = traceState
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
  const index = members.findIndex((m) => memberKey(m) === 'ot');
  const oldParts = index < 0 ? [] : members[index]!.slice(members[index]!.indexOf('=') + 1).split(';').filter((p) => p.length > 0);
  if (index >= 0) members.splice(index, 1);
  const th = t === undefined ? undefined : `th:${encodeThreshold(t)}`;
  const at = oldParts.findIndex((p) => p.startsWith('th:'));
  const parts = [...oldParts];
  if (at >= 0) {
    if (th === undefined) parts.splice(at, 1);
    else parts[at] = th;
  } else if (th !== undefined) {
    parts.unshift(th);
  }
  if (parts.length > 0) members.unshift(`ot=${parts.join(';')}`);
  return members.join(',');
}

/** The value of the `key` entry of a W3C tracestate, or undefined. */
export function traceStateValue(traceState: string, key: string): string | undefined {
  for (const raw of traceState.split(',')) {
    const member = raw.trim();
    if (memberKey(member) === key) return member.slice(member.indexOf('=') + 1);
  }
  return undefined;
}

function otValue(traceState: string): string | undefined {
  return traceStateValue(traceState, 'ot');
}

function memberKey(member: string): string {
  const eq = member.indexOf('=');
  return eq < 0 ? member : member.slice(0, eq);
}
