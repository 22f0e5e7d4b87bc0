import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources; end-to-end tests run the built CLI (`npm test`
// builds first). Integration tests start real processes, sockets and servers, so they get
// generous timeouts; nothing asserts on a stopwatch.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
