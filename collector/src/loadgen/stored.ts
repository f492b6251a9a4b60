/**
 * How many spans of one load run the collector has stored, through its query API: a count
 * over the run's resource attribute (generator.ts puts `flowtrace.bench.run` on every
 * resource), so other data in the same store does not count. Runs through `/api/sql`, so the
 * token (if the API needs one) must be allowed to run SQL over `otel_traces`.
 */
import { callApi } from '../cli/api-client.js';
import { RUN_ATTRIBUTE } from './generator.js';

export async function countStored(api: string, token: string | undefined, runId: string): Promise<number> {
  // The run ID is ours (hex from randomBytes), never user input; checked anyway before it
  // goes into the statement text.
  if (!/^[0-9a-f]{1,64}$/.test(runId)) throw new Error(`run ID must be hex, got ${JSON.stringify(runId)}`);
  const answer = await callApi<{ rows: Array<{ n: string | number }> }>(api, '/api/sql', {
    method: 'POST',
    token,
    body: { query: `SELECT count() AS n FROM otel_traces WHERE ResourceAttributes['${RUN_ATTRIBUTE}'] = '${runId}'` },
  });
  return Number(answer.rows[0]?.n ?? 0);
}

export interface StoredWait {
  stored: number;
  /** Seconds from `startedAt` until the last count that grew (or reached the target). */
  seconds: number;
  complete: boolean;
}

/**
 * Polls the count until it reaches `target`, or until it has not grown for `patienceMs`
 * (the collector dropped or is still stuck on some spans; the caller reports the shortfall).
 */
export async function waitForStored(count: () => Promise<number>, target: number, startedAt: number, patienceMs: number, pollMs = 250): Promise<StoredWait> {
  let stored = -1;
  let grewAt = performance.now();
  for (;;) {
    const now = await count();
    if (now > stored) {
      stored = now;
      grewAt = performance.now();
    }
    if (stored >= target) return { stored, seconds: (grewAt - startedAt) / 1000, complete: true };
    if (performance.now() - grewAt > patienceMs) return { stored, seconds: (grewAt - startedAt) / 1000, complete: false };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
