import type { FastifyInstance } from 'fastify';

const ALLOWED_HEADERS = 'content-type, content-encoding, authorization';
/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for browser OpenTelemetry SDKs posting to `path`: requests from an allowed origin get
 * `Access-Control-Allow-Origin` (and may read `Retry-After`); `OPTIONS` preflights from
 * them are answered. Other origins get no CORS headers at all, so the browser blocks them.
 * `*` allows any origin (no cookies are involved: the credential is a bearer header).
 */
export function registerCors(app: FastifyInstance, path: string, allowedOrigins: string[]): void {
  const any = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  const allowed = (origin: string | undefined): origin is string => origin !== undefined && (any || origins.has(origin));

  app.addHook('onRequest', async (req, reply) => {
    reply.header('vary', 'origin');
    const origin = req.headers.origin;
    if (!allowed(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'retry-after');
  });
  app.options(path, async (req, reply) => {
    if (!allowed(req.headers.origin)) return reply.code(403).send({ code: 7, message: 'origin not allowed (receivers.otlp.http.cors.allowed_origins)' });
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', ALLOWED_HEADERS)
      .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS))
      .send();
  });
}
