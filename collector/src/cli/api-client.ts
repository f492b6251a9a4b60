import { readFileSync } from 'node:fs';
import { UsageError } from './command.js';

/** Where the CLI finds a running collector's query API. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8686';

export function apiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return (flag ?? env.FLOWTRACE_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
}

/**
 * The credential client commands send: the content of `--token-file`, else `FLOWTRACE_TOKEN`.
 * Never a command-line value, which every user on the machine could read in `ps`.
 */
export function apiCredential(tokenFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return tokenFrom('--token-file', tokenFile, env.FLOWTRACE_TOKEN);
}

/** The ingest token (scope ingest) for the receivers: `--ingest-token-file`'s content, else FLOWTRACE_INGEST_TOKEN; never a command-line value. */
export function ingestCredential(tokenFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return tokenFrom('--ingest-token-file', tokenFile, env.FLOWTRACE_INGEST_TOKEN);
}

/** A token read from the file `flag` names (trimmed, refused when empty), else from `envValue`. */
function tokenFrom(flag: string, file: string | undefined, envValue: string | undefined): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const token = text.trim();
    if (token === '') throw new UsageError(`${flag}: ${file} is empty`);
    return token;
  }
  return envValue?.trim() || undefined;
}

/** Help lines for the options every client command has. */
export const CONNECTION_HELP = `  --api URL            the collector's query API (env FLOWTRACE_API_URL, default http://127.0.0.1:8686)
  --token-file FILE    read the API token from FILE (default: env FLOWTRACE_TOKEN; needed unless
                       the collector listens on loopback only)`;

/** A failure talking to the collector, already phrased for the terminal. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** The HTTP status the collector answered; undefined when it could not be reached or answered no JSON. */
  constructor(
    message: string,
    readonly status?: number,
    /** The answer's JSON body, for a 4xx with fields beyond `error` (a syntax error's `column`). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** Calls the query API and returns its JSON, turning HTTP and connection errors into ApiError. */
export async function callApi<T>(base: string, path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<T> {
  const headers: Record<string, string> = {};
  if (init?.body !== undefined) headers['content-type'] = 'application/json';
  if (init?.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let response: Response;
  try {
    response = await fetch(base + path, {
      method: init?.method ?? 'GET',
      headers,
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
    const hint = response.status === 401 ? ' (set FLOWTRACE_TOKEN or --token-file)' : '';
    throw new ApiError(response.status === 404 ? message : `${response.status}: ${message}${hint}`, response.status, body);
  }
  return body as T;
}
