import { queueConfig } from './test-support.testing.js';

/** Small segments and batches, so that a crash test rolls, deletes and re-forms a lot. */
export const crashTestConfig = queueConfig({ segment_bytes: 64 * 1024, concurrency: 2, batch: { max_spans: 40, timeout_ms: 20 } });

/** `name:xxxx…\n`, about 8 KB: a kill often lands in the middle of a group's write. */
export const crashTestRecord = (name: string): Buffer => Buffer.from(`${name}:${'x'.repeat(8000)}\n`);
