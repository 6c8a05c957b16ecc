import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { FleetFunctionName } from '../../deploy/policies.cjs';
import { defaultFunctionEnvironment, withFunctionEnvironment } from '../function-environment.js';
import { FLEET_MACHINE_ROLE_NAME } from '../function-roles.js';
import { asLambda, type Handler, type Json } from '../lambda.js';
import { aslMachine } from './asl-machine.js';
import type { Execution } from './executions.js';
import type { MachineSpec } from './machines.js';
import type { StepFunctions } from './service.js';

/** The name the local stack registers the fleet machine under. */
export const FLEET_MACHINE_NAME = 'iam-key-rotator-fleet-local';

/** The ASL file serverless.yml deploys as the fleet machine. */
export const FLEET_DEFINITION_PATH = fileURLToPath(
  new URL('../../statemachine/rotate-fleet.asl.json', import.meta.url),
);

/** The fleet machine's functions, by the first argument of their Fn::GetAtt. */
const FLEET_FUNCTIONS = {
  planFleet: async () => (await import('../../functions/planFleet.js')).handler,
  listCandidates: async () => (await import('../../functions/listCandidates.js')).handler,
  writeFleetManifest: async () => (await import('../../functions/writeFleetManifest.js')).handler,
  summarizeFleet: async () => (await import('../../functions/summarizeFleet.js')).handler,
};

/**
 * Runs `handler` as the function's role, as the per-user machine's steps run (state-machine.ts):
 * inside the variables the last prepareTarget provisioned for it, read at each invocation (the
 * stack starts before it is provisioned); none provisioned: the process's identity.
 */
function asFunctionRole<E, R>(fn: FleetFunctionName, handler: (event: E) => Promise<R>) {
  return (event: E): Promise<R> => {
    const env = defaultFunctionEnvironment()[fn];
    return env ? withFunctionEnvironment(env, () => handler(event)) : handler(event);
  };
}

const lambdaArn = (region: string, account: string, fn: string) =>
  `arn:aws:lambda:${region}:${account}:function:iam-key-rotator-local-${fn}`;

/**
 * The deployed fleet definition with each `Fn::GetAtt [fn, Arn]` replaced by a Lambda ARN and the
 * per-user machine's `Ref` by its ARN on the local endpoint.
 */
export function loadFleetDefinition(
  region: string,
  account: string,
  rotatorArn: string,
): StateMachineDefinition {
  const resolve = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return lambdaArn(region, account, getAtt[0]);
    if (node.Ref === 'RotateAccessKeyStateMachine') return rotatorArn;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(
    JSON.parse(readFileSync(FLEET_DEFINITION_PATH, 'utf8')) as Json,
  ) as unknown as StateMachineDefinition;
}

export interface FleetMachineOptions {
  sfn: StepFunctions;
  /** Registered under this name instead of FLEET_MACHINE_NAME (tests). */
  name?: string;
  rotatorArn: string;
  /** Pause between retries (ms) instead of the ASL's backoff. */
  retryPauseMs?: number;
  /** Handlers to run instead of the real ones, by function name (tests). */
  handlers?: Partial<Record<keyof typeof FLEET_FUNCTIONS, Handler>>;
}

/** statemachine/rotate-fleet.asl.json with its real handlers, its children on the same endpoint. */
export function fleetMachine(options: FleetMachineOptions): MachineSpec {
  const { sfn } = options;
  const { region, accountId } = sfn.scope;
  const lambdas = Object.fromEntries(
    Object.entries(FLEET_FUNCTIONS).map(([fn, load]) => {
      const given = options.handlers?.[fn as keyof typeof FLEET_FUNCTIONS];
      const handler: Handler = async (event) => (given ?? (await load()))(event);
      return [lambdaArn(region, accountId, fn), asFunctionRole(fn as keyof typeof FLEET_FUNCTIONS, handler)];
    }),
  );
  return aslMachine({
    name: options.name ?? FLEET_MACHINE_NAME,
    definition: loadFleetDefinition(region, accountId, options.rotatorArn),
    // Provisioned with the deployment's policy by prepareTarget (function-roles.ts).
    roleArn: `arn:aws:iam::${accountId}:role/${FLEET_MACHINE_ROLE_NAME}`,
    sfn,
    lambdas,
    retryPauseMs: options.retryPauseMs ?? 50,
  });
}

/** EventBridge's event for an execution that ended, the fields a rule's target reads. */
function statusChange(execution: Execution): Json {
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    time: (execution.stopDate ?? new Date()).toISOString(),
    resources: [execution.arn],
    detail: {
      executionArn: execution.arn,
      stateMachineArn: execution.machine.arn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
      input: execution.input,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  };
}

/**
 * The EventBridge rule that sends each ended execution of the per-user machine to reportToFleet,
 * which answers the fleet's waiting task when a fleet started it. `handler` replaces the real one
 * (tests); what the handler throws is what Lambda's async retries would see, and is reported.
 */
export function routeEndedRotations(sfn: StepFunctions, rotatorArn: string, handler?: Handler): void {
  sfn.executions.onEnded((execution) => {
    if (execution.machine.arn !== rotatorArn) return;
    void (async () => {
      const report = asLambda(handler ?? (await import('../../functions/reportToFleet.js')).handler);
      await asFunctionRole('reportToFleet', report)(statusChange(execution));
    })().catch((error: unknown) => {
      process.stderr.write(`reportToFleet failed for ${execution.arn}: ${String(error)}\n`);
    });
  });
}
