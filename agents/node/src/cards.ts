/**
 * Payment card numbers, told from numeric IDs by the issuers' number ranges and lengths, the
 * Luhn check digit and what the key says. The same rules as the collector's redact processor
 * (collector/src/processors/redact/card-issuers.ts, card-context.ts); both pass the shared
 * cases in agents/conformance/masking/cards.json.
 */

/** [issuer, first prefix, last prefix (same number of digits), lengths]. */
type Range = readonly [string, string, string, readonly number[]];

const L13_19 = [13, 14, 15, 16, 17, 18, 19];
const L14_19 = [14, 15, 16, 17, 18, 19];
const L16_19 = [16, 17, 18, 19];

// IIN ranges published by the networks (ISO/IEC 7812). Left out on purpose: UATP (prefix 1,
// where timestamps live), GPN's broad blocks and 12-digit Maestro.
const RANGES: readonly Range[] = (
  [
    ['visa', '4', '4', [13, 16, 19]],
    ['mastercard', '51', '55', [16]],
    ['mastercard', '2221', '2720', [16]],
    ['amex', '34', '34', [15]],
    ['amex', '37', '37', [15]],
    ['discover', '6011', '6011', L16_19],
    ['discover', '644', '649', L16_19],
    ['discover', '65', '65', L16_19],
    ['discover', '622126', '622925', L16_19],
    ['diners', '300', '305', L14_19],
    ['diners', '3095', '3095', L14_19],
    ['diners', '36', '36', L14_19],
    ['diners', '38', '39', L14_19],
    ['jcb', '3528', '3589', L16_19],
    ['unionpay', '62', '62', L16_19],
    ['unionpay', '8100', '8171', L16_19],
    ['maestro', '5018', '5018', L13_19],
    ['maestro', '5020', '5020', L13_19],
    ['maestro', '5038', '5038', L13_19],
    ['maestro', '5893', '5893', L13_19],
    ['maestro', '6304', '6304', L13_19],
    ['maestro', '6759', '6759', L13_19],
    ['maestro', '6761', '6763', L13_19],
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
  ] as Range[]
)
  // Longest prefixes first: where ranges overlap the most specific names the issuer.
  .sort((a, b) => b[1].length - a[1].length);

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/** A range as compared: the prefix's digit count, its numeric bounds and the lengths as a bit mask. */
const COMPILED = RANGES.map(([issuer, from, to, lengths]) => ({
  issuer,
  digits: from.length,
  from: Number(from),
  to: Number(to),
  lengths: lengths.reduce((mask, n) => mask | (1 << n), 0),
}));

/** The network whose range and length `digits` fit, or undefined. */
export function cardIssuer(digits: string): string | undefined {
  const length = digits.length;
  if (length < MIN_DIGITS || length > MAX_DIGITS) return undefined;
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

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** A string of ASCII digits in an issuer's range and length, with a valid Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  // Luhn first: it allocates nothing and turns away 9 numbers in 10.
  return luhnValid(digits) && cardIssuer(digits) !== undefined;
}

const CARD_WORDS = new Set(['card', 'cards', 'pan', 'cc', 'ccn', 'ccnum', 'ccnumber', 'cardnum', 'cardnumber', 'cardno', 'credit', 'creditcard', 'debitcard']);
const ID_WORDS = new Set([
  'id', 'ids', 'uid', 'uuid', 'guid', 'ulid',
  'traceid', 'spanid', 'requestid', 'orderid', 'userid', 'customerid', 'accountid', 'transactionid', 'txid', 'txnid',
  'messageid', 'eventid', 'objectid', 'entityid', 'itemid', 'productid', 'paymentid', 'invoiceid',
]);

/** 'app.orderID' → ['app', 'order', 'id']. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** Whether any word of the key names a payment card (`card`, `pan`, `cc_number`, `creditCard`). */
export function keyNamesCard(key: string): boolean {
  return keyWords(key).some((w) => CARD_WORDS.has(w));
}

/** Whether the key's last word names an identifier (`order_id`, `userId`, `uuid`). */
export function keyNamesId(key: string): boolean {
  const w = keyWords(key);
  return w.length > 0 && ID_WORDS.has(w[w.length - 1]!);
}

/** A value under this key is never a card: the key names an ID and no card. */
function idOnly(key: string): boolean {
  return key !== '' && !keyNamesCard(key) && keyNamesId(key);
}

/** Whether an integer (a number or bigint) under `key` is a card number: only when the key names a card. */
export function isCardInteger(value: number | bigint, key: string): boolean {
  if (!keyNamesCard(key)) return false;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) return false;
  return isCardNumber(String(value));
}

