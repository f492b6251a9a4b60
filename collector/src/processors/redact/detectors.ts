import { isIPv6 } from 'node:net';
import { CardScope, fieldNameBefore, keyCardScope } from './card-context.js';
import { CARD_MAX_DIGITS, CARD_MIN_DIGITS, isCardNumber } from './card-issuers.js';
import { IBAN_LENGTHS, ibanValid } from './checksums.js';
import type { DetectorName } from './config.js';
import { Has, needs, type Needs, type Subject } from './subject.js';

/**
 * The built-in detectors. Each finds its matches in one string and reports them as
 * [start, end) ranges; the redactor decides what to do with them.
 *
 * Every pattern runs in linear time on any input: each starts only at a token boundary (a
 * lookbehind), has no nested or overlapping quantifiers, and bounded repetition where it
 * could otherwise backtrack. Checks that regular expressions do badly (Luhn, mod 97, valid
 * SSN ranges, IPv6 syntax) are done in code on the few candidates. Each detector declares
 * what a string needs for it to be worth running (see subject.ts), so most strings are never
 * searched.
 */

export interface Match {
  start: number;
  end: number;
  /** The detector's name or the custom rule's name. */
  kind: string;
}

export interface Detector {
  readonly kind: string;
  readonly needs: Needs;
  /** Appends every match in the subject to `found`. */
  scan(subject: Subject, found: Match[]): void;
}

function countDigits(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 57 && c >= 48) n++;
  }
  return n;
}

/** Runs a global regular expression over the text, calling `each` per match. */
function eachMatch(re: RegExp, text: string, each: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === '') re.lastIndex++; // never loop on an empty match
    else each(m);
  }
}

/** A detector that is one regular expression, with an optional check of each match. */
function regexDetector(kind: string, n: Needs, re: RegExp, accept?: (m: RegExpExecArray, s: Subject) => Match | undefined): Detector {
  return {
    kind,
    needs: n,
    scan(subject, found) {
      eachMatch(re, subject.text, (m) => {
        const match = accept ? accept(m, subject) : { start: m.index, end: m.index + m[0].length, kind };
        if (match) found.push(match);
      });
    },
  };
}

// Local part, then '@' (or '%40' as in URL query strings), then dotted labels ending in a
// letters-only top-level domain. The lookbehind makes a run of local-part characters a
// single start, which is what keeps 'aaaa…@' linear.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

const email = regexDetector('email', needs({ anyOf: Has.AT | Has.PERCENT, minLength: 6 }), EMAIL);

// Runs of digit groups joined by single spaces or dashes, not glued to a word or a decimal point.
const NUMBER_RUN = /(?<![\w-]|\d\.)\d+(?:[ -]\d+)*(?![\w-]|\.\d)/g;

/**
 * Payment cards: a number in an issuer's range and of one of its lengths (card-issuers.ts),
 * with a valid Luhn check digit, either unbroken or grouped as printed (a first group of 4,
 * then groups of 3–6 with one kind of separator). What the key says decides whether to look
 * at all (card-context.ts): not in ints or under ID-named keys, unless the key names a card;
 * in a text, a number written as the value of an ID-named field (`"orderId": "…"`) is not one.
 */
const creditCard: Detector = {
  kind: 'credit_card',
  needs: needs({ minDigitRun: CARD_MIN_DIGITS }),
  scan(subject, found) {
    const scope = subject.cardScope;
    if (scope === CardScope.None) return;
    const text = subject.text;
    eachMatch(NUMBER_RUN, text, (m) => {
      const before = found.length;
      findCards(m[0], m.index, found);
      if (scope === CardScope.Text) {
        for (let i = found.length - 1; i >= before; i--) if (namesIdNotCard(fieldNameBefore(text, found[i]!.start))) found.splice(i, 1);
      }
    });
  },
};

function namesIdNotCard(field: string): boolean {
  return field !== '' && keyCardScope(field) === CardScope.None;
}

function findCards(run: string, offset: number, found: Match[]): void {
  const groups = run.split(/[ -]/);
  let pos = 0; // offset of groups[i] in run
  for (let i = 0; i < groups.length; ) {
    const first = groups[i]!;
    let end = -1;
    let next = i + 1;
    if (first.length >= CARD_MIN_DIGITS && first.length <= CARD_MAX_DIGITS) {
      if (isCardNumber(first)) {
        end = pos + first.length;
      }
    } else if (first.length === 4) {
      // Grow group by group; keep the longest card number.
      const sep = run[pos + 4];
      let digits = first;
      let at = pos + 4;
      for (let j = i + 1; j < groups.length && digits.length < CARD_MAX_DIGITS; j++) {
        const g = groups[j]!;
        if (run[at] !== sep || g.length < 3 || g.length > 6 || digits.length + g.length > CARD_MAX_DIGITS) break;
        digits += g;
        at += 1 + g.length;
        if (digits.length >= CARD_MIN_DIGITS && isCardNumber(digits)) {
          end = at;
          next = j + 1;
        }
      }
    }
    if (end >= 0) found.push({ start: offset + pos, end: offset + end, kind: 'credit_card' });
    for (; i < next; i++) pos += groups[i]!.length + 1;
  }
}

