import type { Access, JsonAccess, QueryAccess } from './access.js';
import type { CallContext, JsonHandler, QueryHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { iamAccess } from './iam-access.js';
import { iamActions } from './iam.js';
import { kmsAccess } from './kms-access.js';
import { kmsActions } from './kms.js';
import {
  QUERY_VERSIONS,
  jsonReply,
  queryReply,
  type Call,
  type JsonService,
  type Reply,
} from './protocol.js';
import { s3Access } from './s3/access.js';
import { s3Actions } from './s3/operations.js';
import { sfnAccess } from '../sfn/access.js';
import { sfnActions } from '../sfn/operations.js';
import { secretsManagerAccess } from './secrets-manager-access.js';
import { secretsManagerActions } from './secrets-manager.js';
import { ssmAccess } from './ssm-access.js';
import { ssmActions } from './ssm.js';
import { stsAccess } from './sts-access.js';
import { stsActions } from './sts.js';
import type { QueryService } from './xml.js';

const JSON_ACTIONS: Record<JsonService, ReadonlyMap<string, JsonHandler>> = {
  kms: kmsActions,
  secretsmanager: secretsManagerActions,
  ssm: ssmActions,
  sfn: sfnActions,
};

/** Each JSON operation's authorizations (its table sits next to the service). */
const JSON_ACCESS: Record<JsonService, ReadonlyMap<string, JsonAccess>> = {
  kms: kmsAccess,
  secretsmanager: secretsManagerAccess,
  ssm: ssmAccess,
  sfn: sfnAccess,
};

const QUERY_OPERATIONS: Record<
  QueryService,
  [ReadonlyMap<string, QueryHandler>, ReadonlyMap<string, QueryAccess>]
> = {
  iam: [iamActions, iamAccess],
  sts: [stsActions, stsAccess],
};

export interface Operation {
  /** What IAM must allow for this call (empty: nothing). */
  access(ctx: CallContext): Access[];
  run(ctx: CallContext, requestId: string): Reply;
}

/** An operation with no authorization entry is a bug in the emulator, not a call to allow. */
function missingAccess(action: string): never {
  throw new AwsServiceError('InternalFailure', `the emulator declares no IAM action for ${action}`, 500);
}

/** Finds the handler for a call before anything is counted or authenticated. */
export function operationFor(call: Call): Operation {
  if (call.protocol === 'rest-xml') {
    const { request } = call;
    return {
      access: () => s3Access(request),
      run: (ctx, requestId) => s3Actions[request.action](request, ctx, requestId),
    };
  }
  if (call.protocol === 'json') {
    const handler = JSON_ACTIONS[call.service].get(call.action);
    if (!handler) throw new AwsServiceError('UnknownOperationException', '', 400);
    const access = JSON_ACCESS[call.service].get(call.action) ?? missingAccess(call.action);
    return {
      access: (ctx) => access(call.input, ctx),
      run: (ctx, requestId) => jsonReply(call.service, handler(call.input, ctx), requestId),
    };
  }
  const { service } = call;
  const [actions, accessTable] = QUERY_OPERATIONS[service];
  const handler = actions.get(call.action);
  if (!handler) {
    throw new AwsServiceError(
      'InvalidAction',
      `Could not find operation ${call.action} for version ${QUERY_VERSIONS[service]}`,
      400,
    );
  }
  const access = accessTable.get(call.action) ?? missingAccess(call.action);
  return {
    access: (ctx) => access(call.params, ctx),
    run: (ctx, requestId) => queryReply(service, call.action, handler(call.params, ctx), requestId),
  };
}
