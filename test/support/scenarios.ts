import { expect } from 'vitest';
import { observe, type SeededUser } from '../../local-stack/provision.js';
import type { Handler, Json } from '../../local-stack/lambda.js';
import { type HistoryEvent, loadHandlers } from '../../local-stack/state-machine.js';
import type { FaultSpec } from '../../local-stack/traffic.js';
import { expectNoSecrets, keptOnPurpose } from './invariants.js';
import type { TestStack } from './local-stack.js';

export type Report = Awaited<ReturnType<TestStack['rotate']>>;
type RotateOptions = NonNullable<Parameters<TestStack['rotate']>[1]>;

/** What the fault list looked like when the execution ended: how often each fault fired. */
export interface FiredFault {
  spec: FaultSpec;
  seen: number;
  fired: number;
}

/**
 * Runs a rotation with faults and records, at the execution's last event (before rotate() clears
 * the fault list), how often each fault fired, so a scenario can prove it hit the call it names.
 * With `deadlineMs`, an execution still running after that long fails the test (a call that never
 * times out) instead of hanging it; the stuck execution is left behind and its faults cleared.
 */
export async function rotateRecordingFaults(
  ctx: TestStack,
  user: SeededUser,
  options: RotateOptions & { deadlineMs?: number },
): Promise<{ report: Report; fired: FiredFault[] }> {
  const { deadlineMs, ...rotateOptions } = options;
  let fired: FiredFault[] = [];
  let last: HistoryEvent | undefined;
  const running = ctx.rotate(user, {
    ...rotateOptions,
    onEvent: (event: HistoryEvent) => {
      fired = ctx.stack.traffic.describe();
      last = event;
      options.onEvent?.(event);
    },
  });
  if (deadlineMs === undefined) return { report: await running, fired };
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), deadlineMs);
  });
  running.catch(() => undefined);
  const report = await Promise.race([running, hung]).finally(() => clearTimeout(timer));
  if (report === 'hung') {
    ctx.stack.traffic.clearFaults();
    const where = last?.state?.name ?? last?.type ?? 'the start';
    expect.fail(`the execution was still running ${deadlineMs} ms after it started (stuck in ${where})`);
  }
  return { report, fired };
}

/** Every fault of the scenario was applied to at least one call. */
export function expectAllFired(fired: FiredFault[], specs: string[]): void {
  expect(fired).toHaveLength(specs.length);
  fired.forEach((fault, i) => expect(fault.fired, `fault ${specs[i]} never fired`).toBeGreaterThan(0));
}

/** Error names the ASL or a handler gives; never the interpreter's own (States.*) or a bare Error. */
export function expectNamedError(error: { Error: string; Cause: string } | null): void {
  expect(error, 'a failed execution without an error').not.toBeNull();
  const name = error?.Error ?? '';
  expect(name, `unnamed failure ${name}: ${error?.Cause ?? ''}`).toMatch(/^[A-Z][A-Za-z]+(Error|Failed)$/);
  expect(name).not.toMatch(/^States\./);
}

/** A FAILED execution that ended in `endState` with error `name`. */
export function expectFailure(report: Report, name: string, endState: string): void {
  expect(
    { status: report.status, error: report.error?.Error, end: report.states.at(-1) },
    report.error?.Cause,
  ).toEqual({ status: 'FAILED', error: name, end: endState });
}

export function expectSuccess(report: Report): void {
  expect({ status: report.status, error: report.error }).toEqual({ status: 'SUCCEEDED', error: null });
}

/**
 * The invariants for two executions that rotated the same user at the same time, checked on the
 * final state (the second report's `after` is the later observation):
 * - at most one SUCCEEDED (unless told they may both, one after the other), every FAILED one with a named error;
 * - Vault still serves a key, it is Active and STS accepts it; if one succeeded it is the only key;
 * - no key exists that is neither Vault's nor one the user had before either execution;
 * - no secret in either history, error or log;
 * - in each execution, no old key was retired before its own VerifyKey succeeded.
 */
export async function expectPairInvariants(
  ctx: TestStack,
  user: SeededUser,
  reports: [Report, Report],
  options: { atMostOneSucceeds?: boolean } = {},
): Promise<void> {
  const succeeded = reports.filter((r) => r.status === 'SUCCEEDED');
  if (options.atMostOneSucceeds ?? true) {
    expect(succeeded.length, 'both executions succeeded').toBeLessThanOrEqual(1);
  }
  for (const report of reports) if (report.status === 'FAILED') expectNamedError(report.error);

  const served = await ctx.vaultKey(user);
  const keys = (await observe(ctx.target, user)).accessKeys;
  if (reports.some((r) => r.before.vault !== null)) expect(served, 'Vault lost its key').not.toBeNull();
  if (served) {
    expect(keys.find((k) => k.accessKeyId === served.accessKeyId)?.status, 'Vault key not Active').toBe(
      'Active',
    );
    expect(await ctx.works(served), 'the key Vault serves does not work').toBe(true);
  }
  if (succeeded.length > 0) {
    expect(keys.map((k) => k.accessKeyId)).toEqual([served?.accessKeyId]);
  }
  const allowed = new Set<string | undefined>([
    served?.accessKeyId,
    ...reports.flatMap((r) => r.before.accessKeys.map((k) => k.accessKeyId)),
    ...reports.flatMap(keptOnPurpose),
  ]);
  expect(
    keys.filter((k) => !allowed.has(k.accessKeyId)),
    'orphaned keys',
  ).toEqual([]);

  for (const report of reports) {
    expectNoSecrets(
      [JSON.stringify(report.history), JSON.stringify(report.error), ...report.logs],
      ctx.knownSecrets(),
    );
    const verified = report.history.findIndex(
      (e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey',
    );
    for (const retire of ['DeactivateOld', 'DeleteOld']) {
      const at = report.history.findIndex((e) => e.type === 'StateEntered' && e.state?.name === retire);
      if (at >= 0) expect(verified, `${retire} ran before VerifyKey succeeded`).toBeGreaterThanOrEqual(0);
      if (at >= 0) expect(at).toBeGreaterThan(verified);
    }
  }
}

/**
 * Like ctx.rotate, with the handlers wrapped: `wrap(fn, handler)` returns what the state machine
 * invokes for function `fn` (e.g. a handler whose response is lost once).
 */
export async function rotateWithHandlers(
  ctx: TestStack,
  user: SeededUser,
  wrap: (fn: string, handler: Handler) => Handler,
  options: { faults?: string[]; input?: Json } = {},
): Promise<Report> {
  const real = await loadHandlers();
  const handlers = Object.fromEntries(Object.entries(real).map(([fn, handler]) => [fn, wrap(fn, handler)]));
  return ctx.rotate(user, { ...options, handlers });
}

/** An error shaped like the Lambda service's own when an invocation's response is lost. */
export class LambdaServiceException extends Error {
  constructor() {
    super('the invocation succeeded but its response was lost (injected by the test)');
    this.name = 'Lambda.ServiceException';
  }
}

/** Runs the handler, then loses its response the first `times` times. */
export function losingResponses(handler: Handler, times = 1): Handler & { lost: () => number } {
  let lost = 0;
  const wrapped = async (event: unknown) => {
    const result = await handler(event);
    if (lost < times) {
      lost += 1;
      throw new LambdaServiceException();
    }
    return result;
  };
  return Object.assign(wrapped, { lost: () => lost });
}
