/**
 * The one way the dashboard talks to the collector: same-origin fetch with the session cookie,
 * the CSRF token on every state-changing request, and the API's `{"error": "…"}` surfaced as an
 * {@link ApiError} carrying the message and status. No token ever goes into a URL or storage.
 */

/** A refusal or failure of the API: its own message and HTTP status (0: the request never got an answer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The refusal's JSON body, for the fields some refusals add beside `error`. */
    readonly body: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Told about every 401, so that the session can ask for a login (session.ts). */
type UnauthorizedListener = (path: string) => void;

let csrfToken: string | undefined;
let onUnauthorized: UnauthorizedListener | undefined;

/** The session's CSRF token (from POST/GET /api/session), sent as `x-csrf-token` on non-GET requests. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function setUnauthorizedListener(listener: UnauthorizedListener | undefined): void {
  onUnauthorized = listener;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /** The 401 is the caller's own business (the session probe): do not announce it. */
  quietUnauthorized?: boolean;
}

/** Calls `path` (starting with `/api/`) and returns its JSON answer, or undefined for a 204. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, `the collector did not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 401 && !options.quietUnauthorized) onUnauthorized?.(path);
  if (!res.ok) throw await refusal(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** An ApiError with the API's own `error` text when the body has one, else the status line. */
async function refusal(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON (a proxy's page, say): the status line says enough
  }
  const message = typeof body.error === 'string' && body.error !== '' ? body.error : `${res.status} ${res.statusText || 'error'}`.trim();
  return new ApiError(res.status, message, body);
}

/** A query string from the set values only (`undefined` and '' are left out). */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '' || value === false) continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
