import { z } from 'zod';
import type { JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { newSecretSuffix, newVersionId } from './ids.js';
import { constraintError, parseInput } from './json-input.js';
import type { AwsState } from './state.js';

/**
 * Secrets Manager over awsJson1_1 (X-Amz-Target: secretsmanager.<Action>). Values are kept in
 * memory in the clear: the emulator models the API, not the envelope encryption behind it.
 */

export const CURRENT = 'AWSCURRENT';
export const PREVIOUS = 'AWSPREVIOUS';

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MAX_VALUE_CHARS = 65_536;
const MIN_RECOVERY_DAYS = 7;
const MAX_RECOVERY_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export type SecretValue = { kind: 'string'; text: string } | { kind: 'binary'; base64: string };

export interface SecretVersion {
  versionId: string;
  value: SecretValue;
  createdDate: Date;
  /** Staging labels; a version without any is deprecated but still readable by VersionId. */
  stages: Set<string>;
}

export interface Secret {
  name: string;
  arn: string;
  description?: string;
  kmsKeyId?: string;
  createdDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
  /** Set by DeleteSecret: the secret is scheduled for deletion and refuses most calls. */
  deletedDate?: Date;
  versions: Map<string, SecretVersion>;
}

/** A secret without its values, for snapshots. */
export interface SecretInfo {
  name: string;
  arn: string;
  createdDate: string;
  lastChangedDate: string;
  deletedDate?: string;
  versions: { versionId: string; stages: string[]; createdDate: string }[];
}

export function secretInfo(secret: Secret): SecretInfo {
  const info: SecretInfo = {
    name: secret.name,
    arn: secret.arn,
    createdDate: secret.createdDate.toISOString(),
    lastChangedDate: secret.lastChangedDate.toISOString(),
    versions: [...secret.versions.values()].map((version) => ({
      versionId: version.versionId,
      stages: [...version.stages],
      createdDate: version.createdDate.toISOString(),
    })),
  };
  if (secret.deletedDate) info.deletedDate = secret.deletedDate.toISOString();
  return info;
}

const notFound = (): AwsServiceError =>
  new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

const markedForDeletion = (): AwsServiceError =>
  new AwsServiceError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );

const invalidName = (): AwsServiceError =>
  new AwsServiceError(
    'ValidationException',
    'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
  );

// awsJson encodes timestamps as epoch seconds.
const epoch = (date: Date): number => date.getTime() / 1000;

