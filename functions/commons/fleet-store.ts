import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { awsFailure, errorCode } from './aws.js';
import { s3Client } from './clients/s3.js';
import { ConfigurationError } from './errors.js';
import { DEFAULT_MAX_DUE_PER_ACCOUNT, MAX_DUE_PER_ACCOUNT_LIMIT } from './fleet-input.js';
import { parseEnvironment } from './environment.js';
import * as z from './zod.js';

/** The fleet's deployment settings (serverless.yml gives each fleet function those it reads). */
const Env = z.object({
  /** The bucket a fleet run keeps its due users, listings, results and summary in. */
  ROTATOR_FLEET_BUCKET: z
    .string()
    .check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')),
  /** The bucket's KMS key: every object the functions write is sealed with it. */
  ROTATOR_FLEET_BUCKET_KEY_ID: z.optional(z.string().check(z.minLength(1))),
  /** The deployment's maxDuePerAccount: the default, and the most a fleet input may ask for. */
  ROTATOR_MAX_DUE_PER_ACCOUNT: z._default(
    z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_DUE_PER_ACCOUNT_LIMIT)),
    DEFAULT_MAX_DUE_PER_ACCOUNT,
  ),
});

export interface FleetSettings {
  bucket: string;
  keyId: string | undefined;
  maxDuePerAccount: number;
}

/** Reads the fleet settings from an environment; throws ConfigurationError naming every bad variable. */
export function loadFleetSettings(env: NodeJS.ProcessEnv): FleetSettings {
  const e = parseEnvironment(Env, env);
  return {
    bucket: e.ROTATOR_FLEET_BUCKET,
    keyId: e.ROTATOR_FLEET_BUCKET_KEY_ID,
    maxDuePerAccount: e.ROTATOR_MAX_DUE_PER_ACCOUNT,
  };
}

let cached: FleetSettings | undefined;

/** The fleet settings, read from the environment once per Lambda container. */
export function fleetSettings(): FleetSettings {
  cached ??= loadFleetSettings(process.env);
  return cached;
}

/** An execution ARN ends with the execution's name. */
export const executionNameOf = (executionArn: string): string =>
  executionArn.slice(executionArn.lastIndexOf(':') + 1);

/**
 * Where one fleet run keeps its objects, all under `runs/<fleet execution name>/` (the roles may
 * write nothing else): the same keys for every attempt of a step, so a retried step overwrites.
 */
export function runKeys(executionArn: string) {
  const run = `runs/${executionNameOf(executionArn)}`;
  return {
    due: (accountId: string) => `${run}/due/${accountId}.jsonl`,
    account: (accountId: string) => `${run}/accounts/${accountId}.json`,
    manifest: `${run}/due.manifest`,
    /** The Distributed Map's ResultWriter prefix. */
    results: `${run}/results`,
    summary: `${run}/summary.json`,
  };
}

/**
 * Writes an object to the fleet's bucket, sealed with the bucket's key (SSE-KMS, an S3 Bucket Key:
 * one data key per bucket, not per object). Names and ids only ever go in.
 */
async function putObject(key: string, body: string, contentType: string): Promise<void> {
  const { bucket, keyId } = fleetSettings();
  if (keyId === undefined)
    throw new ConfigurationError('invalid environment: ROTATOR_FLEET_BUCKET_KEY_ID: required');
  try {
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: keyId,
        BucketKeyEnabled: true,
      }),
    );
  } catch (error) {
    throw awsFailure('s3:PutObject', error);
  }
}

export const putJson = (key: string, value: unknown): Promise<void> =>
  putObject(key, JSON.stringify(value), 'application/json');

/** One JSON document per line (what the Distributed Map's ItemReader reads as JSONL). */
export const putJsonLines = (key: string, values: unknown[]): Promise<void> =>
  putObject(key, values.map((v) => `${JSON.stringify(v)}\n`).join(''), 'application/x-ndjson');

/** A plain text object (the Athena manifest). */
export const putText = (key: string, text: string): Promise<void> => putObject(key, text, 'text/plain');

/** An object of the fleet's bucket as text; undefined when there is none under the key. */
export async function getText(key: string): Promise<string | undefined> {
  const { bucket } = fleetSettings();
  try {
    const out = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (errorCode(error) === 'NoSuchKey') return undefined;
    throw awsFailure('s3:GetObject', error);
  }
}
