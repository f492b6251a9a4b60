/**
 * An OTLP/HTTP endpoint that accepts trace exports and discards them without decoding, run in
 * its own process by bench/agent-java.ts so that the agents under test export for real. Prints
 * its port on the first stdout line; `GET /stats` answers the exports and bytes received so far.
 */
import { createServer } from 'node:http';

let requests = 0;
let bytes = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, bytes }));
    return;
  }
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    if (req.method === 'POST') requests++;
    // An empty ExportTraceServiceResponse (or ExportMetrics/Logs), which is zero bytes of protobuf.
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
