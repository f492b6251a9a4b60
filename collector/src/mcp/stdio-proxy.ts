import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PATH } from './http.js';

export interface StdioProxyOptions {
  /** The collector's query API, e.g. http://127.0.0.1:8686. */
  apiUrl: string;
  token: string | undefined;
  stdin: Readable;
  stdout: Writable;
  /** Where to say what went wrong (never stdout: that is the protocol). */
  log(line: string): void;
}

/**
 * `flowtrace mcp`: MCP over stdio, relayed message by message to the collector's `/mcp`
 * (Streamable HTTP) with the caller's token. One implementation of the tools (the collector's)
 * serves both transports, the token's scopes and read rules apply unchanged, and the CLI never
 * reads a data directory. Resolves when stdin closes.
 */
export async function runStdioProxy(options: StdioProxyOptions): Promise<void> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const upstream = new StreamableHTTPClientTransport(new URL(options.apiUrl + MCP_PATH), { requestInit: { headers } });
  const local = new StdioServerTransport(options.stdin, options.stdout);
  const closed = new Promise<void>((resolve) => (local.onclose = resolve));

  upstream.onmessage = (message) => void local.send(message).catch((err: unknown) => options.log(`cannot write to stdout: ${String(err)}`));
  // Not logged here: every failed send also rejects, and is reported (once) where it is answered below.
  upstream.onerror = () => undefined;
  local.onerror = (err) => options.log(`stdin: ${err.message}`);
  // Messages being relayed: when stdin ends, their answers are still delivered before closing.
  const inFlight = new Set<Promise<void>>();
  local.onmessage = (message: JSONRPCMessage) => {
    const relay = upstream.send(message).catch(async (err: unknown) => {
      const text = failure(err, options.apiUrl);
      options.log(text);
      // A request must be answered, or the client waits for ever; notifications have no answer.
      if (isJSONRPCRequest(message)) await local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: text } });
    }).catch((err: unknown) => options.log(`cannot write to stdout: ${String(err)}`));
    inFlight.add(relay);
    void relay.finally(() => inFlight.delete(relay));
  };
  await upstream.start();
  await local.start();
  // stdin's end is the client leaving; the SDK's stdio transport does not watch for it.
  options.stdin.once('end', () => void Promise.allSettled([...inFlight]).then(() => local.close()));
  await closed;
  await upstream.close();
}

/** What a relay failure means for the user, with what to do. */
function failure(err: unknown, apiUrl: string): string {
  if (err instanceof StreamableHTTPError) {
    if (err.code === 401) return `the collector at ${apiUrl} refused the credentials (401): set FLOWTRACE_TOKEN or --token-file to a token with the read scope`;
    if (err.code === 403) return `the collector at ${apiUrl} refused this token (403): it needs the read scope`;
    return `the collector at ${apiUrl} answered ${err.code ?? 'an error'}: ${err.message}`;
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err as Error).message;
  return `cannot reach the collector at ${apiUrl} (${reason}); is \`flowtrace serve\` running? (--api URL or FLOWTRACE_API_URL)`;
}
