import type { AttributeKinds, Attributes } from '../../model/span.js';
import { CardScope, CardScopes } from './card-context.js';
import { DETECTOR_NAMES, type Action, type RedactConfig } from './config.js';
import { builtInDetector, customDetector, type Detector, type Match } from './detectors.js';
import { KeyRules } from './key-rules.js';
import { Pseudonyms } from './pseudonyms.js';
import { Gate, measure, type Subject } from './subject.js';

/** Receives every redaction made: where (as listed in `flowtrace.redacted.keys`), what, how. */
export interface Tally {
  record(where: string, kind: string, action: Action): void;
}

/** A change to one attribute: its new value, or undefined to remove it. */
export interface Edit {
  key: string;
  value: string | undefined;
}

/** The `kind` of redactions made by key rules. */
export const KEY_KIND = 'key';

/** Value kinds that can hold personal data as text; bools, doubles and bytes are not searched. */
const SEARCHED_KINDS = new Set(['int', 'array', 'kvlist']);

/**
 * Redaction of strings and attribute maps: key rules first, then every enabled detector over
 * the value; overlapping matches go to the one starting first (then the longest, then the
 * detector listed first). Holds no per-span state, only caches.
 */
export class Redactor {
  private readonly keys: KeyRules;
  private readonly detectors: Detector[] = [];
  private readonly actions = new Map<string, Action>();
  private readonly gate: Gate;
  private readonly pseudonyms: Pseudonyms;
  private readonly cardScopes = new CardScopes();
  /** Reused for every search, so that a string without matches allocates nothing. */
  private readonly found: Match[] = [];
  private readonly subject: Subject = { text: '', key: '', cardScope: CardScope.Text, has: 0, digits: 0, digitRun: 0, base64Run: 0 };

  constructor(config: RedactConfig) {
    this.keys = new KeyRules({
      action: config.keys.action,
      deny: [...config.keys.deny, ...config.keys.extra_deny],
      allow: [...config.keys.allow, ...config.keys.extra_allow],
    });
    for (const rule of config.custom) {
      this.detectors.push(customDetector(rule.name, rule.pattern, rule.ignore_case));
      this.actions.set(rule.name, rule.action);
    }
    for (const name of DETECTOR_NAMES) {
      const d = config.detectors[name];
      if (!d.enabled) continue;
      this.detectors.push(builtInDetector(name));
      this.actions.set(name, d.action);
    }
    this.gate = new Gate(this.detectors);
    this.pseudonyms = new Pseudonyms(config.hash_key, config.hash_length);
  }

  /**
   * A free-text string (span or event name, status message) with its matches replaced;
   * undefined when nothing matched. `drop` masks here: there is no attribute to remove.
   */
  text(text: string, where: string, tally: Tally): string | undefined {
    if (text === '') return undefined;
    const matches = this.search(text, '', CardScope.Text);
    return matches && this.rewrite(text, matches, where, tally, false);
  }

  /**
   * The edits an attribute map needs (undefined when none), recorded in `tally` with keys
   * prefixed by `prefix`. Nothing is changed: see {@link applyEdits}.
   */
  planAttributes(attributes: Attributes, kinds: AttributeKinds | undefined, prefix: string, tally: Tally): Edit[] | undefined {
    let edits: Edit[] | undefined;
    for (const key in attributes) {
      const value = attributes[key]!;
      if (value === '') continue;
      const decision = this.keys.decide(key);
      if (decision === 'allow') continue;
      let replacement: string | undefined;
      if (decision !== 'scan') {
        if (alreadyRedacted(value)) continue;
        replacement = decision === 'drop' ? undefined : decision === 'hash' ? this.pseudonyms.of(KEY_KIND, value) : `[REDACTED:${KEY_KIND}]`;
        tally.record(prefix + key, KEY_KIND, decision);
      } else {
        const kind = kinds?.[key];
        if (kind !== undefined && !SEARCHED_KINDS.has(kind)) continue;
        const matches = this.search(value, key, this.cardScopes.of(key, kind));
        if (!matches) continue;
        replacement = this.rewrite(value, matches, prefix + key, tally, true);
      }
      (edits ??= []).push({ key, value: replacement });
    }
    return edits;
  }

  /** The matches in `text`, sorted and without overlaps; undefined when none. */
  private search(text: string, key: string, cardScope: CardScope): Match[] | undefined {
    const found = this.found;
    if (found.length > 0) found.length = 0;
    const subject = this.subject;
    measure(subject, text);
    subject.key = key;
    subject.cardScope = cardScope;
    const detectors = this.detectors;
    for (let i = 0; i < detectors.length; i++) if (this.gate.admits(i, subject)) detectors[i]!.scan(subject, found);
    if (found.length === 0) return undefined;
    if (found.length === 1) return found;
    const order = (m: Match) => this.detectors.findIndex((d) => d.kind === m.kind);
    found.sort((a, b) => a.start - b.start || b.end - a.end || order(a) - order(b));
    const kept: Match[] = [];
    for (const m of found) if (kept.length === 0 || m.start >= kept[kept.length - 1]!.end) kept.push(m);
    return kept;
  }

  /** `text` with each match masked or hashed; undefined when a match's action drops the value. */
  private rewrite(text: string, matches: Match[], where: string, tally: Tally, canDrop: boolean): string | undefined {
    if (canDrop) {
      const dropping = matches.find((m) => this.actions.get(m.kind) === 'drop');
      if (dropping) {
        tally.record(where, dropping.kind, 'drop');
        return undefined;
      }
    }
    let out = '';
    let at = 0;
    for (const m of matches) {
      const action = this.actions.get(m.kind) === 'hash' ? 'hash' : 'mask';
      out += text.slice(at, m.start) + (action === 'hash' ? this.pseudonyms.of(m.kind, text.slice(m.start, m.end)) : `[REDACTED:${m.kind}]`);
      at = m.end;
      tally.record(where, m.kind, action);
    }
    return out + text.slice(at);
  }
}

/**
 * Applies edits to an attribute holder the caller owns. A changed value is now text (a
 * masked int is no longer an int), so its kind entry goes; `attributeKinds` is replaced, not
 * changed, in case another holder shares it.
 */
export function applyEdits(holder: { attributes: Attributes; attributeKinds?: AttributeKinds }, edits: readonly Edit[]): void {
  let kinds: AttributeKinds | undefined;
  for (const { key, value } of edits) {
    if (value === undefined) delete holder.attributes[key];
    else holder.attributes[key] = value;
    if (holder.attributeKinds?.[key] !== undefined) {
      kinds ??= { ...holder.attributeKinds };
      delete kinds[key];
    }
  }
  if (kinds) {
    if (Object.keys(kinds).length > 0) holder.attributeKinds = kinds;
    else delete holder.attributeKinds;
  }
}

/** A value an agent (or an earlier pass) already redacted is not counted again. */
function alreadyRedacted(value: string): boolean {
  return value.startsWith('[REDACTED') || value.startsWith('[HASHED:');
}
