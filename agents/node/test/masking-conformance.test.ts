import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MASK, maskSecretsInText } from '../src/redact.js';
import { formatValue } from '../src/serialize.js';

/**
 * The shared payment-card cases every FlowTrace masking implementation must pass
 * (agents/conformance/masking/cards.json; how to use them: agents/conformance/README.md).
 * Strings go through the agent's text masking with their key; ints are bigints under their key
 * in a captured object.
 */
interface CardCase {
  key: string;
  type: 'string' | 'int';
  value: string;
  expected: string;
}
interface RandomShape {
  shape: string;
  generator: 'digits19' | 'digits16' | 'uint64';
  type: 'string' | 'int';
  key: string;
  template?: string;
  seed: number;
  max_rate: number;
  first: string[];
}
interface CardCases {
  mask: string;
  count_per_random_shape: number;
  positives: CardCase[];
  negatives: CardCase[];
  random: RandomShape[];
}

const cases = JSON.parse(readFileSync(join(__dirname, '../../conformance/masking/cards.json'), 'utf8')) as CardCases;

/** The agent's output for one value, with its mask written as the data file writes it. */
function mask(key: string, type: 'string' | 'int', value: string): string {
  if (type === 'string') return maskSecretsInText(value, key).replaceAll(MASK, cases.mask);
  const out = formatValue({ [key]: BigInt(value) }, 256);
  if (out === `{${JSON.stringify(key)}: ${value}n}`) return value;
  expect(out).toBe(`{${JSON.stringify(key)}: ${JSON.stringify(MASK)}}`);
  return cases.mask;
}

/** mulberry32, as agents/conformance/README.md describes it. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomIds(shape: RandomShape, count: number): string[] {
  const next = mulberry32(shape.seed);
  const u32 = () => BigInt(Math.floor(next() * 4294967296));
  const digits = (n: number) => {
    let s = String(1 + Math.floor(next() * 9));
    for (let i = 1; i < n; i++) s += String(Math.floor(next() * 10));
    return s;
  };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(shape.generator === 'uint64' ? ((u32() << 32n) | u32()).toString() : digits(shape.generator === 'digits19' ? 19 : 16));
  return ids;
}

const label = (c: CardCase) => `${c.key || '(text)'} ${c.type} ${c.value}`;

describe('payment cards: shared conformance cases', () => {
  it.each(cases.positives.map((c) => [label(c), c] as const))('masks %s', (_, c) => {
    expect(mask(c.key, c.type, c.value)).toBe(c.expected);
  });

  it.each(cases.negatives.map((c) => [label(c), c] as const))('keeps %s', (_, c) => {
    expect(mask(c.key, c.type, c.value)).toBe(c.value);
  });

  it('uses the parameter name of a captured argument as its key', () => {
    expect(formatValue('4986947095633979044', 64, 'orderId')).toBe('"4986947095633979044"');
    expect(formatValue('4986947095633979044', 64, 'note')).toBe(`"${MASK}"`);
    expect(formatValue({ orderIds: ['4986947095633979044', 4986947095633979044n] }, 128)).toBe('{"orderIds": ["4986947095633979044", 4986947095633979044n]}');
    expect(formatValue(new Map([['paymentCard', 4111111111111111]]), 64)).toBe(`Map(1) {"paymentCard" => "${MASK}"}`);
  });
});

describe('payment cards: random IDs are not cards', () => {
  it.each(cases.random.map((s) => [s.shape, s] as const))('the generator reproduces the data file for %s', (_, shape) => {
    expect(randomIds(shape, 3)).toEqual(shape.first);
  });

  it.each(cases.random.map((s) => [s.shape, s] as const))('%s: false-positive rate within its bound', (_, shape) => {
    let masked = 0;
    for (const id of randomIds(shape, cases.count_per_random_shape)) {
      const value = shape.template ? shape.template.replace('{ID}', id) : id;
      if (mask(shape.key, shape.type, value) !== value) masked++;
    }
    expect(masked / cases.count_per_random_shape).toBeLessThanOrEqual(shape.max_rate);
  });
});
