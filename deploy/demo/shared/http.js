'use strict';
// The few HTTP helpers the demo services share: JSON in and out over node:http, and the
// listen-and-announce step. Deliberately framework-free, so that the demo images carry only the
// agent's dependencies. This file is copied into each service (see the Dockerfile), not traced.
const http = require('node:http');

const MAX_BODY_BYTES = 64 * 1024;

/** Reads a JSON request body (at most 64 KiB); rejects with a 400-shaped error otherwise. */
function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(httpError(413, 'request body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(httpError(400, 'request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function httpError(status, message) {
  return Object.assign(new Error(message), { status });
}

/**
 * Serves `routes` (`'METHOD /path'` → async (body, req) => [status, body]) plus GET /healthz.
 * Listens on HOST:PORT (PORT 0 picks a free port) and prints `listening PORT` once bound, which
 * is how tests and humans learn the port.
 */
function serve(name, defaultPort, routes) {
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok', service: name });
    const route = routes[`${req.method} ${path}`];
    if (route === undefined) return sendJson(res, 404, { error: `no route ${req.method} ${path}` });
    try {
      const body = req.method === 'GET' ? {} : await readJson(req);
      const [status, out] = await route(body, req);
      sendJson(res, status, out);
    } catch (err) {
      const status = Number.isInteger(err.status) ? err.status : 500;
      sendJson(res, status, { error: err.message });
    }
  });
  const port = Number(process.env.PORT ?? defaultPort);
  const host = process.env.HOST ?? '127.0.0.1';
  server.listen(port, host, () => console.log(`listening ${server.address().port}`));
  return server;
}

module.exports = { serve, httpError };
