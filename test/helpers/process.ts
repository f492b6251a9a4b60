/**
 * Child processes for tests: build scripts that print a path (test/peers/build.sh,
 * test/tools/build.sh), long-running servers logging to a file, and a TCP probe. Shared by
 * ./peers.ts, ./tools.ts and ./kube.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, dirname, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Echo stderr to the test's stderr as it comes (long builds stay visible). */
  echo?: boolean;
}

/**
 * Runs a command to its end in its own process group (a timeout kills its children too) and
 * resolves to its outputs whatever the exit code.
 */
export function runCommand(bin: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((res, rej) => {
    const child = spawn(bin, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.echo) process.stderr.write(d);
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${timeoutMs / 1000} s\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      rej(new Error(`${bin}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ stdout, stderr, code });
    });
  });
}

/**
 * Runs `bash SCRIPT NAME` from the repository's root and resolves to the path on the last line
 * of its stdout, which must exist. Its stderr (a cold build's progress) is echoed to the test's.
 */
export async function runBuildScript(script: string, name: string, timeoutMs: number): Promise<string> {
  const what = `${basename(dirname(script))}/${basename(script)} ${name}`;
  const r = await runCommand('bash', [script, name], { timeoutMs, echo: true });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !path || !existsSync(path)) {
    throw new Error(`${what} failed (exit ${r.code}, stdout: ${JSON.stringify(r.stdout.trim())}):\n${tail(r.stderr, 60)}`);
  }
  return path;
}

export interface LoggedProcess {
  child: ChildProcess;
  /** The exit code (128 after a signal; -1 when the spawn itself failed). */
  exited: Promise<number | null>;
  logFile: string;
}

/** Starts `bin args` with stdout and stderr appended to `logFile` (no pipes to drain), tracked in `running` until it exits. */
export function launchLogged(bin: string, args: string[], logFile: string, running: Set<ChildProcess>): LoggedProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  running.add(child);
  const exited = new Promise<number | null>((res) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      res(code ?? (signal ? 128 : null));
    });
    // spawn itself failed (e.g. ENOENT): no 'exit' follows.
    child.once('error', (err) => {
      running.delete(child);
      writeFileSync(logFile, `\nspawn ${bin}: ${err.message}\n`, { flag: 'a' });
      res(-1);
    });
  });
  return { child, exited, logFile };
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port` within `timeoutMs`. */
export function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(timeoutMs);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('timeout', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(false));
  });
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
