import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type AgentConfig, type ConfigResult } from '../src/config.js';
import { AGENT_VERSION } from '../src/version.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowtrace-config-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop-api', version: '2.1.0' }));
  mkdirSync(join(dir, 'src'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(env: NodeJS.ProcessEnv): ConfigResult {
  return loadConfig({ env, cwd: dir, entry: join(dir, 'src', 'server.js') });
}

function ok(env: NodeJS.ProcessEnv): AgentConfig {
  const r = load(env);
  if (!r.ok || 'disabled' in r) throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

function problems(env: NodeJS.ProcessEnv): string[] {
  const r = load(env);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('configuration', () => {
  it('has defaults that need nothing set', () => {
    const c = ok({});
    expect(c.serviceName).toBe('shop-api');
    expect(c.serviceVersion).toBe('2.1.0');
    expect(c.protocol).toBe('grpc');
    expect(c.endpoint).toBe('http://localhost:4317');
    expect(c.sampler).toBe('parentbased_always_on');
    expect(c.include).toEqual([]);
    expect(c.captureArgs).toBe(false);
    expect(c.captureReturn).toBe(false);
    expect(c.maxValueBytes).toBe(512);
    expect(c.projectRoot).toBe(dir);
  });

  it('reads the OpenTelemetry variables', () => {
    const c = ok({
      OTEL_SERVICE_NAME: 'orders',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=a%20b',
    });
    expect(c.serviceName).toBe('orders');
    expect(c.endpoint).toBe('http://collector:4318/v1/traces');
    expect(c.protocol).toBe('http/protobuf');
    expect(c.sampler).toBe('parentbased_traceidratio');
    expect(c.samplerRatio).toBe(0.25);
    expect(c.resourceAttributes).toEqual({ 'deployment.environment': 'prod', team: 'a b' });
  });

  it('takes the per-signal endpoint as it is', () => {
    expect(ok({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x/otlp/traces' }).endpoint).toBe('https://x/otlp/traces');
  });

  it('reads FlowTrace’s own variables', () => {
    const c = ok({ FLOWTRACE_INCLUDE: 'src/,@acme/', FLOWTRACE_EXCLUDE: '/gen/', FLOWTRACE_CAPTURE_ARGS: 'true', FLOWTRACE_CAPTURE_RETURN: '1', FLOWTRACE_MAX_VALUE_BYTES: '128' });
    expect(c.include).toEqual([
      { kind: 'prefix', prefix: 'src/' },
      { kind: 'prefix', prefix: '@acme/' },
    ]);
    expect(c.exclude[0].kind).toBe('regex');
    expect(c.captureArgs).toBe(true);
    expect(c.captureReturn).toBe(true);
    expect(c.maxValueBytes).toBe(128);
  });

  it('reads flowtrace.config.json beside package.json, under the environment', () => {
    writeFileSync(
      join(dir, 'flowtrace.config.json'),
      JSON.stringify({ serviceName: 'from-file', include: ['lib/'], captureArgs: true, maxValueBytes: 100, resourceAttributes: { team: 'x' } }),
    );
    const c = ok({ FLOWTRACE_MAX_VALUE_BYTES: '200' });
    expect(c.serviceName).toBe('from-file');
    expect(c.include).toEqual([{ kind: 'prefix', prefix: 'lib/' }]);
    expect(c.captureArgs).toBe(true);
    expect(c.maxValueBytes).toBe(200);
    expect(c.resourceAttributes).toEqual({ team: 'x' });
    expect(c.configFile).toBe(join(dir, 'flowtrace.config.json'));
  });

  it('names every bad setting', () => {
    const p = problems({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
      OTEL_TRACES_SAMPLER: 'sometimes',
      FLOWTRACE_CAPTURE_ARGS: 'maybe',
      FLOWTRACE_MAX_VALUE_BYTES: 'lots',
      FLOWTRACE_INCLUDE: '/([/',
      OTEL_RESOURCE_ATTRIBUTES: 'novalue',
    });
    const text = p.join('\n');
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER', 'FLOWTRACE_CAPTURE_ARGS', 'FLOWTRACE_MAX_VALUE_BYTES', 'FLOWTRACE_INCLUDE', 'OTEL_RESOURCE_ATTRIBUTES']) {
      expect(text).toContain(name);
    }
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })[0]).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(problems({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })[0]).toContain('OTEL_TRACES_SAMPLER_ARG');
  });

  it('rejects a broken or unknown config file key', () => {
    writeFileSync(join(dir, 'flowtrace.config.json'), '{ "captureArgs": "yes", "colour": 1 }');
    const p = problems({});
    expect(p.some((x) => x.includes('"captureArgs" must be a boolean'))).toBe(true);
    expect(p.some((x) => x.includes('unknown key "colour"'))).toBe(true);
    writeFileSync(join(dir, 'flowtrace.config.json'), '{ nope');
    expect(problems({})[0]).toContain('flowtrace.config.json');
  });

  it('is off, silently, with OTEL_SDK_DISABLED=true', () => {
    expect(load({ OTEL_SDK_DISABLED: 'true' })).toEqual({ ok: true, disabled: true });
  });

  it('agrees with package.json on the agent version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});
