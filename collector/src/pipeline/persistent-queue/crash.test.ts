import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { crashTestConfig } from './crash-test.testing.js';
import { FakeExporter, openQueue, removeTempDirs, tempDir } from './test-support.testing.js';

afterEach(removeTempDirs);

const ROOT = resolve(import.meta.dirname, '../../../..');
const CHILD = resolve(import.meta.dirname, 'crash-child.testing.ts');

interface ChildRun {
  acked: string[];
  /** Batch ID → the record names it was sent with. */
  sent: Map<string, string[]>;
  /** Batches whose send completed. */
  ok: Set<string>;
  /** The batch being sent when the child was killed. */
  inFlight: string;
}

/** Runs the child until it acknowledged `acks` records, then SIGKILLs it as a send starts (mid-flight, appends going on). */
function runAndKill(dir: string, prefix: string, acks: number): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, prefix], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = { acked: [], sent: new Map(), ok: new Set(), inFlight: '' };
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`child did not acknowledge ${acks} records in time (${run.acked.length}); stderr: ${stderr}`));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') done(run);
      else fail(new Error(`child exited by itself (${code}); stderr: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, id, names] = line.split(' ');
      if (kind === 'acked') run.acked.push(id);
      else if (kind === 'ok') run.ok.add(id);
      else if (kind === 'sent') {
        run.sent.set(id, names.split(','));
        if (run.acked.length >= acks && !run.inFlight) {
          run.inFlight = id;
          child.kill('SIGKILL');
        }
      }
    });
  });
}

describe('PersistentQueue under SIGKILL', () => {
  it('keeps every acknowledged record and re-forms unacknowledged batches under the same IDs', async () => {
    const dir = tempDir();
    const first = await runAndKill(dir, 'a', 400);
    // A second life on the same directory, recovering what the first left, then killed too.
    const second = await runAndKill(dir, 'b', 400);

    const exporter = new FakeExporter('crash');
    const queue = await openQueue(dir, exporter, { config: crashTestConfig });
    await queue.shutdown();
    const final = exporter.delivered.map((c) => ({ id: c.batchId, names: c.names.map((n) => n.split(':')[0]) }));

    // At least once: every record acknowledged to a writer reached the backend.
    const delivered = new Set<string>(final.flatMap((b) => b.names));
    for (const run of [first, second]) for (const id of run.ok) for (const name of run.sent.get(id)!) delivered.add(name);
    const missing = [...first.acked, ...second.acked].filter((name) => !delivered.has(name));
    expect(missing).toEqual([]);

    // A batch ID always stands for the same records, whichever life sent it.
    const byId = new Map<string, string[]>();
    for (const batches of [[...first.sent], [...second.sent], final.map((b) => [b.id, b.names] as const)]) {
      for (const [id, names] of batches) {
        if (byId.has(id)) expect(names, `batch ${id}`).toEqual(byId.get(id));
        else byId.set(id, [...names]);
      }
    }
    // Batches in flight at a kill (at least the one whose start triggered it) are sent again by the next life, under their IDs.
    const unfinished = (run: ChildRun): string[] => [...run.sent.keys()].filter((id) => !run.ok.has(id));
    expect(unfinished(first)).toContain(first.inFlight);
    expect(unfinished(second)).toContain(second.inFlight);
    for (const id of unfinished(first)) expect(second.sent.has(id), `batch ${id} resent`).toBe(true);
    for (const id of unfinished(second)) expect(final.some((b) => b.id === id), `batch ${id} resent`).toBe(true);
  });
});
