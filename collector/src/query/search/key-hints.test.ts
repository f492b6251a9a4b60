import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { closest, MAX_SUGGESTED_KEY_LENGTH, MAX_SUGGESTED_KEYS, unknownKeyHints } from './key-hints.js';
import { parseSearch } from './parse.js';

describe('closest keys', () => {
  const keys = ['http.route', 'http.request.method', 'http.response.status_code', 'db.system', 'db.statement', 'url.full'];

  it('finds keys within a small edit distance, closest first', () => {
    expect(closest('http.rout', keys)).toEqual(['http.route']);
    expect(closest('htp.route', keys)).toEqual(['http.route']);
    expect(closest('db.sytem', keys)).toEqual(['db.system']);
    expect(closest('db.statment', keys)).toEqual(['db.statement']);
  });

  it('suggests nothing far away, and at most three', () => {
    expect(closest('k8s.pod.name', keys)).toEqual([]);
    expect(closest('a', ['b', 'c', 'd', 'e', 'ab'])).toEqual(['ab', 'b', 'c']);
  });
});

describe('unknown-key hints', () => {
  /** A client whose catalog holds `keys` (span scope): what catalogKeys reads. */
  const catalog = (keys: string[]): ClickHouseClient =>
    ({ query: async () => ({ json: async () => keys.map((key) => ({ scope: 'span', key, spans: '1' })) }) }) as unknown as ClickHouseClient;

  it('bounds the edit-distance work one query can buy: suggestions for the first few short unknown keys only', async () => {
    const known = Array.from({ length: 20 }, (_, i) => `app.key${String(i).padStart(2, '0')}`);
    const long = 'x'.repeat(MAX_SUGGESTED_KEY_LENGTH);
    const wanted = [`${long}y`, ...known.map((k) => k.replace('app.', 'ap.'))];
    const q = wanted.map((k) => `span.${k} exists`).join(' OR ');
    const hints = await unknownKeyHints(catalog([...known, long]), 'db', {}, parseSearch(q));
    // Every unknown key is named; a longer-than-bound key and those past the first few get no suggestion.
    expect(hints).toHaveLength(wanted.length);
    expect(hints[0]).not.toMatch(/did you mean/);
    expect(hints.filter((h) => /did you mean/.test(h))).toHaveLength(MAX_SUGGESTED_KEYS);
    expect(hints[1]).toMatch(/^span\.ap\.key00: .*did you mean span\.app\.key00/);
  });
});
