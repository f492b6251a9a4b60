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

/**
 * Runs `bash SCRIPT NAME` from the repository's root and resolves to the path on the last line
 * of its stdout, which must exist. Its stderr (a cold build's progress) is echoed to the test's.
 * The script runs in its own process group, so that a timeout kills the `go build` under it too.
 */
export function runBuildScript(script: string, name: string, timeoutMs: number): Promise<string> {
  const what = `${basename(dirname(script))}/${basename(script)} ${name}`;
  return new Promise<string>((res, rej) => {
    const child = spawn('bash', [script, name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
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
      rej(new Error(`${what}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const path = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !path || !existsSync(path)) {
        rej(new Error(`${what} failed (exit ${code ?? signal}, stdout: ${JSON.stringify(stdout.trim())}):\n${tail(stderr, 60)}`));
      } else {
        res(path);
      }
    });
  });
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
