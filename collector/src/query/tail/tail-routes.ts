import type { FastifyInstance } from 'fastify';
import { parseDuration, parseText, QueryParamError, single } from '../params.js';
import { TailFullError, type TailHub, type TailSubscriber } from './tail-hub.js';
import type { TailFilter } from './tail-line.js';
import { DEFAULT_HEARTBEAT_SECONDS } from './config.js';

export interface TailRouteDeps {
  hub: TailHub;
  /** How often an idle stream gets a comment line, so that proxies and clients see it alive. */
  heartbeatMs?: number;
}

const DEFAULT_HEARTBEAT_MS = DEFAULT_HEARTBEAT_SECONDS * 1000;
/** What a refused client is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 5;

/**
 * `GET /api/tail?service=&operation=&minDuration=&errorsOnly=`: spans as the pipeline accepts
 * them, as Server-Sent Events (README.md in this folder). Every filter is optional; the
 * principal's read rules always apply. 429 when `maxClients` streams are open already.
 */
export function registerTailRoutes(app: FastifyInstance, deps: TailRouteDeps): void {
  const heartbeatMs = deps.heartbeatMs ?? deps.hub.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  /** Ends every open stream: Fastify's close waits for open connections, and a stream never ends by itself. */
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/tail', { schema: TAIL_SCHEMA }, async (req, reply) => {
    const filter = parseTailFilter(req.query, req.principal.rules);
    let subscriber: TailSubscriber;
    // Set once the stream is open; spans offered before then wait in the queue.
    let wake = (): void => {};
    try {
      // Anonymous callers (credentials not required) cannot be told apart: only the global cap applies.
      subscriber = deps.hub.subscribe(filter, () => wake(), req.principal.kind === 'anonymous' ? undefined : req.principal.id);
    } catch (err) {
      if (err instanceof TailFullError) return reply.code(429).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ error: err.message });
      throw err;
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    let blocked = false;
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      if (blocked || subscriber.closed) return;
      const { lines, dropped } = subscriber.take();
      if (lines.length === 0 && dropped === 0) return;
      let chunk = dropped > 0 ? `event: dropped\ndata: {"dropped":${dropped},"total":${subscriber.droppedTotal}}\n\n` : '';
      for (const line of lines) chunk += `event: span\ndata: ${line}\n\n`;
      // A slow reader: stop taking until the socket drains; meanwhile the queue fills and then drops.
      if (!res.write(chunk)) {
        blocked = true;
        res.once('drain', () => {
          blocked = false;
          flush();
        });
      }
    };
    // Spans arrive one offer at a time: write them together, once per turn of the event loop.
    wake = () => {
      if (scheduled || blocked) return;
      scheduled = true;
      setImmediate(flush);
    };
    const heartbeat = setInterval(() => {
      if (!blocked) res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
    }, heartbeatMs);
    /** The server ends a stream (shutdown) cleanly; a client gone or failing has its socket destroyed, or it can linger half-open. */
    const end = (how: 'end' | 'destroy'): void => {
      if (subscriber.closed) return;
      deps.hub.unsubscribe(subscriber);
      clearInterval(heartbeat);
      open.delete(ending);
      if (how === 'end' && !res.writableEnded) res.end();
      else res.destroy();
    };
    const ending = (): void => end('end');
    open.add(ending);
    res.on('close', () => end('destroy'));
    res.on('error', () => end('destroy'));
    res.write(`event: open\ndata: ${JSON.stringify({ queueSpans: deps.hub.options.queueSpans, heartbeatMs })}\n\n`);
    wake();
    return reply;
  });
}

const ERROR = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const;

/**
 * For the OpenAPI document. The parameters carry no `type`, so that Fastify's validation lets
 * them through to parseTailFilter, whose 400s name the parameter as every query route's do.
 */
const TAIL_SCHEMA = {
  summary: 'Live tail: spans as they are accepted, as Server-Sent Events',
  description:
    'After redaction, before sampling decisions (spans later sampled out are shown). Events: `open`, `span` (one compact JSON span), `dropped` ({dropped, total}: spans this client missed because it fell behind), heartbeat comments. Read rules apply. See collector/src/query/tail/README.md.',
  querystring: {
    type: 'object',
    properties: {
      service: { description: 'exact service.name' },
      operation: { description: 'exact span name' },
      minDuration: { description: 'a duration such as 250ms, 1.5s or 2m' },
      errorsOnly: { description: 'true or 1: only spans with status ERROR' },
    },
  },
  response: {
    // Written to the socket by the route (hijacked): documented, never serialised.
    200: { description: 'Server-Sent Events, until the client disconnects or the collector stops', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    400: { description: 'a bad parameter, named', ...ERROR },
    401: { description: 'no valid token or session', ...ERROR },
    403: { description: 'the token lacks the read scope', ...ERROR },
    429: { description: 'too many tail clients; Retry-After says when to try again', ...ERROR },
  },
};

/** The query parameters as a filter; every bad value is a 400 naming the parameter. */
export function parseTailFilter(q: Record<string, unknown>, rules: TailFilter['rules']): TailFilter {
  const minDuration = single('minDuration', q.minDuration);
  const errorsOnly = single('errorsOnly', q.errorsOnly);
  if (errorsOnly !== undefined && !['true', 'false', '1', '0'].includes(errorsOnly)) {
    throw new QueryParamError(`errorsOnly: expected true or false, got ${JSON.stringify(errorsOnly.slice(0, 64))}`);
  }
  return {
    service: parseText('service', q.service) || undefined,
    operation: parseText('operation', q.operation) || undefined,
    minDurationNs: minDuration === undefined ? 0n : parseDuration('minDuration', minDuration),
    errorsOnly: errorsOnly === 'true' || errorsOnly === '1',
    rules,
  };
}
