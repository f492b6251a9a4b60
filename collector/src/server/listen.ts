import type { FastifyInstance } from 'fastify';

/** Splits `host:port` (IPv6 in brackets) as the config validated it. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(endpoint.slice(i + 1)) };
}

/**
 * The kernel's queue of connections not yet accepted (capped by `net.core.somaxconn`). Node's
 * default, 511, drops the SYNs of a burst beyond it; the client then retries a second or more
 * later, which turns a burst into latency, and into connections accepted after the cap freed up.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on a configured endpoint and returns the bound `host:port` (port 0 becomes the real one). */
export async function listenOn(server: FastifyInstance, endpoint: string): Promise<string> {
  const { host, port } = splitEndpoint(endpoint);
  await server.listen({ host, port, backlog: LISTEN_BACKLOG });
  const address = server.server.address();
  if (address === null || typeof address === 'string') return endpoint;
  return `${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
