import { z } from 'zod';
import type { JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { constraintError, parseInput } from './json-input.js';
import { awsManagedKey, resolveKey, usageOf } from './kms-keys.js';
import { open, parseBlob, seal } from './kms-crypto.js';
import type { AwsState, KmsKey } from './state.js';

/**
 * SSM Parameter Store over awsJson1_1 (X-Amz-Target: AmazonSSM.<Action>). SecureString values
 * are sealed with an emulated KMS key (alias/aws/ssm unless KeyId names another) under the
 * encryption context {PARAMETER_ARN: arn}, as Parameter Store does; without WithDecryption,
 * GetParameter answers with that ciphertext in base64, as AWS does.
 */

export type ParameterType = 'String' | 'StringList' | 'SecureString';
type Tier = 'Standard' | 'Advanced';

export const DEFAULT_SSM_KEY_ALIAS = 'alias/aws/ssm';
const DEFAULT_KEY_DESCRIPTION =
  'Default master key that protects my SSM parameters when no other key is defined';
const MAX_VALUE_CHARS: Record<Tier, number> = { Standard: 4096, Advanced: 8192 };
const MAX_GET_PARAMETERS = 10;

// Letters, digits and . - _ in each path segment; a name with a slash must start with one.
const NAME = /^(?:\/?[a-zA-Z0-9_.-]+)(?:\/[a-zA-Z0-9_.-]+)*$/;
const RESERVED = /^\/?(?:aws|ssm)/i;

export interface ParameterVersion {
  version: number;
  type: ParameterType;
  /** The plaintext, or for a SecureString the base64 ciphertext. */
  stored: string;
  /** The key a SecureString is sealed with, as the caller named it (or alias/aws/ssm). */
  keyId?: string;
  tier: Tier;
  description?: string;
  lastModifiedDate: Date;
}

export interface Parameter {
  name: string;
  arn: string;
  /** Oldest first; the last one is current. */
  versions: ParameterVersion[];
}

/** A parameter without its value, for snapshots. */
export interface ParameterInfo {
  name: string;
  arn: string;
  type: ParameterType;
  version: number;
  tier: Tier;
  lastModifiedDate: string;
  keyId?: string;
}

function current(parameter: Parameter): ParameterVersion {
  const latest = parameter.versions.at(-1);
  if (!latest) throw new Error(`parameter ${parameter.name} has no versions`);
  return latest;
}

export function parameterInfo(parameter: Parameter): ParameterInfo {
  const latest = current(parameter);
  const info: ParameterInfo = {
    name: parameter.name,
    arn: parameter.arn,
    type: latest.type,
    version: latest.version,
    tier: latest.tier,
    lastModifiedDate: latest.lastModifiedDate.toISOString(),
  };
  if (latest.keyId !== undefined) info.keyId = latest.keyId;
  return info;
}

// SSM sends ParameterNotFound without a message.
const parameterNotFound = (): AwsServiceError => new AwsServiceError('ParameterNotFound', '');

const invalidName = (): AwsServiceError =>
  new AwsServiceError(
    'ValidationException',
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can ' +
      'consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers ' +
      'and the following 3 symbols .-_',
  );

const parameterArn = (state: AwsState, name: string): string =>
  `arn:aws:ssm:${state.region}:${state.accountId}:parameter/${name.replace(/^\//, '')}`;

const context = (arn: string) => ({ PARAMETER_ARN: arn });

function encryptionKey(state: AwsState, keyId: string | undefined): KmsKey {
  if (keyId === undefined || keyId === DEFAULT_SSM_KEY_ALIAS) {
    return awsManagedKey(state, DEFAULT_SSM_KEY_ALIAS, DEFAULT_KEY_DESCRIPTION);
  }
  const invalid = new AwsServiceError('InvalidKeyId', `Invalid keyId ${keyId}`);
  let key: KmsKey;
  try {
    key = resolveKey(state, keyId);
  } catch (error) {
    if (error instanceof AwsServiceError && error.code === 'NotFoundException') throw invalid;
    throw error;
  }
  // SSM can only seal with an encryption key; an HMAC key's material is no AES key.
  if (usageOf(key.spec) !== 'ENCRYPT_DECRYPT') throw invalid;
  return key;
}

export interface NewParameter {
  name: string;
  value: string;
  type?: ParameterType;
  overwrite?: boolean;
  keyId?: string;
  tier?: Tier;
  description?: string;
}

/** PutParameter: version 1, or the next version when `overwrite` is set. */
export function putParameter(
  state: AwsState,
  input: NewParameter,
): { parameter: Parameter; version: ParameterVersion } {
  if (!NAME.test(input.name) || RESERVED.test(input.name)) throw invalidName();
  const existing = state.parameters.get(input.name);
  if (existing && input.overwrite !== true) {
    throw new AwsServiceError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
  }
  const type = input.type ?? (existing ? current(existing).type : undefined);
  if (type === undefined) {
    throw new AwsServiceError(
      'ValidationException',
      'A parameter type is required when you create a parameter.',
    );
  }
  if (input.keyId !== undefined && type !== 'SecureString') {
    throw new AwsServiceError(
      'ValidationException',
      'KeyId is required for SecureString type parameter only.',
    );
  }
  const tier = input.tier ?? 'Standard';
  if (input.value.length === 0) {
    throw constraintError('', 'value', 'Member must have length greater than or equal to 1');
  }
  if (input.value.length > MAX_VALUE_CHARS[tier]) {
    throw new AwsServiceError(
      'ValidationException',
      tier === 'Standard'
        ? 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger ' +
            'parameter value, upgrade the parameter to use the advanced-parameter tier.'
        : 'Advanced tier parameters support a maximum parameter value of 8192 characters.',
    );
  }
  const parameter: Parameter = existing ?? {
    name: input.name,
    arn: parameterArn(state, input.name),
    versions: [],
  };
  const version: ParameterVersion = {
    version: (existing ? current(existing).version : 0) + 1,
    type,
    stored: input.value,
    tier,
    lastModifiedDate: new Date(),
  };
  if (input.description !== undefined) version.description = input.description;
  if (type === 'SecureString') {
    const key = encryptionKey(state, input.keyId);
    version.keyId = input.keyId ?? DEFAULT_SSM_KEY_ALIAS;
    version.stored = seal(
      key.keyId,
      key.material,
      Buffer.from(input.value, 'utf8'),
      context(parameter.arn),
    ).toString('base64');
  }
  parameter.versions.push(version);
  state.parameters.set(parameter.name, parameter);
  return { parameter, version };
}

/** Resolves `name`, `name:version` or a parameter ARN to one version of a parameter. */
function lookUp(
  state: AwsState,
  reference: string,
): { parameter: Parameter; version: ParameterVersion; selector?: string } {
  // Names hold no colon, so the first one after the name (or after an ARN's `:parameter/`) starts a selector.
  const start = reference.startsWith('arn:') ? reference.indexOf(':parameter/') + 1 : 0;
  const colon = reference.indexOf(':', start);
  const base = colon < 0 ? reference : reference.slice(0, colon);
  const selector = colon < 0 ? undefined : reference.slice(colon);
  let name = base;
  const arn = /^arn:aws:ssm:[^:]*:\d{12}:parameter\/(.+)$/.exec(base)?.[1];
  if (arn !== undefined) name = state.parameters.has(arn) ? arn : `/${arn}`;
  const parameter = state.parameters.get(name);
  if (!parameter || (arn !== undefined && parameter.arn !== base)) throw parameterNotFound();
  if (selector === undefined) return { parameter, version: current(parameter) };
  const wanted = /^:(\d+)$/.exec(selector)?.[1];
  const version =
    wanted === undefined ? undefined : parameter.versions.find((v) => v.version === Number(wanted));
  if (!version) {
    // Labels are not emulated, so a label selector never matches either.
    throw new AwsServiceError(
      'ParameterVersionNotFound',
      `Systems Manager could not find version ${selector.slice(1)} of ${parameter.name}. Verify the version and try again.`,
    );
  }
  return { parameter, version, selector };
}

function reveal(state: AwsState, parameter: Parameter, version: ParameterVersion): string {
  const parsed = parseBlob(Buffer.from(version.stored, 'base64'));
  const key = parsed === undefined ? undefined : state.kmsKeys.get(parsed.keyId);
  const plaintext = parsed && key ? open(parsed, key.material, context(parameter.arn)) : undefined;
  if (plaintext === undefined)
    throw new AwsServiceError('InternalServerError', 'An internal error occurred.', 500);
  return plaintext.toString('utf8');
}

function describe(
  state: AwsState,
  found: { parameter: Parameter; version: ParameterVersion; selector?: string },
  withDecryption: boolean,
): Record<string, unknown> {
  const { parameter, version, selector } = found;
  const value =
    version.type === 'SecureString' && withDecryption ? reveal(state, parameter, version) : version.stored;
  return {
    Name: parameter.name,
    Type: version.type,
    Value: value,
    Version: version.version,
    ...(selector !== undefined ? { Selector: selector } : {}),
    // awsJson encodes timestamps as epoch seconds.
    LastModifiedDate: version.lastModifiedDate.getTime() / 1000,
    ARN: parameter.arn,
    DataType: 'text',
  };
}

const PutParameterInput = z.looseObject({
  Name: z.string().min(1).max(2048),
  Value: z.string(),
  Type: z.enum(['String', 'StringList', 'SecureString']).optional(),
  Overwrite: z.boolean().optional(),
  KeyId: z.string().min(1).optional(),
  Tier: z.enum(['Standard', 'Advanced']).optional(),
  Description: z.string().max(1024).optional(),
  DataType: z.literal('text').optional(),
});
const GetParameterInput = z.looseObject({ Name: z.string().min(1), WithDecryption: z.boolean().optional() });
const GetParametersInput = z.looseObject({
  Names: z.array(z.string().min(1)).min(1),
  WithDecryption: z.boolean().optional(),
});
const DeleteParameterInput = z.looseObject({ Name: z.string().min(1) });

export const ssmActions: ReadonlyMap<string, JsonHandler> = new Map<string, JsonHandler>([
  [
    'PutParameter',
    (input, { state }) => {
      const { Name, Value, Type, Overwrite, KeyId, Tier, Description } = parseInput(PutParameterInput, input);
      const { version } = putParameter(state, {
        name: Name,
        value: Value,
        ...(Type !== undefined ? { type: Type } : {}),
        ...(Overwrite !== undefined ? { overwrite: Overwrite } : {}),
        ...(KeyId !== undefined ? { keyId: KeyId } : {}),
        ...(Tier !== undefined ? { tier: Tier } : {}),
        ...(Description !== undefined ? { description: Description } : {}),
      });
      return { Version: version.version, Tier: version.tier };
    },
  ],
  [
    'GetParameter',
    (input, { state }) => {
      const { Name, WithDecryption } = parseInput(GetParameterInput, input);
      return { Parameter: describe(state, lookUp(state, Name), WithDecryption === true) };
    },
  ],
  [
    'GetParameters',
    (input, { state }) => {
      const { Names, WithDecryption } = parseInput(GetParametersInput, input);
      if (Names.length > MAX_GET_PARAMETERS) {
        throw constraintError(
          `[${Names.join(', ')}]`,
          'names',
          `Member must have length less than or equal to ${MAX_GET_PARAMETERS}`,
        );
      }
      const parameters: Record<string, unknown>[] = [];
      const invalid: string[] = [];
      for (const name of new Set(Names)) {
        try {
          parameters.push(describe(state, lookUp(state, name), WithDecryption === true));
        } catch (error) {
          if (!(error instanceof AwsServiceError)) throw error;
          if (error.code !== 'ParameterNotFound' && error.code !== 'ParameterVersionNotFound') throw error;
          invalid.push(name);
        }
      }
      return { Parameters: parameters, InvalidParameters: invalid };
    },
  ],
  [
    'DeleteParameter',
    (input, { state }) => {
      const { Name } = parseInput(DeleteParameterInput, input);
      if (!state.parameters.delete(Name)) throw parameterNotFound();
      return {};
    },
  ],
]);

/** Seeds (or overwrites, adding a version) a parameter (admin and programmatic API). */
export function seedParameter(
  state: AwsState,
  name: string,
  value: string,
  type: ParameterType,
): ParameterInfo {
  return parameterInfo(putParameter(state, { name, value, type, overwrite: true }).parameter);
}
