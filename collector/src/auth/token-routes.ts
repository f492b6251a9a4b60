import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
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

/** `POST/GET /api/tokens`, `DELETE /api/tokens/:id` — admin scope (route-access.ts). */
export function registerTokenRoutes(app: FastifyInstance, tokens: TokenStore): void {
  app.post<{ Body: unknown }>('/api/tokens', async (req, reply) => {
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

  app.get('/api/tokens', async (req) => {
    const list = tokens.list();
    req.auditRows = list.length;
    return { tokens: list.map(tokenJson) };
  });

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (req, reply) => {
    const revoked = await tokens.revoke(req.params.id);
    if (!revoked) return reply.code(404).send({ error: `no API token with id ${JSON.stringify(req.params.id.slice(0, 64))}` });
    return tokenJson(revoked);
  });
}
