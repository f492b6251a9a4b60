/**
 * The search grammar's tokenizer and recursive-descent parser (grammar and examples in
 * README.md). Pure: text in, a TraceExpr or a SearchSyntaxError naming the column out. Every
 * input is bounded here (text length, comparisons, nesting, IN lists, strings, regexes), so the
 * compiler never sees an unbounded query.
 */
import type { Comparison, Operator, SpanExpr, SpanField, SpanIntrinsic, TraceExpr, TraceField, Value } from './ast.js';

export const SEARCH_LIMITS = {
  /** Characters of the whole query. */
  maxQueryLength: 4096,
  /** Comparisons (`field op value`) in one query: each becomes a clause of the SQL. */
  maxComparisons: 50,
  /** Parentheses, braces and NOT nested in each other (the parser recurses on them). */
  maxNesting: 32,
  /** Values of one IN list. */
  maxInValues: 100,
  /** Characters of a regex: re2 compiles it once per query, but a long one is rarely what anyone meant. */
  maxRegexLength: 512,
  /** Characters of any other string (attribute key or value). */
  maxStringLength: 4096,
} as const;

/** A query the grammar refuses; `column` counts characters from 1. */
export class SearchSyntaxError extends Error {
  override name = 'SearchSyntaxError';
  constructor(
    readonly column: number,
    readonly problem: string,
  ) {
    super(`at column ${column}: ${problem}`);
  }
}

type TokenType = 'word' | 'string' | 'number' | 'duration' | 'op' | 'punct' | 'end';
interface Token {
  type: TokenType;
  text: string;
  /** 0-based offset of the first character. */
  at: number;
  /** Offset just after the last character. */
  end: number;
  /** The decoded string, for 'string'; nanoseconds, for 'duration'. */
  value?: string;
  ns?: bigint;
}

const UNITS_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
const MAX_NS = (1n << 63n) - 1n;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };
/** Field names and keywords; attribute keys after `span.` / `resource.` may also hold `-`, `/`, `:`, `@`. */
const WORD = /[A-Za-z_][A-Za-z0-9_.\-/:@]*/y;
const NUMBER = /-?\d{1,20}(?:\.\d{1,9})?/y;
const UNIT = /[a-zµ]+/y;
const OPERATORS = ['>>', '!=', '>=', '<=', '=~', '!~', '=', '>', '<'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ('(){},'.includes(c)) {
      tokens.push({ type: 'punct', text: c, at: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const token = readString(text, i);
      tokens.push(token);
      i = token.end;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(text);
    if (number && (c !== '-' || number[0].length > 1)) {
      let end = i + number[0].length;
      UNIT.lastIndex = end;
      const unit = UNIT.exec(text);
      if (unit) {
        const perUnit = UNITS_NS[unit[0]];
        if (perUnit === undefined) throw new SearchSyntaxError(end + 1, `unknown duration unit ${JSON.stringify(unit[0])} (use ns, us, ms, s, m or h)`);
        end += unit[0].length;
        const [whole, fraction = ''] = number[0].replace('-', '').split('.');
        if (number[0].startsWith('-')) throw new SearchSyntaxError(i + 1, 'a duration cannot be negative');
        const ns = BigInt(whole!) * perUnit + (BigInt(fraction || '0') * perUnit) / 10n ** BigInt(fraction.length);
        if (ns > MAX_NS) throw new SearchSyntaxError(i + 1, 'duration too long (at most 292 years)');
        tokens.push({ type: 'duration', text: text.slice(i, end), at: i, end, ns });
      } else tokens.push({ type: 'number', text: number[0], at: i, end });
      i = end;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(text);
    if (word) {
      tokens.push({ type: 'word', text: word[0], at: i, end: i + word[0].length });
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ type: 'op', text: op, at: i, end: i + op.length });
      i += op.length;
      continue;
    }
    throw new SearchSyntaxError(i + 1, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ type: 'end', text: '', at: text.length, end: text.length });
  return tokens;
}

/** A string in double or single quotes; `\\`, `\"`, `\'`, `\n`, `\t`, `\r` are its only escapes. */
function readString(text: string, start: number): Token {
  const quote = text[start]!;
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === quote) {
      if (out.length > SEARCH_LIMITS.maxStringLength) throw new SearchSyntaxError(start + 1, `string longer than ${SEARCH_LIMITS.maxStringLength} characters`);
      return { type: 'string', text: text.slice(start, i + 1), at: start, end: i + 1, value: out };
    }
    if (c === '\\') {
      const next = text[i + 1];
      const decoded = next === undefined ? undefined : ESCAPES[next];
      if (decoded === undefined) throw new SearchSyntaxError(i + 1, `unknown escape ${JSON.stringify('\\' + (next ?? ''))} (use \\\\, \\", \\', \\n, \\t or \\r)`);
      out += decoded;
      i++;
    } else out += c;
  }
  throw new SearchSyntaxError(start + 1, `unterminated string: expected a closing ${quote}`);
}

