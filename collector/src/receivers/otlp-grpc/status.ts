/** A call ending with a non-OK status; `details` is an encoded `google.rpc.Status` (`grpc-status-details-bin`). */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: Buffer,
  ) {
    super(message);
  }
}

/**
 * `grpc-message` is percent-encoded: bytes of the UTF-8 message outside printable ASCII, and
 * `%` itself, become `%XX` (gRPC over HTTP/2 spec), so any message is a valid header value.
 */
export function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** The longest delay `setTimeout` holds (2^31-1 ms, ~24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `grpc-timeout` (`1..8 digits` + `H M S m u n`) in milliseconds, at most MAX_TIMER_MS
 * (`99999999H` is ~11,400 years: "no deadline" in practice, not an overflow to 1 ms);
 * undefined when absent or malformed.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Math.min(MAX_TIMER_MS, Number(match[1]) * TIMEOUT_UNIT_MS[match[2]]);
}
