import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';
import { lookupTableTtl, matchCondition, spanTableTtl, sqlString, ttlClause, ttlOnlyDropParts } from '../../../../exporters/clickhouse/retention-ttl.js';
import { retentionPolicy } from './config.js';
import { describeMatch, longestDays, type RetentionPolicy } from './policy.js';

function configFrom(yaml: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'ft-retention-')), 'flowtrace.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ file, env: {} });
}

function errorOf(yaml: string): string {
  try {
    configFrom(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const RULES_YAML = `storage:
  retention_days: 7
  retention_rules:
    - name: errors
      match: { status: error }
      days: 30
    - name: payments
      match: { service: payments }
      days: 90
    - name: checkout-methods
      match: { service: [checkout, cart], method_spans: true }
      days: 2
`;

describe('storage.retention_rules configuration', () => {
  it('keeps retention_days alone as before: no rules, one TTL, whole parts dropped', () => {
    const c = loadConfig({ env: {} });
    expect(c.storage.retention_rules).toEqual([]);
    const policy = retentionPolicy(c.storage.retention_days, c.storage.retention_rules);
    expect(spanTableTtl(policy)).toBe('toDateTime(Timestamp) + toIntervalDay(7)');
    expect(lookupTableTtl(policy)).toBe('toDateTime(Start) + toIntervalDay(7)');
    expect(ttlOnlyDropParts(policy)).toBe(1);
  });

  it('reads ordered rules with a service, a list of services, a status and method spans', () => {
    const c = configFrom(RULES_YAML);
    const policy = retentionPolicy(c.storage.retention_days, c.storage.retention_rules);
    expect(policy).toEqual({
      defaultDays: 7,
      rules: [
        { name: 'errors', match: { status: 'error' }, days: 30 },
        { name: 'payments', match: { services: ['payments'] }, days: 90 },
        { name: 'checkout-methods', match: { services: ['checkout', 'cart'], methodSpans: true }, days: 2 },
      ],
    });
    expect(longestDays(policy)).toBe(90);
    expect(describeMatch(policy.rules[2]!.match)).toBe('service=checkout|cart, method spans');
  });

  it('names the key of every mistake', () => {
    const rule = (body: string) => `storage:\n  retention_rules:\n    - ${body}\n`;
    expect(errorOf(rule('{ name: x, match: {}, days: 3 }'))).toMatch(/storage\.retention_rules\.0\.match: must name at least one of service, status, kind, method_spans/);
    expect(errorOf(rule('{ name: x, match: { status: failed }, days: 3 }'))).toMatch(/storage\.retention_rules\.0\.match\.status/);
    expect(errorOf(rule('{ name: x, match: { kind: internal }, days: 0 }'))).toMatch(/storage\.retention_rules\.0\.days: must be at least 1/);
    expect(errorOf(rule('{ name: x, match: { kind: internal }, days: 40000 }'))).toMatch(/storage\.retention_rules\.0\.days: must be at most 3650/);
    expect(errorOf(rule('{ name: "a b", match: { kind: internal }, days: 3 }'))).toMatch(/storage\.retention_rules\.0\.name: expected 1–64 letters/);
    expect(errorOf(rule('{ name: x, match: { servce: a }, days: 3 }'))).toMatch(/storage\.retention_rules\.0\.match.*servce/);
    expect(errorOf(rule('{ name: x, match: { service: "" }, days: 3 }'))).toMatch(/storage\.retention_rules\.0\.match\.service/);
    expect(errorOf('storage:\n  retention_rules:\n    - { name: x, match: { kind: server }, days: 3 }\n    - { name: x, match: { kind: client }, days: 3 }\n')).toMatch(
      /storage\.retention_rules\.1\.name: rule name "x" is used twice/,
    );
    expect(errorOf('storage:\n  max_disk_gb: -1\n')).toMatch(/storage\.max_disk_gb: must be 0 \(no budget\) or more/);
    expect(errorOf('storage:\n  disk_check_interval_seconds: 0.5\n')).toMatch(/storage\.disk_check_interval_seconds: expected a whole number/);
  });

  it('takes the disk budget from the file or the environment', () => {
    expect(configFrom('storage:\n  max_disk_gb: 0.5\n').storage.max_disk_gb).toBe(0.5);
    expect(loadConfig({ env: {} }).storage.max_disk_gb).toBe(0);
    expect(loadConfig({ env: { FLOWTRACE_STORAGE_MAX_DISK_GB: '20' } }).storage.max_disk_gb).toBe(20);
  });
});

describe('retention TTL clauses', () => {
  const policy: RetentionPolicy = {
    defaultDays: 7,
    rules: [
      { name: 'errors', match: { status: 'error' }, days: 30 },
      { name: 'payments', match: { services: ['payments'] }, days: 90 },
      { name: 'x-methods', match: { services: ['x'], methodSpans: true }, days: 2 },
    ],
  };

  it('makes one DELETE WHERE clause per rule plus the default, each excluding the rules before it', () => {
    const err = "(StatusCode = 'Error')";
    const pay = "(ServiceName = 'payments')";
    const method = "(ServiceName = 'x' AND (SpanKind = 'Internal' AND (mapContains(SpanAttributes, 'code.function.name') OR mapContains(SpanAttributes, 'code.function'))))";
    expect(spanTableTtl(policy).split(', toDateTime')).toEqual([
      `toDateTime(Timestamp) + toIntervalDay(30) WHERE ${err}`,
      `(Timestamp) + toIntervalDay(90) WHERE ${pay} AND NOT (${err})`,
      `(Timestamp) + toIntervalDay(2) WHERE ${method} AND NOT (${err} OR ${pay})`,
      `(Timestamp) + toIntervalDay(7) WHERE NOT (${err} OR ${pay} OR ${method})`,
    ]);
    expect(ttlOnlyDropParts(policy)).toBe(0);
    // A trace must stay findable as long as its longest-kept span.
    expect(lookupTableTtl(policy)).toBe('toDateTime(Start) + toIntervalDay(90)');
  });

  it('quotes service names as string literals, so no config value becomes SQL', () => {
    expect(sqlString("o'brien")).toBe("'o\\'brien'");
    expect(sqlString('back\\slash')).toBe("'back\\\\slash'");
    expect(sqlString("\\' OR 1=1 --")).toBe("'\\\\\\' OR 1=1 --'");
    expect(matchCondition({ services: ["a'b", 'c\\'] })).toBe("(ServiceName IN ('a\\'b', 'c\\\\'))");
    expect(matchCondition({ kind: 'server', status: 'ok', methodSpans: false })).toBe(
      "(StatusCode = 'Ok' AND SpanKind = 'Server' AND NOT (SpanKind = 'Internal' AND (mapContains(SpanAttributes, 'code.function.name') OR mapContains(SpanAttributes, 'code.function'))))",
    );
  });

  it('finds the TTL clauses of a definition, not a " SETTINGS " inside a service name', () => {
    const ttl = "toDateTime(Timestamp) + toIntervalDay(2) WHERE ServiceName = 'a SETTINGS b'";
    expect(ttlClause(`MergeTree ORDER BY x TTL ${ttl} SETTINGS index_granularity = 8192`, true)).toBe(ttl);
    expect(ttlClause(`CREATE TABLE t (x Int8) ENGINE = MergeTree ORDER BY x TTL ${ttl}`, false)).toBe(ttl);
    expect(ttlClause('MergeTree ORDER BY x SETTINGS index_granularity = 8192', true)).toBe('');
  });
});
