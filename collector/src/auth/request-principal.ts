import type { Principal } from './principal.js';

// Every API request carries the principal the auth hook resolved (LOOPBACK_ANONYMOUS on a
// loopback-only API without credentials); routes read it to apply scopes and read rules.
declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export {};
