import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { ConnectionLimits, TlsConfig } from './config.js';
import { capConnections, http1Timeouts } from './limits.js';
import { TlsFiles } from './tls.js';

/** How a port is exposed: TLS (optional), connection limits, and where refused connections are counted. */
export interface PortTransport {
  /** Where the port's settings sit, e.g. `receivers.otlp.http` (names the key in errors). */
  keyPrefix: string;
  tls?: TlsConfig;
  limits?: ConnectionLimits;
  /** Called for each connection closed at once because the port is at `max_connections`. */
  onConnectionRefused?: () => void;
}

/**
 * A Fastify server logging through the collector's pino logger, tagged with its component.
 * Per-request log lines are off: at tens of thousands of OTLP requests a second they would
 * cost more than the requests; errors are still logged by the handlers.
 *
 * With `transport`, the HTTP/1.1 server is built here (Fastify's `serverFactory`) so that TLS
 * and the limits are set where Node enforces them: certificate files read now and reloaded
 * on change, headers / request / keep-alive timeouts, and a cap on connections.
 */
export function createServer(
  logger: Logger,
  component: string,
  options: Omit<FastifyServerOptions, 'logger' | 'loggerInstance' | 'serverFactory'> = {},
  transport?: PortTransport,
) {
  const log = logger.child({ component });
  const tls = transport && TlsFiles.enabled(transport.tls) ? new TlsFiles(transport.tls, transport.keyPrefix) : undefined;
  const app = Fastify({
    ...options,
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...(transport ? { serverFactory: (handler: RequestListener) => buildHttpServer(handler, transport, tls, log) } : {}),
  });
  if (tls) app.addHook('onClose', async () => tls.close());
  return app;
}

function buildHttpServer(handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>, transport: PortTransport, tls: TlsFiles | undefined, logger: Logger): Server {
  const options: ServerOptions = transport.limits ? http1Timeouts(transport.limits) : {};
  let server: Server;
  if (tls) {
    // A client that opens a connection and never completes the handshake is closed after the headers timeout.
    const handshakeTimeout = transport.limits ? transport.limits.headers_timeout_seconds * 1000 : undefined;
    const secure = createHttpsServer({ ...options, ...tls.serverOptions(), handshakeTimeout }, handler);
    tls.watch(secure, logger);
    server = secure;
  } else {
    server = createHttpServer(options, handler);
  }
  if (transport.limits) capConnections(server, transport.limits, transport.onConnectionRefused);
  return server;
}
