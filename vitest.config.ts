import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['collector/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts', 'agents/node/test/**/*.test.ts', 'dashboard/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    // Each file that embeds ClickHouse binds one data directory per process: isolate files in forks.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