const INTRINSICS: Record<string, SpanIntrinsic> = {
  name: 'name',
  service: 'service',
  kind: 'kind',
  status: 'status',
  statusmessage: 'statusMessage',
  duration: 'duration',
};
const TRACE_FIELDS: Record<string, TraceField> = {
  'trace.duration': 'duration',
  'trace.spans': 'spans',
  'trace.status': 'status',
  'trace.rootservice': 'rootService',
  'trace.rootname': 'rootName',
};
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'exists', 'contains', 'startswith', 'true', 'false']);

/** Parses a search; throws SearchSyntaxError with the column of the problem. */
export function parseSearch(text: string): TraceExpr {
  if (text.length > SEARCH_LIMITS.maxQueryLength) throw new SearchSyntaxError(SEARCH_LIMITS.maxQueryLength + 1, `query longer than ${SEARCH_LIMITS.maxQueryLength} characters`);
  return new Parser(tokenize(text)).parse();
}

class Parser {
  private pos = 0;
  private comparisons = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): TraceExpr {
    if (this.peek().type === 'end') throw this.error(this.peek(), 'empty query: expected a condition such as { name = "GET /users" }');
    const expr = this.traceOr();
    const next = this.peek();
    if (next.type !== 'end') throw this.error(next, `expected AND, OR or the end of the query, got ${describe(next)}`);
    return expr;
  }

  // ── trace level ──────────────────────────────────────────────────────────
  private traceOr(): TraceExpr {
    let left = this.traceAnd();
    while (this.keyword('or')) left = { type: 'or', left, right: this.traceAnd() };
    return left;
  }

  private traceAnd(): TraceExpr {
    let left = this.traceNot();
    while (this.keyword('and')) left = { type: 'and', left, right: this.traceNot() };
    return left;
  }

  private traceNot(): TraceExpr {
    const start = this.peek();
    if (this.keyword('not')) return this.nested(start, () => ({ type: 'not', expr: this.traceNot() }));
    return this.tracePrimary();
  }

  private tracePrimary(): TraceExpr {
    const t = this.peek();
    if (this.punct('(')) {
      const expr = this.nested(t, () => this.traceOr());
      this.expectPunct(')', 'to close the ( at column ' + (t.at + 1));
      return expr;
    }
    if (t.type === 'punct' && t.text === '{') {
      const ancestor = this.spanSet();
      const arrow = this.peek();
      if (!isStructural(arrow)) return { type: 'spans', where: ancestor, column: t.at + 1 };
      this.pos++;
      if (!(this.peek().type === 'punct' && this.peek().text === '{')) throw this.error(this.peek(), `expected { after '${arrow.text}', got ${describe(this.peek())}`);
      const descendant = this.spanSet();
      if (isStructural(this.peek())) throw this.error(this.peek(), `one '>' or '>>' per pair: combine pairs with AND`);
      return { type: 'descendant', ancestor, descendant, childOnly: arrow.text === '>', column: t.at + 1 };
    }
    const field = t.type === 'word' ? TRACE_FIELDS[t.text.toLowerCase()] : undefined;
    if (field) {
      this.pos++;
      return this.comparison(field, t, traceFieldRules(field));
    }
    if (t.type === 'word' && t.text.toLowerCase().startsWith('trace.')) throw this.error(t, `unknown trace field ${JSON.stringify(t.text)} (use ${Object.keys(TRACE_FIELDS).map((f) => FIELD_NAMES[f]).join(', ')})`);
    // A bare span condition at the trace level is a span set of its own: `a AND b` may match two different spans.
    const where = this.spanComparison();
    return { type: 'spans', where, column: t.at + 1 };
  }

  private spanSet(): SpanExpr {
    const open = this.peek();
    this.pos++;
    if (this.peek().type === 'punct' && this.peek().text === '}') throw this.error(this.peek(), 'expected a condition inside { }');
    const expr = this.nested(open, () => this.spanOr());
    this.expectPunct('}', 'to close the { at column ' + (open.at + 1));
    return expr;
  }

  // ── span level (inside braces) ──────────────────────────────────────────
  private spanOr(): SpanExpr {
    let left = this.spanAnd();
    while (this.keyword('or')) left = { type: 'or', left, right: this.spanAnd() };
    return left;
  }

  private spanAnd(): SpanExpr {
    let left = this.spanNot();
    while (this.keyword('and')) left = { type: 'and', left, right: this.spanNot() };
    return left;
  }

  private spanNot(): SpanExpr {
    const t = this.peek();
    if (this.keyword('not')) return this.nested(t, () => ({ type: 'not', expr: this.spanNot() }));
    if (this.punct('(')) {
      const expr = this.nested(t, () => this.spanOr());
      this.expectPunct(')', 'to close the ( at column ' + (t.at + 1));
      return expr;
    }
    return this.spanComparison();
  }

  private spanComparison(): Comparison<SpanField> {
    const t = this.peek();
    if (t.type === 'word' && TRACE_FIELDS[t.text.toLowerCase()]) throw this.error(t, `${t.text} is a trace field: use it outside { }`);
    const field = this.spanField();
    return this.comparison(field, t, spanFieldRules(field));
  }

  private spanField(): SpanField {
    const t = this.peek();
    if (t.type !== 'word' || KEYWORDS.has(t.text.toLowerCase())) {
      throw this.error(t, `expected a field (span.<key>, resource.<key>, name, service, kind, status, statusMessage, duration or, outside { }, trace.<field>), got ${describe(t)}`);
    }
    this.pos++;
    const lower = t.text.toLowerCase();
    const intrinsic = INTRINSICS[lower];
    if (intrinsic) return { type: 'intrinsic', name: intrinsic };
    for (const scope of ['span', 'resource'] as const) {
      if (!lower.startsWith(scope + '.')) continue;
      let key = t.text.slice(scope.length + 1);
      const quoted = this.peek();
      if (key === '' && quoted.type === 'string' && quoted.at === t.end) {
        // span."a key with spaces"
        this.pos++;
        key = quoted.value!;
      }
      if (key === '') throw this.error(t, `expected an attribute key after '${scope}.'`);
      // The resource's service.name is the ServiceName column (indexed, and what read rules filter on).
      if (scope === 'resource' && key === 'service.name') return { type: 'intrinsic', name: 'service' };
      return { type: 'attribute', scope, key };
    }
    throw this.error(t, `unknown field ${JSON.stringify(t.text)}: attributes are span.<key> or resource.<key>; other fields are name, service, kind, status, statusMessage, duration`);
  }

  /** `op value`, `IN (v, …)`, `NOT IN (…)`, `exists`, `NOT exists` after a field, checked against what the field accepts. */
  private comparison<F>(field: F, fieldToken: Token, rules: FieldRules): Comparison<F> {
    if (++this.comparisons > SEARCH_LIMITS.maxComparisons) throw this.error(fieldToken, `more than ${SEARCH_LIMITS.maxComparisons} comparisons in one query`);
    const column = fieldToken.at + 1;
    const name = fieldToken.text;
    const opToken = this.peek();
    let op: Operator;
    if (opToken.type === 'op' && opToken.text !== '>>') {
      this.pos++;
      op = opToken.text as Operator;
    } else if (this.keyword('contains')) op = 'contains';
    else if (this.keyword('startswith')) op = 'startsWith';
    else if (this.keyword('in')) op = 'in';
    else if (this.keyword('exists')) op = 'exists';
    else if (opToken.type === 'word' && opToken.text.toLowerCase() === 'not' && this.isWordAt(this.pos + 1, ['in', 'exists'])) {
      this.pos++;
      op = this.keyword('in') ? 'notIn' : (this.pos++, 'notExists');
    } else {
      throw this.error(opToken, `expected an operator after ${name} (=, !=, >, >=, <, <=, =~, !~, contains, startsWith, in, not in, exists, not exists), got ${describe(opToken)}`);
    }
    const spelled = OP_SPELLING[op];
    if (!rules.ops.includes(op)) throw this.error(opToken, `${name} does not take '${spelled}' (it takes ${rules.ops.map((o) => OP_SPELLING[o]).join(', ')})`);
    if (op === 'exists' || op === 'notExists') return { type: 'compare', field, op, values: [], column };
    if (op === 'in' || op === 'notIn') {
      const open = this.peek();
      if (!this.punct('(')) throw this.error(open, `expected ( after '${spelled}', got ${describe(open)}`);
      const values: Value[] = [];
      do {
        if (values.length === SEARCH_LIMITS.maxInValues) throw this.error(this.peek(), `more than ${SEARCH_LIMITS.maxInValues} values in one IN list`);
        values.push(this.value(spelled, rules.values));
      } while (this.punct(','));
      this.expectPunct(')', `to close the IN list at column ${open.at + 1}`);
      if (new Set(values.map((v) => v.type)).size > 1) throw this.error(open, 'an IN list holds values of one type (all strings or all numbers)');
      return { type: 'compare', field, op, values: values.map((v) => checked(v, rules, name)), column };
    }
    const numeric = op === '>' || op === '>=' || op === '<' || op === '<=';
    const value = this.value(spelled, numeric ? rules.values.filter((v) => v === 'number' || v === 'duration') : op === '=~' || op === '!~' || op === 'contains' || op === 'startsWith' ? ['string'] : rules.values);
    if ((op === '=~' || op === '!~') && value.type === 'string' && value.value.length > SEARCH_LIMITS.maxRegexLength) {
      throw new SearchSyntaxError(value.column, `regex longer than ${SEARCH_LIMITS.maxRegexLength} characters`);
    }
    return { type: 'compare', field, op, values: [checked(value, rules, name)], column };
  }

  private value(after: string, accepted: readonly Value['type'][]): Value {
    const t = this.peek();
    const column = t.at + 1;
    let value: Value | undefined;
    if (t.type === 'string') value = { type: 'string', value: t.value!, column };
    else if (t.type === 'number') value = { type: 'number', text: t.text, column };
    else if (t.type === 'duration') value = { type: 'duration', ns: t.ns!, column };
    else if (t.type === 'word' && /^(true|false)$/i.test(t.text)) value = { type: 'bool', value: t.text.toLowerCase() === 'true', column };
    // A bare word is a string, never a field: kind = server, service = checkout-api.
    else if (t.type === 'word' && accepted.includes('string') && !KEYWORDS.has(t.text.toLowerCase())) value = { type: 'string', value: t.text, column };
    if (value === undefined) throw this.error(t, `expected a value after '${after}'${t.type === 'end' ? '' : `, got ${describe(t)}`}`);
    if (!accepted.includes(value.type)) throw this.error(t, `expected ${accepted.map((a) => VALUE_NAMES[a]).join(' or ')} after '${after}', got ${describe(t)}`);
    this.pos++;
    return value;
  }

  // ── helpers ──────────────────────────────────────────────────────────────
  private nested<T>(at: Token, parse: () => T): T {
    if (++this.depth > SEARCH_LIMITS.maxNesting) throw this.error(at, `nested deeper than ${SEARCH_LIMITS.maxNesting} levels`);
    const result = parse();
    this.depth--;
    return result;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private isWordAt(index: number, words: string[]): boolean {
    const t = this.tokens[index];
    return t !== undefined && t.type === 'word' && words.includes(t.text.toLowerCase());
  }

  private keyword(word: string): boolean {
    if (!this.isWordAt(this.pos, [word])) return false;
    this.pos++;
    return true;
  }

  private punct(p: string): boolean {
    const t = this.peek();
    if (t.type !== 'punct' || t.text !== p) return false;
    this.pos++;
    return true;
  }

  private expectPunct(p: string, why: string): void {
    const t = this.peek();
    if (!this.punct(p)) throw this.error(t, `expected '${p}' ${why}, got ${describe(t)}`);
  }

  private error(t: Token, problem: string): SearchSyntaxError {
    return new SearchSyntaxError(t.at + 1, problem);
  }
}

