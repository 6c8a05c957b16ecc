import { vi } from 'vitest';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

/** A stream's write that appends to `sink` instead; the callback, if any, is called as a stream would. */
function capture(sink: (text: string) => void): Write {
  return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) queueMicrotask(callback);
    return true;
  }) as Write;
}

/** Sets `vars` on process.env (undefined removes one) and returns what puts the environment back as it was. */
function overlayEnv(vars: NodeJS.ProcessEnv): () => void {
  const before = { ...process.env };
  for (const [key, value] of Object.entries(vars)) {
    if (value === undefined) Reflect.deleteProperty(process.env, key);
    else process.env[key] = value;
  }
  return () => {
    for (const key of Object.keys(process.env))
      if (!(key in before)) Reflect.deleteProperty(process.env, key);
    for (const [key, value] of Object.entries(before))
      if (process.env[key] !== value) process.env[key] = value;
  };
}

/**
 * What bin/iam-key-rotator.mjs sets unless set: among them POWERTOOLS_DEV, which sends the handlers'
 * log lines (those of an in-process stack too) to the console rather than onto the command's stdout.
 */
const binDefaults = (): NodeJS.ProcessEnv => ({
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
  POWERTOOLS_DEV: process.env.POWERTOOLS_DEV ?? 'true',
});

export interface InProcessOptions {
  /** Variables set (undefined: removed) for the run only. */
  env?: NodeJS.ProcessEnv;
  /**
   * Load the project's modules afresh, as a new process would: for a command that runs the
   * handlers itself (`local`), since they read their configuration once per module instance.
   */
  freshModules?: boolean;
}

/**
 * Runs `iam-key-rotator <args>` in this process, through the dispatcher bin/ runs (same exit codes,
 * same stdout and stderr, captured), without paying a process and tsx's TypeScript load per run.
 * The run leaves process.env as it found it (`local` points the handlers with it). Tests run one at
 * a time in a file, so borrowing process.stdout and process.stderr for the run is safe; the process
 * boundary itself (the bin, signals, exit) keeps its own spawned tests.
 */
export async function runCliInProcess(args: string[], options: InProcessOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const restoreEnv = overlayEnv({ ...binDefaults(), ...options.env });
  try {
    if (options.freshModules) vi.resetModules();
    const { runCli } = await import('../../cli/commands.js');
    process.stdout.write = capture((text) => (stdout += text));
    process.stderr.write = capture((text) => (stderr += text));
    const code = await runCli(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
    restoreEnv();
  }
}
