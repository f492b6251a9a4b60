import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type AgentConfig } from '../src/config.js';
import { parseLogCorrelation, parseLogsExporter } from '../src/log-settings.js';

/** agents/conformance/logs/correlation.json: the values of FLOWTRACE_LOG_CORRELATION. */
interface Values {
  setting: string;
  default: string;
  values: { accepted: { value: string; mode: string }[]; refused: string[] };
}
const contract = JSON.parse(readFileSync(join(__dirname, '../../conformance/logs/correlation.json'), 'utf8')) as Values;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowtrace-log-settings-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop-api' }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(env: NodeJS.ProcessEnv): { config: AgentConfig; notices: string[] } {
  const r = loadConfig({ env, cwd: dir });
  if (!r.ok || 'disabled' in r) throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r;
}

describe('FLOWTRACE_LOG_CORRELATION', () => {
  it('defaults to the contract’s default', () => {
    expect(load({}).config.logCorrelation).toBe(contract.default);
    expect(load({}).notices).toEqual([]);
  });

  it.each(contract.values.accepted.map((a) => [JSON.stringify(a.value), a] as const))('accepts %s', (_, a) => {
    expect(parseLogCorrelation(a.value)).toEqual({ value: a.mode });
    const { config, notices } = load({ [contract.setting]: a.value });
    expect(config.logCorrelation).toBe(a.mode);
    expect(notices).toEqual([]);
  });

  it.each(contract.values.refused)('refuses %s: one notice naming the setting, the default applies, the agent stays on', (raw) => {
    const { config, notices } = load({ [contract.setting]: raw });
    expect(config.logCorrelation).toBe(contract.default);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(contract.setting);
    expect(notices[0]).toContain(`"${raw}"`);
  });

  it('is read from flowtrace.config.json, the environment winning', () => {
    writeFileSync(join(dir, 'flowtrace.config.json'), JSON.stringify({ logCorrelation: 'all' }));
    expect(load({}).config.logCorrelation).toBe('all');
    expect(load({ FLOWTRACE_LOG_CORRELATION: 'off' }).config.logCorrelation).toBe('off');
  });
});

describe('OTEL_LOGS_EXPORTER and the logs endpoint', () => {
  it('exports over OTLP by default, as the specification says; none turns it off', () => {
    expect(load({}).config.logsExporter).toBe('otlp');
    expect(load({ OTEL_LOGS_EXPORTER: ' NONE ' }).config.logsExporter).toBe('none');
    expect(parseLogsExporter('otlp,none')).toEqual({ value: 'none' });
  });

  it('names an exporter the agent does not have in one notice', () => {
    expect(parseLogsExporter('otlp,console').value).toBe('otlp');
    const { config, notices } = load({ OTEL_LOGS_EXPORTER: 'console' });
    expect(config.logsExporter).toBe('none');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^OTEL_LOGS_EXPORTER: .*"console"/);
  });

  it('follows the trace exporter’s protocol and endpoint settings, with /v1/logs for HTTP', () => {
    expect(load({}).config).toMatchObject({ logsProtocol: 'grpc', logsEndpoint: 'http://localhost:4317' });
    expect(load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).config).toMatchObject({
      protocol: 'http/json',
      endpoint: 'http://collector:4318/v1/traces',
      logsProtocol: 'http/json',
      logsEndpoint: 'http://collector:4318/v1/logs',
    });
    expect(load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://x/otlp/logs' }).config.logsEndpoint).toBe('https://x/otlp/logs');
    expect(load({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' }).config).toMatchObject({ protocol: 'grpc', logsProtocol: 'http/protobuf', logsEndpoint: 'http://localhost:4318/v1/logs' });
  });

  it('refuses a bad logs protocol or endpoint like the trace ones', () => {
    const bad = loadConfig({ env: { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'udp', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://x' }, cwd: dir });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.join('; ')).toContain('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL');
    expect(bad.problems.join('; ')).toContain('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
    // A bad general endpoint is named once, not once per signal.
    const general = loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }, cwd: dir });
    expect(general.ok ? [] : general.problems).toHaveLength(1);
  });
});
