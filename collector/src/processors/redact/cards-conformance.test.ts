import { describe, expect, it } from 'vitest';
import { cardIssuer } from './card-issuers.js';
import { loadCardCases, randomIds, randomValue, type CardCase, type RandomShape } from './cards-conformance.testing.js';
import { redactConfigSchema } from './config.js';
import { Redactor, type Tally } from './redactor.js';

/**
 * The shared payment-card cases (agents/conformance/masking/cards.json) through the redactor.
 * Key rules are off: the cases are about card detection and what keys say about it, not about
 * keys denied outright.
 */
const cases = loadCardCases();
const MASK = '[REDACTED:credit_card]';
const noTally: Tally = { record() {} };
const redactor = new Redactor(redactConfigSchema.parse({ keys: { deny: [], allow: [] } }));

/** What the collector makes of one value: its text after redaction. */
function redact(key: string, type: 'string' | 'int', value: string): string {
  if (key === '') return redactor.text(value, 'x', noTally) ?? value;
  const edits = redactor.planAttributes({ [key]: value }, type === 'int' ? { [key]: 'int' } : undefined, '', noTally);
  return edits?.[0]?.value ?? value;
}

const expected = (c: CardCase) => c.expected.replaceAll(cases.mask, MASK);
const label = (c: CardCase) => `${c.key || '(text)'} ${c.type} ${c.value}`;

describe('payment cards: shared conformance cases', () => {
  it.each(cases.positives.map((c) => [label(c), c] as const))('masks %s', (_, c) => {
    expect(redact(c.key, c.type, c.value)).toBe(expected(c));
  });

  it.each(cases.negatives.map((c) => [label(c), c] as const))('keeps %s', (_, c) => {
    expect(redact(c.key, c.type, c.value)).toBe(c.value);
  });

  it('covers every issuer the detector knows with a true positive', () => {
    const issuers = new Set(cases.positives.map((c) => c.issuer));
    for (const c of cases.positives) {
      const digits = c.value.replace(/[ -]/g, '');
      if (/^\d{13,19}$/.test(digits)) expect(cardIssuer(digits), c.value).toBe(c.issuer);
    }
    expect([...issuers].sort()).toEqual(
      ['amex', 'dankort', 'diners', 'discover', 'elo', 'humo', 'instapayment', 'interpayment', 'jcb', 'maestro', 'mastercard', 'mir', 'rupay', 'troy', 'unionpay', 'uzcard', 'verve', 'visa'],
    );
  });
});

describe('payment cards: random IDs are not cards', () => {
  it.each(cases.random.map((s) => [s.shape, s] as const))('the generator reproduces the data file for %s', (_, shape) => {
    expect([...randomIds(shape, 3)]).toEqual(shape.first);
  });

  it.each(cases.random.map((s) => [s.shape, s] as const))('%s: false-positive rate within its bound', (_, shape: RandomShape) => {
    const count = cases.count_per_random_shape;
    let masked = 0;
    for (const id of randomIds(shape, count)) {
      const value = randomValue(shape, id);
      if (redact(shape.key, shape.type, value) !== value) masked++;
    }
    expect(masked / count).toBeLessThanOrEqual(shape.max_rate);
  });
});
