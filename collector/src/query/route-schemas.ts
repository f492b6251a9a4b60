import type { FastifySchemaCompiler } from 'fastify';

/**
 * JSON-Schema pieces shared by the query routes' `schema` options, which feed the OpenAPI
 * document (openapi-routes.ts) and, for responses, Fastify's serialiser.
 *
 * - Response schemas SERIALISE (fast-json-stringify): a property a schema does not name is
 *   dropped, unless its object says `additionalProperties: true`. Shapes that are open by nature
 *   (span attributes, SQL rows, read rules) say so, and every span-like object keeps unknown
 *   fields, so a field added to SpanView later is never lost silently.
 * - Query parameters are `type: 'string'` only: validation never coerces them, and the routes'
 *   own parsers (params.ts) still give the messages. A repeated parameter (an array) fails the
 *   schema; api.ts formats that as `name: expected one value`, the parsers' wording.
 */

/** The body of every 4xx/5xx answer. */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string', description: 'what was wrong, naming the parameter or field' } },
} as const;

/** The refusals every authenticated route can answer, before or besides its own. */
export const authErrors = {
  401: { ...errorSchema, description: 'no valid token or session' },
  403: { ...errorSchema, description: 'the token lacks the scope this route needs' },
} as const;

/** Bad parameters plus the authentication refusals. */
export const readErrors = { 400: { ...errorSchema, description: 'a bad parameter, named in the message' }, ...authErrors } as const;

export const nanoString = { type: 'string', pattern: '^-?\\d+$', description: 'nanoseconds, as a decimal string' } as const;

/** A query parameter: one string value; the route parses and bounds it. */
export const queryText = (description: string) => ({ type: 'string', description }) as const;

/** An object whose keys are data (attributes, SQL row columns, rules): serialised as it is. */
export const openObject = (description: string) => ({ type: 'object', additionalProperties: true, description }) as const;

/** A trace ID in a path: the route checks it (32 or 16 hex digits); the bound only keeps junk short. */
export const traceIdParams = {
  type: 'object',
  required: ['traceId'],
  properties: { traceId: { type: 'string', maxLength: 64, description: '32 hex digits (16 are zero-padded)' } },
} as const;

const attributes = openObject('attribute values typed as sent: string, number, boolean, array or object; 64-bit integers beyond 2^53 as decimal strings');

/** One span as the query API returns it (span-view.ts `SpanView`). */
export const spanViewSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    traceId: { type: 'string' },
    spanId: { type: 'string' },
    parentSpanId: { type: 'string', description: 'empty for a root span' },
    traceState: { type: 'string' },
    flags: { type: 'integer' },
    name: { type: 'string' },
    kind: { type: 'string' },
    serviceName: { type: 'string' },
    startTimeUnixNano: nanoString,
    endTimeUnixNano: nanoString,
    durationNano: { ...nanoString, description: 'nanoseconds, as a decimal string; 0 when the end was sent before the start' },
    endBeforeStart: { type: 'boolean', description: 'present (true) only when the end was sent before the start' },
    attributes,
    droppedAttributesCount: { type: 'integer' },
    resource: {
      type: 'object',
      additionalProperties: true,
      properties: { attributes, droppedAttributesCount: { type: 'integer' }, schemaUrl: { type: 'string' } },
    },
    scope: {
      type: 'object',
      additionalProperties: true,
      properties: { name: { type: 'string' }, version: { type: 'string' }, attributes, droppedAttributesCount: { type: 'integer' }, schemaUrl: { type: 'string' } },
    },
    events: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { timeUnixNano: nanoString, name: { type: 'string' }, attributes, droppedAttributesCount: { type: 'integer' } },
      },
    },
    droppedEventsCount: { type: 'integer' },
    links: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { traceId: { type: 'string' }, spanId: { type: 'string' }, traceState: { type: 'string' }, flags: { type: 'integer' }, attributes, droppedAttributesCount: { type: 'integer' } },
      },
    },
    droppedLinksCount: { type: 'integer' },
    status: { type: 'object', additionalProperties: true, properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

/** One trace of a search (trace-store.ts `TraceSummary`). */
export const traceSummarySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    traceId: { type: 'string' },
    rootServiceName: { type: 'string' },
    rootSpanName: { type: 'string' },
    startTimeUnixNano: nanoString,
    durationNano: nanoString,
    spanCount: { type: 'integer' },
    errorCount: { type: 'integer' },
    services: { type: 'array', items: { type: 'string' } },
  },
} as const;

/**
 * For a route whose handler checks its body itself (its messages name the field, and it refuses
 * what JSON-Schema coercion would quietly accept, such as `"60"` for a number): the body schema
 * documents the request and is not run. Params and query strings of such routes are not validated either.
 */
export const documentOnly: FastifySchemaCompiler<unknown> = () => () => true;

/** What Fastify gives a schema error formatter: Ajv's errors, in part. */
interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * A schema refusal in the API's wording, `name: problem` (Fastify's own is `querystring/limit
 * must be string`). In a query string every value is a string, so a string-type failure is a
 * parameter given twice, worded as params.ts `single` words it.
 */
export function schemaErrorMessage(errors: readonly SchemaError[], dataVar: string): string {
  const first = errors[0];
  if (!first) return `${dataVar}: invalid`;
  const missing = first.keyword === 'required' ? first.params.missingProperty : undefined;
  const name = typeof missing === 'string' ? missing : first.instancePath.replace(/^\//, '').replaceAll('/', '.') || dataVar;
  if (dataVar === 'querystring' && first.keyword === 'type' && first.params.type === 'string') return `${name}: expected one value, got several`;
  if (typeof missing === 'string') return `${name}: required`;
  return `${name}: ${first.message ?? 'invalid'}`;
}
