import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import type { ReadScopes } from './read-scope.js';
import { authErrors } from './route-schemas.js';

/**
 * `GET /api/sql/schema`: the tables `POST /api/sql` may name for the caller, with their columns,
 * as JSON (the dashboard's SQL console shows it beside the editor). The same content as the MCP
 * resource `flowtrace://schema` (mcp/schema-resource.ts): only the tables the caller's read rules
 * leave it, read from the engine's catalogue with bound parameters. Needs the `read` scope (it
 * shows names and types, never data), like every `GET /api/*`.
 */
export interface SqlSchemaRouteDeps {
  reader: ClickHouseClient;
  database: string;
  readScopes: ReadScopes;
}

export interface SqlSchemaColumn {
  name: string;
  type: string;
  comment: string;
}

export interface SqlSchemaAnswer {
  tables: Array<{ name: string; columns: SqlSchemaColumn[] }>;
  /** True when the caller reads only some services: the tables hold only their rows. */
  restricted: boolean;
  /** FlowTrace tables the caller's environment rules cannot be enforced on: refused with 403. */
  refusedTables: string[];
  /** How to write SQL against these tables (times, attributes, status). */
  notes: string[];
}

/** What the SQL console and the MCP schema resource both say about writing SQL here. */
export const SQL_NOTES: readonly string[] = [
  'Name the tables bare (otel_traces); one SELECT (or WITH … SELECT) per statement.',
  'Timestamp is DateTime64(9) UTC; Duration is nanoseconds (UInt64).',
  "Attributes are Map(String, String): SpanAttributes['http.route'].",
  "Hot attributes also have their own indexed column (Attr_http_route is SpanAttributes['http.route']); name it, SELECT * leaves it out.",
  "StatusCode is 'Error', 'Ok' or 'Unset'.",
  'Filter on Timestamp first: the span table is ordered by service and time.',
];

const columnSchema = { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string', description: 'ClickHouse type' }, comment: { type: 'string' } } } as const;

export const sqlSchemaSchema = {
  summary: 'The tables and columns POST /api/sql may read with your credentials',
  response: {
    200: {
      type: 'object',
      properties: {
        tables: {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, columns: { type: 'array', items: columnSchema } } },
          description: 'by name; columns in table order',
        },
        restricted: { type: 'boolean', description: 'your read rules limit the services: these tables hold only their rows' },
        refusedTables: { type: 'array', items: { type: 'string' }, description: "tables your environment rules cannot be enforced on (SQL naming them is refused)" },
        notes: { type: 'array', items: { type: 'string' }, description: 'how to write SQL against these tables' },
      },
    },
    ...authErrors,
  },
} as const;

export function registerSqlSchemaRoutes(app: FastifyInstance, deps: SqlSchemaRouteDeps): void {
  app.get('/api/sql/schema', { schema: sqlSchemaSchema }, async (req): Promise<SqlSchemaAnswer> => {
    const scope = await deps.readScopes.forRules(req.principal.rules);
    const names = [...scope.allowedTables].sort();
    const result = await deps.reader.query({
      query: `SELECT table, name, type, comment FROM system.columns
              WHERE database = {db:String} AND table IN {tables:Array(String)} ORDER BY table, position`,
      query_params: { db: deps.database, tables: names },
      format: 'JSONEachRow',
    });
    const columns = await result.json<{ table: string } & SqlSchemaColumn>();
    const tables = names
      .map((name) => ({ name, columns: columns.filter((c) => c.table === name).map(({ name: column, type, comment }) => ({ name: column, type, comment })) }))
      .filter((t) => t.columns.length > 0);
    return { tables, restricted: scope.restricted, refusedTables: [...scope.refusedTables].sort(), notes: [...SQL_NOTES] };
  });
}
