import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '../aws.js';

let client: SecretsManagerClient | undefined;

/** A secret's string value; the client is created on first use. */
export async function readSecret(secretId: string): Promise<string | undefined> {
  client ??= new SecretsManagerClient(clientConfig());
  return (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
}
