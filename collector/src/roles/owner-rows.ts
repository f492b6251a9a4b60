import type { FastifyInstance } from 'fastify';
import type { ClickHouseClient } from '@clickhouse/client';
import { STITCH_TABLES } from '../processors/stitch/tables.js';
import { RED_TABLE } from '../metrics/red/table.js';
import { DROPS_TABLE } from '../pipeline/drop-ledger/table.js';

/**
 * Side rows of the embedded-store scale-out (`storage.owner`): a `process` collector keeps no
 * store of its own that anyone reads, so what its stitch processor, RED counter and drop ledger
 * write (service-graph edges, correlation IDs, clock skew, RED minutes, drops) goes to the
 * `query` collector that owns the store, through `POST /api/internal/rows/:table`, and is
 * inserted there exactly as the process would have inserted it locally.
 */

/** The tables a `process` collector may write to its owner: nothing else (not spans, not tokens). */
export const OWNER_ROW_TABLES: readonly string[] = [...Object.values(STITCH_TABLES), RED_TABLE, DROPS_TABLE];

/**
 * Bounds of one request. A JSON body takes up to ~20× its size once parsed (nested `{}`), so the
 * owner — the process holding the store — takes small bodies, a few at a time; the senders cut
 * their inserts into requests of at most SEND_BYTES.
 */
export const MAX_OWNER_ROWS = 20_000;
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const SEND_BYTES = 1024 * 1024;
/** Requests parsed and inserted at once; more are answered 503 (the senders retry later). */
export const MAX_OWNER_REQUESTS = 4;

/** The part of a ClickHouse client the side-row writers use: a JSONEachRow insert, maybe with a dedup token. */
export interface RowInserter {
  insert(params: {
    table: string;
    values: object[];
    format: 'JSONEachRow';
    clickhouse_settings?: { insert_deduplicate?: 0 | 1; insert_deduplication_token?: string };
  }): Promise<unknown>;
}

export interface OwnerEndpoint {
  /** The owner's API, e.g. http://flowtrace-query:8686. */
  api: string;
  /** An `ingest` token of the owner; empty when its loopback rule admits us. */
  token: string;
}

/** A failed send to the owner; the side writers keep the rows and try again. */
export class OwnerRowsError extends Error {
  override name = 'OwnerRowsError';
}

/**
 * Sends inserts to the owner instead of a local ClickHouse. The table is named as the writers
 * name it (`` `db`.`table` ``); the owner inserts into its own database. An insert is cut into
 * requests of at most SEND_BYTES of JSON (the same rows cut at the same places on a retry, so a
 * dedup token `t` becomes `t/0`, `t/1`, … and each piece is still inserted once).
 */
