// The Java side of the end-to-end tests: Maven builds of the FlowTrace Java agent (agents/java) and
// of its example applications (agents/java/examples), run at most one at a time across test files.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { newTempDir } from './collector.js';
import { tail } from './process.js';

export const JAVA_AGENT_DIR = resolve(import.meta.dirname, '../../agents/java');
export const JAVA_EXAMPLES_DIR = join(JAVA_AGENT_DIR, 'examples');
export const JDK25_HOME = '/usr/lib/jvm/temurin-25-jdk-amd64';

/** Builds of agents/java share one target/: a Maven run in one test file must not rewrite it under another's. */
const LOCK = join(tmpdir(), 'flowtrace-java-maven.lock');

export interface MavenResult {
  code: number | null;
  output: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` holding the Maven lock (a folder, as agents/node's build lock); a lock left by a dead process is taken over. */
export async function withMavenLock<T>(fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const owner = Number(existsSync(join(LOCK, 'pid')) ? readFileSync(join(LOCK, 'pid'), 'utf8') : NaN);
      if (Number.isInteger(owner) && !processAlive(owner)) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the Maven lock ${LOCK} is still held after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    writeFileSync(join(LOCK, 'pid'), String(process.pid));
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** `mvn -q …`, niced (two cores are shared), killed after `timeoutMs`; resolves with its exit code and output. */
export function runMaven(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<MavenResult> {
  return new Promise((res) => {
    const child = spawn('nice', ['-n', '10', 'mvn', '-q', '-B', ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout can stop Maven and the JVMs it forked
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${(options.timeoutMs ?? 0) / 1000} s]`;
      process.kill(-child.pid!, 'SIGKILL');
    }, options.timeoutMs ?? 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when `jar` exists and is newer than every source of its project. */
function upToDate(jar: string, sources: string[]): boolean {
  return existsSync(jar) && sources.every((s) => !existsSync(s) || newestMtime(s) < statSync(jar).mtimeMs);
}

export interface JavaBuild {
  /** A private copy of agents/java/target/flowtrace-agent.jar: a later build cannot change it under a running JVM. */
  agentJar: string;
  /** The Spring Boot example's executable fat jar. */
  springOrdersJar: string;
  /** The com.sun.net.httpserver example's jar (Main-Class in its manifest). */
  plainHttpJar: string;
}

/** Builds the agent jar and the examples with Maven when missing or older than their sources. */
export async function ensureJavaBuilt(): Promise<JavaBuild> {
  return withMavenLock(async () => {
    const agentJar = join(JAVA_AGENT_DIR, 'target/flowtrace-agent.jar');
    if (!upToDate(agentJar, [join(JAVA_AGENT_DIR, 'src/main'), join(JAVA_AGENT_DIR, 'pom.xml')])) {
      const r = await runMaven(['-f', join(JAVA_AGENT_DIR, 'pom.xml'), 'package', '-DskipTests']);
      if (r.code !== 0) throw new Error(`building the Java agent failed (exit ${r.code}):\n${tail(r.output, 60)}`);
    }
    const springOrdersJar = join(JAVA_EXAMPLES_DIR, 'spring-orders/target/spring-orders.jar');
    const plainHttpJar = join(JAVA_EXAMPLES_DIR, 'plain-http/target/plain-http.jar');
    const examples = (name: string) => [join(JAVA_EXAMPLES_DIR, name, 'src'), join(JAVA_EXAMPLES_DIR, name, 'pom.xml')];
    if (!upToDate(springOrdersJar, examples('spring-orders')) || !upToDate(plainHttpJar, examples('plain-http'))) {
      const r = await runMaven(['-f', join(JAVA_EXAMPLES_DIR, 'pom.xml'), 'package', '-DskipTests']);
      if (r.code !== 0) throw new Error(`building the Java examples failed (exit ${r.code}):\n${tail(r.output, 60)}`);
    }
    const copy = join(newTempDir('ft-java-agent-'), 'flowtrace-agent.jar');
    copyFileSync(agentJar, copy);
    return { agentJar: copy, springOrdersJar, plainHttpJar };
  });
}
