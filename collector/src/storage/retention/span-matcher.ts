import type { Attributes, Resource } from '../../model/span.js';
import { METHOD_ATTRIBUTES, SPAN_KINDS, STATUSES, type RetentionPolicy, type RetentionRule } from './policy.js';

/** A rule as the receivers test it: plain comparisons on the decoded span, no allocation. */
export interface CompiledRule {
  rule: RetentionRule;
  /** Spans starting before this (ns since the epoch) are refused under this rule. */
  oldestStart: bigint;
  /** The partial-success text for spans refused under it. */
  summary: string;
  matches(resource: Resource, kind: number, statusCode: number, attributes: Attributes): boolean;
}

/** OTLP's SpanKind.INTERNAL. */
const INTERNAL = 1;

/** The rule's test; each criterion given must hold, as in the TTL's WHERE (retention-ttl.ts). */
export function compileMatch(rule: RetentionRule): CompiledRule['matches'] {
  const { services, status, kind, methodSpans } = rule.match;
  const serviceSet = services === undefined ? undefined : new Set(services);
  const statusCode = status === undefined ? -1 : STATUSES.indexOf(status);
  const kindCode = kind === undefined ? -1 : SPAN_KINDS.indexOf(kind);
  return (resource, spanKind, spanStatus, attributes) => {
    if (serviceSet !== undefined && !serviceSet.has(resource.serviceName)) return false;
    if (statusCode >= 0 && spanStatus !== statusCode) return false;
    if (kindCode >= 0 && spanKind !== kindCode) return false;
    if (methodSpans !== undefined && isMethodSpan(spanKind, attributes) !== methodSpans) return false;
    return true;
  };
}

export function isMethodSpan(kind: number, attributes: Attributes): boolean {
  return kind === INTERNAL && (attributes[METHOD_ATTRIBUTES[0]] !== undefined || attributes[METHOD_ATTRIBUTES[1]] !== undefined);
}

/** Rules in order with their age limits at `oldestStartFor(days)`. */
export function compileRules(policy: RetentionPolicy, oldestStartFor: (days: number) => bigint, summaryFor: (rule: RetentionRule, oldestStart: bigint) => string): CompiledRule[] {
  return policy.rules.map((rule) => {
    const oldestStart = oldestStartFor(rule.days);
    return { rule, oldestStart, summary: summaryFor(rule, oldestStart), matches: compileMatch(rule) };
  });
}
