import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A poll waits on real processes and brokers: 1 s (vitest's default) is too short on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    // Integration tests start whole servers on ephemeral ports; two workers fit the 2-core machines.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default', './test/helpers/summaryReporter.ts'],
  },
});
