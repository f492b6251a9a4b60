import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleConfigSchema } from '../../processors/sample/config.js';
import { span, testContext, traceIds } from '../../processors/sample/sample-fixtures.js';
import { SampleProcessor } from '../../processors/sample/sample.js';
import { Recorder } from '../../processors/recorder.testing.js';
import { RecordedDrops } from '../drops.testing.js';
import { Journal } from './journal.js';
import { ProcessorJournal } from './processor-journal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Tail sampling over a real journal in `dir`; `policy` decides what a fresh decision would be. */
async function sampler(dir: string, policy: 'keep' | 'drop') {
  const journal = await Journal.open({ dir, segmentBytes: 1 << 20, logger: pino({ level: 'silent' }), registry: new Registry() });
  await journal.recover(0);
  const { context } = testContext();
  const drops = new RecordedDrops();
  const next = new Recorder();
  const config = sampleConfigSchema.parse({
    tail: {
      enabled: true,
      decision_wait_ms: 1_000,
      policies: [policy === 'keep' ? { name: 'all', type: 'always_sample' } : { name: 'none', type: 'probabilistic', probabilistic: { sampling_percentage: 0 } }],
    },
  });
  const clock = { now: 0 };
  const processor = new SampleProcessor(config, next, { ...context, drops, journal: new ProcessorJournal(() => journal, 'sample', 'queues') }, { clock: () => clock.now, shutdownTimeoutMs: 1_000 });
  await processor.start();
  return { journal, processor, next, drops, clock };
}

describe('tail sampling with the journal', () => {
  it('follows a decision taken before a crash instead of deciding again, for replayed and late spans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-tail-'));
    dirs.push(dir);
    const [traceId] = traceIds(1, 1);
    const before = await sampler(dir, 'drop');
    await before.processor.consume([span(traceId!)]);
    await before.processor.tick(1_000);
    expect(before.next.all).toEqual([]);
    expect(before.drops.dropped['sample/sampled_out']).toBe(1);
    await before.journal.settled(); // the decision is on disk; then the process dies (no close)

    // After the restart the policies would keep everything; the journaled verdict still drops the trace.
    const after = await sampler(dir, 'keep');
    await after.processor.consume([span(traceId!)]);
    expect(after.drops.dropped['sample/sampled_out']).toBe(1);
    await after.processor.tick(5_000);
    expect(after.next.all).toEqual([]);
    // A trace it has never seen is decided by today's policy.
    const [fresh] = traceIds(1, 2);
    await after.processor.consume([span(fresh!)]);
    await after.processor.tick(10_000);
    expect(after.next.all.map((s) => s.traceId)).toEqual([fresh]);
    await after.processor.shutdown();
    await after.journal.close();
  });
});
