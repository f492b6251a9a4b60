/**
 * Hints for a search that found nothing: the attribute keys it names that no span carried
 * lately (per the attribute-key catalog, catalog.ts), each with the closest keys that were
 * seen — `span.htp.route` → `span.http.route`. A typo in a key is the most common reason a
 * query matches nothing, and the grammar cannot tell it from a key that is merely rare, so this
 * is a hint beside an empty answer, never an error. Under the caller's read rules: only keys of
 * services it may read are suggested; none for rules the catalog cannot enforce.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ReadRules } from '../../auth/principal.js';
import { ReadScopeError } from '../read-scope.js';
import type { SpanExpr, TraceExpr } from './ast.js';
import { CatalogOffError, catalogFilter, catalogKeys, MAX_CATALOG_KEYS } from './catalog.js';

/** How far back a key counts as seen. */
export const HINT_DAYS = 7;
const MAX_SUGGESTIONS = 3;
/**
 * Unknown keys of one query that get "did you mean" suggestions, and the longest such key: each
 * suggestion costs an edit distance against every catalog key (up to MAX_CATALOG_KEYS, length²
 * each) on the event loop, so a query naming fifty long keys must not buy seconds of CPU.
 */
export const MAX_SUGGESTED_KEYS = 5;
export const MAX_SUGGESTED_KEY_LENGTH = 64;

type Scope = 'span' | 'resource';

export async function unknownKeyHints(client: ClickHouseClient, database: string, rules: ReadRules, expr: TraceExpr): Promise<string[]> {
  const named = new Map<string, { scope: Scope; key: string }>();
  collect(expr, (scope, key) => named.set(`${scope}.${key}`, { scope, key }));
  if (named.size === 0) return [];
  let known: Array<{ scope: string; key: string }>;
  let present: Array<{ scope: string; key: string }>;
  try {
    const where = { filter: catalogFilter(rules), days: HINT_DAYS };
    // The keys the query names, asked for by name: a rare key is seen even when more than MAX_CATALOG_KEYS keys are (the suggestions come from those).
    [present, known] = await Promise.all([
      catalogKeys(client, database, { ...where, only: [...named.keys()], limit: named.size }),
      catalogKeys(client, database, { ...where, limit: MAX_CATALOG_KEYS }),
    ]);
  } catch (err) {
    if (err instanceof CatalogOffError || err instanceof ReadScopeError) return [];
    throw err;
  }
  const seen = new Set(present.map((k) => `${k.scope}.${k.key}`));
  const hints: string[] = [];
  let suggested = 0;
  for (const [name, { scope, key }] of named) {
    if (seen.has(name)) continue;
    const suggest = suggested < MAX_SUGGESTED_KEYS && key.length <= MAX_SUGGESTED_KEY_LENGTH;
    if (suggest) suggested++;
    const close = suggest ? closest(key, known.filter((k) => k.scope === scope).map((k) => k.key)).map((k) => `${scope}.${k}`) : [];
    hints.push(`${name}: no span carried this key in the last ${HINT_DAYS} days${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''}`);
  }
  return hints;
}

/** The attribute fields of a query, in order. */
function collect(e: TraceExpr, add: (scope: Scope, key: string) => void): void {
  const span = (s: SpanExpr): void => {
    switch (s.type) {
      case 'and':
      case 'or':
        span(s.left);
        span(s.right);
        return;
      case 'not':
        span(s.expr);
        return;
      case 'compare':
        if (s.field.type === 'attribute' && (s.field.scope === 'span' || s.field.scope === 'resource')) add(s.field.scope, s.field.key);
    }
  };
  switch (e.type) {
    case 'and':
    case 'or':
      collect(e.left, add);
      collect(e.right, add);
      return;
    case 'not':
      collect(e.expr, add);
      return;
    case 'spans':
      span(e.where);
      return;
    case 'descendant':
      span(e.ancestor);
      span(e.descendant);
      return;
    case 'compare':
      return;
  }
}

/** Keys within a small edit distance of `key` (a quarter of its length, at least 2), closest first. */
export function closest(key: string, candidates: readonly string[]): string[] {
  const bound = Math.max(2, Math.floor(key.length / 4));
  return candidates
    .map((c) => ({ c, d: Math.abs(c.length - key.length) > bound ? bound + 1 : editDistance(key, c, bound) }))
    .filter((x) => x.d <= bound)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, MAX_SUGGESTIONS)
    .map((x) => x.c);
}

/** Levenshtein distance, giving up (bound + 1) once every path is past `bound`. */
function editDistance(a: string, b: string, bound: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > bound) return bound + 1;
    previous = current;
  }
  return previous[b.length]!;
}
