#!/usr/bin/env node
// The `flowtrace` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/collector/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('flowtrace: not built yet; run `npm install` (or `npm run build`) in the FlowTrace folder first\n');
  process.exit(1);
}
const { run } = await import(entry.href);
await run();
