import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every FlowTrace API token starts with this, so it is recognisable in a secret scanner or a leak. */
export const TOKEN_PREFIX = 'ft_';

/** What a FlowTrace token looks like: the prefix and at least 32 URL-safe characters. */
const TOKEN_SHAPE = /^ft_[A-Za-z0-9_-]{32,200}$/;

/** A new token: 32 random bytes (256 bits), base64url, after the prefix. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A new token id: public, shown in `tokens list`, used to revoke. */
export function generateTokenId(): string {
  return randomBytes(8).toString('hex');
}

export function isTokenShaped(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/**
 * What is stored instead of the token. A plain SHA-256 suffices (no salt, no slow hash): the
 * token has 256 bits of entropy, so the digest cannot be reversed by guessing.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex digests of the same length. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Removes anything token-shaped from text bound for logs and the audit table. */
export function redactTokens(text: string): string {
  return text.replace(/ft_[A-Za-z0-9_-]{8,}/g, 'ft_[REDACTED]');
}
