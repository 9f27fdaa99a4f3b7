import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The operator console's bundle (console/dist), built when its sources changed.
    globalSetup: ['test/support/console-build.ts'],
    pool: 'forks',
    // Generous: a test that starts processes or databases on a loaded 2-core machine takes its time.
    testTimeout: 60_000,
    // Suites that start hub processes boot them in beforeAll; a loaded 2-core machine needs time.
    hookTimeout: 180_000,
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
