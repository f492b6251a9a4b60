// `npm run test:go`: the Go agent's tests (`go test ./...` in agents/go): the runtime against the
// shared conformance files, the rewriter's golden cases and the end-to-end builds of the example
// services (gin, echo + fiber, gRPC) with flowtrace-go. Go's module and build caches (GOMODCACHE,
// GOCACHE) live outside the repository and are reused between runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIN_MINOR = 26; // the go line of go.mod (set by the OpenTelemetry and gin versions it requires)

const version = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  console.error('test:go: no Go toolchain on PATH; install Go 1.26 or newer (https://go.dev/dl/)');
  process.exit(1);
}
const m = /^go1\.(\d+)/.exec(version.stdout.trim());
if (!m || Number(m[1]) < MIN_MINOR) {
  console.error(`test:go: Go 1.${MIN_MINOR} or newer needed, found ${version.stdout.trim()}`);
  process.exit(1);
}
console.log(`test:go: go test ./... with ${version.stdout.trim()}`);
const r = spawnSync('go', ['test', '-count=1', '-timeout', '15m', './...'], { cwd: AGENT_DIR, stdio: 'inherit' });
process.exit(r.status === 0 ? 0 : 1);
