import { pino } from 'pino';
import type { ApiAuthOptions } from './api-auth.js';
import { AuditLog } from './audit.js';
import { TokenStore, type TokenStoreClients } from './token-store.js';

/**
 * For tests of the query API's data routes: the auth of a loopback-only API with default
 * settings (requests without credentials are anonymous with every scope), audit not written.
 */
export function loopbackApiAuth(clients: TokenStoreClients, database: string): { auth: ApiAuthOptions; tokens: TokenStore } {
  const logger = pino({ level: 'silent' });
  const tokens = new TokenStore(clients, database);
  const audit = new AuditLog(clients.writer, database, 1, logger);
  return { tokens, auth: { verifiers: [tokens], anonymousLoopback: true, allowedOrigins: [], audit } };
}
