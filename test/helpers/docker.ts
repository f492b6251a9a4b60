/**
 * A private Docker engine for tests: Debian's `dockerd` (docker.io 20.10), started as a child of
 * the test with `--iptables=false --bridge=none` (no changes to the host's firewall or network;
 * containers use the host's network), its socket, exec root and pidfile in a temp dir, and its
 * data root in a cache dir outside the repository, so that images built by one run (the base
 * image, build-cache layers) are reused by the next. Stopped by pid afterwards.
 *
 * Needs root (dockerd), `dockerd`, `docker` and, for the base image, `debootstrap`
 * (apt-get install -y docker.io debootstrap). Nothing here is skipped or mocked: a missing tool throws.
 *
 * One daemon per data root at a time: a lock file beside the data root (holding the owner's pid)
 * refuses a second start while the first test process is alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { runCommand, tail, type CommandResult, type RunOptions } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Re-exported: the compose tests take them from here with the daemon. */
export { runCommand, type CommandResult, type RunOptions };

export const BASE_IMAGE_SCRIPT = join(ROOT, 'deploy/base-image.sh');

/** Where the daemon's data root lives (images, layers, build cache). */
export const DOCKER_CACHE = process.env.FLOWTRACE_DOCKER_CACHE ?? join(homedir(), '.cache/flowtrace/docker');

/** A cold image build downloads the embedded engine (~540 MB) through npm. */
export const IMAGE_BUILD_TIMEOUT_MS = 30 * 60_000;

export interface RunningDockerd {
  /** `unix:///…/docker.sock`, for DOCKER_HOST. */
  host: string;
  /** The environment a docker/compose client needs: PATH and HOME of this process, DOCKER_HOST. */
  env: NodeJS.ProcessEnv;
  /** The daemon's log file. */
  logFile: string;
  /** Runs `docker ARGS`; resolves to stdout, throws (with both outputs) on a non-zero exit. */
  docker(args: string[], options?: RunOptions): Promise<string>;
  /**
   * Removes what earlier runs left in the cached data root: stopped containers (a failed classic
   * build leaves its step's container) and dangling images created before `before` (each source
   * change re-runs a build stage and orphans the previous stage image, ~5 GB per run of the demo).
   * Images of this run stay: they are the next run's build cache.
   */
  pruneBefore(before: Date): Promise<void>;
  /** Stops the daemon (SIGTERM, SIGKILL after 30 s, by pid), removes the temp dir and the lock. Idempotent. */
  stop(): Promise<void>;
}


/** Same as runCommand, but resolves to stdout and throws on a non-zero exit. */
export async function run(bin: string, args: string[], options: RunOptions = {}): Promise<string> {
  const r = await runCommand(bin, args, options);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited with ${r.code}:\n${tail(r.stdout, 40)}\n${tail(r.stderr, 60)}`);
  return r.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data root's lock (a file holding our pid); a stale lock (its owner is gone) is replaced. */
function lockDataRoot(lockFile: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (owner && owner !== process.pid && alive(owner)) {
        throw new Error(`${lockFile}: a Docker daemon of process ${owner} uses this data root (set FLOWTRACE_DOCKER_CACHE for another one)`);
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`cannot take ${lockFile}`);
}

/** Starts the private daemon and resolves once it answers `docker version`. */
/** Throws, saying how to install them, unless every command is on PATH. */
export function requireCommands(...names: string[]): void {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const onPath = (name: string) =>
    dirs.some((d) => {
      try {
        accessSync(join(d, name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const missing = names.filter((n) => !onPath(n));
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not found on PATH: install Debian's packages with \`apt-get install -y docker.io debootstrap\` (.ci/run does)`);
}

