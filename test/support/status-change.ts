import { resources } from '../../deploy/template.cjs';
import { templateContext } from '../deploy/template.js';
import { type EventPattern, resolvePattern } from './event-pattern.js';
import type { Report } from './scenarios.js';

/** The execution ARN ValidateInput was given ($$.Execution.Id), from the execution's history. */
export function executionArnOf(report: Pick<Report, 'history'>): string {
  const validated = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'ValidateInput');
  const arn = (validated?.state?.output as { request?: { execution?: string } } | undefined)?.request
    ?.execution;
  if (!arn) throw new Error('the execution never got past ValidateInput: no execution ARN in its history');
  return arn;
}

/** arn:aws:states:<region>:<account>:execution:<machine>:<name> → the machine's ARN. */
export const machineArnOf = (executionArn: string): string =>
  executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, '');

/**
 * EventBridge's "Step Functions Execution Status Change" event for an ended local execution, the
 * fields local-stack/sfn/fleet.ts statusChange gives the rules' targets.
 */
export function statusChangeEvent(
  report: Pick<Report, 'history' | 'status' | 'error'>,
  // An execution that ended at ValidateInput has no ARN in its history: the caller names it.
  executionArn = executionArnOf(report),
) {
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: machineArnOf(executionArn),
      name: executionArn.split(':').at(-1),
      status: report.status,
      error: report.error?.Error ?? null,
      cause: report.error?.Cause ?? null,
    },
  };
}

/** A rule's event pattern in the generated template, the rotation machine's ARN filled in. */
export async function rulePattern(ruleId: string, rotationMachineArn: string): Promise<EventPattern> {
  const { Resources } = await resources(templateContext({}));
  const rule = Resources[ruleId];
  if (!rule) throw new Error(`the template has no ${ruleId}`);
  return resolvePattern(rule.Properties.EventPattern, {
    RotateAccessKeyStateMachine: rotationMachineArn,
    RotateFleetStateMachine: `${rotationMachineArn}-fleet`,
  });
}
