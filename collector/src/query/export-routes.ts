import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { GuestExportFormat } from '../../../exporters/clickhouse/index.js';
import { QueryParamError, parseDuration } from './params.js';
import { documentOnly, errorSchema, readErrors } from './route-schemas.js';
import { SqlBusyError, type UserSql } from './sql/user-sql.js';

/**
 * `POST /api/export {format, where?, since?}`: the span table (the caller's filtered view of it)
 * as a file, streamed. Scope `sql` (auth/route-access.ts): `where` is user SQL, checked by the
 * same statement gate as `/api/sql` and run under the same limits and concurrency slots, with
 * the export's own row cap (`api.sql.export_max_rows`). Unlike `/api/sql` the result is not
 * parsed or buffered by the route: the engine's bytes are passed on as they come.
 *
 * Formats: `jsonl` (one JSON object per span), `json` (ClickHouse's JSON document: meta, data,
 * rows), `csv` (with a header line), `parquet`. 64-bit integers are quoted in the JSON formats.
 *
 * `count: true` (what `flowtrace export` asks for on a terminal) first counts the rows the same
 * selection holds — one `count()` through the same gate, read rules and slots, the row cap
 * applied — and sends it in `x-flowtrace-rows`, so the CLI can draw a progress bar.
 */
export const EXPORT_FORMATS: Record<string, { engine: GuestExportFormat; contentType: string }> = {
  jsonl: { engine: 'JSONEachRow', contentType: 'application/x-ndjson' },
  json: { engine: 'JSON', contentType: 'application/json; charset=utf-8' },
  csv: { engine: 'CSVWithNames', contentType: 'text/csv; charset=utf-8' },
  parquet: { engine: 'Parquet', contentType: 'application/vnd.apache.parquet' },
};

export interface ExportRouteDeps {
  userSql: UserSql;
  /** The span table, unqualified (`storage.clickhouse.traces_table`). */
  tracesTable: string;
}

export interface ExportRequest {
  format: keyof typeof EXPORT_FORMATS;
  where: string;
  sinceSeconds?: number;
  /** Count the rows first and send the count in `x-flowtrace-rows` (for a progress bar). */
  count: boolean;
}

/** The response header holding the row count when the request asked for it. */
export const ROWS_HEADER = 'x-flowtrace-rows';

/** The request body checked field by field, or QueryParamError (400) naming the field. */
export function parseExportRequest(body: unknown): ExportRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new QueryParamError('body: expected JSON {"format": "jsonl|json|csv|parquet", "where"?: "...", "since"?: "1h"}');
  const { format, where, since, count, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new QueryParamError(`body: unknown field ${JSON.stringify(unknown[0])}`);
  if (typeof format !== 'string' || !Object.hasOwn(EXPORT_FORMATS, format)) {
    throw new QueryParamError(`format: expected one of ${Object.keys(EXPORT_FORMATS).join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (where !== undefined && typeof where !== 'string') throw new QueryParamError('where: expected a string (a SQL condition)');
  if (count !== undefined && typeof count !== 'boolean') throw new QueryParamError('count: expected true or false');
  let sinceSeconds: number | undefined;
  if (since !== undefined) {
    const ns = parseDuration('since', since);
    if (ns === 0n) throw new QueryParamError('since: expected a duration longer than 0');
    sinceSeconds = Number((ns + 999_999_999n) / 1_000_000_000n);
  }
  return { format, where: where ?? '', sinceSeconds, count: count === true };
}

const file = (description: string, format?: string) => ({ schema: { type: 'string', description, ...(format ? { format } : {}) } }) as const;

/**
 * For the OpenAPI document only (documentOnly): the body is checked by parseExportRequest,
 * whose messages name the field, and the answer is a stream, which Fastify never serialises.
 */
const exportSchema = {
  summary: 'Export spans (the span table, filtered by your read rules) as jsonl, json, csv or parquet, streamed',
  description: 'Rows oldest first, at most api.sql.export_max_rows. Needs the sql scope. Sent as an attachment (content-disposition).',
  body: {
    type: 'object',
    required: ['format'],
    additionalProperties: false,
    properties: {
      format: { type: 'string', enum: Object.keys(EXPORT_FORMATS) },
      where: { type: 'string', description: 'a SQL condition on the span table, checked like /api/sql (default: every span)' },
      since: { type: 'string', description: 'only spans from this long ago, e.g. 1h' },
      count: { type: 'boolean', description: 'count the rows first (one more query through the same gate) and send the count in the x-flowtrace-rows header, for a progress bar; an estimate when spans arrive meanwhile' },
    },
  },
  response: {
    200: {
      description: 'the spans in the format asked for',
      content: {
        'application/x-ndjson': file('jsonl: one JSON object per span'),
        'application/json': file("json: ClickHouse's JSON document (meta, data, rows)"),
        'text/csv': file('csv, with a header line'),
        'application/vnd.apache.parquet': file('parquet', 'binary'),
      },
    },
    ...readErrors,
    429: { ...errorSchema, description: 'too many SQL statements running; see retry-after' },
  },
} as const;

export function registerExportRoutes(app: FastifyInstance, deps: ExportRouteDeps): void {
  app.post<{ Body: unknown }>('/api/export', { schema: exportSchema, validatorCompiler: documentOnly }, async (req, reply) => {
    const request = parseExportRequest(req.body);
    const { engine, contentType } = EXPORT_FORMATS[request.format]!;
    const selection = { table: deps.tracesTable, where: request.where, sinceSeconds: request.sinceSeconds };
    const chunks = deps.userSql.export({ ...selection, format: engine }, req.principal);
    // The first chunk is awaited before answering: refusals, busy and engine errors are still a 4xx.
    let first: IteratorResult<Buffer>;
    try {
      // The count runs (and gives its slot back) before the export takes one.
      if (request.count) void reply.header(ROWS_HEADER, String(await deps.userSql.countExport(selection, req.principal)));
      first = await chunks.next();
    } catch (err) {
      if (err instanceof SqlBusyError) void reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
    let bytes = 0;
    async function* body(): AsyncGenerator<Buffer> {
      if (first.done) return;
      bytes += first.value.length;
      yield first.value;
      for await (const chunk of chunks) {
        bytes += chunk.length;
        yield chunk;
      }
    }
    const stream = Readable.from(body(), { objectMode: false });
    // Closing the response early (client gone) returns the generator, which stops the query.
    stream.on('close', () => void chunks.return(undefined));
    reply.raw.on('finish', () => req.log.debug({ bytes, format: request.format }, 'export sent'));
    return reply.type(contentType).header('content-disposition', `attachment; filename="flowtrace-export.${request.format}"`).send(stream);
  });
}
