import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../receivers/otlp/otlp-fixtures.js';

/**
 * agents/conformance/masking/cards.json, the payment-card cases that the collector and every
 * agent must agree on, and the seeded generator of its random-ID shapes (README there). For
 * the tests and the redact benchmark; not part of the collector.
 */

export interface CardCase {
  /** The attribute key ('' for free text: a span name, a message). */
  key: string;
  type: 'string' | 'int';
  value: string;
  /** `value` with each card replaced by {@link CardCases.mask}; equal to `value` when nothing is masked. */
  expected: string;
  issuer?: string;
  shape?: string;
  why?: string;
}

export interface RandomShape {
  shape: string;
  generator: 'digits19' | 'digits16' | 'uint64';
  type: 'string' | 'int';
  key: string;
  /** The value is written into this text at `{ID}` (default: the ID alone). */
  template?: string;
  seed: number;
  /** The most values of this shape that may be masked, as a fraction. */
  max_rate: number;
  /** The first three values the generator gives for this seed: checks an implementation of it. */
  first: string[];
  note?: string;
}

export interface CardCases {
  mask: string;
  count_per_random_shape: number;
  positives: CardCase[];
  negatives: CardCase[];
  random: RandomShape[];
}

export const CARD_CASES_PATH = join(import.meta.dirname, '../../../../agents/conformance/masking/cards.json');

export function loadCardCases(): CardCases {
  return JSON.parse(readFileSync(CARD_CASES_PATH, 'utf8')) as CardCases;
}

/** The IDs of a random shape: mulberry32 from its seed, as the README describes. */
export function* randomIds(shape: RandomShape, count: number): Generator<string> {
  const next = seededRandom(shape.seed);
  const u32 = () => BigInt(Math.floor(next() * 4294967296));
  const digits = (n: number) => {
    let s = String(1 + Math.floor(next() * 9));
    for (let i = 1; i < n; i++) s += String(Math.floor(next() * 10));
    return s;
  };
  for (let i = 0; i < count; i++) {
    if (shape.generator === 'uint64') yield ((u32() << 32n) | u32()).toString();
    else yield digits(shape.generator === 'digits19' ? 19 : 16);
  }
}

/** The attribute value for one random ID of a shape. */
export function randomValue(shape: RandomShape, id: string): string {
  return shape.template ? shape.template.replace('{ID}', id) : id;
}
