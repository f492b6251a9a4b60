import type { Action } from './config.js';

/** What happens to an attribute, decided by its key alone. */
export type KeyDecision =
  /** Never touched. */
  | 'allow'
  /** The value is searched by the detectors. */
  | 'scan'
  /** The whole value gets this action. */
  | Action;

export interface KeyRulesConfig {
  action: Action;
  deny: ReadonlyArray<string | { key: string; action: Action }>;
  allow: readonly string[];
}

/** Keys the processor writes itself. */
export const REDACTED_ATTRIBUTE = 'flowtrace.redacted';
export const REDACTED_KEYS_ATTRIBUTE = 'flowtrace.redacted.keys';

/** Keys repeat across every span: decisions are remembered, up to this many keys. */
const CACHE_LIMIT = 10_000;

/**
 * Allow and deny rules on attribute keys. Allow wins. A deny entry without a '.' is a word
 * matched against the key's last segment and its word suffixes, ignoring case, '-', '_' and
 * camelCase: `token` denies `access_token`, `X-CSRF-Token` and `refreshToken` but not
 * `input_tokens`; `api_key` denies `apikey` and `x-api-key`. An entry with a '.' is a whole key.
 */
export class KeyRules {
  private readonly allowExact = new Set<string>([REDACTED_ATTRIBUTE, REDACTED_KEYS_ATTRIBUTE]);
  private readonly allowPrefixes: string[] = [];
  private readonly denyWords = new Map<string, Action>();
  private readonly denyKeys = new Map<string, Action>();
  private readonly cache = new Map<string, KeyDecision>();

  constructor(config: KeyRulesConfig) {
    for (const entry of config.allow) {
      if (entry.endsWith('*')) this.allowPrefixes.push(entry.slice(0, -1));
      else this.allowExact.add(entry);
    }
    for (const entry of config.deny) {
      const [key, action] = typeof entry === 'string' ? [entry, config.action] : [entry.key, entry.action];
      if (key.includes('.')) this.denyKeys.set(key.toLowerCase(), action);
      else this.denyWords.set(words(key).join(''), action);
    }
  }

  decide(key: string): KeyDecision {
    let decision = this.cache.get(key);
    if (decision === undefined) {
      decision = this.compute(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, decision);
    }
    return decision;
  }

  private compute(key: string): KeyDecision {
    if (this.allowExact.has(key) || this.allowPrefixes.some((p) => key.startsWith(p))) return 'allow';
    const whole = this.denyKeys.get(key.toLowerCase());
    if (whole) return whole;
    const w = words(key.slice(key.lastIndexOf('.') + 1));
    for (let i = 0; i < w.length; i++) {
      const action = this.denyWords.get(w.slice(i).join(''));
      if (action) return action;
    }
    return 'scan';
  }
}

/** 'X-Api_key' → ['x', 'api', 'key']; 'refreshToken' → ['refresh', 'token']. */
function words(segment: string): string[] {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[-_ ]+/)
    .filter((w) => w !== '');
}