// Where a run of digit groups joined by single spaces or dashes starts: not glued to a word or a
// decimal point before it. Its groups and its end are found in code (groupsEnd, runEnd): a
// `\d+(?:[ -]\d+)*(?![\w-]|\.\d)` made the engine retry every shorter run at every group of
// `1 1 1 … 1x`, quadratic.
const NUMBER_START = /(?<![\w-]|\d\.)\d/g;
const NAME_CHAR = /[A-Za-z0-9_.-]/;

/**
 * `text` with each card number replaced by `mask`. A card is unbroken or grouped as printed (a
 * first group of 4, then groups of 3–6 with one kind of separator). Nothing is masked under a
 * key that names an ID and no card, nor a number written as an ID-named field's value in the
 * text (`"orderId": "…"`, `order_id=…`).
 */
export function maskCards(text: string, key: string, mask: string): string {
  if (idOnly(key)) return text;
  const named = key !== '' && keyNamesCard(key);
  const starts = new RegExp(NUMBER_START.source, 'g');
  let out = '';
  let copiedText = 0;
  for (let m = starts.exec(text); m !== null; m = starts.exec(text)) {
    const offset = m.index;
    const end = groupsEnd(text, offset);
    starts.lastIndex = end;
    const stop = runEnd(text, offset, end);
    if (stop < 0) continue;
    const run = text.slice(offset, stop);
    let masked = '';
    let copied = 0;
    for (const [start, cardEnd] of cardsIn(run)) {
      if (!named && idOnly(fieldNameBefore(text, offset + start))) continue;
      masked += run.slice(copied, start) + mask;
      copied = cardEnd;
    }
    if (copied === 0) continue;
    out += text.slice(copiedText, offset) + masked + run.slice(copied);
    copiedText = stop;
  }
  return copiedText === 0 ? text : out + text.slice(copiedText);
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** The end of the digit groups joined by single spaces or dashes that start at `start`. */
function groupsEnd(text: string, start: number): number {
  let i = start;
  for (;;) {
    while (isDigit(text[i])) i++;
    const sep = text[i];
    if ((sep !== ' ' && sep !== '-') || !isDigit(text[i + 1])) return i;
    i++;
  }
}

/**
 * Where the run [start, end) ends as a number not glued to a word or a decimal point after it:
 * its end, else the end of its groups before its last space (a dash glues), else -1.
 */
function runEnd(text: string, start: number, end: number): number {
  for (;;) {
    const next = text[end];
    const glued = next !== undefined && (/[\w-]/.test(next) || (next === '.' && isDigit(text[end + 1])));
    if (!glued) return end;
    end = text.lastIndexOf(' ', end - 1);
    if (end <= start) return -1;
  }
}

/** The [start, end) of each card number in a run of digit groups. */
function cardsIn(run: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  const groups = run.split(/[ -]/);
  let pos = 0;
  for (let i = 0; i < groups.length; ) {
    const first = groups[i]!;
    let end = -1;
    let next = i + 1;
    if (first.length >= MIN_DIGITS && first.length <= MAX_DIGITS) {
      if (isCardNumber(first)) end = pos + first.length;
    } else if (first.length === 4) {
      // Grow group by group; keep the longest card number.
      const sep = run[pos + 4];
      let digits = first;
      let at = pos + 4;
      for (let j = i + 1; j < groups.length && digits.length < MAX_DIGITS; j++) {
        const g = groups[j]!;
        if (run[at] !== sep || g.length < 3 || g.length > 6 || digits.length + g.length > MAX_DIGITS) break;
        digits += g;
        at += 1 + g.length;
        if (digits.length >= MIN_DIGITS && isCardNumber(digits)) {
          end = at;
          next = j + 1;
        }
      }
    }
    if (end >= 0) found.push([pos, end]);
    for (; i < next; i++) pos += groups[i]!.length + 1;
  }
  return found;
}

/** The field name written just before offset `at`, as in `"orderId": "…"` or `order_id=…`; '' when none. */
function fieldNameBefore(text: string, at: number): string {
  let i = at - 1;
  if (text[i] === '"' || text[i] === "'") i--;
  for (let n = 0; n < 4 && text[i] === ' '; n++) i--;
  if (text[i] !== ':' && text[i] !== '=') return '';
  i--;
  for (let n = 0; n < 4 && text[i] === ' '; n++) i--;
  if (text[i] === '"' || text[i] === "'") i--;
  const end = i + 1;
  while (i >= 0 && end - i <= 64 && NAME_CHAR.test(text[i]!)) i--;
  return text.slice(i + 1, end);
}
