/**
 * Secrets are masked in the agent, before anything leaves the process: by the
 * name they are bound to (a parameter or an object key) and by what they look like.
 */
import { maskCards } from './cards.js';

export const MASK = '[REDACTED]';

// Compared against the key lower-cased with separators removed, so that
// `cardNumber`, `card_number` and `CARD-NUMBER` are the same word.
const SECRET_KEY =
  /passw(or)?d|passphrase|^pwd$|secret|token|authori[sz]ation|^auth$|apikey|accesskey|privatekey|credential|cookie|sessionid|cardnumber|creditcard|^cardno$|^card$|^pan$|cvv|cvc|^ssn$|^pin$|signature/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_.\s]/g, ''));
}

const BEARER = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
// Starts only where a base64url run starts (not at every `-` inside one, which \b would allow and
// which made `eyJa-eyJa-…` quadratic).
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const AWS_KEY = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;
// `password=hunter2`, `"token": "abc"`, `api_key: abc` inside free text or query strings. The match
// starts at the keyword (a name's head, `db_` in `db_password`, is left as it is anyway) and the
// name's tail is bounded: an unbounded `[\w-]*` on both sides tried every `-` of `k:a-a-a-…` as a
// start and was quadratic.
const KEY_VALUE =
  /((?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|authorization|session[-_]?id)[\w-]{0,64})(["']?\s*[=:]\s*["']?)((?:Bearer|Basic|Digest)\s+)?([^\s"'&,;}]+)/gi;

// Cheap screen: most strings have none of these features and skip all the regexes.
const MAYBE_SECRET = /\d{4}|bearer|basic|digest|eyJ|AKIA|ASIA|PRIVATE KEY|[=:]/i;

/**
 * Masks the parts of a free-form string that look like credentials or card numbers. `key` is
 * the name the string is bound to (object key, parameter name; '' when none): card numbers
 * are not looked for under a key that names an ID (see cards.ts).
 */
export function maskSecretsInText(text: string, key = ''): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text.replace(PRIVATE_KEY, MASK).replace(JWT, MASK).replace(AWS_KEY, MASK);
  out = out.replace(KEY_VALUE, (_m, name: string, sep: string) => `${name}${sep}${MASK}`);
  out = out.replace(BEARER, (m: string, scheme: string) => (m.endsWith(MASK) ? m : `${scheme} ${MASK}`));
  return maskCards(out, key, MASK);
}
