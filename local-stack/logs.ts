import { format } from 'node:util';

/** Log lines captured from the handlers (Powertools in dev mode writes to the global console). */
export interface LogCapture {
  lines: string[];
  restore(): void;
}

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Routes console output to a buffer (and optionally a sink), so stdout stays free for results. */
export function captureConsole(sink?: (line: string) => void): LogCapture {
  process.env.POWERTOOLS_DEV = 'true';
  const lines: string[] = [];
  const originals = METHODS.map((method) => [method, console[method]] as const);
  for (const method of METHODS) {
    console[method] = (...args: unknown[]) => {
      const line = format(...args);
      lines.push(line);
      sink?.(line);
    };
  }
  return {
    lines,
    restore() {
      for (const [method, original] of originals) console[method] = original;
    },
  };
}
