/**
 * The child process of the crash test (run with `node --import tsx`): appends records from
 * several concurrent writers to a queue in argv[2] and prints `acked <name>` once an append
 * resolved (stdout on a pipe is synchronous on Linux, so a printed ack was durable before the
 * line left). Its exporter prints `sent <batchId> <names>` when a send starts and `ok <batchId>`
 * when it completes, 20 ms later. The parent kills it with SIGKILL at some point.
 */
import { pino } from 'pino';
import type { Exporter } from '../../../../exporters/exporter.js';
import type { Span } from '../../model/span.js';
import { CollectorMetrics } from '../../telemetry.js';
import { crashTestConfig, crashTestRecord } from './crash-test.testing.js';
import { PersistentQueue } from './persistent-queue.js';

const [dir, prefix] = process.argv.slice(2);
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const exporter: Exporter = {
  name: 'crash',
  encoding: 'test',
  encode: (_spans: Span[]) => new Uint8Array(),
  start: async () => undefined,
  shutdown: async () => undefined,
  async send(payload, _spanCount, batchId) {
    const names = payload.toString().split('\n').slice(0, -1).map((r) => r.split(':')[0]);
    out(`sent ${batchId} ${names.join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    out(`ok ${batchId}`);
  },
};

const queue = new PersistentQueue(exporter, { dir, config: crashTestConfig, metrics: new CollectorMetrics(), logger: pino({ level: 'silent' }) });
await queue.start();
out('ready');
let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const name = `${prefix}${next++}`;
    try {
      await queue.append(crashTestRecord(name), 1);
      out(`acked ${name}`);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5)); // full: like a client told to retry later
    }
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
