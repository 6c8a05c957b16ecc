import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { installEnvironmentView, withFunctionEnvironment } from '../../local-stack/function-environment.js';
import { useEmulator } from '../local-stack/aws/helpers.js';

const emulator = useEmulator();

describe('each invocation sees its own function environment', () => {
  it('overlays variables for the scope and everything it awaits, and nothing outside', async () => {
    installEnvironmentView();
    const read = async (delay: number) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return process.env.FN_ENV_PROBE;
    };
    const [a, b] = await Promise.all([
      withFunctionEnvironment({ FN_ENV_PROBE: 'a' }, () => read(20)),
      withFunctionEnvironment({ FN_ENV_PROBE: 'b' }, () => read(5)),
    ]);
    expect([a, b]).toEqual(['a', 'b']);
    expect(process.env.FN_ENV_PROBE).toBeUndefined();
    expect(withFunctionEnvironment({ FN_ENV_PROBE: 'c' }, () => Object.keys(process.env))).toContain(
      'FN_ENV_PROBE',
    );
  });

  it('one SDK client made with the default credential chain signs each request with its scope’s keys', async () => {
    installEnvironmentView();
    const aws = emulator();
    const users = ['env-scope-a', 'env-scope-b'];
    const keys = users.map((name) => {
      aws.createUser(name);
      const key = aws.createAccessKey(name);
      return { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey };
    });
    // Created outside any scope, like the handlers' shared clients; the process keys are the admin's.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: aws.adminCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.adminCredentials.secretAccessKey,
    });
    const sts = new STSClient({ endpoint: aws.endpoint, region: aws.region });
    const whoAmI = async () => (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    expect(await whoAmI()).toMatch(/:user\/local-admin$/);
    const rounds = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withFunctionEnvironment(keys[i % 2] ?? {}, () => Promise.all([whoAmI(), whoAmI()])),
      ),
    );
    rounds.forEach((arns, i) => {
      for (const arn of arns) expect(arn).toMatch(new RegExp(`:user/${users[i % 2]}$`));
    });
    expect(await whoAmI()).toMatch(/:user\/local-admin$/);
  });

  it('a client given credentials keeps them inside a scope (verifyKey signs with the new key)', async () => {
    installEnvironmentView();
    const aws = emulator();
    aws.createUser('env-explicit');
    const explicit = aws.createAccessKey('env-explicit');
    aws.createUser('env-scoped');
    const scoped = aws.createAccessKey('env-scoped');
    const sts = new STSClient({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: { accessKeyId: explicit.accessKeyId, secretAccessKey: explicit.secretAccessKey },
    });
    const arn = await withFunctionEnvironment(
      { AWS_ACCESS_KEY_ID: scoped.accessKeyId, AWS_SECRET_ACCESS_KEY: scoped.secretAccessKey },
      async () => (await sts.send(new GetCallerIdentityCommand({}))).Arn,
    );
    expect(arn).toMatch(/:user\/env-explicit$/);
  });
});
