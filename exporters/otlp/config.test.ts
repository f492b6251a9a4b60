import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerConfigSchema, jaegerExporterFactory, toOtlpConfig } from '../jaeger/index.js';
import { hasOpenssl, makeTestPki, type TestPki } from './certs.testing.js';
import { ExporterConfigError } from '../exporter.js';
import { otlpConfigSchema, otlpExporterFactory, resolveEndpoint } from './index.js';

/** The first problem zod reports, as `path: message`. */
function problem(schema: typeof otlpConfigSchema | typeof jaegerConfigSchema, input: unknown): string {
  const result = schema.safeParse(input);
  if (result.success) return 'ok';
  const issue = result.error.issues[0];
  return `${issue.path.join('.')}: ${issue.message}`;
}

const parse = (input: unknown) => otlpConfigSchema.parse(input);
const target = (input: unknown) => resolveEndpoint(parse(input));

describe('otlp exporter config', () => {
  it('has the OTLP exporter defaults', () => {
    expect(parse({ endpoint: 'https://otlp.example.com' })).toStrictEqual({
      protocol: 'grpc',
      endpoint: 'https://otlp.example.com',
      headers: {},
      tls: { insecure: false, insecure_skip_verify: false },
      compression: 'gzip',
      timeout_ms: 10_000,
      signals: ['traces'],
    });
  });

  it('takes signals: traces and/or logs, each once, and resolves the logs path beside the traces one', () => {
    expect(parse({ endpoint: 'http://c:4317', signals: ['traces', 'logs'] }).signals).toEqual(['traces', 'logs']);
    expect(problem(otlpConfigSchema, { endpoint: 'http://c:4317', signals: [] })).toBe('signals: list at least one signal: traces, logs');
    expect(problem(otlpConfigSchema, { endpoint: 'http://c:4317', signals: ['metrics'] })).toBe('signals.0: expected traces or logs');
    expect(problem(otlpConfigSchema, { endpoint: 'http://c:4317', signals: ['logs', 'logs'] })).toBe('signals: each signal once');
    const http = (endpoint: string) => resolveEndpoint(parse({ endpoint, protocol: 'http/protobuf' }), '/v1/logs').target;
    expect(http('http://c:4318')).toBe('http://c:4318/v1/logs');
    expect(http('http://c:4318/otlp/')).toBe('http://c:4318/otlp/v1/logs');
    expect(http('http://c:4318/otlp/v1/traces')).toBe('http://c:4318/otlp/v1/logs');
    expect(http('http://c:4318/v1/logs')).toBe('http://c:4318/v1/logs');
    expect(resolveEndpoint(parse({ endpoint: 'http://c' }), '/v1/logs')).toStrictEqual({ target: 'c:4317', tls: false });
  });

  it('resolves gRPC endpoints to host:port: 4317 by default in plain text, 443 over TLS', () => {
    expect(target({ endpoint: 'http://collector' })).toStrictEqual({ target: 'collector:4317', tls: false });
    expect(target({ endpoint: 'https://api.honeycomb.io' })).toStrictEqual({ target: 'api.honeycomb.io:443', tls: true });
    expect(target({ endpoint: 'https://collector:4317/' })).toStrictEqual({ target: 'collector:4317', tls: true });
    expect(target({ endpoint: 'https://collector:4317', tls: { insecure: true } })).toMatchObject({ tls: false });
    expect(target({ endpoint: 'http://[::1]:4317' })).toStrictEqual({ target: '[::1]:4317', tls: false });
  });

  it('resolves HTTP endpoints to a URL ending in /v1/traces, appending it when missing', () => {
    const http = (endpoint: string) => target({ protocol: 'http/protobuf', endpoint }).target;
    expect(http('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(http('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(http('https://api.honeycomb.io')).toBe('https://api.honeycomb.io/v1/traces');
    expect(http('https://gateway/otlp/')).toBe('https://gateway/otlp/v1/traces');
    expect(http('https://gateway/otlp/v1/traces')).toBe('https://gateway/otlp/v1/traces');
    expect(target({ protocol: 'http/protobuf', endpoint: 'https://gateway' }).tls).toBe(true);
  });

  it('explains what is wrong, naming the key', () => {
    expect(problem(otlpConfigSchema, {})).toBe("endpoint: required: the backend's URL, e.g. http://localhost:4317 (https:// for TLS)");
    expect(problem(otlpConfigSchema, { endpoint: 'localhost:4317' })).toBe(
      'endpoint: expected an http:// or https:// URL such as http://localhost:4317 (https:// for TLS), got "localhost:4317"',
    );
    expect(problem(otlpConfigSchema, { endpoint: 'grpc://x:4317' })).toMatch(/^endpoint: expected an http:\/\/ or https:\/\/ URL/);
    expect(problem(otlpConfigSchema, { endpoint: 'https://key:secret@x' })).toBe('endpoint: credentials in the URL are not sent: put them in headers (e.g. authorization)');
    expect(problem(otlpConfigSchema, { endpoint: 'https://x?a=1' })).toBe('endpoint: the URL must not have a query or fragment');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x:4317/v1/traces' })).toBe('endpoint: a gRPC endpoint has no path (got /v1/traces): write scheme://host:port');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', protocol: 'http/json' })).toBe('protocol: Invalid option: expected one of "grpc"|"http/protobuf"');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', compression: 'zstd' })).toBe('compression: Invalid option: expected one of "gzip"|"none"');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', timeout_ms: 0 })).toBe('timeout_ms: must be at least 1');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', headers: { 'x-api-key': 'a\r\nInjected: 1' } })).toBe(
      'headers.x-api-key: a header value must not contain line breaks or NUL',
    );
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', headers: { 'api key': 'k' } })).toMatch(/^headers\.api key: "api key" is not an HTTP header name/);
    expect(problem(otlpConfigSchema, { endpoint: 'https://x', tls: { cert_file: '/c.pem' } })).toBe('tls.key_file: cert_file and key_file go together (mutual TLS needs both)');
    expect(problem(otlpConfigSchema, { endpoint: 'http://x', tls: { ca_file: '/ca.pem' } })).toBe('tls.ca_file: the endpoint is http:// (plain text): use https:// for TLS');
    expect(problem(otlpConfigSchema, { endpoint: 'https://x', tls: { insecure: true, ca_file: '/ca.pem' } })).toBe(
      'tls.insecure: tls.insecure turns TLS off, so tls.ca_file would be ignored',
    );
    expect(problem(otlpConfigSchema, { endpoint: 'https://x', protocol: 'http/protobuf', tls: { insecure: true } })).toBe(
      'tls.insecure: tls.insecure is for gRPC; for plain-text OTLP/HTTP use an http:// endpoint',
    );
  });

  it('refuses unknown keys at every level', () => {
    for (const [input, key] of [
      [{ endpoint: 'http://x', endpiont: 'y' }, 'endpiont'],
      [{ endpoint: 'https://x', tls: { ca: '/ca.pem' } }, 'ca'],
    ] as const) {
      const result = otlpConfigSchema.safeParse(input);
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: [key] });
    }
  });

  it('exposes the factory the pipeline builds exporters with', () => {
    expect(otlpExporterFactory.type).toBe('otlp');
    expect(otlpExporterFactory.configSchema).toBe(otlpConfigSchema);
    const exporter = otlpExporterFactory.create('otlp/test', parse({ endpoint: 'http://127.0.0.1:1' }), { logger: pino({ level: 'silent' }) });
    expect(exporter.name).toBe('otlp/test');
    expect(exporter.encoding).toBe('otlp-proto');
  });
});