/** Finds a secret by name, full ARN, or partial ARN (the ARN without the random suffix). */
export function findSecret(state: AwsState, secretId: string): Secret {
  if (secretId.startsWith('arn:')) {
    for (const secret of state.secrets.values()) {
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    throw notFound();
  }
  if (!NAME.test(secretId)) throw invalidName();
  const secret = state.secrets.get(secretId);
  if (!secret) throw notFound();
  return secret;
}

function checkToken(token: string | undefined): string {
  if (token === undefined) return newVersionId();
  if (token.length < 32) {
    throw constraintError(token, 'clientRequestToken', 'Member must have length greater than or equal to 32');
  }
  if (token.length > 64) {
    throw constraintError(token, 'clientRequestToken', 'Member must have length less than or equal to 64');
  }
  return token;
}

/** The value a request carries: SecretString, SecretBinary (base64 on the wire), or none. */
function valueOf(input: { SecretString?: string | undefined; SecretBinary?: string | undefined }) {
  const { SecretString, SecretBinary } = input;
  if (SecretString !== undefined && SecretBinary !== undefined) {
    throw new AwsServiceError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (SecretString !== undefined) {
    if (SecretString.length > MAX_VALUE_CHARS) {
      throw constraintError(
        undefined,
        'secretString',
        `Member must have length less than or equal to ${MAX_VALUE_CHARS}`,
      );
    }
    return { kind: 'string', text: SecretString } satisfies SecretValue;
  }
  if (SecretBinary !== undefined) return { kind: 'binary', base64: SecretBinary } satisfies SecretValue;
  return undefined;
}

const sameValue = (a: SecretValue, b: SecretValue): boolean =>
  a.kind === 'string'
    ? b.kind === 'string' && a.text === b.text
    : b.kind === 'binary' && a.base64 === b.base64;

const stagesOf = (secret: Secret): Record<string, string[]> =>
  Object.fromEntries(
    [...secret.versions.values()]
      .filter((version) => version.stages.size > 0)
      .map((version) => [version.versionId, [...version.stages]]),
  );

export interface NewSecret {
  name: string;
  value?: SecretValue;
  clientRequestToken?: string;
  description?: string;
  kmsKeyId?: string;
}

/** CreateSecret: a secret and, if a value is given, its first version (AWSCURRENT). */
export function createSecret(
  state: AwsState,
  input: NewSecret,
): { secret: Secret; version: SecretVersion | undefined } {
  if (!NAME.test(input.name)) throw invalidName();
  const versionId = checkToken(input.clientRequestToken);
  const existing = state.secrets.get(input.name);
  if (existing?.deletedDate) {
    throw new AwsServiceError(
      'InvalidRequestException',
      "You can't create this secret because a secret with this name is already scheduled for deletion.",
    );
  }
  if (existing) {
    throw new AwsServiceError(
      'ResourceExistsException',
      `The operation failed because the secret ${input.name} already exists.`,
    );
  }
  const now = new Date();
  const secret: Secret = {
    name: input.name,
    arn: `arn:aws:secretsmanager:${state.region}:${state.accountId}:secret:${input.name}-${newSecretSuffix()}`,
    createdDate: now,
    lastChangedDate: now,
    versions: new Map(),
  };
  if (input.description !== undefined) secret.description = input.description;
  if (input.kmsKeyId !== undefined) secret.kmsKeyId = input.kmsKeyId;
  let version: SecretVersion | undefined;
  if (input.value !== undefined) {
    version = { versionId, value: input.value, createdDate: now, stages: new Set([CURRENT]) };
    secret.versions.set(versionId, version);
  }
  state.secrets.set(secret.name, secret);
  return { secret, version };
}

/**
 * PutSecretValue: a new version that takes `stages` (AWSCURRENT by default) from the versions
 * holding them; the version that loses AWSCURRENT becomes AWSPREVIOUS.
 */
export function putSecretValue(
  secret: Secret,
  value: SecretValue,
  token: string | undefined,
  stages: string[] = [CURRENT],
): SecretVersion {
  if (secret.deletedDate) throw markedForDeletion();
  const versionId = checkToken(token);
  const existing = secret.versions.get(versionId);
  if (existing) {
    // Idempotent retry with the same token and value; otherwise versions are immutable.
    if (sameValue(existing.value, value)) return existing;
    throw new AwsServiceError(
      'ResourceExistsException',
      "You can't modify an existing version, you can only create a new version.",
    );
  }
  const now = new Date();
  const version: SecretVersion = { versionId, value, createdDate: now, stages: new Set() };
  for (const stage of new Set(stages)) {
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
    holder?.stages.delete(stage);
    if (stage === CURRENT && holder) {
      for (const v of secret.versions.values()) v.stages.delete(PREVIOUS);
      holder.stages.add(PREVIOUS);
    }
    version.stages.add(stage);
  }
  secret.versions.set(versionId, version);
  secret.lastChangedDate = now;
  return version;
}

function versionFor(secret: Secret, versionId: string | undefined, stage: string | undefined): SecretVersion {
  if (versionId !== undefined) {
    const version = secret.versions.get(versionId);
    if (!version || (stage !== undefined && !version.stages.has(stage))) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    return version;
  }
  const label = stage ?? CURRENT;
  const version = [...secret.versions.values()].find((v) => v.stages.has(label));
  if (!version) {
    throw new AwsServiceError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for staging label: ${label}`,
    );
  }
  return version;
}

const SecretIdInput = z.string().min(1).max(2048);
const Token = z.string().optional();
const Value = { SecretString: z.string().optional(), SecretBinary: z.base64().optional() };

const CreateSecretInput = z.looseObject({
  Name: z.string().min(1),
  ClientRequestToken: Token,
  Description: z.string().max(2048).optional(),
  KmsKeyId: z.string().optional(),
  ...Value,
});
const GetSecretValueInput = z.looseObject({
  SecretId: SecretIdInput,
  VersionId: z.string().optional(),
  VersionStage: z.string().optional(),
});
const PutSecretValueInput = z.looseObject({
  SecretId: SecretIdInput,
  ClientRequestToken: Token,
  VersionStages: z.array(z.string().min(1)).min(1).max(20).optional(),
  ...Value,
});
const DescribeSecretInput = z.looseObject({ SecretId: SecretIdInput });
const DeleteSecretInput = z.looseObject({
  SecretId: SecretIdInput,
  RecoveryWindowInDays: z.number().int().optional(),
  ForceDeleteWithoutRecovery: z.boolean().optional(),
});

export const secretsManagerActions: ReadonlyMap<string, JsonHandler> = new Map<string, JsonHandler>([
  [
    'CreateSecret',
    (input, { state }) => {
      const { Name, ClientRequestToken, Description, KmsKeyId, ...rest } = parseInput(
        CreateSecretInput,
        input,
      );
      const value = valueOf(rest);
      const { secret, version } = createSecret(state, {
        name: Name,
        ...(value !== undefined ? { value } : {}),
        ...(ClientRequestToken !== undefined ? { clientRequestToken: ClientRequestToken } : {}),
        ...(Description !== undefined ? { description: Description } : {}),
        ...(KmsKeyId !== undefined ? { kmsKeyId: KmsKeyId } : {}),
      });
      return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.versionId } : {}) };
    },
  ],
  [
    'GetSecretValue',
    (input, { state }) => {
      const { SecretId, VersionId, VersionStage } = parseInput(GetSecretValueInput, input);
      const secret = findSecret(state, SecretId);
      if (secret.deletedDate) throw markedForDeletion();
      const version = versionFor(secret, VersionId, VersionStage);
      // AWS records the last access by day.
      secret.lastAccessedDate = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.value.kind === 'string'
          ? { SecretString: version.value.text }
          : { SecretBinary: version.value.base64 }),
        VersionStages: [...version.stages],
        CreatedDate: epoch(version.createdDate),
      };
    },
  ],
  [
    'PutSecretValue',
    (input, { state }) => {
      const { SecretId, ClientRequestToken, VersionStages, ...rest } = parseInput(PutSecretValueInput, input);
      const secret = findSecret(state, SecretId);
      const value = valueOf(rest);
      if (value === undefined) {
        if (secret.deletedDate) throw markedForDeletion();
        throw new AwsServiceError(
          'InvalidParameterException',
          'You must provide either SecretString or SecretBinary.',
        );
      }
      const version = putSecretValue(secret, value, ClientRequestToken, VersionStages);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: [...version.stages],
      };
    },
  ],
  [
    'DescribeSecret',
    (input, { state }) => {
      const secret = findSecret(state, parseInput(DescribeSecretInput, input).SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description !== undefined ? { Description: secret.description } : {}),
        ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
        LastChangedDate: epoch(secret.lastChangedDate),
        ...(secret.lastAccessedDate ? { LastAccessedDate: epoch(secret.lastAccessedDate) } : {}),
        ...(secret.deletedDate ? { DeletedDate: epoch(secret.deletedDate) } : {}),
        VersionIdsToStages: stagesOf(secret),
        CreatedDate: epoch(secret.createdDate),
      };
    },
  ],
  [
    'DeleteSecret',
    (input, { state }) => {
      const { SecretId, RecoveryWindowInDays, ForceDeleteWithoutRecovery } = parseInput(
        DeleteSecretInput,
        input,
      );
      const secret = findSecret(state, SecretId);
      if (ForceDeleteWithoutRecovery === true && RecoveryWindowInDays !== undefined) {
        throw new AwsServiceError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      const days = RecoveryWindowInDays ?? MAX_RECOVERY_DAYS;
      if (days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
        throw new AwsServiceError(
          'InvalidParameterException',
          `The RecoveryWindowInDays value must be between ${MIN_RECOVERY_DAYS} and ${MAX_RECOVERY_DAYS} days (inclusive).`,
        );
      }
      const now = new Date();
      if (ForceDeleteWithoutRecovery === true) {
        state.secrets.delete(secret.name);
        return { ARN: secret.arn, Name: secret.name, DeletionDate: epoch(now) };
      }
      if (secret.deletedDate) throw markedForDeletion();
      secret.deletedDate = now;
      return {
        ARN: secret.arn,
        Name: secret.name,
        DeletionDate: epoch(new Date(now.getTime() + days * DAY_MS)),
      };
    },
  ],
]);

/** What seeding a secret returns: where it is, never its value. */
export interface SeededSecret {
  arn: string;
  name: string;
  versionId: string;
}

/** Seeds a secret with a string value as its AWSCURRENT version (admin and programmatic API). */
export function seedSecret(state: AwsState, name: string, value: string): SeededSecret {
  const { secret, version } = createSecret(state, { name, value: { kind: 'string', text: value } });
  return { arn: secret.arn, name: secret.name, versionId: version?.versionId ?? '' };
}