export async function startDockerd(): Promise<RunningDockerd> {
  if (process.getuid?.() !== 0) throw new Error('dockerd needs root: run this test as root');
  requireCommands('dockerd', 'docker', 'debootstrap');
  const dataRoot = join(DOCKER_CACHE, 'data');
  mkdirSync(dataRoot, { recursive: true, mode: 0o700 });
  const lockFile = join(DOCKER_CACHE, 'lock');
  lockDataRoot(lockFile);

  // Short path: the socket and containerd's sockets must fit in sun_path (108 bytes).
  const dir = mkdtempSync(join(tmpdir(), 'ftd-'));
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const logFile = join(dir, 'dockerd.log');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'dockerd',
      [
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        `--data-root=${dataRoot}`,
        `--exec-root=${join(dir, 'exec')}`,
        `--pidfile=${join(dir, 'dockerd.pid')}`,
        `--host=${host}`,
      ],
      { stdio: ['ignore', fd, fd] },
    );
  } catch (err) {
    rmSync(lockFile, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((res) => {
    child.once('exit', (code, signal) => res(code ?? (signal ? 128 : null)));
    child.once('error', (err) => {
      writeFileSync(logFile, `\nspawn dockerd: ${err.message}\n`, { flag: 'a' });
      res(127);
    });
  });
  let done = false;
  exited.then(() => (done = true), () => undefined);

  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: host };
  const docker = (args: string[], options: RunOptions = {}) => run('docker', args, { ...options, env: { ...env, ...options.env } });

  const pruneBefore = async (before: Date) => {
    await docker(['container', 'prune', '--force'], { timeoutMs: 120_000 });
    await docker(['image', 'prune', '--force', '--filter', `until=${before.toISOString()}`], { timeoutMs: 300_000 });
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!done && child.pid) {
      child.kill('SIGTERM'); // dockerd stops its containers, then its containerd
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    rmSync(lockFile, { force: true });
  };

  // Bounded wait for the API (a few seconds; more on a loaded machine).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (done) {
      const log = readFileSync(logFile, 'utf8');
      await stop();
      throw new Error(`dockerd exited before answering:\n${tail(log, 40)}`);
    }
    const r = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 10_000 });
    if (r.code === 0) break;
    if (Date.now() > deadline) {
      const log = readFileSync(logFile, 'utf8');
      await stop();
      throw new Error(`dockerd did not answer within 60 s:\n${tail(r.stderr, 10)}\n${tail(log, 40)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { host, env, logFile, docker, pruneBefore, stop };
}

/**
 * The base image (deploy/base-image.sh: debootstrap + the host's node, `docker import`). The
 * script keys the image's name by its inputs and reuses an image of that name already in the
 * daemon, so a warm data root makes this a no-op. Resolves to the image's name.
 */
export async function ensureBaseImage(d: RunningDockerd): Promise<string> {
  // The script's own settings (FLOWTRACE_BASE_CACHE, _REBUILD, _MIRROR…) pass through, e.g. for a cold-cache run.
  const own = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FLOWTRACE_BASE_')));
  const out = await run('bash', [BASE_IMAGE_SCRIPT], { env: { ...d.env, ...own }, timeoutMs: IMAGE_BUILD_TIMEOUT_MS, echo: true });
  const image = out.trim().split('\n').pop() ?? '';
  if (!/^flowtrace-base:\S+$/.test(image)) throw new Error(`deploy/base-image.sh printed no image name: ${JSON.stringify(out)}`);
  return image;
}

export interface ListeningSocket {
  /** `0.0.0.0`, `127.0.0.1`, `::`, `::1`, … */
  address: string;
  port: number;
}

/**
 * The TCP addresses the processes of a container listen on, read inside the container (its own
 * PID namespace: /proc holds only its processes) by matching the socket inodes of every process's
 * file descriptors against /proc/net/tcp and tcp6. With host networking those tables hold the
 * whole host's sockets: the inode match keeps the container's own.
 */
export async function listeningSockets(d: RunningDockerd, container: string): Promise<ListeningSocket[]> {
  const script = `
const fs = require('node:fs');
const inodes = new Set();
for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
  let fds = [];
  try { fds = fs.readdirSync('/proc/' + pid + '/fd'); } catch { continue; }
  for (const fd of fds) {
    try { const m = /^socket:\\[(\\d+)\\]$/.exec(fs.readlinkSync('/proc/' + pid + '/fd/' + fd)); if (m) inodes.add(m[1]); } catch {}
  }
}
const out = [];
for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
  let rows = [];
  try { rows = fs.readFileSync(file, 'utf8').trim().split('\\n').slice(1); } catch { continue; }
  for (const row of rows) {
    const f = row.trim().split(/\\s+/);
    if (f[3] !== '0A' || !inodes.has(f[9])) continue; // 0A: LISTEN
    const [hex, port] = f[1].split(':');
    out.push({ hex, port: parseInt(port, 16) });
  }
}
process.stdout.write(JSON.stringify(out));
`;
  const out = await d.docker(['exec', container, 'node', '-e', script]);
  return (JSON.parse(out) as Array<{ hex: string; port: number }>).map(({ hex, port }) => ({ address: procNetAddress(hex), port }));
}

/** /proc/net/tcp{,6} address hex (32-bit words in host byte order, little-endian here) to text. */
export function procNetAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // Shortest form for the cases the tests compare (::, ::1, ::ffff:a.b.c.d); others stay full.
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  if (full.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${bytes.slice(12).join('.')}`;
  return full;
}

/**
 * Unmounts what dockerd left mounted under `dir` (its exec root keeps the host's network namespace
 * bind-mounted at exec/netns/default after it exits), deepest first, so that the dir can be removed.
 */
async function unmountUnder(dir: string): Promise<void> {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((mp): mp is string => mp !== undefined && mp.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mp of mountPoints) await run('umount', [mp], { timeoutMs: 30_000 });
}

