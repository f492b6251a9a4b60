import { spawn, type ChildProcess } from 'node:child_process';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Resolves when stdout has printed `line` (a whole line). */
  waitForLine(line: string): Promise<void>;
  done: Promise<Finished>;
}

const children = new Set<ChildProcess>();

/** Environment for an application under test: nothing from the outer OTEL_/FLOWTRACE_/NODE_OPTIONS leaks in. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OTEL_|FLOWTRACE_|NODE_OPTIONS$|VITEST|NODE_V8_COVERAGE)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

export function start(args: string[], opts: { cwd: string; env: Record<string, string> }): Running {
  const child = spawn(process.execPath, args, { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve(): void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    const lines = stdout.split('\n');
    for (const w of [...waiters]) {
      if (lines.includes(w.line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return {
    child,
    done,
    waitForLine: (line) =>
      new Promise<void>((resolve, reject) => {
        if (stdout.split('\n').includes(line)) return resolve();
        waiters.push({ line, resolve });
        void done.then((f) => reject(new Error(`exited (${f.code ?? f.signal}) before printing "${line}":\n${f.stdout}\n${f.stderr}`)));
      }),
  };
}

export function run(args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<Finished> {
  return start(args, opts).done;
}

/** Kills whatever a test left running. */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}
