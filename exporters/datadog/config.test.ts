import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Exporter, ExporterContext } from '../exporter.js';
import { datadogConfigSchema, DEFAULT_MAX_REQUEST_BYTES, resolveEndpoint } from './config.js';
import { DatadogTraceIntakeExporter } from './exporter.js';
import { createDatadogExporterFactory, datadogExporterFactory } from './factory.js';
import { parseRetryAfter } from '../exporter.js';
import { responseError, networkError } from './http.js';
import { OtlpExporter } from '../otlp/index.js';

const context: ExporterContext = { logger: pino({ level: 'silent' }) };

function problems(input: unknown): string[] {
  const r = datadogConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('config', () => {
  it('has defaults for everything: trace-intake to a local agent', () => {
    expect(datadogConfigSchema.parse({})).toEqual({
      mode: 'trace-intake',
      endpoint: '',
      api_key: '',
      container_id: '',
      headers: {},
      timeout_ms: 10_000,
      max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
    });
    expect(resolveEndpoint(datadogConfigSchema.parse({}))).toBe('http://localhost:8126');
    expect(resolveEndpoint(datadogConfigSchema.parse({ mode: 'otlp' }))).toBe('http://localhost:4318');
    expect(resolveEndpoint(datadogConfigSchema.parse({ endpoint: 'https://proxy.example/dd/' }))).toBe('https://proxy.example/dd');
  });

  it('names the key and the problem', () => {
    expect(problems({ endpoint: 'localhost:8126' })).toEqual(['endpoint: expected an http:// or https:// URL without query or fragment, e.g. http://localhost:8126']);
    expect(problems({ endpoint: 'ftp://agent' })).toHaveLength(1);
    expect(problems({ mode: 'agent' })).toEqual(['mode: expected one of: trace-intake, otlp']);
    expect(problems({ timeout_ms: 0 })).toEqual(['timeout_ms: must be at least 1']);
    expect(problems({ max_request_bytes: 100 })).toEqual(['max_request_bytes: must be at least 1024']);
    expect(problems({ apikey: 'x' })[0]).toMatch(/apikey/);
  });

  it('keeps each mode’s settings apart', () => {
    expect(problems({ otlp: { compression: 'gzip' } })).toEqual(['otlp: only used with mode: otlp']);
    expect(problems({ mode: 'otlp', api_key: 'k', timeout_ms: 5 })).toEqual([
      'api_key: not used with mode: otlp (put the OTLP exporter settings under otlp:)',
      'timeout_ms: not used with mode: otlp (put the OTLP exporter settings under otlp:)',
    ]);
    expect(problems({ mode: 'otlp', otlp: { endpoint: 'http://x:4318' } })).toEqual(["otlp.endpoint: set the agent URL as the exporter's endpoint"]);
    expect(problems({ mode: 'otlp', endpoint: 'http://agent:4318', otlp: { compression: 'gzip' } })).toEqual([]);
  });
});

describe('factory', () => {
  it('makes a trace-intake exporter by default', () => {
    const e = datadogExporterFactory.create('datadog', datadogConfigSchema.parse({}), context);
    expect(e).toBeInstanceOf(DatadogTraceIntakeExporter);
    expect(e).toMatchObject({ name: 'datadog', encoding: 'datadog-v0.4' });
    expect(datadogExporterFactory.type).toBe('datadog');
  });

  it('delegates mode otlp to the OTLP exporter factory, with the agent endpoint filled in', () => {
    const otlpSchema = z.object({ protocol: z.string(), endpoint: z.string(), compression: z.enum(['none', 'gzip']).default('none') }).strict();
    const made: Array<{ name: string; config: z.infer<typeof otlpSchema> }> = [];
    const fakeOtlp = {
      configSchema: otlpSchema,
      create(name: string, config: z.infer<typeof otlpSchema>): Exporter {
        made.push({ name, config });
        return { name, encoding: 'otlp-proto', encode: () => new Uint8Array(), send: async () => {}, start: async () => {}, shutdown: async () => {} };
      },
    };
    const factory = createDatadogExporterFactory(fakeOtlp);
    const e = factory.create('datadog/otlp', datadogConfigSchema.parse({ mode: 'otlp', otlp: { compression: 'gzip' } }), context);
    expect(e.encoding).toBe('otlp-proto');
    expect(made).toEqual([{ name: 'datadog/otlp', config: { protocol: 'http/protobuf', endpoint: 'http://localhost:4318', compression: 'gzip' } }]);

    expect(() => factory.create('dd', datadogConfigSchema.parse({ mode: 'otlp', otlp: { compression: 'brotli' } }), context)).toThrow(/exporters\.dd\.otlp\.compression:/);
  });

  it('says so when mode otlp has no OTLP exporter to delegate to', () => {
    expect(() => createDatadogExporterFactory().create('dd', datadogConfigSchema.parse({ mode: 'otlp' }), context)).toThrow(/mode otlp needs the OTLP exporter/);
  });

  it('is connected to the OTLP exporter: OTLP/HTTP to the agent’s port 4318 by default, gRPC to 4317 when asked', () => {
    const http = datadogExporterFactory.create('datadog', datadogConfigSchema.parse({ mode: 'otlp' }), context);
    expect(http).toBeInstanceOf(OtlpExporter);
    expect(http).toMatchObject({ name: 'datadog', encoding: 'otlp-proto', config: { protocol: 'http/protobuf', endpoint: 'http://localhost:4318', compression: 'gzip' } });
    const grpc = datadogExporterFactory.create('datadog', datadogConfigSchema.parse({ mode: 'otlp', otlp: { protocol: 'grpc' } }), context);
    expect(grpc).toMatchObject({ config: { protocol: 'grpc', endpoint: 'http://localhost:4317' } });
    const custom = datadogExporterFactory.create('datadog', datadogConfigSchema.parse({ mode: 'otlp', endpoint: 'http://agent:4318', otlp: { compression: 'none', headers: { 'x-a': 'b' } } }), context);
    expect(custom).toMatchObject({ config: { endpoint: 'http://agent:4318', compression: 'none', headers: { 'x-a': 'b' } } });
    expect(() => datadogExporterFactory.create('dd', datadogConfigSchema.parse({ mode: 'otlp', otlp: { protocol: 'thrift' } }), context)).toThrow(/^exporters\.dd\.otlp\.protocol: /);
  });
});

describe('HTTP outcomes', () => {
  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('retries 408, 429, 502, 503 and 504; every other status is permanent', () => {
    for (const status of [408, 429, 502, 503, 504]) expect(responseError('x', status, '2', '').retryable).toBe(true);
    for (const status of [400, 401, 403, 404, 413, 415, 500, 501]) expect(responseError('x', status, '2', '').retryable).toBe(false);
    expect(responseError('x', 429, '2', '').retryAfterMs).toBe(2000);
    expect(responseError('x', 400, null, 'bad msgpack\n').message).toBe('x: HTTP 400: bad msgpack');
  });

  it('retries network errors, naming the cause', () => {
    const err = networkError('x', new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }));
    expect(err).toMatchObject({ retryable: true, message: 'x: fetch failed: connect ECONNREFUSED 127.0.0.1:1' });
    expect(networkError('x', new DOMException('The operation was aborted due to timeout', 'TimeoutError')).message).toBe('x: timed out');
  });
});
