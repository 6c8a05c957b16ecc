import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { type AwsEmulator, type RateLimitSettings, startAwsEmulator } from './aws/index.js';
import {
  LOCAL_FLEET_KEY_ALIAS,
  type LocalFleetBucket,
  localFleetBucket,
  registerLocalFleetKey,
} from './function-roles.js';
import { fleetMachine, routeEndedRotations } from './sfn/fleet.js';
import { rotatorMachine, type RotatorMachineOptions } from './sfn/index.js';
import { Traffic } from './traffic.js';
import { startVaultEmulator, type VaultEmulator } from './vault/index.js';

/** The home account: the rotator's, the one the local stack's admin credentials act in. */
export const HOME_ACCOUNT_ID = '123456789012';

export interface LocalStack {
  aws: AwsEmulator;
  vault: VaultEmulator;
  traffic: Traffic;
  /** The rotator's state machine on the Step Functions endpoint (which is `aws.endpoint`). */
  stateMachineArn: string;
  /** The fleet machine (statemachine/rotate-fleet.asl.json), whose children are the rotator's executions. */
  fleetStateMachineArn: string;
  /** The fleet's bucket in the home account, and the KMS key its objects are sealed with. */
  fleetBucket: LocalFleetBucket;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  awsPort?: number;
  vaultPort?: number;
  propagationMs?: number;
  /** IAM's rate limit (a token bucket per action, AWS's `Throttling` when empty); none by default. */
  iamRateLimit?: RateLimitSettings;
  tls?: { key: string; cert: string };
  /** Other accounts the AWS emulator models, each with its own IAM and STS state (not HOME_ACCOUNT_ID). */
  memberAccountIds?: string[];
  /** Wait states and retry pauses of executions started through the Step Functions endpoint. */
  stepFunctions?: Pick<RotatorMachineOptions, 'waitMs' | 'waitScale' | 'retryPauseMs' | 'handlers'>;
}

/**
 * The fleet's bucket and its key in the home account, as the deployment makes FleetBucket and
 * FleetBucketKey: made once per emulator, through the S3 and KMS APIs as the administrator.
 */
async function createFleetBucket(aws: AwsEmulator): Promise<LocalFleetBucket> {
  const config = { region: aws.region, endpoint: aws.endpoint, credentials: aws.adminCredentials };
  const kms = new KMSClient(config);
  const key = await kms.send(
    new CreateKeyCommand({ Description: "iam-key-rotator (local): seals the fleet bucket's objects" }),
  );
  const keyArn = key.KeyMetadata?.Arn;
  if (!keyArn) throw new Error('the local KMS returned no key ARN for the fleet bucket');
  await kms.send(new CreateAliasCommand({ AliasName: LOCAL_FLEET_KEY_ALIAS, TargetKeyId: keyArn }));
  registerLocalFleetKey(aws.region, aws.accountId, keyArn);
  const fleet = localFleetBucket(aws.region, aws.accountId);
  await new S3Client({ ...config, forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: fleet.bucket }),
  );
  return fleet;
}

/** Starts the AWS and Vault emulators on loopback, sharing one call counter and fault list. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const traffic = new Traffic();
  const aws = await startAwsEmulator({
    port: options.awsPort ?? 0,
    accountId: HOME_ACCOUNT_ID,
    propagationMs: options.propagationMs ?? 0,
    ...(options.iamRateLimit ? { iamRateLimit: options.iamRateLimit } : {}),
    ...(options.memberAccountIds ? { memberAccountIds: options.memberAccountIds } : {}),
    traffic,
  });
  const sfn = aws.stepFunctions;
  const stateMachineArn = sfn.machines.register(
    rotatorMachine({ region: aws.region, accountId: aws.accountId, sfn, ...options.stepFunctions }),
  );
  const fleetStateMachineArn = sfn.machines.register(fleetMachine({ sfn, rotatorArn: stateMachineArn }));
  routeEndedRotations(sfn, stateMachineArn);
  try {
    const fleetBucket = await createFleetBucket(aws);
    const vault = await startVaultEmulator({
      stsEndpoint: aws.endpoint,
      port: options.vaultPort ?? 0,
      traffic,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    return {
      aws,
      vault,
      traffic,
      stateMachineArn,
      fleetStateMachineArn,
      fleetBucket,
      close: async () => {
        await Promise.all([aws.close(), vault.close()]);
      },
    };
  } catch (error) {
    await aws.close();
    throw error;
  }
}
