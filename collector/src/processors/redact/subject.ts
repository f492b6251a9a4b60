/**
 * What every string is measured for before any detector runs: one pass over its characters
 * gives the counts that let most detectors skip most strings (no '@': no e-mail; no run of
 * 13 digits: no card). This is what keeps redaction cheap on the usual span, where nothing
 * matches.
 */
import type { CardScope } from './card-context.js';

/** One string to search, with what the cheap tests of the detectors need, measured in one pass. */
export interface Subject {
  text: string;
  /** The attribute key the text is the value of; '' for names and messages. */
  key: string;
  /** Whether and how to look for payment cards, from the key and the value's kind (card-context.ts). */
  cardScope: CardScope;
  /** Which of the {@link Has} characters the text holds. */
  has: number;
  /** How many ASCII digits the text holds. */
  digits: number;
  /** The most digits in one run of digits joined by single spaces or dashes ('4111 1111-11' has 10). */
  digitRun: number;
  /** The longest run of base64 characters (letters, digits, '+', '/'). */
  base64Run: number;
}

/** Characters some detectors cannot match without. */
export const Has = { AT: 8, PERCENT: 16, PLUS: 32, DOT: 64, COLON: 128, SPACE: 256, EQUALS: 512 } as const;

/** What a text must have for a detector to be worth running; checked before it is called. */
export interface Needs {
  /** One of these {@link Has} characters (0: none needed). */
  anyOf: number;
  minLength: number;
  minDigits: number;
  minDigitRun: number;
  minBase64Run: number;
}

export const needs = (n: Partial<Needs>): Needs => ({ anyOf: 0, minLength: 0, minDigits: 0, minDigitRun: 0, minBase64Run: 0, ...n });

/**
 * The detectors' needs packed in one typed array, so that the test made for every string and
 * detector is a few integer comparisons (no property lookups on differently shaped objects).
 */
export class Gate {
  private readonly table: Int32Array;

  constructor(detectors: ReadonlyArray<{ needs: Needs }>) {
    this.table = new Int32Array(detectors.length * 5);
    detectors.forEach((d, i) => this.table.set([d.needs.minLength, d.needs.minDigits, d.needs.minDigitRun, d.needs.minBase64Run, d.needs.anyOf], i * 5));
  }

  /** Whether detector `i` can match anything in the subject. */
  admits(i: number, s: Subject): boolean {
    const t = this.table;
    const o = i * 5;
    return s.text.length >= t[o]! && s.digits >= t[o + 1]! && s.digitRun >= t[o + 2]! && s.base64Run >= t[o + 3]! && (t[o + 4] === 0 || (s.has & t[o + 4]!) !== 0);
  }
}

const DIGIT = 1;
const BASE64 = 2;
const SEPARATOR = 4; // ' ' or '-' between digit groups
const CHAR_CLASS = new Uint16Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (ch >= '0' && ch <= '9') CHAR_CLASS[c] = DIGIT | BASE64;
  else if (/[A-Za-z+/]/.test(ch)) CHAR_CLASS[c] = BASE64;
  if (ch === ' ' || ch === '-') CHAR_CLASS[c]! |= SEPARATOR;
  if (ch === ' ' || ch === '\t') CHAR_CLASS[c]! |= Has.SPACE;
  CHAR_CLASS[c]! |= { '@': Has.AT, '%': Has.PERCENT, '+': Has.PLUS, '.': Has.DOT, ':': Has.COLON, '=': Has.EQUALS }[ch] ?? 0;
}

/** Fills in the subject's measures of `text` in one pass. */
export function measure(subject: Subject, text: string): void {
  let has = 0;
  let digits = 0;
  let run = 0;
  let maxRun = 0;
  let afterSeparator = false;
  let b64 = 0;
  let maxB64 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const f = c < 128 ? CHAR_CLASS[c]! : 0;
    has |= f;
    if (f & DIGIT) {
      digits++;
      if (++run > maxRun) maxRun = run;
      afterSeparator = false;
    } else if (f & SEPARATOR && run > 0 && !afterSeparator) {
      afterSeparator = true;
    } else {
      run = 0;
      afterSeparator = false;
    }
    if (f & BASE64) {
      if (++b64 > maxB64) maxB64 = b64;
    } else b64 = 0;
  }
  subject.text = text;
  subject.has = has;
  subject.digits = digits;
  subject.digitRun = maxRun;
  subject.base64Run = maxB64;
}
