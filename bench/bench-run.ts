/** The ending every bench script shares: results written to bench/results/<file>, and a failed run cleaned up. */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cleanup } from '../test/helpers/collector.js';

/** Writes `result` as bench/results/`file` and says where. */
export function writeResults(file: string, result: unknown): void {
  const out = join(resolve(import.meta.dirname), 'results', file);
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${out}`);
}

/** Runs `main`; on an error prints it, stops the collectors the helpers started and exits 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch(async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
}