export function ownerRowInserter(owner: OwnerEndpoint, fetchImpl: typeof fetch = fetch): RowInserter {
  const base = owner.api.replace(/\/+$/, '');
  const post = async (name: string, rows: string[], dedupToken: string | undefined) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (owner.token !== '') headers.authorization = `Bearer ${owner.token}`;
    const token = dedupToken === undefined ? '' : `,"dedup_token":${JSON.stringify(dedupToken)}`;
    let response: Response;
    try {
      response = await fetchImpl(`${base}/api/internal/rows/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers,
        body: `{"rows":[${rows.join(',')}]${token}}`,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new OwnerRowsError(`owner ${base}: ${(err as Error).message}`);
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      // No such route: the owner is not a `query` collector on the embedded store.
      const hint = response.status === 404 && text.includes('no route') ? ' (storage.owner must be a `query` collector on the embedded store)' : '';
      throw new OwnerRowsError(`owner ${base}: ${name}: HTTP ${response.status} ${text}${hint}`);
    }
  };
  return {
    async insert({ table, values, clickhouse_settings }) {
      const name = unqualified(table);
      const dedupToken = clickhouse_settings?.insert_deduplication_token;
      const pieces = cut(values.map((row) => JSON.stringify(row)));
      for (const [i, rows] of pieces.entries()) await post(name, rows, dedupToken === undefined ? undefined : pieces.length === 1 ? dedupToken : `${dedupToken}/${i}`);
    },
  };
}

/** Serialized rows in pieces of at most SEND_BYTES and MAX_OWNER_ROWS (a row larger than that goes alone). */
function cut(rows: readonly string[]): string[][] {
  const pieces: string[][] = [];
  let piece: string[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (piece.length > 0 && (bytes + row.length > SEND_BYTES || piece.length >= MAX_OWNER_ROWS)) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(row);
    bytes += row.length + 1;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}

/** `` `db`.`table` `` or `db.table` or `table` → `table`. */
function unqualified(table: string): string {
  const last = table.split('.').pop() ?? table;
  return last.replace(/^`|`$/g, '');
}

interface RowsBody {
  rows: object[];
  dedup_token?: string;
}

const bodySchema = {
  type: 'object',
  required: ['rows'],
  additionalProperties: false,
  properties: {
    rows: { type: 'array', maxItems: MAX_OWNER_ROWS, items: { type: 'object' } },
    dedup_token: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

/** ClickHouse error codes that mean the rows themselves are wrong (a 400, not worth a retry). */
const ROW_ERRORS = new Set([6, 16, 26, 27, 32, 33, 38, 41, 53, 62, 69, 70, 72, 117, 130, 131, 190, 386]);

/**
 * The owner's side of it: `POST /api/internal/rows/:table` (scope `ingest`, like OTLP intake),
 * for the tables above only, inserted into this collector's database with the same JSONEachRow
 * insert the writers make locally, unknown fields refused. Bodies are small and few at a time
 * (MAX_BODY_BYTES, MAX_OWNER_REQUESTS: counted before the body is read). A dedup token is kept
 * per caller, so one caller's tokens can never make another's rows look inserted already.
 */
export function registerOwnerRowsRoute(app: FastifyInstance, deps: { writer: ClickHouseClient; database: string }): void {
  let inFlight = 0;
  app.post<{ Params: { table: string }; Body: RowsBody }>(
    '/api/internal/rows/:table',
    {
      bodyLimit: MAX_BODY_BYTES,
      schema: { hide: true, params: { type: 'object', properties: { table: { type: 'string' } } }, body: bodySchema },
      // Before the body is read (onRequest runs ahead of parsing): at most MAX_OWNER_REQUESTS held at once.
      onRequest: async (_req, reply) => {
        if (inFlight >= MAX_OWNER_REQUESTS) return reply.code(503).header('retry-after', '1').send({ error: 'the owner is taking other side rows now; retry' });
        inFlight++;
        reply.raw.once('close', () => inFlight--);
      },
    },
    async (req, reply) => {
      const { table } = req.params;
      if (!OWNER_ROW_TABLES.includes(table)) {
        return reply.code(404).send({ error: `no table ${JSON.stringify(table).slice(0, 80)} takes rows here; expected one of ${OWNER_ROW_TABLES.join(', ')}` });
      }
      const { rows, dedup_token: dedupToken } = req.body;
      if (rows.length === 0) return { inserted: 0 };
      try {
        await deps.writer.insert({
          table: `\`${deps.database}\`.\`${table}\``,
          values: rows,
          format: 'JSONEachRow',
          clickhouse_settings: {
            input_format_skip_unknown_fields: 0,
            ...(dedupToken === undefined ? {} : { insert_deduplicate: 1, insert_deduplication_token: `${req.principal.id}/${dedupToken}` }),
          },
        });
      } catch (err) {
        const code = Number((err as { code?: unknown }).code);
        if (ROW_ERRORS.has(code)) return reply.code(400).send({ error: `rows refused by ${table}: ${(err as Error).message.split('\n')[0]!.slice(0, 300)}` });
        req.log.error({ err, table }, 'owner rows: insert failed');
        return reply.code(503).header('retry-after', '5').send({ error: `could not insert into ${table} now; retry` });
      }
      return { inserted: rows.length };
    },
  );
}
