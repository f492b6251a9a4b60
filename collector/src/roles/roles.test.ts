import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/load.js';
import { rolePlan } from './roles.js';

const dir = mkdtempSync(join(tmpdir(), 'roles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `c${files++}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env });
}

function refusal(yaml: string): string {
  try {
    rolePlan(load(yaml));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

const PUBLISHES = 'exporters:\n  file:\n    directory: /tmp/spans\n';

describe('roles', () => {
  it('all is the default and runs everything', () => {
    const plan = rolePlan(loadConfig({ env: {} }));
    expect(plan).toMatchObject({ role: 'all', otlpReceivers: true, writesSpans: true, countsRed: true, servesQueries: true, maintains: true, deduplicates: false });
    expect(plan.processors).toEqual(['filter', 'redact', 'stitch', 'sample']);
  });

  it('--role / FLOWTRACE_ROLE pick the role; a wrong one is named', () => {
    expect(loadConfig({ env: { FLOWTRACE_ROLE: 'query' } }).role).toBe('query');
    expect(loadConfig({ env: {}, overrides: [{ path: 'role', value: 'process', source: '--role' }] }).role).toBe('process');
    expect(() => loadConfig({ env: { FLOWTRACE_ROLE: 'ingester' } })).toThrow(/FLOWTRACE_ROLE: expected one of all, ingest, process, query/);
  });

  it('ingest redacts and publishes: no trace-holding processor, no storage, no queries', () => {
    const plan = rolePlan(load(`role: ingest\n${PUBLISHES}`));
    expect(plan).toMatchObject({ role: 'ingest', otlpReceivers: true, writesSpans: false, countsRed: false, servesQueries: false, maintains: false });
    expect(plan.processors).toEqual(['redact']);
  });

  it('ingest without an exporter to publish to is refused', () => {
    expect(refusal('role: ingest\n')).toMatch(/^role: an ingest collector publishes what it receives: configure exporters.kafka or exporters.loadbalancing/);
    // An otlp exporter that forwards only logs takes no spans: the spans would have nowhere to go.
    expect(refusal('role: ingest\nexporters:\n  otlp/logs:\n    endpoint: http://elastic:4317\n    signals: [logs]\n')).toMatch(/^role: an ingest collector publishes what it receives/);
    expect(rolePlan(load('role: ingest\nexporters:\n  otlp/both:\n    endpoint: http://elastic:4317\n    signals: [traces, logs]\n')).role).toBe('ingest');
  });

  it('process holds traces and stores, in ClickHouse or through the owner', () => {
    expect(refusal('role: process\n')).toMatch(/^role: a process collector on the embedded store stores through its owner: set storage.owner/);
    expect(rolePlan(load('role: process\nstorage:\n  clickhouse:\n    url: http://ch:8123\n'))).toMatchObject({ processors: ['filter', 'redact', 'stitch', 'sample'], writesSpans: true, countsRed: true, servesQueries: false });
    const owned = rolePlan(load('role: process\nstorage:\n  owner:\n    endpoint: http://127.0.0.1:4318\n    api: http://127.0.0.1:8686\n'));
    expect(owned.writesSpans).toBe(false);
  });

  it('query on the embedded store owns it: it takes the process collectors\' spans and side rows, deduplicated', () => {
    expect(rolePlan(load('role: query\n'))).toMatchObject({ otlpReceivers: true, processors: [], deduplicates: true, takesSideRows: true, countsRed: false, servesQueries: true, maintains: true });
    expect(rolePlan(load('role: query\nstorage:\n  clickhouse:\n    url: http://ch:8123\n'))).toMatchObject({ otlpReceivers: false, deduplicates: false, takesSideRows: false });
  });

  it('an owner is only for process collectors', () => {
    const owner = 'storage:\n  owner:\n    endpoint: http://127.0.0.1:4318\n    api: http://127.0.0.1:8686\n';
    expect(refusal(owner)).toMatch(/^storage.owner: only a `process` collector/);
    expect(refusal(`role: query\n${owner}`)).toMatch(/^storage.owner: a query collector reads the store itself/);
    expect(refusal(`role: ingest\n${PUBLISHES}${owner}`)).toMatch(/^storage.owner: an ingest collector stores nothing/);
  });

  it('an owner needs both URLs', () => {
    expect(() => load('role: process\nstorage:\n  owner:\n    endpoint: http://127.0.0.1:4318\n')).toThrow(/storage.owner.api: required/);
  });

  it('the README\'s "Scaling out" configurations load and plan as they say', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Scaling out'), readme.indexOf('\n## ', readme.indexOf('## Scaling out') + 5));
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const roles = blocks.map((yaml) => {
      const file = join(dir, `readme${files++}.yaml`);
      writeFileSync(file, yaml);
      return rolePlan(loadConfig({ file, env: { KAFKA_PASSWORD: 'pw' } })).role;
    });
    expect(roles).toEqual(['ingest', 'process', 'ingest']);
  });
});
