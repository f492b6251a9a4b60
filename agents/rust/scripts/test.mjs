// `npm run test:rust`: the Rust agent's cargo tests (unit, shared conformance cases, an axum
// service end to end against in-test OTLP receivers over HTTP and gRPC), every feature on.
// Build output goes outside the repository and is reused: CARGO_TARGET_DIR defaults to
// ~/.cache/flowtrace/cargo-target (crates themselves are cached in ~/.cargo as usual).
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIN_RUST = [1, 91]; // axum-tracing-opentelemetry 0.39 (the axum feature, on by default) needs 1.91

const version = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error('test:rust: cargo not found; install Rust 1.91 or newer (rustup) and retry');
  process.exit(1);
}
const m = /cargo (\d+)\.(\d+)/.exec(version.stdout);
if (m === null || Number(m[1]) < MIN_RUST[0] || (Number(m[1]) === MIN_RUST[0] && Number(m[2]) < MIN_RUST[1])) {
  console.error(`test:rust: ${version.stdout.trim()} is too old; the agent needs Rust ${MIN_RUST.join('.')} or newer`);
  process.exit(1);
}
const env = { ...process.env };
env.CARGO_TARGET_DIR ??= join(homedir(), '.cache', 'flowtrace', 'cargo-target');
console.log(`test:rust: cargo test in ${WORKSPACE} (${version.stdout.trim()}; target ${env.CARGO_TARGET_DIR})`);
const r = spawnSync('cargo', ['test', '--workspace', '--all-features', '--locked'], { cwd: WORKSPACE, stdio: 'inherit', env });
process.exit(r.status ?? 1);
