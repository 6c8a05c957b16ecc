import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../../../functions/commons/clients/lambda-credentials.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the deployed bundles’ credential chain', () => {
  it('reads the role’s credentials from the environment afresh on each call', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'first-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'first-token');
    const provider = defaultProvider();
    expect(await provider()).toMatchObject({
      accessKeyId: 'AKIAFIRST',
      secretAccessKey: 'first-secret',
      sessionToken: 'first-token',
    });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIASECOND');
    expect(await provider()).toMatchObject({ accessKeyId: 'AKIASECOND' });
  });

  it('fails like the SDK’s chain when neither the environment nor a container endpoint has credentials', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', '');
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '');
    await expect(defaultProvider()()).rejects.toMatchObject({ name: 'CredentialsProviderError' });
  });
});
