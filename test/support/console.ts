import { afterEach, beforeEach } from 'vitest';

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * rotate() captures the console per execution; several at once (or one inside another) leave it
 * patched: each test gets back the console it started with.
 */
export function restoreConsoleAfterEach(): void {
  let saved: (readonly [(typeof METHODS)[number], Console[(typeof METHODS)[number]]])[] = [];
  beforeEach(() => {
    saved = METHODS.map((m) => [m, console[m]] as const);
  });
  afterEach(() => {
    for (const [method, original] of saved) console[method] = original;
  });
}
