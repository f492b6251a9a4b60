import Fastify, { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';

/**
 * A Fastify server logging through the collector's pino logger, tagged with its component.
 * Per-request log lines are off: at tens of thousands of OTLP requests a second they would
 * cost more than the requests; errors are still logged by the handlers.
 */
export function createServer(logger: Logger, component: string, options: Omit<FastifyServerOptions, 'logger' | 'loggerInstance'> = {}) {
  return Fastify({
    ...options,
    loggerInstance: logger.child({ component }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
}
