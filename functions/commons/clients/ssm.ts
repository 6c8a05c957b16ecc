import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig } from '../aws.js';

let client: SSMClient | undefined;

/** A (SecureString) parameter's value, decrypted; the client is created on first use. */
export async function readParameter(name: string): Promise<string | undefined> {
  client ??= new SSMClient(clientConfig());
  return (await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
}
