import { z } from 'zod';

/** A service the local stack serves; the first part of a fault spec and of a call counter name. */
export type Service = 'iam' | 'sts' | 'kms' | 'secretsmanager' | 'ssm' | 'sfn' | 's3' | 'vault';

/**
 * What an emulator does instead of (or after) serving a call:
 * - `status`: answer with this HTTP status and the service's own error body;
 * - `code`: answer with this AWS error code (and the status AWS uses for it);
 * - `timeout`: never answer; `reset`: drop the connection before doing anything;
 * - `after-commit`: make the change, then drop the connection instead of answering.
 */
export type FaultAction =
  | { kind: 'status'; status: number }
  | { kind: 'code'; code: string }
  | { kind: 'timeout' }
  | { kind: 'reset' }
  | { kind: 'after-commit' };

export interface FaultSpec {
  service: Service;
  operation: string;
  action: FaultAction;
  /** How many matching calls the fault applies to. */
  count: number;
  /** The 1-based matching call at which the fault starts. */
  nth: number;
}

const SPEC =
  /^(iam|sts|kms|secretsmanager|ssm|sfn|s3|vault):([A-Za-z][A-Za-z0-9-]*):([A-Za-z0-9-]+?)(?:x(\d+))?(?:@(\d+))?$/;

export class InvalidFaultSpecError extends Error {
  constructor(spec: string) {
    super(
      `invalid fault spec '${spec}': expected <iam|sts|kms|secretsmanager|ssm|sfn|s3|vault>:<operation>:<fault>[x<count>][@<nth>], ` +
        `fault one of an HTTP status, an AWS error code, timeout, reset, after-commit`,
    );
    this.name = 'InvalidFaultSpecError';
  }
}

/** Parses `<service>:<operation>:<fault>[x<count>][@<nth>]`, e.g. `vault:kv-write:503x10`. */
export function parseFaultSpec(spec: string): FaultSpec {
  const match = SPEC.exec(spec.trim());
  if (!match) throw new InvalidFaultSpecError(spec);
  const [, service, operation, fault, count, nth] = match;
  if (!service || !operation || !fault) throw new InvalidFaultSpecError(spec);
  return {
    service: service as Service,
    operation,
    action: parseAction(fault, spec),
    count: count === undefined ? 1 : Number(count),
    nth: nth === undefined ? 1 : Number(nth),
  };
}

function parseAction(fault: string, spec: string): FaultAction {
  if (fault === 'timeout' || fault === 'reset' || fault === 'after-commit') return { kind: fault };
  if (/^\d{3}$/.test(fault)) {
    const status = Number(fault);
    if (status < 400 || status > 599) throw new InvalidFaultSpecError(spec);
    return { kind: 'status', status };
  }
  if (/^[A-Z][A-Za-z.]*$/.test(fault)) return { kind: 'code', code: fault };
  throw new InvalidFaultSpecError(spec);
}

/** Body accepted by `POST /__admin/faults`: `{"spec": "..."}` or `{"specs": ["...", ...]}`. */
export const FaultRequestBody = z.union([
  z.object({ spec: z.string() }).strict(),
  z.object({ specs: z.array(z.string()) }).strict(),
]);

interface ArmedFault {
  spec: FaultSpec;
  seen: number;
  fired: number;
}

/** Counts every call an emulator serves and decides which ones a fault takes over. */
export class Traffic {
  private readonly faults: ArmedFault[] = [];
  private readonly counts = new Map<string, number>();

  addFault(spec: FaultSpec | string): void {
    this.faults.push({ spec: typeof spec === 'string' ? parseFaultSpec(spec) : spec, seen: 0, fired: 0 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Records a call of `service:operation` and returns the fault to apply to it, if any. */
  intercept(service: Service, operation: string): FaultAction | undefined {
    const name = `${service}:${operation}`;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    let action: FaultAction | undefined;
    for (const armed of this.faults) {
      if (armed.spec.service !== service || armed.spec.operation !== operation) continue;
      armed.seen += 1;
      if (action === undefined && armed.seen >= armed.spec.nth && armed.fired < armed.spec.count) {
        armed.fired += 1;
        action = armed.spec.action;
      }
    }
    return action;
  }

  /** Call counts by `service:operation`, e.g. `{"iam:CreateAccessKey": 1}`. */
  calls(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  resetCalls(): void {
    this.counts.clear();
  }

  describe(): { spec: FaultSpec; seen: number; fired: number }[] {
    return this.faults.map((f) => ({ ...f }));
  }
}
