import type { CallContext, JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { iamActions } from './iam.js';
import { kmsActions } from './kms.js';
import {
  QUERY_VERSIONS,
  jsonReply,
  queryReply,
  type Call,
  type JsonService,
  type Reply,
} from './protocol.js';
import { sfnActions } from '../sfn/operations.js';
import { secretsManagerActions } from './secrets-manager.js';
import { ssmActions } from './ssm.js';
import { stsActions } from './sts.js';

const JSON_ACTIONS: Record<JsonService, ReadonlyMap<string, JsonHandler>> = {
  kms: kmsActions,
  secretsmanager: secretsManagerActions,
  ssm: ssmActions,
  sfn: sfnActions,
};

export type Operation = (ctx: CallContext, requestId: string) => Reply;

/** Finds the handler for a call before anything is counted or authenticated. */
export function operationFor(call: Call): Operation {
  if (call.protocol === 'json') {
    const handler = JSON_ACTIONS[call.service].get(call.action);
    if (!handler) throw new AwsServiceError('UnknownOperationException', '', 400);
    const { service } = call;
    return (ctx, requestId) => jsonReply(service, handler(call.input, ctx), requestId);
  }
  const { service } = call;
  const handler = (service === 'iam' ? iamActions : stsActions).get(call.action);
  if (!handler) {
    throw new AwsServiceError(
      'InvalidAction',
      `Could not find operation ${call.action} for version ${QUERY_VERSIONS[service]}`,
      400,
    );
  }
  return (ctx, requestId) => queryReply(service, call.action, handler(call.params, ctx), requestId);
}
