import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authErrors, documentOnly, errorSchema } from '../query/route-schemas.js';
import { SCOPES } from './principal.js';
import type { ApiToken, TokenStore } from './token-store.js';

const MAX_EXPIRY_SECONDS = 10 * 366 * 24 * 3600;
const label = z.string().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const createBody = z
  .object({
    name: label,
    scopes: z.array(z.enum(SCOPES)).min(1, 'at least one scope'),
    services: z.array(label).max(1000).default([]),
    environments: z.array(label).max(1000).default([]),
    /** Seconds from now; absent means the token does not expire. */
    expiresInSeconds: z.number().int().min(1).max(MAX_EXPIRY_SECONDS).optional(),
  })
  .strict();

export type CreateTokenRequest = z.input<typeof createBody>;

/** What the API shows of a token (never its value or digest). */
export function tokenJson(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    services: t.services,
    environments: t.environments,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

export type TokenJson = ReturnType<typeof tokenJson>;

const labels = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, maxItems: 1000 } as const;
const time = { type: 'string', format: 'date-time' } as const;
const tokenProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] } },
  services: { ...labels, description: 'read rule: only these services (empty: all)' },
  environments: { ...labels, description: 'read rule: only these deployment environments (empty: all)' },
  createdAt: time,
  expiresAt: { type: ['string', 'null'], format: 'date-time' },
  revokedAt: { type: ['string', 'null'], format: 'date-time' },
} as const;
const tokenSchema = { type: 'object', properties: tokenProperties } as const;
const adminErrors = { 400: { ...errorSchema, description: 'a bad field, named in the message' }, ...authErrors } as const;

const createSchema = {
  summary: 'Create an API token (its value is shown once, in this answer)',
  description: 'Needs the admin scope.',
  body: {
    type: 'object',
    required: ['name', 'scopes'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200, description: 'no control characters' },
      scopes: { type: 'array', minItems: 1, items: { type: 'string', enum: [...SCOPES] } },
      services: tokenProperties.services,
      environments: tokenProperties.environments,
      expiresInSeconds: { type: 'integer', minimum: 1, maximum: MAX_EXPIRY_SECONDS, description: 'absent: the token does not expire' },
    },
  },
  response: {
    201: { type: 'object', properties: { ...tokenProperties, token: { type: 'string', description: 'the secret: send it as Authorization: Bearer <token>' } } },
    ...adminErrors,
  },
} as const;
const listSchema = {
  summary: 'List API tokens (never their values)',
  description: 'Needs the admin scope.',
  response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } }, ...authErrors },
} as const;
const revokeSchema = {
  summary: 'Revoke an API token',
  description: 'Needs the admin scope.',
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'the token id (GET /api/tokens)' } } },
  response: { 200: tokenSchema, ...authErrors, 404: { ...errorSchema, description: 'no token with this id' } },
} as const;

/** `POST/GET /api/tokens`, `DELETE /api/tokens/:id` — admin scope (route-access.ts). */
export function registerTokenRoutes(app: FastifyInstance, tokens: TokenStore): void {
  // The body is checked by zod (documentOnly): its messages name the field, and it refuses "60" for a number.
  app.post<{ Body: unknown }>('/api/tokens', { schema: createSchema, validatorCompiler: documentOnly }, async (req, reply) => {
    const parsed = createBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply.code(400).send({ error: `${issue.path.join('.') || 'body'}: ${issue.message}` });
    }
    const { name, scopes, services, environments, expiresInSeconds } = parsed.data;
    const expiresAt = expiresInSeconds === undefined ? undefined : new Date(Date.now() + expiresInSeconds * 1000);
    const { token, info } = await tokens.create({ name, scopes, services, environments, expiresAt });
    return reply.code(201).send({ ...tokenJson(info), token });
  });

  app.get('/api/tokens', { schema: listSchema }, async (req) => {
    const list = tokens.list();
    req.auditRows = list.length;
    return { tokens: list.map(tokenJson) };
  });

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', { schema: revokeSchema }, async (req, reply) => {
    const revoked = await tokens.revoke(req.params.id);
    if (!revoked) return reply.code(404).send({ error: `no API token with id ${JSON.stringify(req.params.id.slice(0, 64))}` });
    return tokenJson(revoked);
  });
}
