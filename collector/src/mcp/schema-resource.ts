import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from './tool.js';

export const SCHEMA_URI = 'flowtrace://schema';

/**
 * The tables the caller's SQL may name, with their columns, as an MCP resource: only the tables
 * its read rules leave it (the guest views), read from the engine's catalogue with bound
 * parameters. Text, one table per block, so the model writes valid SQL without guessing.
 */
export function registerSchemaResource(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'schema',
    SCHEMA_URI,
    { title: 'FlowTrace SQL schema', description: 'Tables and columns the sql tool can read with your token', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: await schemaText(ctx) }] }),
  );
}

export async function schemaText(ctx: ToolContext): Promise<string> {
  const scope = await ctx.deps.readScopes.forRules(ctx.principal.rules);
  const tables = [...scope.allowedTables].sort();
  const result = await ctx.deps.reader.query({
    query: `SELECT table, name, type, comment FROM system.columns
            WHERE database = {db:String} AND table IN {tables:Array(String)} ORDER BY table, position`,
    query_params: { db: ctx.deps.database, tables },
    format: 'JSONEachRow',
  });
  const columns = await result.json<{ table: string; name: string; type: string; comment: string }>();
  const lines = [
    '# FlowTrace tables for the sql tool: name them bare (otel_traces), one SELECT per call.',
    '# Times: Timestamp is DateTime64(9) UTC, Duration is nanoseconds (UInt64). Attributes are Map(String, String): SpanAttributes[\'http.route\'].',
    '# StatusCode is \'Error\', \'Ok\' or \'Unset\'. Filter on Timestamp first: the table is ordered by service and time.',
  ];
  if (scope.restricted) lines.push('# Your token reads only some services: these tables hold only their rows.');
  for (const table of tables) {
    const own = columns.filter((c) => c.table === table);
    if (own.length === 0) continue;
    lines.push('', `${table}:`, ...own.map((c) => `  ${c.name} ${c.type}${c.comment ? `  -- ${c.comment}` : ''}`));
  }
  if (scope.refusedTables.size > 0) lines.push('', `# not readable with your token's environment rules: ${[...scope.refusedTables].sort().join(', ')}`);
  return lines.join('\n');
}
