/**
 * `flowtrace assert` against a collector that answers 422 (the request needs more than its query
 * budget, query/assert/evaluate.ts): bad input, exit 2 with the collector's message, not the
 * "collector failed" exit 3. The collector is a loopback HTTP server on a free port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCommand } from './assert.js';

const MESSAGE = 'the assertions need more than 60s of queries: assert fewer things per request, or narrow the window or the scope';
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: MESSAGE }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString();
}

describe('flowtrace assert and the query budget', () => {
  it('a 422 is exit 2 with the collector\'s message', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const err = collect(stderr);
    const code = await assertCommand.run(['--api', base, '--none', '{ status = error }'], { stdout, stderr, env: {}, cwd: process.cwd() });
    expect(code).toBe(2);
    expect(err()).toContain(MESSAGE);
  });
});
