/**
 * Hot attributes: span attributes searched often enough to be stored a second time, in their own
 * column beside `SpanAttributes`, so that a search on one reads a narrow string column (and its
 * skip index) instead of the whole attribute map of every span in the window.
 *
 * - Column: `Attr_<key with every character outside [A-Za-z0-9_] as _>` (`http.route` →
 *   `Attr_http_route`), `String MATERIALIZED SpanAttributes['<key>']`: the engine fills it at
 *   insert from the map, so inserts (which name their columns) need no change, and its value is
 *   exactly the map lookup's ('' for a missing key). `SELECT *` leaves MATERIALIZED columns out
 *   (ClickHouse's rule): name them.
 * - Skip index `idx_attr_<same>`: bloom_filter over the value's *elements* (hotElementsSql): the
 *   value itself, plus, for a value that looks like a JSON array, its elements, as the search
 *   grammar compares array attributes element-wise. The compiler adds `has(<elements>, v)` as a
 *   necessary condition, so the index prunes granules for `=` and `in` whatever the value's kind.
 * - Added by `ADD COLUMN / ADD INDEX IF NOT EXISTS` at every start. Parts written before the
 *   column existed are not rewritten (`MATERIALIZE COLUMN` is a mutation over the whole table):
 *   reading them computes the value from the map, and merges write it; they have no index until then.
 *   A key removed from the list keeps its column (nothing is dropped); readers stop using it.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { alterColumns, alterStorage } from '../../../../exporters/clickhouse/cluster-ddl.js';

/** The default `storage.hot_attributes`. */
export const DEFAULT_HOT_ATTRIBUTES: readonly string[] = ['http.route', 'db.system', 'peer.service', 'flowtrace.correlation_id'];

/** Characters a hot key may have: the key goes into DDL as a literal, so keep it plain. */
export const HOT_KEY_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** The column a hot key is materialised into. */
export function hotColumnName(key: string): string {
  return `Attr_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The skip index of a hot column. */
export function hotIndexName(column: string): string {
  return `idx_${column.toLowerCase()}`;
}

/**
 * The values a search for `v` by `=` or `in` may match in `column`: the stored value and, when it
 * is a JSON array, its elements as the search grammar reads them (compile.ts). The skip index is
 * built over exactly this text, so the compiler must use this function (the engine matches the
 * index by its expression).
 */
export function hotElementsSql(column: string): string {
  return `if(startsWith(${column}, '['), arrayPushBack(arrayMap(e -> if(JSONType(e) = 'String', JSONExtractString(e), e), JSONExtractArrayRaw(${column})), ${column}), [${column}])`;
}

/** The hot keys of a store and their columns; the readers ask it which map lookups a column replaces. */
export class HotColumns {
  private readonly byKey: ReadonlyMap<string, string>;

  constructor(keys: readonly string[]) {
    this.byKey = new Map(keys.map((key) => [key, hotColumnName(key)]));
  }

  /** The column holding span attribute `key`, when it is hot. */
  column(key: string): string | undefined {
    return this.byKey.get(key);
  }

  get keys(): string[] {
    return [...this.byKey.keys()];
  }

  get columns(): string[] {
    return [...this.byKey.values()];
  }
}

/** No hot columns: every read uses the attribute map. */
export const NO_HOT_COLUMNS = new HotColumns([]);

let active: HotColumns = NO_HOT_COLUMNS;

/**
 * The hot columns every reader of this process uses (search compiler, read-scope views). Set by
 * the collector once the migration has created them, so no read names a column that is not there.
 */
export function setActiveHotColumns(hot: HotColumns): void {
  active = hot;
}

export function activeHotColumns(): HotColumns {
  return active;
}

function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The idempotent statements that give `table` a column and a skip index per hot key. On a cluster
 * (cluster-ddl.ts) the column goes to the local and the Distributed table, the index to the local one.
 */
export function hotColumnStatements(table: string, keys: readonly string[], cluster = ''): string[] {
  return keys.flatMap((key) => {
    const column = hotColumnName(key);
    return [
      ...alterColumns(table, cluster, `ADD COLUMN IF NOT EXISTS ${column} String MATERIALIZED SpanAttributes[${sqlString(key)}] COMMENT ${sqlString(`hot attribute: SpanAttributes['${key}'] stored apart, with a skip index`)} CODEC(ZSTD(1))`),
      alterStorage(table, cluster, `ADD INDEX IF NOT EXISTS ${hotIndexName(column)} ${hotElementsSql(column)} TYPE bloom_filter(0.01) GRANULARITY 1`),
    ];
  });
}

/** Runs hotColumnStatements (migrate() in exporters/clickhouse/schema.ts). */
export async function migrateHotColumns(client: ClickHouseClient, table: string, keys: readonly string[], cluster = ''): Promise<void> {
  for (const query of hotColumnStatements(table, keys, cluster)) await client.command({ query });
}
