import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'local-stack/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    allowOnly: false,
    pool: 'forks',
    // Vitest's default on 2 cores is one worker; many tests wait on timers, sockets and child
    // processes, so two files at a time take ~190 s instead of ~270 s.
    maxWorkers: 2,
  },
});
