import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt, REGISTER_CJS, REGISTER_ESM } from './helpers/ensure-built.mjs';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { killAll, run, start } from './helpers/run.js';

const apps = fileURLToPath(new URL('./fixtures/apps/', import.meta.url));
const cjsApp = `${apps}cjs-app`;
const esmApp = `${apps}esm-app`;
let receiver: OtlpReceiver;
let serial = 0;

beforeAll(async () => {
  await ensureAgentBuilt();
  receiver = await startOtlpReceiver();
}, 120_000);

afterAll(async () => {
  killAll();
  await receiver?.close();
});

/** Settings that send to the receiver, under a service name no other test uses. */
function agentEnv(extra: Record<string, string> = {}): { service: string; env: Record<string, string> } {
  const service = `app-${process.pid}-${++serial}`;
  return {
    service,
    // A batch delay no test outlives: spans arrive only because the agent flushes on exit.
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', ...extra },
  };
}

function spansOf(service: string): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.service === service);
}

function lineOf(file: string, snippet: string): number {
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.indexOf(snippet)).split('\n').length;
}

describe('starting an application under the agent', () => {
  it('CommonJS with --require: same output, method spans exported before the process exits', async () => {
    const plain = await run(['main.js'], { cwd: cjsApp, env: {} });
    const { service, env } = agentEnv();
    const traced = await run(['--require', REGISTER_CJS, 'main.js'], { cwd: cjsApp, env });
    expect(traced.code).toBe(0);
    expect(traced.stderr).toBe('');
    expect(traced.stdout).toBe(plain.stdout);
    expect(plain.stdout).toContain('shape true Inventory price 2');

    // Nothing but beforeExit flushed: the batch delay had not passed.
    const spans = spansOf(service);
    expect(spans.map((s) => s.name).sort()).toEqual(['Inventory.check', 'Inventory.reserve', 'Inventory.reserve', 'inventory.price']);
    const failed = spans.find((s) => s.name === 'Inventory.reserve' && s.status.code === 2);
    expect(failed?.status.message).toBe('out of pear');
    expect(failed?.events[0]?.attributes['exception.message']).toBe('out of pear');
    const price = spans.find((s) => s.name === 'inventory.price');
    expect(price?.kind).toBe(1); // INTERNAL in OTLP numbering
    expect(price?.scope).toBe('@flowtrace/agent-node');
    expect(price?.attributes).toMatchObject({
      'code.function.name': 'inventory.price',
      'code.namespace': 'inventory',
      'code.file.path': `${cjsApp}/lib/inventory.js`,
      'code.line.number': lineOf(`${cjsApp}/lib/inventory.js`, 'function price('),
    });
    expect(price?.attributes['flowtrace.args.0']).toBeUndefined(); // capture is off by default
    expect(price?.attributes['flowtrace.correlation_id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ES modules with --import: same output, and flowtrace.config.json is read', async () => {
    const plain = await run(['main.js'], { cwd: esmApp, env: {} });
    const { env } = agentEnv();
    delete env.OTEL_SERVICE_NAME; // the config file names the service
    const traced = await run(['--import', REGISTER_ESM, 'main.js'], { cwd: esmApp, env });
    expect(traced.code).toBe(0);
    expect(traced.stderr).toBe('');
    expect(traced.stdout).toBe(plain.stdout);
    const spans = spansOf('esm-from-config-file');
    expect(spans.map((s) => s.name).sort()).toEqual(['Inventory.check', 'Inventory.reserve', 'Inventory.reserve', 'inventory.login', 'inventory.price']);
    const login = spans.find((s) => s.name === 'inventory.login');
    expect(login?.attributes['flowtrace.args.0']).toBe('"ada"');
    expect(login?.attributes['flowtrace.args.1']).toBe('[REDACTED]');
    expect(login?.attributes['flowtrace.return']).toBe('"ada:7"');
    expect(spans.find((s) => s.name === 'Inventory.check')?.attributes['flowtrace.return']).toBe('1');
  });

  it('works through NODE_OPTIONS, for both module systems', async () => {
    const cjs = agentEnv({ NODE_OPTIONS: `--require ${REGISTER_CJS}` });
    const esm = agentEnv({ NODE_OPTIONS: `--import ${REGISTER_ESM}` });
    const [a, b] = await Promise.all([run(['main.js'], { cwd: cjsApp, env: cjs.env }), run(['main.js'], { cwd: esmApp, env: { ...esm.env, FLOWTRACE_CAPTURE_ARGS: 'false' } })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(spansOf(cjs.service)).toHaveLength(4);
    // Environment beats the config file: the service name and the capture switch.
    expect(spansOf(esm.service)).toHaveLength(5);
    expect(spansOf(esm.service).every((s) => s.attributes['flowtrace.args.0'] === undefined)).toBe(true);
  });

  it('given both --require and --import, starts once and instruments ES modules too', async () => {
    const { service, env } = agentEnv();
    const r = await run(['--require', REGISTER_CJS, '--import', REGISTER_ESM, 'main.js'], { cwd: esmApp, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(spansOf(service).map((s) => s.name).sort()).toEqual(['Inventory.check', 'Inventory.reserve', 'Inventory.reserve', 'inventory.login', 'inventory.price']);
  });

  it('prints one warning for a bad setting and runs the application untraced', async () => {
    const plain = await run(['main.js'], { cwd: cjsApp, env: {} });
    const { service, env } = agentEnv({ FLOWTRACE_MAX_VALUE_BYTES: 'lots', OTEL_TRACES_SAMPLER: 'sometimes' });
    for (const args of [['--require', REGISTER_CJS], ['--import', REGISTER_ESM], ['--require', REGISTER_CJS, '--import', REGISTER_ESM]]) {
      const r = await run([...args, 'main.js'], { cwd: cjsApp, env });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(plain.stdout);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^flowtrace: the agent is off, the application runs untraced: /);
      expect(lines[0]).toContain('FLOWTRACE_MAX_VALUE_BYTES');
      expect(lines[0]).toContain('OTEL_TRACES_SAMPLER');
    }
    expect(spansOf(service)).toHaveLength(0);
  });

  it('stays silent and off with OTEL_SDK_DISABLED=true', async () => {
    const { service, env } = agentEnv({ OTEL_SDK_DISABLED: 'true' });
    const r = await run(['--import', REGISTER_ESM, 'main.js'], { cwd: esmApp, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(spansOf(service)).toHaveLength(0);
  });

  it('flushes on SIGTERM, then dies of the signal as it would have', async () => {
    const { service, env } = agentEnv();
    const app = start(['--require', REGISTER_CJS, 'main.js', '--wait'], { cwd: cjsApp, env });
    await app.waitForLine('ready');
    expect(spansOf(service)).toHaveLength(0); // still buffered
    app.child.kill('SIGTERM');
    const end = await app.done;
    expect(end.signal).toBe('SIGTERM');
    expect(spansOf(service)).toHaveLength(4);
  });
});
