import type { AwsAccounts } from '../../aws/accounts.js';
import type { Principal } from '../../aws/auth.js';
import { authorize } from '../../aws/authorize.js';
import { AwsServiceError } from '../../aws/errors.js';
import { injectedCodeError, injectedStatusError } from '../../aws/faults.js';
import { newRequestId } from '../../aws/ids.js';
import { s3Access } from '../../aws/s3/access.js';
import { s3Actions } from '../../aws/s3/operations.js';
import type { S3Request } from '../../aws/s3/request.js';
import type { AwsState } from '../../aws/state.js';
import type { Traffic } from '../../traffic.js';
import { S3CallError, type S3Port } from './s3-port.js';

const ROLE_ARN = /^arn:[a-z-]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;

/**
 * The session Step Functions acts in: the state machine's role, in the role's account. A role that
 * emulated IAM holds is evaluated against its policies; any other role ARN is taken as allowed, as
 * the local functions' unprovisioned roles are (see authorize.ts).
 */
function roleSession(
  accounts: AwsAccounts,
  home: AwsState,
  roleArn: string,
): { principal: Principal; state: AwsState } {
  const [, accountId = home.accountId, roleName = roleArn] = ROLE_ARN.exec(roleArn) ?? [];
  const state = accounts.get(accountId) ?? home;
  const role = state.roles.get(roleName);
  const session = {
    // Never presented to any endpoint: the calls below skip authentication.
    accessKeyId: '',
    secretAccessKey: '',
    sessionToken: '',
    expiration: new Date(Date.now() + 3600_000),
    accountId: state.accountId,
    roleArn,
    roleName,
    roleId: role?.roleId ?? '',
    sessionName: 'states',
    ...(role?.arn === roleArn ? { role } : {}),
  };
  return { principal: { kind: 'role', session }, state };
}

/**
 * The emulator's S3, called in-process for Step Functions: the call is counted and may be faulted
 * like one that came over HTTP (`s3:GetObject:...` specs), then authorized for the state
 * machine's role and served by the S3 operations themselves.
 */
export function emulatedS3(accounts: AwsAccounts, traffic: Traffic, home: AwsState): S3Port {
  const call = (roleArn: string, request: S3Request): Buffer => {
    const requestId = newRequestId();
    const fault = traffic.intercept('s3', request.action);
    try {
      if (fault?.kind === 'reset' || fault?.kind === 'timeout') {
        throw new S3CallError(
          'RequestTimeout',
          `Unable to execute HTTP request: ${fault.kind}`,
          0,
          requestId,
        );
      }
      if (fault?.kind === 'status') throw injectedStatusError('s3', fault.status);
      if (fault?.kind === 'code') throw injectedCodeError('s3', fault.code);
      const { principal, state } = roleSession(accounts, home, roleArn);
      authorize('s3', principal, s3Access(request), accounts);
      const reply = s3Actions[request.action](request, { principal, state, accounts }, requestId);
      if (fault?.kind === 'after-commit') {
        throw new S3CallError(
          'RequestTimeout',
          'Unable to execute HTTP request: connection reset',
          0,
          requestId,
        );
      }
      return Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
    } catch (error) {
      if (error instanceof AwsServiceError) {
        throw new S3CallError(error.code, error.message, error.status, requestId);
      }
      throw error;
    }
  };
  const request = (action: 'GetObject' | 'PutObject', bucket: string, key: string, body = ''): S3Request => ({
    action,
    method: action === 'GetObject' ? 'GET' : 'PUT',
    bucket,
    key,
    query: new URLSearchParams(),
    headers: action === 'PutObject' ? { 'content-type': 'application/json' } : {},
    body: Buffer.from(body, 'utf8'),
  });
  return {
    getObject: async (roleArn, bucket, key) => call(roleArn, request('GetObject', bucket, key)),
    putObject: async (roleArn, bucket, key, body) => {
      call(roleArn, request('PutObject', bucket, key, body));
    },
  };
}
