import { luhnValid } from './checksums.js';

/**
 * Payment card numbers by issuer: the IIN (first digits) ranges each network publishes and
 * the lengths its cards have. A long number is a card candidate only when both fit, which
 * rules out most numeric IDs that merely pass Luhn (1 in 10 of any digits do).
 *
 * Sources: ISO/IEC 7812 and the networks' published ranges as collected in the "Payment card
 * number" IIN table and Braintree's credit-card-type (2024). Left out on purpose: UATP (prefix 1,
 * where millisecond and nanosecond timestamps live), GPN's broad 50/56/58/60–63 blocks and
 * 12-digit Maestro (too short to tell from other numbers). The Node.js agent keeps a copy of this
 * table (agents/node/src/cards.ts); agents/conformance/masking/cards.json holds the cases both
 * must agree on.
 */
interface IssuerRange {
  issuer: string;
  /** Inclusive bounds of the prefix, both with the same number of digits. */
  from: string;
  to: string;
  lengths: readonly number[];
}

const L16_19 = [16, 17, 18, 19];

const RANGES: readonly IssuerRange[] = [
  ['visa', '4', '4', [13, 16, 19]],
  ['mastercard', '51', '55', [16]],
  ['mastercard', '2221', '2720', [16]],
  ['amex', '34', '34', [15]],
  ['amex', '37', '37', [15]],
  ['discover', '6011', '6011', L16_19],
  ['discover', '644', '649', L16_19],
  ['discover', '65', '65', L16_19],
  ['discover', '622126', '622925', L16_19],
  ['diners', '300', '305', [14, 15, 16, 17, 18, 19]],
  ['diners', '3095', '3095', [14, 15, 16, 17, 18, 19]],
  ['diners', '36', '36', [14, 15, 16, 17, 18, 19]],
  ['diners', '38', '39', [14, 15, 16, 17, 18, 19]],
  ['jcb', '3528', '3589', L16_19],
  ['unionpay', '62', '62', L16_19],
  ['unionpay', '8100', '8171', L16_19],
  ['maestro', '5018', '5018', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '5020', '5020', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '5038', '5038', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '5893', '5893', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '6304', '6304', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '6759', '6759', [13, 14, 15, 16, 17, 18, 19]],
  ['maestro', '6761', '6763', [13, 14, 15, 16, 17, 18, 19]],
  ['mir', '2200', '2204', L16_19],
  ['borica', '2205', '2205', [16]],
  ['rupay', '60', '60', [16]],
  ['rupay', '81', '82', [16]],
  ['rupay', '508', '508', [16]],
  ['verve', '506099', '506198', [16, 18, 19]],
  ['verve', '507865', '507964', [16, 18, 19]],
  ['verve', '650002', '650027', [16, 18, 19]],
  ['elo', '5041', '5041', [16]],
  ['elo', '5066', '5067', [16]],
  ['elo', '509', '509', [16]],
  ['elo', '6277', '6277', [16]],
  ['elo', '6362', '6363', [16]],
  ['dankort', '5019', '5019', [16]],
  ['interpayment', '636', '636', L16_19],
  ['instapayment', '637', '639', [16]],
  ['troy', '9792', '9792', [16]],
  ['uzcard', '8600', '8600', [16]],
  ['uzcard', '5614', '5614', [16]],
  ['humo', '9860', '9860', [16]],
]
  .map(([issuer, from, to, lengths]) => ({ issuer, from, to, lengths }) as IssuerRange)
  // Longest prefixes first: where ranges overlap (Verve 650002… inside Discover 65) the most specific names the issuer.
  .sort((a, b) => b.from.length - a.from.length);

/** Card numbers have 13 to 19 digits here (12-digit Maestro is left out). */
export const CARD_MIN_DIGITS = 13;
export const CARD_MAX_DIGITS = 19;

/** A range as compared: the prefix's digit count, its numeric bounds and the lengths as a bit mask. */
const COMPILED = RANGES.map((r) => ({
  issuer: r.issuer,
  digits: r.from.length,
  from: Number(r.from),
  to: Number(r.to),
  lengths: r.lengths.reduce((mask, n) => mask | (1 << n), 0),
}));

/** The network whose range and length `digits` fit, or undefined. */
export function cardIssuer(digits: string): string | undefined {
  const length = digits.length;
  if (length < CARD_MIN_DIGITS || length > CARD_MAX_DIGITS) return undefined;
  // The number formed by the first 1…6 digits, computed once for all ranges.
  const prefixes = [0, 0, 0, 0, 0, 0, 0];
  for (let k = 1; k <= 6; k++) prefixes[k] = prefixes[k - 1]! * 10 + (digits.charCodeAt(k - 1) - 48);
  for (const r of COMPILED) {
    if ((r.lengths & (1 << length)) === 0) continue;
    const prefix = prefixes[r.digits]!;
    if (prefix >= r.from && prefix <= r.to) return r.issuer;
  }
  return undefined;
}

/** Whether `digits` (ASCII digits only) is a card number: an issuer's range and length, and a valid Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  // Luhn first: it allocates nothing and turns away 9 numbers in 10.
  return luhnValid(digits) && cardIssuer(digits) !== undefined;
}