describe('jaeger exporter config', () => {
  it("has Jaeger's defaults: OTLP/gRPC on localhost:4317, no compression", () => {
    const config = jaegerConfigSchema.parse({});
    expect(config).toStrictEqual({ protocol: 'grpc', headers: {}, tls: { insecure: false, insecure_skip_verify: false }, compression: 'none', timeout_ms: 10_000 });
    expect(toOtlpConfig(config).endpoint).toBe('http://localhost:4317');
    expect(resolveEndpoint(toOtlpConfig(config)).target).toBe('localhost:4317');
  });

  it('defaults to localhost:4318/v1/traces for OTLP/HTTP', () => {
    const config = toOtlpConfig(jaegerConfigSchema.parse({ protocol: 'http/protobuf' }));
    expect(resolveEndpoint(config).target).toBe('http://localhost:4318/v1/traces');
  });

  it('checks like the otlp exporter, the default endpoint included', () => {
    expect(problem(jaegerConfigSchema, { tls: { ca_file: '/ca.pem' } })).toBe('tls.ca_file: the endpoint is http:// (plain text): use https:// for TLS');
    expect(problem(jaegerConfigSchema, { endpoint: 'jaeger:4317' })).toMatch(/^endpoint: expected an http:\/\/ or https:\/\/ URL/);
    expect(problem(jaegerConfigSchema, { collector_endpoint: 'x' })).toBe(': Unrecognized key: "collector_endpoint"');
  });

  it('makes an otlp-proto exporter', () => {
    expect(jaegerExporterFactory.type).toBe('jaeger');
    const exporter = jaegerExporterFactory.create('jaeger', jaegerConfigSchema.parse({}), { logger: pino({ level: 'silent' }) });
    expect(exporter.encoding).toBe('otlp-proto');
  });
});

describe('TLS files are read at start, and an unusable one stops the start naming its key', () => {
  const logger = pino({ level: 'silent' });
  const start = (tls: Record<string, unknown>) =>
    otlpExporterFactory.create('otlp/secure', parse({ endpoint: 'https://127.0.0.1:1', tls }), { logger }).start();

  it('a missing file', async () => {
    const err = await start({ ca_file: '/nonexistent/ca.pem' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExporterConfigError);
    expect(err).toMatchObject({ key: 'exporters.otlp/secure.tls.ca_file', message: 'exporters.otlp/secure.tls.ca_file: cannot read /nonexistent/ca.pem: ENOENT' });
  });

  it('a file that is not a PEM certificate', async () => {
    const file = `${process.env.TMPDIR ?? '/tmp'}/ft-not-a-cert-${process.pid}.pem`;
    writeFileSync(file, 'not a certificate\n');
    await expect(start({ ca_file: file })).rejects.toThrow(/^exporters\.otlp\/secure\.tls\.ca_file: not usable: no PEM certificate/);
    await expect(start({ cert_file: file, key_file: file })).rejects.toThrow(/^exporters\.otlp\/secure\.tls\.cert_file: not usable: .*no start line/);
  });

  describe.skipIf(!hasOpenssl())('with real certificates (openssl)', () => {
    let pki: TestPki;
    beforeAll(() => {
      pki = makeTestPki();
    });
    afterAll(() => pki?.remove());

    it('a key that does not belong to the certificate', async () => {
      await expect(start({ cert_file: pki.clientCertFile, key_file: pki.serverKeyFile })).rejects.toThrow(
        /^exporters\.otlp\/secure\.tls\.cert_file: not usable: .*key values mismatch/,
      );
    });

    it('starts with good files', async () => {
      const exporter = otlpExporterFactory.create('otlp/secure', parse({ endpoint: 'https://127.0.0.1:1', tls: { ca_file: pki.caFile, cert_file: pki.clientCertFile, key_file: pki.clientKeyFile } }), { logger });
      await exporter.start();
      await exporter.shutdown();
    });
  });
});
