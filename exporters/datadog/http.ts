import { ExportError, parseRetryAfter } from '../exporter.js';

/**
 * HTTP outcomes as the queue needs them: retry (optionally after the server's hint) or
 * give up. Retryable are the statuses the OTLP/HTTP specification retries — 429, 502, 503,
 * 504 — and 408; every other 4xx/5xx answer would be the same next time (the agent answers
 * 400 for a payload it cannot decode, 413 above its size limit).
 */
const RETRYABLE_STATUSES = new Set([408, 429, 502, 503, 504]);

export function responseError(what: string, status: number, retryAfter: string | null, body: string): ExportError {
  const detail = body.trim().slice(0, 300);
  const message = `${what}: HTTP ${status}${detail ? `: ${detail}` : ''}`;
  return RETRYABLE_STATUSES.has(status) ? new ExportError(message, true, parseRetryAfter(retryAfter)) : new ExportError(message, false);
}

/** fetch failed before an answer: refused, reset, DNS, timeout. Always worth retrying. */
export function networkError(what: string, err: unknown): ExportError {
  const e = err instanceof Error ? err : new Error(String(err));
  // undici puts the system error (ECONNREFUSED, …) in `cause`.
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  const reason = e.name === 'TimeoutError' ? 'timed out' : `${e.message}${cause}`;
  return new ExportError(`${what}: ${reason}`, true);
}
