import { invalidArn, invalidName } from './errors.js';

/** AWS's limit on state machine and execution names. */
export const MAX_NAME_LENGTH = 80;

// Whitespace, brackets, wildcards and these special characters are refused, and control characters.
const FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u;
const isControl = (char: string): boolean => {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
};

/** Checks a state machine or execution name the way Step Functions does (InvalidName). */
export function checkName(name: string): string {
  if (name.length < 1 || name.length > MAX_NAME_LENGTH || FORBIDDEN.test(name) || [...name].some(isControl)) {
    throw invalidName(name);
  }
  return name;
}

export interface Scope {
  partition: string;
  region: string;
  accountId: string;
}

export const stateMachineArn = (scope: Scope, name: string): string =>
  `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:stateMachine:${name}`;

export const executionArn = (scope: Scope, machineName: string, name: string): string =>
  `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:execution:${machineName}:${name}`;

/** A Map Run's ARN: `mapRun:<machine>/<label>:<id>`, its child workflows' machine being `<machine>/<label>`. */
export const mapRunArn = (scope: Scope, childMachineName: string, id: string): string =>
  `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:mapRun:${childMachineName}:${id}`;

const ARN = /^arn:([a-z-]+):states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.+)$/;

/** The parts of a `states` ARN of the expected resource type, or InvalidArn. */
function parseArn(arn: string, type: 'stateMachine' | 'execution' | 'mapRun'): string[] {
  const match = ARN.exec(arn);
  if (!match) throw invalidArn(`Invalid ARN prefix: ${arn}`);
  const [, , , , resourceType, resource] = match;
  if (resourceType !== type || resource === undefined)
    throw invalidArn(`Resource type not valid in this context: ${resourceType ?? ''}`);
  return resource.split(':');
}

/** The state machine name of a state machine ARN. */
export function parseStateMachineArn(arn: string): string {
  const parts = parseArn(arn, 'stateMachine');
  if (parts.length !== 1 || !parts[0]) throw invalidArn(arn);
  return parts[0];
}

/** The state machine and execution names of an execution ARN. */
export function parseExecutionArn(arn: string): { machine: string; name: string } {
  const [machine, name, ...rest] = parseArn(arn, 'execution');
  if (!machine || !name || rest.length > 0) throw invalidArn(arn);
  return { machine, name };
}

/** The child workflows' machine name (`<machine>/<label>`) and the id of a Map Run ARN. */
export function parseMapRunArn(arn: string): { machine: string; id: string } {
  const [machine, id, ...rest] = parseArn(arn, 'mapRun');
  if (!machine?.includes('/') || !id || rest.length > 0) throw invalidArn(arn);
  return { machine, id };
}