/** A value as the field takes it: whole numbers for counts, enum words in their stored spelling. */
function checked(value: Value, rules: FieldRules, name: string): Value {
  if (value.type === 'number' && rules.wholeNumbers && !/^\d{1,18}$/.test(value.text)) {
    throw new SearchSyntaxError(value.column, `${name} is compared with a whole number, got ${value.text}`);
  }
  if (value.type === 'string' && rules.enumValues) {
    const canonical = rules.enumValues.find((e) => e.toLowerCase() === value.value.toLowerCase());
    if (!canonical) throw new SearchSyntaxError(value.column, `${name} is one of ${rules.enumValues.map((e) => e.toLowerCase()).join(', ')}, got ${JSON.stringify(value.value)}`);
    return { ...value, value: canonical };
  }
  return value;
}

interface FieldRules {
  ops: readonly Operator[];
  values: readonly Value['type'][];
  /** Canonical stored spellings, matched case-insensitively. */
  enumValues?: readonly string[];
  /** Numbers must be whole and not negative (a count). */
  wholeNumbers?: boolean;
}

const STRING_OPS: readonly Operator[] = ['=', '!=', '=~', '!~', 'contains', 'startsWith', 'in', 'notIn'];
const RANGE_OPS: readonly Operator[] = ['=', '!=', '>', '>=', '<', '<='];

