/**
 * What an attribute's key (or a field name written just before a number in a text) says about
 * whether a long number can be a payment card. Issuer ranges and Luhn leave about 2% of random
 * 19-digit numbers looking like cards; the key tells an order ID from a card number:
 *
 * - a key that names a card (`card`, `pan`, `cc_number`, `creditCard`…) makes every value a
 *   candidate, ints included;
 * - an OTLP int is a number, not a card, unless its key names a card;
 * - a value under a key that names an ID (`id`, `order_id`, `userId`, `uuid`…) is not a card
 *   unless the key also names a card.
 *
 * The same rules (agents/conformance/README.md) are implemented by every agent.
 */

/** Where card detection runs on a value. */
export const CardScope = {
  /** The key names no card and no ID: search the text, minding field names written in it. */
  Text: 0,
  /** The key names a card: every number that is a card number is one. */
  Named: 1,
  /** An int, or a value under an ID-named key: no card search. */
  None: 2,
} as const;
export type CardScope = (typeof CardScope)[keyof typeof CardScope];

const CARD_WORDS = new Set(['card', 'cards', 'pan', 'cc', 'ccn', 'ccnum', 'ccnumber', 'cardnum', 'cardnumber', 'cardno', 'credit', 'creditcard', 'debitcard']);
const ID_WORDS = new Set([
  'id', 'ids', 'uid', 'uuid', 'guid', 'ulid',
  // Common names written as one word.
  'traceid', 'spanid', 'requestid', 'orderid', 'userid', 'customerid', 'accountid', 'transactionid', 'txid', 'txnid',
  'messageid', 'eventid', 'objectid', 'entityid', 'itemid', 'productid', 'paymentid', 'invoiceid',
]);

/** 'app.orderID' → ['app', 'order', 'id']; 'X-Card_Number' → ['x', 'card', 'number']. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** Whether any word of the key names a payment card. */
export function keyNamesCard(key: string): boolean {
  return keyWords(key).some((w) => CARD_WORDS.has(w));
}

/** Whether the key's last word names an identifier (`app.order_id`, `userId`, `uuid`). */
export function keyNamesId(key: string): boolean {
  const w = keyWords(key);
  return w.length > 0 && ID_WORDS.has(w[w.length - 1]!);
}

/** The card scope of a key alone (an attribute of unknown or string kind). */
export function keyCardScope(key: string): CardScope {
  if (key === '') return CardScope.Text;
  if (keyNamesCard(key)) return CardScope.Named;
  return keyNamesId(key) ? CardScope.None : CardScope.Text;
}

/** Keys repeat across spans: their scopes are remembered, up to this many keys. */
const CACHE_LIMIT = 10_000;

/** {@link keyCardScope} with a cache, and the int rule. */
export class CardScopes {
  private readonly cache = new Map<string, CardScope>();

  of(key: string, kind: string | undefined): CardScope {
    let scope = this.cache.get(key);
    if (scope === undefined) {
      scope = keyCardScope(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, scope);
    }
    return kind === 'int' && scope === CardScope.Text ? CardScope.None : scope;
  }
}

const NAME_CHAR = /[A-Za-z0-9_.-]/;

/**
 * The field name written just before offset `at` in a text, as in `"orderId": "…"`,
 * `order_id=…` or `card: …`; '' when there is none. Reads back at most a few characters.
 */
export function fieldNameBefore(text: string, at: number): string {
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
