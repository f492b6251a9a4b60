/**
 * Which functions user SQL may call: the engine's own catalogue (`system.functions`) filtered by
 * category to computation on values — no function that reads files, dictionaries, settings,
 * server state or other tables, sleeps, or calls out (the "Other", "Dictionary",
 * "Introspection", "Internal", "AI", … categories), plus a few harmless ones from "Other".
 */

/** Categories of pure computation on the values of a row or group. */
export const ALLOWED_CATEGORIES: ReadonlySet<string> = new Set([
  'Aggregate Functions',
  'Arithmetic',
  'Arrays',
  'Bit',
  'Bitmap',
  'Comparison',
  'Conditional',
  'Dates and Times',
  'Distance',
  'Encoding',
  'Financial',
  'Geo',
  'Geo Polygon',
  'Hash',
  'IP Address',
  'JSON',
  'Logical',
  'Map',
  'Mathematical',
  'Null',
  'Random Number',
  'Rounding',
  'String',
  'String Replacement',
  'String Search',
  'String Splitting',
  'Time Window',
  'Tuple',
  'Type Conversion',
  'URL',
  'UUID',
]);

/** Harmless functions outside those categories (formatting, types, running differences). */
export const EXTRA_FUNCTIONS: ReadonlySet<string> = new Set([
  'lambda', // the parser's name for `x -> expr`
  'caseWithExpression', // CASE x WHEN …
  'transform',
  'materialize',
  'ignore',
  'identity',
  'toTypeName',
  'toColumnTypeName',
  'bar',
  'formatReadableSize',
  'formatReadableDecimalSize',
  'formatReadableQuantity',
  'formatReadableTimeDelta',
  'parseTimeDelta',
  'parseReadableSize',
  'parseReadableSizeOrNull',
  'parseReadableSizeOrZero',
  'runningDifference',
  'runningDifferenceStartingWithFirstValue',
  'neighbor',
  'rowNumberInBlock',
  'rowNumberInAllBlocks',
  'byteSize',
  'isConstant',
  'finalizeAggregation',
  'throwIf',
  'getSubcolumn',
  'variantElement',
  'variantType',
  'visibleWidth',
  'countDigits',
  'defaultValueOfArgumentType',
  'defaultValueOfTypeName',
  'MACNumToString',
  'MACStringToNum',
  'MACStringToOUI',
]);

/**
 * Functions of allowed categories that are refused all the same: their cost grows with the
 * product of their inputs' lengths within one row, so a single block can run far past the
 * time limit (which the engine checks only between blocks).
 */
export const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  'editDistance',
  'editDistanceUTF8',
  'levenshteinDistance',
  'levenshteinDistanceUTF8',
  'damerauLevenshteinDistance',
  'jaroSimilarity',
  'jaroWinklerSimilarity',
  'stringJaccardIndex',
  'stringJaccardIndexUTF8',
  'arrayLevenshteinDistance',
  'arrayLevenshteinDistanceWeighted',
  'arraySimilarity',
]);

/** Table functions that generate values and read nothing. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'values']);

/** Aggregate-function combinators (`sumIf`, `groupArrayMerge`, …), longest first so `MergeState` wins over `State`. */
const COMBINATORS = ['SimpleState', 'MergeState', 'OrDefault', 'Resample', 'Distinct', 'ArgMin', 'ArgMax', 'ForEach', 'OrNull', 'Array', 'State', 'Merge', 'Map', 'If'];

export interface FunctionRow {
  name: string;
  categories: string;
  is_aggregate: number | string;
  case_insensitive: number | string;
  alias_to: string;
}

export class FunctionAllowList {
  private readonly exact = new Set<string>();
  private readonly caseless = new Set<string>();
  private readonly aggregates = new Set<string>();

  constructor(catalogue: readonly FunctionRow[]) {
    const byName = new Map(catalogue.map((f) => [f.name, f]));
    for (const f of catalogue) {
      // An alias is allowed when what it stands for is.
      const target = f.alias_to ? (byName.get(f.alias_to) ?? f) : f;
      if (!ALLOWED_CATEGORIES.has(target.categories) && !EXTRA_FUNCTIONS.has(target.name)) continue;
      if (DENIED_FUNCTIONS.has(f.name) || DENIED_FUNCTIONS.has(target.name)) continue;
      this.exact.add(f.name);
      if (Number(f.case_insensitive) === 1) this.caseless.add(f.name.toLowerCase());
      if (Number(target.is_aggregate) === 1) this.aggregates.add(f.name);
    }
    for (const name of EXTRA_FUNCTIONS) this.exact.add(name);
  }

  allows(name: string): boolean {
    if (this.exact.has(name) || this.caseless.has(name.toLowerCase())) return true;
    // sumIf, countDistinct, groupArrayMergeState …: an allowed aggregate with combinators.
    for (const suffix of COMBINATORS) {
      if (name.length > suffix.length && name.endsWith(suffix)) {
        const base = name.slice(0, -suffix.length);
        if (this.aggregates.has(base) || (this.allows(base) && this.isAggregate(base))) return true;
      }
    }
    return false;
  }

  private isAggregate(name: string): boolean {
    if (this.aggregates.has(name)) return true;
    return COMBINATORS.some((suffix) => name.length > suffix.length && name.endsWith(suffix) && this.isAggregate(name.slice(0, -suffix.length)));
  }
}
