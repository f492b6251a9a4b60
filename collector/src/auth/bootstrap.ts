import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { generateToken, isTokenShaped } from './token-format.js';
import type { TokenStore } from './token-store.js';

/** A mistake in the auth settings found at start: exit 2, like other configuration errors. */
export class AuthConfigError extends Error {
  override name = 'AuthConfigError';
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
    if ((statSync(file).mode & 0o077) !== 0) logger.warn({ file }, 'the bootstrap token file is readable by other users: chmod 600 it');
  } else {
    token = generateToken();
    try {
      writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new AuthConfigError(`auth.bootstrap_token_file: cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    logger.info({ file }, 'created the first admin token in the bootstrap token file');
  }
  const info = await tokens.register(token, { name: 'bootstrap', scopes: ['admin'] });
  if (info.revokedAt) logger.warn({ file, id: info.id }, 'the bootstrap token was revoked: delete the file to have a new one created at the next start');
}
