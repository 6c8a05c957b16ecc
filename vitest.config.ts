import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Folders whose files run rotations on the local stack or spawn the CLI: seconds each, where a unit
 * file takes a fraction of one. Without a cache (a clean clone, as in CI) vitest starts the largest
 * files first, so a short file holding a long test would start last and end the run alone.
 */
const SLOW_FIRST = [
  'test/fleet/',
  'test/consumer/',
  'test/faults/',
  'test/cli/',
  'test/operate/',
  'test/moto/',
  'test/statemachine/',
  'test/vault-shapes/',
  'test/policies/',
];

/** Vitest's order (longest or largest first), with the slow folders' files ahead of the rest. */
class SlowFoldersFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const slow = (file: TestSpecification) => {
      const path = relative(file.project.config.root, file.moduleId).replaceAll('\\', '/');
      return SLOW_FIRST.some((folder) => path.startsWith(folder));
    };
    return [...sorted.filter(slow), ...sorted.filter((file) => !slow(file))];
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'local-stack/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    allowOnly: false,
    pool: 'forks',
    // Vitest's default on 2 cores is one worker; many tests wait on timers, sockets and child
    // processes, so two files at a time take ~190 s instead of ~270 s. Three are no faster on 2
    // cores and make the timing-sensitive tests (rate limits, client timeouts) contend.
    maxWorkers: 2,
    sequence: { sequencer: SlowFoldersFirst },
  },
});