/** US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000; one kind of separator. */
const SSN = /(?<![\w-])(?!000|666|9)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])/g;
const ssn = regexDetector('ssn', needs({ minDigitRun: 9 }), SSN);

/**
 * Phone numbers in international form: '+', then digits with single spaces, dots, dashes or
 * parentheses, 8–15 digits in all (E.164 allows at most 15). Without '+' a number is too
 * easily an order number or a timestamp.
 */
const PHONE = /(?<![\w+])\+\d[\d ().-]{5,22}\d/g;
const phone = regexDetector('phone', needs({ anyOf: Has.PLUS, minDigits: 8 }), PHONE, (m, s) => {
  const end = m.index + m[0].length;
  const after = s.text.charCodeAt(end);
  if (after >= 48 && after <= 57) return undefined; // part of a longer number
  const digits = countDigits(m[0]);
  if (digits < 8 || digits > 15 || /[ .-]{2}/.test(m[0])) return undefined;
  return { start: m.index, end, kind: 'phone' };
});

// IPv4: four dotted numbers, not part of a longer dotted sequence (1.2.3.4.5), not a
// product version ('v1.2.3.4', 'Chrome/120.0.0.0': a letter then '/'). A bare '1.2.3.4' is
// an address: it cannot be told from one.
const IPV4 = /(?<![\w.]|[A-Za-z]\/)\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;
// IPv6 candidates: runs of hex digits, colons and dots; node's parser decides.
const IPV6 = /(?<![\w:.])[0-9A-Fa-f:.]{2,45}(?![\w:.])/g;

const ip: Detector = {
  kind: 'ip',
  needs: needs({ anyOf: Has.DOT | Has.COLON, minLength: 3 }),
  scan(subject, found) {
    const text = subject.text;
    if (subject.digits >= 4 && subject.has & Has.DOT) {
      eachMatch(IPV4, text, (m) => {
        if (m[0].split('.').every((octet) => Number(octet) <= 255)) found.push({ start: m.index, end: m.index + m[0].length, kind: 'ip' });
      });
    }
    if (subject.has & Has.COLON && (text.includes('::') || colons(text) >= 6)) {
      eachMatch(IPV6, text, (m) => {
        const c = m[0];
        if (c.indexOf(':') !== c.lastIndexOf(':') && /[0-9A-Fa-f]/.test(c) && isIPv6(c)) found.push({ start: m.index, end: m.index + c.length, kind: 'ip' });
      });
    }
  },
};

/** How many ':' the text holds, counting to 7 at most. */
function colons(text: string): number {
  let n = 0;
  for (let at = text.indexOf(':'); at >= 0 && n < 7; at = text.indexOf(':', at + 1)) n++;
  return n;
}

// Header and payload are base64url JSON objects, so both start 'eyJ' ('{"').
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const jwt: Detector = {
  kind: 'jwt',
  needs: needs({ anyOf: Has.DOT, minBase64Run: 4 }),
  scan(subject, found) {
    if (!subject.text.includes('eyJ')) return;
    eachMatch(JWT, subject.text, (m) => found.push({ start: m.index, end: m.index + m[0].length, kind: 'jwt' }));
  },
};

/**
 * `Bearer <token>` / `Basic <credentials>` (any case). Only the credential is matched; the
 * scheme stays readable. A Basic credential must be base64 of 'user:password'; a Bearer one
 * must look like a token (8+ characters with a non-letter, or 20+), so that prose such as
 * "Basic plan" or "Bearer token expired" is left alone.
 */
const AUTH = /(?<![A-Za-z0-9])(bearer|basic)[ \t]{1,8}([A-Za-z0-9._~+/=-]+)/gi;
const auth: Detector = {
  kind: 'auth',
  needs: needs({ anyOf: Has.SPACE, minLength: 14, minBase64Run: 5 }),
  scan(subject, found) {
    const text = subject.text;
    // Native substring searches are much cheaper than a case-insensitive pattern.
    if (!text.includes('earer') && !text.includes('asic') && !text.includes('EARER') && !text.includes('ASIC')) return;
    eachMatch(AUTH, text, (m) => {
      const credential = m[2]!;
      const ok = m[1]!.toLowerCase() === 'basic' ? basicCredential(credential) : bearerToken(credential);
      const end = m.index + m[0].length;
      if (ok) found.push({ start: end - credential.length, end, kind: 'auth' });
    });
  },
};