function spanFieldRules(field: SpanField): FieldRules {
  if (field.type === 'attribute') return { ops: [...STRING_OPS, '>', '>=', '<', '<=', 'exists', 'notExists'], values: ['string', 'number', 'bool'] };
  switch (field.name) {
    case 'duration':
      return { ops: RANGE_OPS, values: ['duration'] };
    case 'kind':
      return { ops: ['=', '!=', 'in', 'notIn'], values: ['string'], enumValues: ['Server', 'Client', 'Internal', 'Producer', 'Consumer', 'Unspecified'] };
    case 'status':
      return { ops: ['=', '!=', 'in', 'notIn'], values: ['string'], enumValues: ['Unset', 'Ok', 'Error'] };
    default:
      return { ops: STRING_OPS, values: ['string'] };
  }
}

function traceFieldRules(field: TraceField): FieldRules {
  switch (field) {
    case 'duration':
      return { ops: RANGE_OPS, values: ['duration'] };
    case 'spans':
      return { ops: RANGE_OPS, values: ['number'], wholeNumbers: true };
    case 'status':
      return { ops: ['=', '!='], values: ['string'], enumValues: ['Error', 'Ok'] };
    default:
      return { ops: STRING_OPS, values: ['string'] };
  }
}

const OP_SPELLING: Record<Operator, string> = {
  '=': '=',
  '!=': '!=',
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
  '=~': '=~',
  '!~': '!~',
  contains: 'contains',
  startsWith: 'startsWith',
  in: 'in',
  notIn: 'not in',
  exists: 'exists',
  notExists: 'not exists',
};
const VALUE_NAMES: Record<Value['type'], string> = { string: 'a string', number: 'a number', duration: 'a duration (250ms, 1.5s)', bool: 'true or false' };
const FIELD_NAMES: Record<string, string> = {
  'trace.duration': 'trace.duration',
  'trace.spans': 'trace.spans',
  'trace.status': 'trace.status',
  'trace.rootservice': 'trace.rootService',
  'trace.rootname': 'trace.rootName',
};

/** `>` (child) or `>>` (descendant) between two span sets. */
function isStructural(t: Token): boolean {
  return t.type === 'op' && (t.text === '>>' || t.text === '>');
}

function describe(t: Token): string {
  if (t.type === 'end') return 'the end of the query';
  const text = t.text.length > 32 ? t.text.slice(0, 32) + '…' : t.text;
  return `'${text}'`;
}
