import { defineConfig } from 'vitest/config';

const INCLUDE = ['collector/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts', 'agents/node/test/**/*.test.ts', 'dashboard/src/**/*.test.ts', 'integrations/vscode/test/**/*.test.ts', 'integrations/mcp/**/*.test.ts'];
const EXCLUDE = ['**/node_modules/**', 'dist/**'];

/**
 * Files that run alone, after all the others: they hold a resource one run at a time may use
 * (the private Docker engine and its data root, the Go and Cargo build outputs of the agents, a
 * Kubernetes API server), or they measure memory or latency bounds that a second test file beside
 * them would blur.
 */
const ALONE = [
  'test/compose.e2e.test.ts',
  'test/compose-config.e2e.test.ts',
  'test/agent-go-rust.e2e.test.ts',
  'test/helm-chart.e2e.test.ts',
  'test/helm-test-script.e2e.test.ts',
  'test/security/transport.test.ts',
  'test/security/issue15-review.test.ts',
  'test/bench-command.e2e.test.ts',
  // Seven collectors (and a Kafka broker) each: on two cores beside another file, neither would get far.
  'test/loadbalancing.e2e.test.ts',
  'test/scale-kafka.e2e.test.ts',
];

export default defineConfig({
  test: {
    // Each file that embeds ClickHouse binds one data directory per process: isolate files in forks.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        // Two files at a time: most of an end-to-end file's time is waiting on a collector, a peer or
        // a browser, so two share the two cores of the CI machine without either being starved.
        // Files sharing Maven's target/ take a lock (test/helpers/java.ts).
        test: { name: 'together', include: INCLUDE, exclude: [...EXCLUDE, ...ALONE], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, exclude: EXCLUDE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
