import type { AttributeKinds, Attributes } from '../../model/span.js';
import type { Action, RedactConfig } from './config.js';
import { KeyRules } from './key-rules.js';
import { KEY_KIND, type Tally } from './redactor.js';
import { Pseudonyms } from './pseudonyms.js';

/**
 * The redact processor's key rules inside a kvlist or array value (kept as its JSON text): span,
 * resource, scope, event and link attributes, and log bodies and attributes. A value under a
 * denied key (`{"cookie": "…"}`, `{"user": {"accessToken": …}}`) is replaced whole, as the same
 * key would be as an attribute. Structured loggers and instrumentations put fields there, so
 * without this only the detectors would see them. The text is rewritten in place —
 * everything else is kept byte for byte (no parse and re-serialise: int64s past 2^53 stay exact) —
 * and stays valid JSON: a replaced value becomes a JSON string. `drop` masks, as in free text: a
 * key cannot be removed from inside a value.
 */
export class StructuredValueKeys {
  private readonly keys: KeyRules;
  private readonly pseudonyms: Pseudonyms;

  constructor(config: RedactConfig) {
    this.keys = new KeyRules({
      action: config.keys.action,
      deny: [...config.keys.deny, ...config.keys.extra_deny],
      allow: [...config.keys.allow, ...config.keys.extra_allow],
    });
    this.pseudonyms = new Pseudonyms(config.hash_key, config.hash_length);
  }

  /**
   * A copy of `attributes` with the key rules applied inside its kvlist and array values (whose
   * own key is scanned, not denied: a denied key's whole value is the Redactor's); undefined when
   * nothing changed.
   */
  attributes(attributes: Attributes, kinds: AttributeKinds | undefined, prefix: string, tally: Tally): Attributes | undefined {
    if (kinds === undefined) return undefined;
    let copy: Attributes | undefined;
    for (const key in kinds) {
      const kind = kinds[key];
      const value = attributes[key];
      if ((kind !== 'kvlist' && kind !== 'array') || value === undefined || value === '' || this.keys.decide(key) !== 'scan') continue;
      const redacted = this.redact(value, prefix + key, tally);
      if (redacted !== undefined) (copy ??= { ...attributes })[key] = redacted;
    }
    return copy;
  }

  /** `json` with every denied key's value replaced; undefined when none was (or the text is not JSON). */
  redact(json: string, where: string, tally: Tally): string | undefined {
    let out = '';
    let copied = 0;
    let i = 0;
    const n = json.length;
    while (i < n) {
      const c = json.charCodeAt(i);
      if (c !== QUOTE) {
        i++;
        continue;
      }
      const keyEnd = stringEnd(json, i);
      if (keyEnd < 0) return undefined;
      const colon = skipSpace(json, keyEnd);
      if (json.charCodeAt(colon) !== COLON) {
        i = keyEnd; // a string value, not a key
        continue;
      }
      const valueStart = skipSpace(json, colon + 1);
      const decision = this.keys.decide(unquote(json.slice(i, keyEnd)));
      if (decision === 'allow' || decision === 'scan') {
        // The value is walked on from here (nested objects have keys too): one pass over the text.
        i = valueStart;
        continue;
      }
      const valueEnd = valueEndAt(json, valueStart);
      if (valueEnd < 0) return undefined;
      const value = json.slice(valueStart, valueEnd);
      const plain = value.charCodeAt(0) === QUOTE ? unquote(value) : value;
      if (plain === '' || plain.startsWith('[REDACTED') || plain.startsWith('[HASHED:')) {
        i = valueEnd;
        continue;
      }
      const action: Action = decision === 'hash' ? 'hash' : 'mask';
      const replacement = action === 'hash' ? this.pseudonyms.of(KEY_KIND, plain) : `[REDACTED:${KEY_KIND}]`;
      tally.record(where, KEY_KIND, action);
      out += json.slice(copied, valueStart) + JSON.stringify(replacement);
      copied = i = valueEnd;
    }
    return copied === 0 ? undefined : out + json.slice(copied);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** The index after the closing quote of the string starting at `start`; -1 when unterminated. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
  return at;
}

/** The index after the JSON value starting at `start`; -1 when it is cut short. */
function valueEndAt(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (c === QUOTE) return stringEnd(text, start);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d === QUOTE) {
        i = stringEnd(text, i) - 1;
        if (i < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = start;
  while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
  return i === start ? -1 : i;
}

function unquote(token: string): string {
  try {
    const value: unknown = JSON.parse(token);
    return typeof value === 'string' ? value : token;
  } catch {
    return token;
  }
}
