import { createHmac } from 'node:crypto';

/** The same values recur across spans (one user's e-mail): remember this many digests. */
const CACHE_LIMIT = 10_000;

/**
 * Keyed pseudonyms: HMAC-SHA256 of the value under the configured key, shortened. The same
 * value gives the same pseudonym on every span and every collector sharing the key, so one
 * user's traces can still be found together; without the key the value cannot be recovered
 * by hashing guesses.
 */
export class Pseudonyms {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly key: string,
    private readonly length: number,
  ) {}

  /** `[HASHED:<kind>:<hex>]`. E-mail addresses are compared without case, '%40' as '@'. */
  of(kind: string, value: string): string {
    return `[HASHED:${kind}:${this.digest(kind === 'email' ? value.toLowerCase().replace('%40', '@') : value)}]`;
  }

  private digest(value: string): string {
    let hex = this.cache.get(value);
    if (hex === undefined) {
      hex = createHmac('sha256', this.key).update(value).digest('hex').slice(0, this.length);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(value, hex);
    }
    return hex;
  }
}
