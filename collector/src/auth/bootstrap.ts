import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { generateToken, isTokenShaped } from './token-format.js';
import type { TokenStore } from './token-store.js';

/** The name of the token the bootstrap file holds; other tokens of that name are its earlier values. */
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap';

/** A mistake in the auth settings found at start: exit 2, like other configuration errors. */
export class AuthConfigError extends Error {
  override name = 'AuthConfigError';
}

/**
 * Whether to warn that the token file is open to other users: only when the collector's own user
 * owns it, and so can chmod it. A file owned by another user is a platform's secret mount
 * (Docker: root-owned 0444; Kubernetes: root-owned 0440 for the pod's fsGroup), whose mode the
 * platform sets and the collector cannot change.
 */
export function ownFileReadableByOthers(mode: number, fileUid: number, processUid: number | undefined): boolean {
  return processUid !== undefined && fileUid === processUid && (mode & 0o077) !== 0;
}

/**
 * The first admin token. An existing file's content is registered (idempotent across restarts);
 * a missing file is created (mode 0600, never overwritten) with a new token, then registered.
 */
export async function bootstrapAdminToken(file: string, tokens: TokenStore, logger: Logger): Promise<void> {
  let token: string;
  let content: string | undefined;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AuthConfigError(`auth.bootstrap_token_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (content !== undefined) {
    token = content.trim();
    if (!isTokenShaped(token)) {
      throw new AuthConfigError(`auth.bootstrap_token_file: ${file} does not hold a FlowTrace token ("ft_" and at least 32 letters, digits, "-" or "_"); delete it to have one created`);
    }
    const stat = statSync(file);
    if (ownFileReadableByOthers(stat.mode, stat.uid, process.getuid?.())) logger.warn({ file }, 'the bootstrap token file is readable by other users: chmod 600 it');
  } else {
    token = generateToken();
    try {
      writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new AuthConfigError(`auth.bootstrap_token_file: cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    logger.info({ file }, 'created the first admin token in the bootstrap token file');
  }
  const info = await tokens.register(token, { name: BOOTSTRAP_TOKEN_NAME, scopes: ['admin'] });
  if (info.revokedAt) logger.warn({ file, id: info.id }, 'the bootstrap token was revoked: delete the file to have a new one created at the next start');
  // The file holds the one bootstrap token: a new one there rotates it, the previous ones stop working.
  for (const previous of tokens.list()) {
    if (previous.name !== BOOTSTRAP_TOKEN_NAME || previous.id === info.id || previous.revokedAt) continue;
    await tokens.revoke(previous.id);
    logger.info({ file, id: previous.id }, 'revoked the previous bootstrap token: the bootstrap token file holds a new one');
  }
}
