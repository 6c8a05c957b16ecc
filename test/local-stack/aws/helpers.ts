import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll } from 'vitest';
import {
  startAwsEmulator,
  type AwsEmulator,
  type AwsEmulatorOptions,
} from '../../../local-stack/aws/index.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Real SDK clients pointed at the emulator; one attempt, so faults surface as they happen. */
export function clients(emulator: AwsEmulator, credentials: Credentials = emulator.adminCredentials) {
  const config = { endpoint: emulator.endpoint, region: emulator.region, credentials, maxAttempts: 1 };
  return {
    iam: new IAMClient(config),
    sts: new STSClient(config),
    kms: new KMSClient(config),
    secretsManager: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
    // The emulator serves S3 path-style only, as local S3 emulators do.
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
}

/** Starts one emulator for the file and returns a getter for it. */
export function useEmulator(options: AwsEmulatorOptions = {}): () => AwsEmulator {
  let emulator: AwsEmulator | undefined;
  beforeAll(async () => {
    emulator = await startAwsEmulator(options);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  return () => {
    if (!emulator) throw new Error('the emulator has not started');
    return emulator;
  };
}

/** An SDK service exception: `name` is the SDK's class name, `Code` the wire code (query protocol only). */
export type ServiceFailure = Error & { Code?: string; $metadata?: { httpStatusCode?: number } };

/** The rejection of a promise that must fail, for asserting on AWS error fields. */
export async function failure(promise: Promise<unknown>): Promise<ServiceFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

let counter = 0;
/** A user name unique within the run, so tests sharing an emulator do not collide. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;

/** The trust policy of a Lambda function's role. */
export const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** Creates a role with one inline policy (or none) through IAM's API and assumes it. */
export async function roleSession(
  emulator: AwsEmulator,
  statements: unknown[] | undefined,
): Promise<{ name: string; credentials: Credentials }> {
  const admin = clients(emulator);
  const name = uniqueName('role');
  const { Role } = await admin.iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST }),
  );
  if (statements) {
    await admin.iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: 'inline',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      }),
    );
  }
  const { Credentials: c } = await admin.sts.send(
    new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: 'session' }),
  );
  return {
    name,
    credentials: {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    },
  };
}
