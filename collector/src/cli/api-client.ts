/** Where the CLI finds a running collector's query API. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8686';

export function apiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return (flag ?? env.FLOWTRACE_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
}

/** A failure talking to the collector, already phrased for the terminal. */
export class ApiError extends Error {
  override name = 'ApiError';
}

/** Calls the query API and returns its JSON, turning HTTP and connection errors into ApiError. */
export async function callApi<T>(base: string, path: string, init?: { method?: string; body?: unknown }): Promise<T> {
  let response: Response;
  try {
    response = await fetch(base + path, {
      method: init?.method ?? 'GET',
      headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init?.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiError(`cannot reach the collector at ${base} (${cause}); is \`flowtrace serve\` running? (--api URL or FLOWTRACE_API_URL)`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`${base}${path} answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const message = (body as { error?: string }).error ?? text;
    throw new ApiError(response.status === 404 ? message : `${response.status}: ${message}`);
  }
  return body as T;
}
