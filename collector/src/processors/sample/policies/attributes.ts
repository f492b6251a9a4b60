import type { AttributeKinds, Attributes, Span } from '../../../model/span.js';
import { NOT_SAMPLED, SAMPLED, type Policy, type TraceView } from './policy.js';

/**
 * Attribute policies, on span and resource attributes alike. As in the Collector, a policy
 * reads only attributes of its own kind: string_attribute only string values,
 * numeric_attribute only int and double values (an attribute "500" sent as a string is not
 * the number 500).
 */

type ValueTest = (value: string, kind: string | undefined) => boolean;

/**
 * True when any span, or any span's resource, has `key` passing `test`. Resources are shared by
 * many spans: each distinct one is looked at once.
 */
function anyHas(trace: TraceView, key: string, test: ValueTest): boolean {
  let lastResource: Span['resource'] | undefined;
  for (const s of trace.spans) {
    if (has(s.attributes, s.attributeKinds, key, test)) return true;
    if (s.resource !== lastResource) {
      lastResource = s.resource;
      if (has(s.resource.attributes, s.resource.attributeKinds, key, test)) return true;
    }
  }
  return false;
}

function has(attributes: Attributes, kinds: AttributeKinds | undefined, key: string, test: ValueTest): boolean {
  const value = attributes[key];
  return value !== undefined && test(value, kinds?.[key]);
}

export interface StringAttributeOptions {
  key: string;
  values: readonly string[];
  regex: boolean;
  invert: boolean;
}

/**
 * Keeps traces where a string attribute `key` equals one of `values` (or, with `regex`, where
 * one of them matches anywhere in it). Inverted, keeps traces where nothing matches —
 * including traces without the attribute.
 */
export function stringAttribute(name: string, o: StringAttributeOptions): Policy {
  let matches: (v: string) => boolean;
  if (o.regex) {
    const patterns = o.values.map((v) => new RegExp(v));
    matches = (v) => patterns.some((p) => p.test(v));
  } else {
    const exact = new Set(o.values);
    matches = (v) => exact.has(v);
  }
  const test: ValueTest = (v, kind) => kind === undefined && matches(v);
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => (anyHas(trace, o.key, test) !== o.invert ? SAMPLED : NOT_SAMPLED),
  };
}

export interface NumericAttributeOptions {
  key: string;
  min?: number;
  max?: number;
  invert: boolean;
}

/** Keeps traces where an int or double attribute `key` lies within [min, max] (either bound may be open). */
export function numericAttribute(name: string, o: NumericAttributeOptions): Policy {
  const min = o.min ?? Number.NEGATIVE_INFINITY;
  const max = o.max ?? Number.POSITIVE_INFINITY;
  const test: ValueTest = (v, kind) => {
    if (kind !== 'int' && kind !== 'double') return false;
    const n = Number(v);
    return n >= min && n <= max; // NaN fails both
  };
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => (anyHas(trace, o.key, test) !== o.invert ? SAMPLED : NOT_SAMPLED),
  };
}

/** Exported for correlation_id's flag rules, which match any kind by its string form. */
export function anyAttributeIn(trace: TraceView, key: string, values: ReadonlySet<string>): boolean {
  return anyHas(trace, key, (v) => values.has(v));
}
