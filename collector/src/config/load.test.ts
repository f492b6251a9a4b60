import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ft-config-')), 'flowtrace.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has defaults for every key', () => {
    const c = loadConfig({ env: {} });
    expect(c.receivers.otlp.grpc.endpoint).toBe('127.0.0.1:4317');
    expect(c.receivers.otlp.http.endpoint).toBe('127.0.0.1:4318');
    expect(c.api.endpoint).toBe('127.0.0.1:8686');
    expect(c.storage.retention_days).toBe(7);
    expect(c.storage.data_dir).toBe('./data');
    expect(c.storage.clickhouse.url).toBe('');
  });

  it('layers file < environment < flags', () => {
    const file = yamlFile('storage:\n  retention_days: 3\n  data_dir: /from/file\napi:\n  endpoint: 127.0.0.1:9000\n');
    const c = loadConfig({
      file,
      env: { FLOWTRACE_STORAGE_RETENTION_DAYS: '10', FLOWTRACE_DATA: '/from/env' },
      overrides: [{ path: 'storage.data_dir', value: '/from/flag', source: '--data' }],
    });
    expect(c.storage.retention_days).toBe(10);
    expect(c.storage.data_dir).toBe('/from/flag');
    expect(c.api.endpoint).toBe('127.0.0.1:9000');
  });

  it('honours the ClickHouse client variables', () => {
    const c = loadConfig({ env: { CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_USER: 'u', CLICKHOUSE_PASSWORD: 'p' } });
    expect(c.storage.clickhouse).toMatchObject({ url: 'http://ch:8123', username: 'u', password: 'p' });
  });

  it('converts booleans from the environment', () => {
    expect(loadConfig({ env: { FLOWTRACE_RECEIVERS_OTLP_GRPC_ENABLED: 'false' } }).receivers.otlp.grpc.enabled).toBe(false);
    expect(errorOf(() => loadConfig({ env: { FLOWTRACE_RECEIVERS_OTLP_GRPC_ENABLED: 'maybe' } })).message).toBe(
      'FLOWTRACE_RECEIVERS_OTLP_GRPC_ENABLED: expected true or false, got "maybe"',
    );
  });

  it('splits lists from the environment on commas', () => {
    const c = loadConfig({ env: { FLOWTRACE_API_ALLOWED_HOSTS: 'flowtrace, traces.example.com,', FLOWTRACE_PIPELINE_PROCESSORS: 'redact,sample' } });
    expect(c.api.allowed_hosts).toEqual(['flowtrace', 'traces.example.com']);
    expect(c.pipeline.processors).toEqual(['redact', 'sample']);
  });

  it('refuses an in-flight budget smaller than one request', () => {
    expect(errorOf(() => loadConfig({ env: { FLOWTRACE_RECEIVERS_OTLP_MAX_IN_FLIGHT_MIB: '8' } })).message).toMatch(
      /^FLOWTRACE_RECEIVERS_OTLP_MAX_IN_FLIGHT_MIB: must be at least max_recv_msg_size_mib/,
    );
  });

  it('names the key and the problem', () => {
    expect(errorOf(() => loadConfig({ env: { FLOWTRACE_RETENTION_DAYS: 'abc' } })).message).toBe(
      'FLOWTRACE_RETENTION_DAYS: expected a number, got "abc"',
    );
    expect(errorOf(() => loadConfig({ env: {}, overrides: [{ path: 'storage.retention_days', value: '0', source: '--retention-days' }] })).message).toBe(
      '--retention-days: must be at least 1',
    );
    expect(errorOf(() => loadConfig({ env: {}, overrides: [{ path: 'api.endpoint', value: 'nope', source: '--api' }] })).key).toBe('--api');
    const file = yamlFile('storage:\n  retention_dayz: 3\n');
    const e = errorOf(() => loadConfig({ file, env: {} }));
    expect(e.key).toBe('storage.retention_dayz');
    expect(e.message).toContain('did you mean storage.retention_days');
    expect(errorOf(() => loadConfig({ file: yamlFile('api:\n  endpoint: 1.2.3.4:99999\n'), env: {} })).message).toBe(
      'api.endpoint: port must be 0–65535',
    );
    expect(errorOf(() => loadConfig({ file: yamlFile('storage: [1, 2'), env: {} })).message).toMatch(/invalid YAML line 1/);
    expect(errorOf(() => loadConfig({ file: '/does/not/exist.yaml', env: {} })).message).toContain('cannot read /does/not/exist.yaml: ENOENT');
    expect(errorOf(() => loadConfig({ env: { CLICKHOUSE_URL: 'ftp://x' } })).message).toBe('CLICKHOUSE_URL: expected an http:// or https:// URL');
  });

  it('replaces ${env:NAME} in the file with the environment, so secrets stay out of it', () => {
    const file = yamlFile(
      [
        'exporters:',
        '  datadog:',
        '    api_key: ${env:DD_API_KEY}',
        '  otlp/upstream:',
        '    endpoint: https://otlp.example.com',
        '    headers:',
        '      authorization: Bearer ${env:UPSTREAM_TOKEN}',
        '      x-tenant: ${env:TENANT:-acme}',
        '      x-literal: $${env:NOT_EXPANDED}',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: { DD_API_KEY: 'k1', UPSTREAM_TOKEN: 't2' } });
    const byType = Object.fromEntries(config.exporters.map((e) => [e.type, e.config as Record<string, unknown>]));
    expect(byType.datadog!.api_key).toBe('k1');
    expect(byType.otlp!.headers).toEqual({ authorization: 'Bearer t2', 'x-tenant': 'acme', 'x-literal': '${env:NOT_EXPANDED}' });
    expect(() => loadConfig({ file, env: { UPSTREAM_TOKEN: 't2' } })).toThrow('exporters.datadog.api_key: ${env:DD_API_KEY} is not set in the environment');
  });

  it('validates each exporter with its own schema and a queue block, naming the key', () => {
    const c = loadConfig({ file: yamlFile('exporters:\n  jaeger:\n  otlp/vendor:\n    endpoint: https://otlp.example.com\n    queue: { full_policy: drop_oldest }\n'), env: {} });
    expect(c.exporters.map((e) => [e.type, e.name, e.queue.full_policy])).toEqual([
      ['jaeger', 'jaeger', 'refuse'],
      ['otlp', 'otlp/vendor', 'drop_oldest'],
    ]);
    const problem = (yaml: string) => errorOf(() => loadConfig({ file: yamlFile(yaml), env: {} })).message;
    expect(problem('exporters:\n  zipkin: {}\n')).toMatch(/^exporters\.zipkin: unknown exporter type "zipkin"; expected one of otlp, jaeger, datadog/);
    expect(problem('exporters:\n  jaeger: 5\n')).toMatch(/^exporters\.jaeger: expected a mapping/);
    expect(problem('exporters:\n  jaeger:\n    queue: { full_policy: drop_newest }\n')).toMatch(/^exporters\.jaeger\.queue\.full_policy: /);
    expect(problem('exporters:\n  otlp:\n    endpoint: https://x\n    colour: blue\n')).toMatch(/^exporters\.otlp/);
  });
});
