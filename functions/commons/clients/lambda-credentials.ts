import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

type Init = Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0];

/**
 * What the deployed bundles use in place of @aws-sdk/credential-provider-node's defaultProvider
 * (serverless.yml custom.esbuild.alias). Lambda hands a function its role's credentials in the
 * environment, or at a container credentials endpoint; the default chain's other links (profiles,
 * SSO, web identity, instance metadata: ~145 KB of every bundle) never run there. Tests and the
 * local stack run the sources, with the SDK's own chain.
 */
export const defaultProvider =
  (init: Init = {}): AwsCredentialIdentityProvider =>
  async (properties) => {
    const { AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI } = process.env;
    try {
      return await fromEnv(init)(properties);
    } catch (error) {
      if (!AWS_CONTAINER_CREDENTIALS_FULL_URI && !AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) throw error;
      return fromHttp(init)(properties);
    }
  };
