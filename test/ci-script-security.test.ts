/**
 * integrations/ci/flowtrace-ci.sh and the GitHub Action's assert step against hostile input: a
 * line break in OTEL_RESOURCE_ATTRIBUTES (would set any variable through $GITHUB_ENV), a pid file
 * naming another process (stop must not kill it), a state directory others can write (its state
 * file is sourced), and assert-args holding a command substitution (must stay text). The
 * collector is a stub (bin/flowtrace.js in a temporary FLOWTRACE_HOME): only the script is tested.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCommand } from './helpers/process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'integrations/ci/flowtrace-ci.sh');
const temp = mkdtempSync(join(tmpdir(), 'ft-ci-sec-'));
const home = join(temp, 'home');
mkdirSync(join(home, 'bin'), { recursive: true });
// `serve` prints the ready line and runs until SIGTERM; other commands print their arguments.
writeFileSync(
  join(home, 'bin/flowtrace.js'),
  `if (process.argv[2] === 'serve') {
  console.log(JSON.stringify({ msg: 'collector ready', http: '127.0.0.1:4318', api: '127.0.0.1:8686' }));
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {}, 1e6);
} else console.log(JSON.stringify(process.argv.slice(2)));
`,
);

const started: ChildProcess[] = [];
const ciDirs: string[] = [];
afterAll(async () => {
  for (const dir of ciDirs) await runCommand('bash', [SCRIPT, 'stop'], { env: envFor(dir) });
  for (const child of started) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

function envFor(ciDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { GITHUB_ENV: _e, GITHUB_OUTPUT: _o, OTEL_RESOURCE_ATTRIBUTES: _a, ...env } = process.env;
  return { ...env, FLOWTRACE_HOME: home, FLOWTRACE_CI_DIR: ciDir, FLOWTRACE_INSTALL: '0', FLOWTRACE_CI_RUN_ID: 'r1', ...extra };
}

function privateDir(name: string): string {
  const dir = mkdtempSync(join(temp, `${name}-`));
  ciDirs.push(dir);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('flowtrace-ci.sh', () => {
  it('refuses a line break in OTEL_RESOURCE_ATTRIBUTES instead of writing it to $GITHUB_ENV', async () => {
    const dir = privateDir('env');
    const githubEnv = join(temp, 'github-env');
    writeFileSync(githubEnv, '');
    const r = await runCommand('bash', [SCRIPT, 'start'], { env: envFor(dir, { GITHUB_ENV: githubEnv, OTEL_RESOURCE_ATTRIBUTES: 'team=a\nNODE_OPTIONS=--require=/tmp/evil.js' }), timeoutMs: 60_000 });
    expect(readFileSync(githubEnv, 'utf8')).not.toMatch(/^NODE_OPTIONS=/m);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('OTEL_RESOURCE_ATTRIBUTES: a line break');
  });

  it('stop leaves alone a process that is not its collector, though the pid file names it', async () => {
    const dir = privateDir('pid');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
    started.push(other);
    writeFileSync(join(dir, 'collector.pid'), `${other.pid}\n`);
    const r = await runCommand('bash', [SCRIPT, 'stop'], { env: envFor(dir), timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(alive(other.pid!)).toBe(true);
    expect(existsSync(join(dir, 'collector.pid'))).toBe(false);
  });

  it('start then stop still ends its own collector', async () => {
    const dir = privateDir('own');
    expect((await runCommand('bash', [SCRIPT, 'start'], { env: envFor(dir), timeoutMs: 60_000 })).code).toBe(0);
    const pid = Number(readFileSync(join(dir, 'collector.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    const r = await runCommand('bash', [SCRIPT, 'stop'], { env: envFor(dir), timeoutMs: 60_000 });
    expect(r.stderr).toContain(`collector ${pid} stopped`);
    expect(alive(pid)).toBe(false);
  });

  it('refuses to source the state of a directory others can write', async () => {
    const dir = privateDir('shared');
    chmodSync(dir, 0o777);
    const marker = join(temp, 'planted-ran');
    writeFileSync(join(dir, 'state'), `API_URL=http://127.0.0.1:1\nRUN_ID=r\nSTARTED_AT=x\ntouch ${marker}\n`);
    const r = await runCommand('bash', [SCRIPT, 'assert', '--none', '{ status = error }'], { env: envFor(dir), timeoutMs: 60_000 });
    expect(existsSync(marker)).toBe(false);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('writable by others');
  });
});

describe("the GitHub Action's assert step", () => {
  it('splits assert-args into words without running what they hold', async () => {
    const action = parseYaml(readFileSync(join(ROOT, 'integrations/github-action/action.yml'), 'utf8')) as { runs: { steps: Array<{ id?: string; run?: string }> } };
    const step = action.runs.steps.find((s) => s.id === 'assert')!;
    // GITHUB_ACTION_PATH/../ci/flowtrace-ci.sh: a stub writing its arguments as JSON.
    const actionPath = join(temp, 'gh', 'github-action');
    mkdirSync(join(temp, 'gh', 'ci'), { recursive: true });
    mkdirSync(actionPath, { recursive: true });
    const argsFile = join(temp, 'gh', 'args.json');
    writeFileSync(join(temp, 'gh', 'ci', 'flowtrace-ci.sh'), `#!/usr/bin/env bash\nnode -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))' "${argsFile}" "$@"\n`, { mode: 0o755 });
    const marker = join(temp, 'gh', 'substituted');
    const output = join(temp, 'gh', 'output');
    writeFileSync(output, '');
    const env = { ...process.env, GITHUB_ACTION_PATH: actionPath, GITHUB_OUTPUT: output, RUNNER_TEMP: join(temp, 'gh'), FLOWTRACE_ASSERT_ARGS: `--p99 '50ms:{ name = "a b" }' $(touch ${marker})` };
    // As the runner runs a bash step: bash --noprofile --norc -eo pipefail FILE.
    const file = join(temp, 'gh', 'step.sh');
    writeFileSync(file, step.run!);
    const r = await runCommand('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(JSON.parse(readFileSync(argsFile, 'utf8'))).toEqual(['assert', '--p99', '50ms:{ name = "a b" }', '$(touch', `${marker})`]);
    expect(readFileSync(output, 'utf8')).toBe('exit-code=0\n');
  });
});
