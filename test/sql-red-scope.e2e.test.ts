/**
 * User SQL over `flowtrace_red` (RED minutes) on the real collector: a token limited to one
 * service reads only that service's RED rows through `POST /api/sql` and through the MCP `sql`
 * tool, whatever its SQL asks for; an unrestricted token reads every service's rows (the
 * control, so that "only mine" is not "nothing yet"). The per-service filter is the read scope's
 * view (collector/src/query/read-scope.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';

let c: RunningCollector;
let admin: string;
let alphaSql: string;
const clients: Client[] = [];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function request(perService: Record<string, string[]>): OtlpRequest {
  const end = BigInt(Date.now()) * 1_000_000n;
  let n = 0;
  return {
    resourceSpans: Object.entries(perService).map(([service, names]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'e2e' },
          spans: names.map((name): OtlpSpan => ({ traceId: 'cd'.repeat(16), spanId: (++n).toString(16).padStart(16, '0'), name, kind: 2, startTimeUnixNano: String(end - 2_000_000n), endTimeUnixNano: String(end) })),
        },
      ],
    })),
  };
}

async function sqlRows(token: string, query: string): Promise<{ status: number; rows: Array<Record<string, unknown>>; error?: string }> {
  const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { rows?: Array<Record<string, unknown>>; error?: string };
  return { status: res.status, rows: body.rows ?? [], error: body.error };
}

async function mcpSql(token: string, query: string): Promise<string> {
  const client = new Client({ name: 'red-scope-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${c.apiUrl}/mcp`), { requestInit: { headers: bearer(token) } }));
  clients.push(client);
  const result = (await client.callTool({ name: 'sql', arguments: { query } })) as CallToolResult;
  expect(result.isError ?? false).toBe(false);
  return result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

const SERVICES_QUERY = 'SELECT DISTINCT ServiceName FROM flowtrace_red ORDER BY ServiceName';

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-redsql-boot-'), 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile], config: 'red:\n  flush_interval_ms: 200\n' });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const created = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'alpha-sql', scopes: ['read', 'sql'], services: ['alpha'] }),
  });
  expect(created.status).toBe(201);
  alphaSql = ((await created.json()) as { token: string }).token;
  const sent = await fetch(`${c.httpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request({ alpha: ['GET /alpha', 'GET /alpha'], beta: ['beta-secret-op'] })),
  });
  expect(sent.status).toBe(200);
  // The control: both services' minutes are in flowtrace_red for an unrestricted reader.
  await waitFor(async () => ((await sqlRows(admin, SERVICES_QUERY)).rows.length === 2 ? true : undefined), 'RED minutes of both services', 30_000);
}, 120_000);
afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await cleanup();
});

describe('flowtrace_red through user SQL', () => {
  it('gives a one-service token only its service\'s RED rows through /api/sql', async () => {
    expect((await sqlRows(admin, SERVICES_QUERY)).rows).toEqual([{ ServiceName: 'alpha' }, { ServiceName: 'beta' }]);
    expect((await sqlRows(alphaSql, SERVICES_QUERY)).rows).toEqual([{ ServiceName: 'alpha' }]);
    const asked = await sqlRows(alphaSql, "SELECT Operation, sum(Requests) AS n FROM flowtrace_red WHERE ServiceName = 'beta' OR 1 = 1 GROUP BY Operation");
    expect(asked.status).toBe(200);
    expect(asked.rows).toEqual([{ Operation: 'GET /alpha', n: '2' }]);
  });

  it('gives the same token only its RED rows through the MCP sql tool', async () => {
    const mine = await mcpSql(alphaSql, 'SELECT ServiceName, Operation, sum(Requests) AS n FROM flowtrace_red GROUP BY ServiceName, Operation');
    expect(mine).toContain('GET /alpha');
    expect(mine).not.toContain('beta');
    const control = await mcpSql(admin, 'SELECT ServiceName, Operation FROM flowtrace_red');
    expect(control).toContain('beta-secret-op');
  });
});
