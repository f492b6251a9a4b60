/**
 * The Helm chart's `helm test` script (helm/flowtrace/files/roundtrip.mjs) against a real
 * collector, since test pods cannot run here. The collector runs on the config the chart renders
 * (`helm template`, default values) with what the pod would differ in overridden the way the
 * pod overrides it (environment and flags: loopback ports, data and bootstrap token file), and
 * ingest tokens required; the script sends a span and reads it back (exit 0), and fails (exit 1)
 * saying why with a wrong token. Also: the config rendered from every ci/ value set loads.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../collector/src/config/load.js';
import { rolePlan } from '../collector/src/roles/roles.js';
import { cleanup, newTempDir, startCollector, type RunningCollector } from './helpers/collector.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from './helpers/tools.js';

const exec = promisify(execFile);
const CHART = resolve(import.meta.dirname, '../helm/flowtrace');
const SCRIPT = join(CHART, 'files/roundtrip.mjs');

let helm: string;
let collector: RunningCollector;
const token = `ft_${randomBytes(32).toString('base64url')}`;

/** The collector config (`flowtrace.yaml` of the chart's ConfigMap) that `helm template` renders. */
async function renderedConfig(valueFiles: string[] = []): Promise<string> {
  const args = ['template', 'tracing', CHART, '--namespace', 'observability', '--show-only', 'templates/configmap.yaml', ...valueFiles.flatMap((f) => ['-f', f])];
  const { stdout } = await exec(helm, args);
  const configMap = parseYaml(stdout) as { data: Record<string, string> };
  return configMap.data['flowtrace.yaml']!;
}

beforeAll(async () => {
  helm = await ensureTool('helm');
  const tokenFile = join(newTempDir('ft-bootstrap-'), 'token');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  // In the pod the token file is the mounted Secret; here a file with the same content shape.
  collector = await startCollector({
    config: await renderedConfig(),
    env: { FLOWTRACE_AUTH_BOOTSTRAP_TOKEN_FILE: tokenFile, FLOWTRACE_AUTH_INGEST_REQUIRED: 'true' },
  });
}, TOOL_BUILD_TIMEOUT_MS);
afterAll(cleanup);

describe('the chart\'s rendered collector config', () => {
  const ciDir = join(CHART, 'ci');
  it.each(readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml') && !f.startsWith('ha-')))('loads for ci/%s', async (file) => {
    const rendered = join(newTempDir('ft-rendered-'), 'flowtrace.yaml');
    writeFileSync(rendered, await renderedConfig([join(ciDir, file)]));
    const config = loadConfig({ file: rendered, env: {} });
    expect(config.api.endpoint).toBe('0.0.0.0:8686');
    expect(config.storage.data_dir).toBe('/data');
    expect(config.api.allowed_hosts).toContain('tracing-flowtrace.observability.svc');
  });
});

describe('the ha preset\'s rendered configs (one per tier)', () => {
  const ciDir = join(CHART, 'ci');
  it.each(readdirSync(ciDir).filter((f) => f.startsWith('ha-') && f.endsWith('-values.yaml')))('load and plan as their roles for ci/%s', async (file) => {
    const { stdout } = await exec(helm, ['template', 'tracing', CHART, '--namespace', 'observability', '--show-only', 'templates/ha/configmap.yaml', '-f', join(ciDir, file)]);
    const configs = parseAllDocuments(stdout).map((d) => (d.toJS() as { data: Record<string, string> }).data['flowtrace.yaml']!);
    const roles = configs.map((text) => {
      const rendered = join(newTempDir('ft-rendered-'), 'flowtrace.yaml');
      writeFileSync(rendered, text);
      // Secrets reach the pods as environment variables (${env:NAME} in the config): any value here.
      const env = Object.fromEntries([...text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => [m[1]!, 'x']));
      const config = loadConfig({ file: rendered, env });
      expect(config.api.endpoint).toBe('0.0.0.0:8686');
      return rolePlan(config).role;
    });
    expect(roles.sort()).toEqual(['ingest', 'process', 'query']);
  });
});

async function runScript(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { FLOWTRACE_TOKEN: _t, ...base } = process.env;
  try {
    const { stdout, stderr } = await exec(process.execPath, [SCRIPT], { env: { ...base, FLOWTRACE_TIMEOUT_SECONDS: '50', ...env }, timeout: 55_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('helm test script (files/roundtrip.mjs)', () => {
  it('sends a span over OTLP/HTTP and reads it back through the API', async () => {
    const out = await runScript({ FLOWTRACE_OTLP_HTTP_URL: collector.httpEndpoint, FLOWTRACE_API_URL: collector.apiUrl, FLOWTRACE_TOKEN: token });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^sent span [0-9a-f]{16} of trace [0-9a-f]{32}/m);
    expect(out.stdout).toMatch(/^read span [0-9a-f]{16} back from .*: OK$/m);
    // The token never appears in what the script prints.
    expect(out.stdout + out.stderr).not.toContain(token);
  });

  it('fails, naming the refusal, when the token is wrong', async () => {
    const out = await runScript({ FLOWTRACE_OTLP_HTTP_URL: collector.httpEndpoint, FLOWTRACE_API_URL: collector.apiUrl, FLOWTRACE_TOKEN: `ft_${'x'.repeat(43)}` });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^helm test: FAILED: POST .*\/v1\/traces answered 401/m);
  });

  it('fails when it is not told where the collector is', async () => {
    const out = await runScript({ FLOWTRACE_API_URL: collector.apiUrl });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('FLOWTRACE_OTLP_HTTP_URL is not set');
  });
});
