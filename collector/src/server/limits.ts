import type { ServerOptions } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { ConnectionLimits } from './config.js';

/**
 * How often Node's HTTP/1.1 server checks the headers and request timeouts of open
 * connections: its default (30 s) would let a slow body outlive a shorter timeout by that much.
 */
const CHECK_INTERVAL_MS = 1000;

/**
 * HTTP/1.1 timeouts: the head must arrive within `headers_timeout_seconds` (a connection that
 * sends nothing is closed then too), the whole request within `request_timeout_seconds` (a
 * slow body is answered 408 and closed), and an idle keep-alive connection within `idle_timeout_seconds`.
 */
export function http1Timeouts(limits: ConnectionLimits): ServerOptions {
  const requestTimeout = limits.request_timeout_seconds * 1000;
  return {
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeout: Math.min(limits.headers_timeout_seconds * 1000, requestTimeout),
    requestTimeout,
    keepAliveTimeout: limits.idle_timeout_seconds * 1000,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
  };
}

/**
 * At most `max_connections` open connections on the port: Node closes each one beyond that as
 * soon as it is accepted (before any TLS handshake or parsing), and emits `drop`, counted here.
 */
export function capConnections(server: NetServer, limits: ConnectionLimits, onRefused?: () => void): void {
  server.maxConnections = limits.max_connections;
  if (onRefused) server.on('drop', () => onRefused());
}
