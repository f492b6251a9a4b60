#!/usr/bin/env node
// The `flowtrace` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Before anything uses Node's native thread pool (created on first use): the embedded engine runs
// each query on one of its threads, and user SQL that runs long must never take all of them from
// the durable queues' file writes and storage (see README "The SQL endpoint").
process.env.UV_THREADPOOL_SIZE ??= '16';

const entry = new URL('../dist/collector/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('flowtrace: not built yet; run `npm install` (or `npm run build`) in the FlowTrace folder first\n');
  process.exit(1);
}
const { run } = await import(entry.href);
await run();
