import { type AwsEmulator, startAwsEmulator } from './aws/index.js';
import { Traffic } from './traffic.js';
import { startVaultEmulator, type VaultEmulator } from './vault/index.js';

export interface LocalStack {
  aws: AwsEmulator;
  vault: VaultEmulator;
  traffic: Traffic;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  awsPort?: number;
  vaultPort?: number;
  propagationMs?: number;
  tls?: { key: string; cert: string };
}

/** Starts the AWS and Vault emulators on loopback, sharing one call counter and fault list. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const traffic = new Traffic();
  const aws = await startAwsEmulator({
    port: options.awsPort ?? 0,
    propagationMs: options.propagationMs ?? 0,
    traffic,
  });
  try {
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
      close: async () => {
        await Promise.all([aws.close(), vault.close()]);
      },
    };
  } catch (error) {
    await aws.close();
    throw error;
  }
}
