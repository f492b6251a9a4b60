/**
 * Span names with their variable parts replaced, so that the calls of a loop (the N+1 shape)
 * share one name: `GET /users/42` and `GET /users/43` → `GET /users/?`; `SELECT … WHERE id = 7`
 * → `SELECT … WHERE id = ?`. Identifiers such as `method2` or `v1` are kept (a digit glued to a
 * letter is part of a name, not a value).
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** 0x-prefixed, or 8+ hex digits with at least one digit, standing alone (trace/span IDs, hashes, ObjectIds). */
const HEX_ID = /\b0x[0-9a-f]+\b|(?<![\w-])(?=[0-9a-f]*\d)[0-9a-f]{8,}(?![\w-])/gi;
const QUOTED = /'(?:[^']|'')*'/g;
/** A number not glued to a preceding letter or underscore (`id=42`, `/42`, `LIMIT 10`, `-1.5`). */
const NUMBER = /(?<![A-Za-z_\d.])-?\d+(?:\.\d+)?/g;

export function normaliseName(name: string): string {
  return name.replace(UUID, '?').replace(HEX_ID, '?').replace(QUOTED, '?').replace(NUMBER, '?');
}

/** Normalised name IDs for a string table: equal IDs for names that normalise alike. */
export function normaliseTable(names: readonly string[]): { ids: Uint32Array; values: string[] } {
  const ids = new Uint32Array(names.length);
  const index = new Map<string, number>();
  const values: string[] = [];
  names.forEach((name, i) => {
    const norm = normaliseName(name);
    let id = index.get(norm);
    if (id === undefined) {
      id = values.length;
      values.push(norm);
      index.set(norm, id);
    }
    ids[i] = id;
  });
  return { ids, values };
}
