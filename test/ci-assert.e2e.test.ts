/**
 * CI pipelines, end to end: integrations/ci/flowtrace-ci.sh (the one script the GitHub Action and
 * the GitLab template run) starts a real collector (`bin/flowtrace.js serve`, embedded store,
 * loopback), an application exports real traces with the official OpenTelemetry SDK configured
 * only by the settings the script wrote, and `flowtrace assert` / `flowtrace report --html` run
 * through the script: pass and fail cases, every exit code, the JUnit XML parsed by a real XML
 * parser, the HTML report. Then the GitLab template's own script lines, run as GitLab runs them,
 * the GitHub Action's run steps run as the runner runs them, and the action checked by actionlint
 * (built from the Go module proxy).
 * Needs `npx tsc -p tsconfig.build.json` first (bin/flowtrace.js runs dist/).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AssertAnswer } from '../collector/src/query/assert/spec.js';
import { runBuildScript, runCommand, type CommandResult } from './helpers/process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'integrations/ci/flowtrace-ci.sh');
const APP = join(ROOT, 'test/fixtures/ci-app/send-traces.mjs');
const ASSERTIONS = join(ROOT, 'integrations/ci/example-assertions.yaml');
const GITLAB_TEMPLATE = join(ROOT, 'integrations/gitlab/flowtrace.gitlab-ci.yml');
const ACTION = join(ROOT, 'integrations/github-action/action.yml');
const EXAMPLE_WORKFLOW = join(ROOT, 'integrations/github-action/example-workflow.yml');

interface SentTraces {
  checkout: string[];
  orders: string[];
  failedCheckout: string[];
  nPlusOne: string[];
}

const temp = mkdtempSync(join(tmpdir(), 'ft-ci-'));

/** The environment of a CI job on this machine: any free ports, no install (dist/ is built), no CI system's own variables. */
function jobEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(GITHUB_|RUNNER_|CI_|OTEL_|FLOWTRACE_)/.test(key)) delete env[key];
  return {
    ...env,
    FLOWTRACE_CI_DIR: join(dir, 'state'),
    FLOWTRACE_REPORT_DIR: join(dir, 'report'),
    FLOWTRACE_OTLP_GRPC_PORT: '0',
    FLOWTRACE_OTLP_HTTP_PORT: '0',
    FLOWTRACE_API_PORT: '0',
    FLOWTRACE_INSTALL: '0',
    FLOWTRACE_READY_TIMEOUT: '90',
    FLOWTRACE_ASSERT_TIMEOUT: '60s',
    NO_COLOR: '1',
    ...extra,
  };
}

