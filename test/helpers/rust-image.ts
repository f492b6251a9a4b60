/**
 * The Rust build image of the compose test (deploy/demo-rust.Dockerfile's RUST_IMAGE): no registry
 * serves the official rust image here, so deploy/rust-image.sh makes one from the base image and
 * this machine's Rust toolchain (rustc and cargo on PATH, as `npm run test:rust` needs them).
 */
import { join, resolve } from 'node:path';
import { IMAGE_BUILD_TIMEOUT_MS, run, type RunningDockerd } from './docker.js';

export const RUST_IMAGE_SCRIPT = join(resolve(import.meta.dirname, '../..'), 'deploy/rust-image.sh');

/** Runs deploy/rust-image.sh BASE (reused when there) and returns the image's name. */
export async function ensureRustImage(d: RunningDockerd, baseImage: string): Promise<string> {
  const out = await run('bash', [RUST_IMAGE_SCRIPT, baseImage], { env: rustImageEnv(d.env, process.env), timeoutMs: IMAGE_BUILD_TIMEOUT_MS, echo: true });
  const image = out.trim().split('\n').pop() ?? '';
  if (!/^flowtrace-rust:\S+$/.test(image)) throw new Error(`deploy/rust-image.sh printed no image name: ${JSON.stringify(out)}`);
  return image;
}

/**
 * The script's environment: the Docker client's (PATH, HOME, DOCKER_HOST), the script's own
 * settings (FLOWTRACE_RUST_IMAGE_REBUILD, e.g. for a cold run) and where rustup keeps the toolchain
 * when that is not under HOME (RUSTUP_HOME, CARGO_HOME, RUSTUP_TOOLCHAIN: CI images set them; without
 * them rustup's `rustc` finds no toolchain). Nothing else of the test's environment.
 */
export function rustImageEnv(dockerEnv: NodeJS.ProcessEnv, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const passed = Object.entries(env).filter(([k]) => k.startsWith('FLOWTRACE_RUST_IMAGE_') || RUSTUP_KEYS.has(k));
  return { ...dockerEnv, ...Object.fromEntries(passed) };
}

const RUSTUP_KEYS = new Set(['RUSTUP_HOME', 'CARGO_HOME', 'RUSTUP_TOOLCHAIN']);
