import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { awsFailure, clientConfig } from './aws.js';
import type { SecretSource } from './vault/config.js';

let clients: { secretsManager: SecretsManagerClient; ssm: SSMClient } | undefined;

function sdk() {
  clients ??= {
    secretsManager: new SecretsManagerClient(clientConfig()),
    ssm: new SSMClient(clientConfig()),
  };
  return clients;
}

/** Reads a value from the environment, a Secrets Manager secret or an SSM (SecureString) parameter. */
export async function readSecretSource(source: SecretSource): Promise<string | undefined> {
  try {
    switch (source.kind) {
      case 'env':
        return source.value;
      case 'secrets-manager':
        return (await sdk().secretsManager.send(new GetSecretValueCommand({ SecretId: source.secretId })))
          .SecretString;
      case 'ssm':
        return (
          await sdk().ssm.send(new GetParameterCommand({ Name: source.parameter, WithDecryption: true }))
        ).Parameter?.Value;
    }
  } catch (error) {
    throw awsFailure(source.kind === 'ssm' ? 'ssm:GetParameter' : 'secretsmanager:GetSecretValue', error);
  }
}

/** Where a source is, for messages (never its value). */
export function describeSource(source: SecretSource): string {
  switch (source.kind) {
    case 'env':
      return 'the environment';
    case 'secrets-manager':
      return `secret ${source.secretId}`;
    case 'ssm':
      return `parameter ${source.parameter}`;
  }
}

/** A value that is either the plain string or JSON holding it under `field`. */
export function plainOrJson(raw: string | undefined, field: string): string | undefined {
  const text = raw?.trim() ?? '';
  if (!text.startsWith('{')) return text.length > 0 ? text : undefined;
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
