/**
 * Application processes for end-to-end tests: a service started as its users start it, which
 * prints `listening <port>` on stdout once it serves; its output kept for failure messages;
 * stopped with SIGTERM (agents flush on it) and awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Service {
  child: ChildProcess;
  port: number;
  /** stdout and stderr lines, in arrival order. */
  output: string[];
}

/** The environment of a service under test: nothing of the test runner's OTEL_/FLOWTRACE_/NODE_OPTIONS/JAVA_TOOL_OPTIONS/PORT/HOST settings leaks in. */
export function serviceEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(OTEL_|FLOWTRACE_|NODE_OPTIONS$|JAVA_TOOL_OPTIONS$|VITEST|PORT$|HOST$)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * The environment of a service under an agent: exporting over OTLP/gRPC (every agent's default
 * protocol) to `grpcEndpoint` every 100 ms, capturing arguments; `extra` adds or overrides.
 */
export function agentEnv(name: string, grpcEndpoint: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return serviceEnv({ OTEL_SERVICE_NAME: name, OTEL_EXPORTER_OTLP_ENDPOINT: grpcEndpoint, OTEL_BSP_SCHEDULE_DELAY: '100', FLOWTRACE_CAPTURE_ARGS: 'true', ...extra });
}

/**
 * Starts `command args` in `cwd` and resolves once a line of its stdout or stderr matches
 * `portLine` (default `listening <port>`; its first group is the port); rejects, with its output,
 * if it exits first. `name` names it in that message.
 */
export async function startService(name: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, portLine = /^listening (\d+)$/): Promise<Service> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const port = await new Promise<number>((res, rej) => {
    const onLine = (line: string): void => {
      output.push(line);
      const m = portLine.exec(line);
      if (m) res(Number(m[1]));
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (err) => rej(new Error(`${name} did not start: ${err.message}`)));
    child.once('exit', (code) => rej(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  return { child, port, output };
}

/** SIGTERM (the agent flushes, then the process dies of the signal), awaited. */
export async function stopService(s: Service): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((res) => s.child.once('exit', () => res()));
  s.child.kill('SIGTERM');
  await exited;
}