function ci(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CommandResult> {
  return runCommand('bash', [SCRIPT, ...args], { env, timeoutMs: 150_000 });
}

/** The application under test, with the settings `start` wrote (sourced, as a job step would). */
async function sendTraces(env: NodeJS.ProcessEnv, after = ''): Promise<SentTraces> {
  const r = await runCommand('bash', ['-c', `. "$FLOWTRACE_CI_DIR/env" && ${after} node "$1"`, 'app', APP], { env, timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as SentTraces;
}

interface JUnitCase {
  name: string;
  failure?: { message: string; type: string; text: string };
}

/** The JUnit file parsed by Python's XML parser (expat), reduced to what the Ant schema requires. */
function readJUnit(path: string): { root: string; suite: Record<string, string>; children: string[]; cases: JUnitCase[] } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find('testsuite')
def case(c):
    f = c.find('failure')
    return {'name': c.get('name'), **({'failure': {'message': f.get('message'), 'type': f.get('type'), 'text': f.text or ''}} if f is not None else {})}
print(json.dumps({'root': root.tag, 'suite': suite.attrib, 'children': [c.tag for c in suite], 'cases': [case(c) for c in suite.findall('testcase')]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, path]).toString());
}

function pidOf(env: NodeJS.ProcessEnv): number | undefined {
  const file = join(env.FLOWTRACE_CI_DIR!, 'collector.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whatever a failed test left running: stopped by the script, then by its pid. */
const environments: NodeJS.ProcessEnv[] = [];
afterAll(async () => {
  for (const env of environments) {
    const pid = pidOf(env);
    if (pid !== undefined && alive(pid)) {
      await ci(env, 'stop');
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(temp, { recursive: true, force: true });
}, 60_000);

describe('flowtrace-ci.sh against a real collector', () => {
  const dir = join(temp, 'script');
  const env = jobEnv(dir, { FLOWTRACE_CI_RUN_ID: 'run-good' });
  environments.push(env);
  let settings: Record<string, string>;
  let bad: SentTraces;

  beforeAll(async () => {
    const r = await ci(env, 'start');
    expect(r.code, r.stderr).toBe(0);
    settings = Object.fromEntries([...r.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  }, 150_000);

  it('start writes the agents settings: OTLP endpoint on loopback, the run ID on every resource', () => {
    expect(settings.OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(settings.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(settings.OTEL_RESOURCE_ATTRIBUTES).toBe('ci.run.id=run-good');
    expect(settings.FLOWTRACE_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(pidOf(env)!)).toBe(true);
  });

  it('assert passes (exit 0) on good traffic, waiting for its spans, and writes JUnit and JSON', async () => {
    const sent = await sendTraces(env);
    const r = await ci({ ...env, FLOWTRACE_ASSERT_FILE: ASSERTIONS }, 'assert');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('4 assertions: 4 passed, 0 failed (4 traces, 9 spans in scope; span count settled after');
    const junit = readJUnit(join(dir, 'report/flowtrace-junit.xml'));
    expect(junit.root).toBe('testsuites');
    expect(junit.suite).toMatchObject({ name: 'flowtrace assert', tests: '4', failures: '0', errors: '0' });
    expect(junit.children).toEqual(['properties', 'testcase', 'testcase', 'testcase', 'testcase', 'system-out', 'system-err']);
    const json = JSON.parse(readFileSync(join(dir, 'report/flowtrace-assert.json'), 'utf8')) as AssertAnswer;
    expect(json.results.every((a) => a.passed)).toBe(true);
    expect(json.results.find((a) => a.name.startsWith('the tests reached'))!.matchedTraces).toBe(sent.checkout.length + sent.orders.length);
  }, 120_000);

  it('assert fails (exit 1) on another run with an error, a slow method and an N+1, naming the traces', async () => {
    bad = await sendTraces(env, 'export OTEL_RESOURCE_ATTRIBUTES=ci.run.id=run-bad CI_APP_SCENARIO=bad &&');
    const r = await ci({ ...env, FLOWTRACE_CI_RUN_ID: 'run-bad', FLOWTRACE_ASSERT_FILE: ASSERTIONS }, 'assert');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('4 assertions: 1 passed, 3 failed');
    expect(r.stdout).toContain(`trace ${bad.failedCheckout[0]}`);
    expect(r.stdout).toContain(`trace ${bad.nPlusOne[0]}`);
    const junit = readJUnit(join(dir, 'report/flowtrace-junit.xml'));
    expect(junit.suite).toMatchObject({ tests: '4', failures: '3' });
    const byName = new Map(junit.cases.map((c) => [c.name, c]));
    const every = byName.get('every request to /checkout has no span with status Error')!.failure!;
    expect(every).toMatchObject({ type: 'AssertionFailed', message: 'every matching trace matches NOT { status = error }: 1 of 4 matching traces do not' });
    expect(every.text).toContain(bad.failedCheckout[0]);
    const p99 = byName.get('OrderService.list p99 under 50 ms')!.failure!;
    expect(p99.message).toMatch(/^p99 < 50ms: p99 = 1\d\dms over 4 spans$/);
    expect(p99.text).toContain(`trace ${bad.failedCheckout[0]}  span `);
    expect(p99.text).toContain('OrderService.list took 120ms');
    expect(byName.get('no N+1 queries under GET /orders')!.failure!.text).toContain(`trace ${bad.nPlusOne[0]}`);
    expect(byName.get('the tests reached the shop')!.failure).toBeUndefined();
  }, 120_000);

  it('assert exits 2 on bad input: a grammar error with its column, a bad file', async () => {
    const grammar = await ci(env, 'assert', '--none', '{ name = }');
    expect(grammar.code).toBe(2);
    expect(grammar.stderr).toContain("flowtrace assert: assertions[0].select: at column 10: expected a value after '=', got '}'\n  { name = }\n           ^\n");
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'assertions:\n  - { select: "service = shop", expect: { p99: soon } }\n');
    const yaml = await ci({ ...env, FLOWTRACE_ASSERT_FILE: file }, 'assert');
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toContain(`${file}: assertions[0].expect: p99: expected a duration such as 250ms, 1.5s or 2m, got "soon"`);
  }, 60_000);

  it('the route refuses a malformed request naming the field (400), whatever the client', async () => {
    const post = (body: unknown) => fetch(`${settings.FLOWTRACE_API_URL}/api/assert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const kind = await post({ assertions: [{ name: 'x', select: 'service = shop', expect: { kind: 'sometimes' } }] });
    expect(kind.status).toBe(400);
    expect(((await kind.json()) as { error: string }).error).toBe('assertions[0].expect.kind: expected one of none, count, every, duration, noInsight');
    const extra = await post({ assertions: [{ name: 'x', select: 'service = shop', expect: { kind: 'none' } }], sql: 'DROP' });
    expect(((await extra.json()) as { error: string }).error).toContain('body: unknown field "sql"');
    const scope = await post({ assertions: [{ name: 'x', select: 'service = shop', expect: { kind: 'none' } }], scope: 'resource.ci.run.id = ' });
    expect(await scope.json()).toEqual({ error: "scope: at column 22: expected a value after '='", field: 'scope', column: 22 });
  });

  it('report writes a self-contained HTML report of the run with the assertion results', async () => {
    const r = await ci({ ...env, FLOWTRACE_CI_RUN_ID: 'run-bad' }, 'report');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('6 traces, 1 with errors');
    const html = readFileSync(join(dir, 'report/flowtrace-report.html'), 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'");
    expect(html).toContain('<h2>Assertions: 1 passed, 3 failed</h2>');
    expect(html).toContain('<h2>Errors: 1 trace</h2>');
    expect(html).toContain(bad.failedCheckout[0]);
    // The slowest trace first, drawn as a waterfall.
    expect(html.indexOf(bad.failedCheckout[0]!, html.indexOf('<h2>Slowest traces</h2>'))).toBeGreaterThan(0);
    expect(html).toContain('<rect class="bar error"');
  }, 60_000);

  it('stop ends the collector by its pid; assert then exits 3 (collector unreachable)', async () => {
    const pid = pidOf(env)!;
    const stop = await ci(env, 'stop');
    expect(stop.code, stop.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir, 'state/collector.pid'))).toBe(false);
    const r = await ci(env, 'assert', '--some', 'service = shop');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach the collector');
    // Stopping twice is harmless (the GitLab after_script does it after the job's own stop).
    expect((await ci(env, 'stop')).code).toBe(0);
  }, 60_000);
});

describe('the GitLab template, its script lines run as GitLab runs them', () => {
  const template = parseYaml(readFileSync(GITLAB_TEMPLATE, 'utf8')) as Record<string, { variables: Record<string, string>; script: string[]; after_script: string[]; artifacts: { when: string; paths: string[]; reports: { junit: string } } }>;
  const job = template['.flowtrace']!;

  /** The job's shell: GitLab expands $VAR in variables, exports them, runs the lines under `set -eo pipefail`. */
  async function runJob(name: string, variables: Record<string, string>): Promise<{ job: CommandResult; after: CommandResult; project: string; env: NodeJS.ProcessEnv }> {
    const project = join(temp, name);
    mkdirSync(project, { recursive: true });
    const env = jobEnv(project, { CI_PROJECT_DIR: project, FLOWTRACE_HOME: ROOT, ...variables });
    for (const [key, value] of Object.entries(job.variables)) env[key] = value.replace(/\$\{?(\w+)\}?/g, (_, v: string) => env[v] ?? '');
    environments.push(env);
    const shell = (lines: string[]) => runCommand('bash', ['-c', ['set -eo pipefail', ...lines].join('\n')], { env, cwd: project, timeoutMs: 200_000 });
    const result = await shell(job.script);
    const after = await shell(job.after_script);
    return { job: result, after, project, env };
  }

  it('declares the JUnit report and keeps the artefacts of a failed job', () => {
    expect(job.artifacts).toMatchObject({ when: 'always', paths: ['flowtrace-report/'], reports: { junit: 'flowtrace-report/flowtrace-junit.xml' } });
    // Its run steps are the one script's subcommands, as the GitHub Action's are.
    expect(job.script.map((l) => /"\$FLOWTRACE_CI_SCRIPT" (\w+)/.exec(l)?.[1]).filter(Boolean)).toEqual(['start', 'assert', 'report', 'stop']);
    expect(job.after_script).toEqual(['"$FLOWTRACE_CI_SCRIPT" stop']);
  });

  it('a passing run: exit 0, JUnit and HTML where the artefacts say, the collector stopped', async () => {
    const { job: r, after, project, env } = await runJob('gitlab-pass', { FLOWTRACE_TEST_COMMAND: `node ${APP}`, FLOWTRACE_ASSERT_FILE: ASSERTIONS, CI_JOB_ID: '4242' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('4 assertions: 4 passed, 0 failed');
    expect(readJUnit(join(project, job.artifacts.reports.junit)).suite).toMatchObject({ tests: '4', failures: '0' });
    expect(readFileSync(join(project, 'flowtrace-report/flowtrace-report.html'), 'utf8')).toContain('<h2>Assertions: 4 passed, 0 failed</h2>');
    // The run ID GitLab's job ID gave, on the spans.
    expect(readFileSync(join(env.FLOWTRACE_CI_DIR!, 'env'), 'utf8')).toContain('OTEL_RESOURCE_ATTRIBUTES=ci.run.id=gitlab-4242');
    expect(after.code).toBe(0);
    expect(existsSync(join(env.FLOWTRACE_CI_DIR!, 'collector.pid'))).toBe(false);
  }, 240_000);

  it('a failing run: the job fails with the assert exit code, the report is still written', async () => {
    const { job: r, project } = await runJob('gitlab-fail', { FLOWTRACE_TEST_COMMAND: `CI_APP_SCENARIO=bad node ${APP}`, FLOWTRACE_ASSERT_FILE: ASSERTIONS });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('flowtrace assert failed (exit 1)');
    expect(readJUnit(join(project, job.artifacts.reports.junit)).suite).toMatchObject({ tests: '4', failures: '3' });
    expect(readFileSync(join(project, 'flowtrace-report/flowtrace-report.html'), 'utf8')).toContain('<h2>Assertions: 1 passed, 3 failed</h2>');
  }, 240_000);
});

describe("the GitHub Action's run steps, run as the runner runs them", () => {
  interface Step {
    id?: string;
    name?: string;
    if?: string;
    uses?: string;
    run?: string;
    env?: Record<string, string>;
    'working-directory'?: string;
  }

  /**
   * The composite action's `run:` steps in order, with `${{ inputs.* }}`, `${{ runner.temp }}` and
   * `${{ steps.<id>.outputs.* }}` substituted, $GITHUB_ENV carried to later steps and
   * $GITHUB_OUTPUT read back; `if: always()` steps run after a failure, others do not. The
   * `uses:` steps (setup-node, upload-artifact) are GitHub's own actions: only actionlint checks them.
   */
  async function runAction(name: string, inputs: Record<string, string>): Promise<{ steps: Array<{ name: string; code: number | null; out: string }>; env: NodeJS.ProcessEnv; runnerTemp: string }> {
    const action = parseYaml(readFileSync(ACTION, 'utf8')) as { inputs: Record<string, { default?: string }>; runs: { steps: Step[] } };
    const dir = join(temp, name);
    const runnerTemp = join(dir, 'runner-temp');
    mkdirSync(runnerTemp, { recursive: true });
    const values = { ...Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? ''])), ...inputs };
    const outputs: Record<string, Record<string, string>> = {};
    const githubEnv = join(dir, 'github-env');
    writeFileSync(githubEnv, '');
    const base = jobEnv(dir, { GITHUB_ACTION_PATH: join(ROOT, 'integrations/github-action'), GITHUB_ENV: githubEnv, RUNNER_TEMP: runnerTemp, GITHUB_RUN_ID: '777', GITHUB_RUN_ATTEMPT: '2' });
    // The runner's own FLOWTRACE_CI_DIR is RUNNER_TEMP/flowtrace-ci; the report dir comes from the steps.
    delete base.FLOWTRACE_CI_DIR;
    delete base.FLOWTRACE_REPORT_DIR;
    environments.push({ ...base, FLOWTRACE_CI_DIR: join(runnerTemp, 'flowtrace-ci') });
    const expand = (text: string) =>
      text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expr: string) => {
        if (expr === 'runner.temp') return runnerTemp;
        const input = /^inputs\.([\w-]+)$/.exec(expr);
        if (input) return values[input[1]!] ?? '';
        const output = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
        if (output) return outputs[output[1]!]?.[output[2]!] ?? '';
        throw new Error(`expression not handled by the test: ${expr}`);
      });
    const results: Array<{ name: string; code: number | null; out: string }> = [];
    let failed = false;
    for (const step of action.runs.steps) {
      if (step.run === undefined || (failed && step.if !== 'always()')) continue;
      const outputFile = join(dir, `output-${results.length}`);
      writeFileSync(outputFile, '');
      const carried = Object.fromEntries(readFileSync(githubEnv, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v)]));
      const env = { ...base, ...carried, ...stepEnv, GITHUB_OUTPUT: outputFile };
      const r = await runCommand('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', expand(step.run)], { env, cwd: join(ROOT, expand(step['working-directory'] ?? '.')), timeoutMs: 200_000 });
      if (step.id) outputs[step.id] = Object.fromEntries(readFileSync(outputFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
      results.push({ name: step.name ?? '', code: r.code, out: r.stdout + r.stderr });
      if (r.code !== 0) failed = true;
    }
    return { steps: results, env: base, runnerTemp };
  }

  it('a passing run: every step succeeds, the report and JUnit are where the upload step looks', async () => {
    const { steps, runnerTemp } = await runAction('action-pass', { run: `node ${APP}`, assertions: ASSERTIONS, 'assert-args': `--none 'status = error AND service = shop'` });
    for (const s of steps) expect(s.code, `${s.name}: ${s.out}`).toBe(0);
    expect(steps.map((s) => s.name)).toEqual(['Start FlowTrace', 'Run the tests', 'Assert on the traces', 'Write the HTML report', 'Stop FlowTrace', 'Verdict']);
    expect(steps[2]!.out).toContain('5 assertions: 5 passed, 0 failed');
    // The run ID from GitHub's run ID and attempt, on the spans.
    expect(readFileSync(join(runnerTemp, 'flowtrace-ci/env'), 'utf8')).toContain('OTEL_RESOURCE_ATTRIBUTES=ci.run.id=777-2');
    expect(readJUnit(join(runnerTemp, 'flowtrace-report/flowtrace-junit.xml')).suite).toMatchObject({ tests: '5', failures: '0' });
    expect(existsSync(join(runnerTemp, 'flowtrace-report/flowtrace-report.html'))).toBe(true);
    expect(existsSync(join(runnerTemp, 'flowtrace-ci/collector.pid'))).toBe(false);
  }, 240_000);

  it('a failing assertion: the report is still written, the collector stopped, and the verdict fails the job', async () => {
    const { steps, runnerTemp } = await runAction('action-fail', { run: `CI_APP_SCENARIO=bad node ${APP}`, assertions: ASSERTIONS });
    const byName = new Map(steps.map((s) => [s.name, s]));
    expect(byName.get('Run the tests')!.code).toBe(0);
    expect(byName.get('Assert on the traces')!.out).toContain('4 assertions: 1 passed, 3 failed');
    expect(byName.get('Write the HTML report')!.code).toBe(0);
    expect(byName.get('Stop FlowTrace')!.code).toBe(0);
    expect(byName.get('Verdict')).toMatchObject({ code: 1 });
    expect(byName.get('Verdict')!.out).toContain('::error::flowtrace assert failed (exit 1)');
    expect(readFileSync(join(runnerTemp, 'flowtrace-report/flowtrace-report.html'), 'utf8')).toContain('<h2>Assertions: 1 passed, 3 failed</h2>');
    expect(existsSync(join(runnerTemp, 'flowtrace-ci/collector.pid'))).toBe(false);
  }, 240_000);
});

describe('the GitHub Action, checked by actionlint', () => {
  let actionlint: string;
  const shellcheck = (() => {
    try {
      return execFileSync('bash', ['-c', 'command -v shellcheck']).toString().trim();
    } catch {
      return undefined;
    }
  })();

  beforeAll(async () => {
    actionlint = await runBuildScript(join(ROOT, 'integrations/ci/build-actionlint.sh'), '', 900_000);
    // actionlint runs shellcheck on `run:` scripts only when it is on PATH: say which it was.
    process.stderr.write(`ci-assert: actionlint ${actionlint}; shellcheck ${shellcheck ?? 'not found: run scripts not checked by shellcheck'}\n`);
  }, 900_000);

  /** A project holding the action (so `uses: ./integrations/github-action` resolves) and a workflow. */
  function project(workflow: string): string {
    const dir = mkdtempSync(join(temp, 'gh-'));
    mkdirSync(join(dir, '.git'));
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    cpSync(join(ROOT, 'integrations/github-action'), join(dir, 'integrations/github-action'), { recursive: true });
    writeFileSync(join(dir, '.github/workflows/ci.yml'), workflow);
    return dir;
  }

  const lint = (dir: string) => runCommand(actionlint, ['-no-color', '.github/workflows/ci.yml'], { cwd: dir, timeoutMs: 60_000 });

  it('the example workflow passes, with the action inputs checked against action.yml', async () => {
    const workflow = readFileSync(EXAMPLE_WORKFLOW, 'utf8');
    const ok = await lint(project(workflow));
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // The check is real: an input the action does not have is refused.
    const typo = await lint(project(workflow.replace('assertions: integrations', 'assertion: integrations')));
    expect(typo.code).toBe(1);
    expect(typo.stdout).toContain('input "assertion" is not defined in action "FlowTrace trace assertions"');
  }, 120_000);

  it("the action's steps pass as a workflow job (expressions, contexts, and their shell through shellcheck when present)", async () => {
    const action = parseYaml(readFileSync(ACTION, 'utf8')) as { inputs: Record<string, { default?: string; required?: boolean }>; runs: { using: string; steps: Array<Record<string, unknown>> } };
    expect(action.runs.using).toBe('composite');
    // Every run step calls the one script (or handles its exit codes).
    const runs = action.runs.steps.filter((s) => typeof s.run === 'string').map((s) => s.run as string);
    expect(runs.filter((r) => r.includes('/ci/flowtrace-ci.sh')).map((r) => /flowtrace-ci\.sh" (\w+)/.exec(r)?.[1])).toEqual(['start', 'assert', 'report', 'stop']);
    expect(action.runs.steps.some((s) => s.uses === 'actions/upload-artifact@v4')).toBe(true);
    const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, { type: 'string', required: v.required ?? false, ...(v.default !== undefined ? { default: v.default } : {}) }]));
    const job = { on: { workflow_dispatch: { inputs } }, jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } } };
    const dir = project(JSON.stringify(job, null, 2));
    const r = await lint(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    if (shellcheck) {
      // shellcheck itself on the script every step calls.
      const sc = await runCommand(shellcheck, [SCRIPT, join(ROOT, 'integrations/ci/build-actionlint.sh')]);
      expect(sc.code, sc.stdout).toBe(0);
    }
  }, 120_000);
});