function basicCredential(text: string): boolean {
  if (text.length < 8 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  return Buffer.from(text, 'base64').toString('latin1').includes(':');
}

function bearerToken(text: string): boolean {
  return text.length >= 20 || (text.length >= 8 && /[^A-Za-z]/.test(text));
}

/**
 * The value of a field whose name says it is secret, written inside a text: a query string
 * (`?password=…&`), JSON (`"client_secret": "…"`), a log line (`token: …`). Attribute keys are
 * the key rules' job; this catches the same names inside values such as `url.full` or
 * `flowtrace.args.0`. The name must start at a word boundary ('_' counts: `access_token`),
 * and only the value is matched: a quoted one up to its closing quote, a bare one up to a
 * separator or space (at most 512 characters).
 */
const SECRET_FIELD =
  /(?<![A-Za-z0-9])(?:password|passwd|pwd|passphrase|secret|client_secret|token|api_?key|api-key|apikey|private_key|credentials?)["']?[ \t]{0,4}[:=][ \t]{0,4}(?:"([^"\n]{1,512})|'([^'\n]{1,512})|([^\s"'&,;}]{1,512}))/gi;
// Cheap native searches first: every name's case variants contain one of these.
const SECRET_FIELD_HINTS = ['ass', 'ecret', 'oken', 'key', 'Key', 'pwd', 'Pwd', 'redential', 'ASS', 'ECRET', 'OKEN', 'KEY', 'PWD', 'REDENTIAL'];

const secretField: Detector = {
  kind: 'secret_field',
  needs: needs({ anyOf: Has.COLON | Has.EQUALS, minLength: 5 }),
  scan(subject, found) {
    const text = subject.text;
    if (!SECRET_FIELD_HINTS.some((hint) => text.includes(hint))) return;
    eachMatch(SECRET_FIELD, text, (m) => {
      const value = m[1] ?? m[2] ?? m[3]!;
      if (value.startsWith('[REDACTED') || value.startsWith('[HASHED:')) return;
      const end = m.index + m[0].length;
      found.push({ start: end - value.length, end, kind: 'secret_field' });
    });
  },
};

/**
 * AWS access key IDs (AKIA… long-term, ASIA… temporary) and secret access keys: 40
 * characters of base64 with upper case, lower case and a digit or '/' or '+', only where the
 * key or the text mentions aws or secret (40-character runs alone are too common).
 */
const AWS_KEY_ID = /(?<![A-Z0-9])A(?:KI|SI)A[A-Z0-9]{16}(?![A-Z0-9])/g;
const AWS_SECRET = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const AWS_CONTEXT = /aws|secret/i;

const awsKey: Detector = {
  kind: 'aws_key',
  needs: needs({ minBase64Run: 20 }),
  scan(subject, found) {
    const text = subject.text;
    if (text.includes('AKIA') || text.includes('ASIA')) {
      eachMatch(AWS_KEY_ID, text, (m) => found.push({ start: m.index, end: m.index + m[0].length, kind: 'aws_key' }));
    }
    if (subject.base64Run >= 40 && (AWS_CONTEXT.test(subject.key) || AWS_CONTEXT.test(text))) {
      eachMatch(AWS_SECRET, text, (m) => {
        const c = m[0];
        if (/[A-Z]/.test(c) && /[a-z]/.test(c) && /[0-9/+]/.test(c)) found.push({ start: m.index, end: m.index + c.length, kind: 'aws_key' });
      });
    }
  },
};

/**
 * IBANs: country code and check digits, then exactly the country's length of upper-case
 * letters and digits, compact or printed in groups of four; mod 97 must give 1.
 */
const IBAN_START = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}/g;

const iban: Detector = {
  kind: 'iban',
  // The shortest IBANs (NO) hold 15 characters; every country's account number part has
  // a run of at least 10 digits (grouped by spaces when printed).
  needs: needs({ minLength: 15, minDigitRun: 10 }),
  scan(subject, found) {
    const text = subject.text;
    eachMatch(IBAN_START, text, (m) => {
      const length = IBAN_LENGTHS[m[0].slice(0, 2)];
      if (length === undefined) return;
      let compact = '';
      let i = m.index;
      while (compact.length < length && i < text.length) {
        const c = text.charCodeAt(i);
        if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90)) {
          compact += text[i];
          i++;
        } else if (c === 32 && compact.length % 4 === 0 && i > m.index && alnum(text.charCodeAt(i + 1))) {
          i++; // the space between groups of four
        } else break;
      }
      if (compact.length === length && !alnum(text.charCodeAt(i)) && ibanValid(compact)) found.push({ start: m.index, end: i, kind: 'iban' });
    });
  },
};

function alnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

const BUILT_IN: Record<DetectorName, Detector> = {
  jwt, auth, secret_field: secretField, aws_key: awsKey, email, iban, credit_card: creditCard, ssn, phone, ip,
};

export function builtInDetector(name: DetectorName): Detector {
  return BUILT_IN[name];
}

/** A user's pattern from `custom`: every non-empty match is redacted. */
export function customDetector(name: string, pattern: string, ignoreCase: boolean): Detector {
  return regexDetector(name, needs({}), new RegExp(pattern, ignoreCase ? 'gi' : 'g'));
}
