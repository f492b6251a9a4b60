import type { LogRecord } from '../model/log-record.js';
import type { InstrumentationScope, Resource } from '../model/span.js';
import type { DropRecorder, LogDropStage } from '../pipeline/drops.js';
import type { Action, RedactConfig } from '../processors/redact/config.js';
import { REDACTED_ATTRIBUTE, REDACTED_KEYS_ATTRIBUTE } from '../processors/redact/key-rules.js';
import { applyEdits, Redactor, type Tally } from '../processors/redact/redactor.js';
import { StructuredValueKeys } from '../processors/redact/structured-value-keys.js';
import type { LogMetrics } from './log-metrics.js';

/** The drop-ledger stage of redactions made on log records. */
export const LOGS_REDACT_STAGE: LogDropStage = 'logs/redact';

/**
 * The redact processor's rules (processors/redact/: the same Redactor, built from the same
 * `processors.redact` settings) on log records, before anything is queued: the body as free
 * text, every attribute of the record, its resource and its scope. Shared resources and scopes
 * are never changed: records get a redacted copy, made once per original. A record with
 * redactions says so in `flowtrace.redacted` / `flowtrace.redacted.keys`, as a span does, and the
 * drop ledger counts them as masked values (stage `logs/redact`). Fail closed: a throw here
 * refuses the request whole.
 */
export class LogRedaction {
  private readonly redactor: Redactor;
  private readonly bodyKeys: StructuredValueKeys;

  constructor(
    config: RedactConfig,
    private readonly drops: DropRecorder | undefined,
    private readonly metrics: LogMetrics,
  ) {
    this.redactor = new Redactor(config);
    this.bodyKeys = new StructuredValueKeys(config);
  }

  redact(records: readonly LogRecord[]): void {
    const copies = new Map<Resource | InstrumentationScope, { value: Resource | InstrumentationScope; count: number; keys: string[] }>();
    const masked = new Map<string, number>();
    const tally = new RecordTally(this.metrics);
    for (const record of records) {
      tally.reset();
      const resource = this.shared(copies, record.resource, 'resource.', (r) => {
        (r as Resource).serviceName = r.attributes['service.name'] ?? '';
      });
      record.resource = resource.value as Resource;
      tally.merge(resource);
      const scope = this.shared(copies, record.scope, 'scope.');
      record.scope = scope.value as InstrumentationScope;
      tally.merge(scope);
      const nested = this.bodyKeys.attributes(record.attributes, record.attributeKinds, '', tally);
      if (nested) record.attributes = nested;
      const edits = this.redactor.planAttributes(record.attributes, record.attributeKinds, '', tally);
      if (edits) applyEdits(record, edits);
      // A structured body (kvlist, array) is its JSON text: its keys get the key rules first (a
      // denied key's value goes whole), then the detectors; replacements hold no quote or backslash, so it stays JSON.
      if (record.bodyKind === 'kvlist' || record.bodyKind === 'array') {
        const keyed = this.bodyKeys.redact(record.body, 'body', tally);
        if (keyed !== undefined) record.body = keyed;
      }
      const body = this.redactor.text(record.body, 'body', tally);
      if (body !== undefined) record.body = body;
      if (tally.count === 0) continue;
      mark(record, tally);
      masked.set(record.resource.serviceName, (masked.get(record.resource.serviceName) ?? 0) + tally.count);
    }
    for (const [service, n] of masked) this.drops?.values(LOGS_REDACT_STAGE, 'masked', service, n);
  }

  private shared<T extends Resource | InstrumentationScope>(
    copies: Map<Resource | InstrumentationScope, { value: Resource | InstrumentationScope; count: number; keys: string[] }>,
    original: T,
    prefix: string,
    fix?: (copy: T) => void,
  ): { value: Resource | InstrumentationScope; count: number; keys: string[] } {
    let result = copies.get(original);
    if (result) return result;
    const tally = new RecordTally(this.metrics);
    const nested = this.bodyKeys.attributes(original.attributes, original.attributeKinds, prefix, tally);
    const edits = this.redactor.planAttributes(nested ?? original.attributes, original.attributeKinds, prefix, tally);
    let value: T = original;
    if (edits || nested) {
      value = { ...original, attributes: nested ?? { ...original.attributes } };
      if (edits) applyEdits(value, edits);
      fix?.(value);
    }
    result = { value, count: tally.count, keys: [...tally.keys] };
    copies.set(original, result);
    if (value !== original) copies.set(value, { value, count: 0, keys: [] });
    return result;
  }
}

/** Redactions of one record: how many, and where (for `flowtrace.redacted.keys`). */
class RecordTally implements Tally {
  count = 0;
  readonly keys: string[] = [];

  constructor(private readonly metrics: LogMetrics) {}

  reset(): void {
    this.count = 0;
    this.keys.length = 0;
  }

  record(where: string, kind: string, action: Action): void {
    this.count++;
    if (!this.keys.includes(where)) this.keys.push(where);
    this.metrics.redactions.inc({ kind, action });
  }

  merge(shared: { count: number; keys: string[] }): void {
    if (shared.count === 0) return;
    this.count += shared.count;
    for (const k of shared.keys) if (!this.keys.includes(k)) this.keys.push(k);
  }
}

/** The span's markers on a log record, added to what an agent or earlier collector recorded. */
function mark(record: LogRecord, tally: RecordTally): void {
  const before = Number(record.attributes[REDACTED_ATTRIBUTE] ?? 0);
  const keys = new Set((record.attributes[REDACTED_KEYS_ATTRIBUTE] ?? '').split(',').filter((k) => k !== ''));
  for (const k of tally.keys) keys.add(k);
  record.attributes[REDACTED_ATTRIBUTE] = String((Number.isSafeInteger(before) ? before : 0) + tally.count);
  record.attributes[REDACTED_KEYS_ATTRIBUTE] = [...keys].join(',');
  record.attributeKinds = { ...record.attributeKinds, [REDACTED_ATTRIBUTE]: 'int' };
}
