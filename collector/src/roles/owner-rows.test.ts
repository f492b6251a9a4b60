import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerRowInserter, OwnerRowsError } from './owner-rows.js';

interface Received {
  url: string;
  authorization: string | undefined;
  body: { rows: object[]; dedup_token?: string };
  bytes: number;
}

let server: Server;
let base = '';
const received: Received[] = [];
let answer: { status: number; body: string } = { status: 200, body: '{"inserted":0}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      received.push({ url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(raw.toString()) as Received['body'], bytes: raw.length });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('ownerRowInserter', () => {
  it('posts to the owner\'s route for the unqualified table, with the token', async () => {
    received.length = 0;
    await ownerRowInserter({ api: `${base}/`, token: 'tok' }).insert({ table: '`default`.`flowtrace_red`', values: [{ a: 1 }], format: 'JSONEachRow' });
    expect(received).toEqual([{ url: '/api/internal/rows/flowtrace_red', authorization: 'Bearer tok', body: { rows: [{ a: 1 }] }, bytes: expect.any(Number) }]);
  });

  it('cuts a large insert into small requests, each with a token of its own derived from the insert\'s', async () => {
    received.length = 0;
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ Caller: 'gateway', Callee: 'orders', Operation: `op-${i}`, Calls: i }));
    const insert = () => ownerRowInserter({ api: base, token: '' }).insert({ table: 'flowtrace_service_graph', values: rows, format: 'JSONEachRow', clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: 'rec-7' } });
    await insert();
    expect(received.length).toBeGreaterThan(1);
    for (const r of received) expect(r.bytes).toBeLessThanOrEqual(1024 * 1024 + 200);
    expect(received.flatMap((r) => r.body.rows)).toEqual(rows);
    const tokens = received.map((r) => r.body.dedup_token);
    expect(tokens).toEqual(received.map((_, i) => `rec-7/${i}`));
    expect(received.every((r) => r.authorization === undefined)).toBe(true);
    // A retry cuts at the same places: the same tokens for the same rows.
    const first = received.map((r) => [r.body.dedup_token, r.body.rows.length]);
    received.length = 0;
    await insert();
    expect(received.map((r) => [r.body.dedup_token, r.body.rows.length])).toEqual(first);
  });

  it('says what is wrong when the owner has no such route (not a query collector on the embedded store)', async () => {
    answer = { status: 404, body: '{"error":"no route POST /api/internal/rows/flowtrace_red"}' };
    try {
      const failed = ownerRowInserter({ api: base, token: 'secret-token' }).insert({ table: 'flowtrace_red', values: [{}], format: 'JSONEachRow' });
      await expect(failed).rejects.toBeInstanceOf(OwnerRowsError);
      await expect(failed).rejects.toThrow(/storage.owner must be a `query` collector on the embedded store/);
      await expect(failed).rejects.not.toThrow(/secret-token/);
    } finally {
      answer = { status: 200, body: '{"inserted":0}' };
    }
  });
});
