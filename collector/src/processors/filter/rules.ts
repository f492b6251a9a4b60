import { SpanKind, type Span } from '../../model/span.js';
import { SPAN_KINDS, type FilterRule, type Matcher } from './config.js';

export type ValueTest = (value: string | undefined) => boolean;

/** A matcher from the config as a function, regexes compiled once. */
export function compileMatcher(m: Matcher): ValueTest {
  if (typeof m === 'string') return (v) => v === m;
  if ('exact' in m) return (v) => v === m.exact;
  if ('prefix' in m) return (v) => v !== undefined && v.startsWith(m.prefix);
  const re = new RegExp(m.regex);
  return (v) => v !== undefined && re.test(v);
}

export type SpanTest = (span: Span) => boolean;

/** A rule as a function: every condition it sets must hold. */
export function compileRule(rule: FilterRule): SpanTest {
  const tests: SpanTest[] = [];
  if (rule.service !== undefined) {
    const t = compileMatcher(rule.service);
    tests.push((s) => t(s.resource.serviceName));
  }
  if (rule.span_name !== undefined) {
    const t = compileMatcher(rule.span_name);
    tests.push((s) => t(s.name));
  }
  if (rule.span_kind !== undefined) {
    const kinds = new Set(rule.span_kind.map((k) => SPAN_KINDS.indexOf(k)));
    tests.push((s) => kinds.has(s.kind));
  }
  for (const a of rule.attributes ?? []) {
    const t = compileMatcher(a.value);
    tests.push((s) => t(s.attributes[a.key] ?? s.resource.attributes[a.key]));
  }
  return (s) => tests.every((t) => t(s));
}

export function anyRule(rules: readonly FilterRule[]): SpanTest | undefined {
  if (rules.length === 0) return undefined;
  const compiled = rules.map(compileRule);
  return (s) => compiled.some((t) => t(s));
}

/** Method-level spans: what conditional tracing and method sampling may drop. */
export function isMethodSpan(s: Span): boolean {
  return s.kind === SpanKind.INTERNAL && s.parentSpanId !== '';
}
