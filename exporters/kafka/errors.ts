/**
 * How a Kafka client error is classified for the durable queue: almost everything (a broker
 * down, a leader moving, a timeout, a rebalance, an authorization an operator can still fix) is
 * worth retrying; a message the broker refuses for its content or size never will be accepted.
 */

/** Broker error ids (Kafka protocol error names) that a retry cannot change. */
const PERMANENT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_REQUIRED_ACKS']);
/** Client error codes that a retry cannot change. */
const PERMANENT_CODES = new Set(['PLT_KFK_UNSUPPORTED_COMPRESSION', 'PLT_KFK_USER']);

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  apiId?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The error and everything nested in it (AggregateError's `errors`, `cause`), depth-first, bounded. */
function flatten(err: unknown, out: ErrorLike[] = [], depth = 0): ErrorLike[] {
  if (depth > 8 || err === null || typeof err !== 'object' || out.length > 64) return out;
  const e = err as ErrorLike;
  out.push(e);
  if (Array.isArray(e.errors)) for (const inner of e.errors) flatten(inner, out, depth + 1);
  if (e.cause !== undefined) flatten(e.cause, out, depth + 1);
  return out;
}

export interface KafkaErrorVerdict {
  retryable: boolean;
  /** One line: the broker's error names (or the client's codes), the first message and its root cause. */
  summary: string;
}

export function classifyKafkaError(err: unknown): KafkaErrorVerdict {
  const all = flatten(err);
  const ids = [...new Set(all.map((e) => e.apiId).filter((id): id is string => typeof id === 'string'))];
  const codes = [...new Set(all.map((e) => e.code).filter((c): c is string => typeof c === 'string'))];
  const permanent = ids.some((id) => PERMANENT.has(id)) || codes.some((c) => PERMANENT_CODES.has(c));
  const first = all.find((e) => typeof e.message === 'string' && e.message !== '')?.message ?? String(err);
  // The outer message is often the client's "initProducerId failed 4 times": the first innermost one says why (a certificate not trusted, a login refused).
  const root = all.find((e) => e !== all[0] && typeof e.message === 'string' && e.message !== '' && !(Array.isArray(e.errors) && e.errors.length > 0) && e.cause === undefined)?.message;
  const names = ids.length > 0 ? ids : codes;
  const because = root !== undefined && root !== first ? ` (${String(root)})` : '';
  return { retryable: !permanent, summary: `${names.length > 0 ? `${names.join(', ')}: ` : ''}${String(first)}${because}` };
}
