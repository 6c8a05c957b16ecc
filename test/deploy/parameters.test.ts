// deploy/template.cjs called as serverless calls it, without packaging: the parameter shapes that
// need no bundle (AppRole credentials, and the deployments refused at package time).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VAULT_FUNCTIONS, VAULT_WRITERS } from '../../deploy/policies.cjs';
import { environment, resources, vpc } from '../../deploy/template.cjs';
import { TEMPLATE_PARAMS, pascal, templateContext } from './template.js';

const context = (params: Record<string, unknown>) => templateContext(params);

describe('deploy/template.cjs', () => {
  it('is called here with serverless.yml’s defaults, the one source of the parameters', async () => {
    const serverless = parse(await readFile('serverless.yml', 'utf8')) as {
      params: { default: Record<string, unknown> };
    };
    const defaults = Object.fromEntries(
      Object.keys(TEMPLATE_PARAMS).map((name) => [name, String(serverless.params.default[name])]),
    );
    expect(defaults).toEqual(TEMPLATE_PARAMS);
  });

  it('lets only storeInVault and restoreVault read the writer’s AppRole secret_id, the others the reader’s', async () => {
    const { Resources } = await resources(
      context({
        vaultAuthMethod: 'approle',
        vaultAppRoleRoleId: 'reader-role-id',
        vaultAppRoleSecretIdArn: 'rotator/reader-secret-id',
        vaultWriterAppRoleRoleId: 'writer-role-id',
        vaultWriterAppRoleSecretIdArn: 'rotator/writer-secret-id',
      }),
    );
    const reads = (fn: string) => JSON.stringify(Resources[`${pascal(fn)}Role`]?.Properties.Policies);
    for (const fn of VAULT_FUNCTIONS) {
      const writer = VAULT_WRITERS.includes(fn);
      expect(reads(fn).includes(':secret:rotator/writer-secret-id-??????')).toBe(writer);
      expect(reads(fn).includes(':secret:rotator/reader-secret-id-??????')).toBe(!writer);
    }
    expect(reads('validateInput')).not.toContain('secretsmanager');
  });

  it('gives SSM parameter names their leading slash in the environment, and no VPC by default', async () => {
    await expect(
      environment(context({ vaultTokenParameter: 'a/reader', vaultWriterTokenParameter: 'a/writer' })),
    ).resolves.toEqual({
      readerTokenParameter: '/a/reader',
      writerTokenParameter: '/a/writer',
      caParameter: '',
      allowedAccountIds: '',
      targetRoleName: 'iam-key-rotator-target',
      targetExternalId: '',
      maxDuePerAccount: '1000',
    });
    await expect(vpc(context({}))).resolves.toBe(false);
    await expect(
      vpc(context({ vpcSubnetIds: ['subnet-0123456789abcdef0'], vpcSecurityGroupIds: 'sg-01234567' })),
    ).resolves.toEqual({ subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-01234567'] });
  });

  it('hands the functions the other accounts as one comma-separated list, however they were written', async () => {
    await expect(
      environment(
        context({
          allowedAccountIds: [' 222222222222', '333333333333 ', '222222222222'],
          targetRoleName: 'rotator-target',
          targetExternalId: 'rotator-ext-id',
          vaultPathTemplate: '{prefix}{accountId}/{userName}',
        }),
      ),
    ).resolves.toMatchObject({
      allowedAccountIds: '222222222222,333333333333',
      targetRoleName: 'rotator-target',
      targetExternalId: 'rotator-ext-id',
    });
  });

  it.each([
    [{ vpcSubnetIds: 'subnet-0123456789abcdef0' }, 'vpcSubnetIds and vpcSecurityGroupIds go together'],
    [{ vpcSubnetIds: 'subnet-1', vpcSecurityGroupIds: 'sg-01234567' }, 'subnet-1 is not a subnet id'],
    [
      { vaultAuthMethod: 'token', vaultTokenSecretArn: 'r' },
      'vaultWriterTokenSecretArn and vaultWriterTokenParameter',
    ],
    [
      { vaultAuthMethod: 'token', vaultTokenSecretArn: 'same', vaultWriterTokenSecretArn: 'same' },
      'the reader and the writer need tokens of their own',
    ],
    [
      { vaultAuthMethod: 'approle', vaultAppRoleRoleId: 'r', vaultAppRoleSecretIdArn: 's' },
      'vaultAuthMethod=approle needs vaultWriterAppRoleRoleId',
    ],
    [{ alertEmail: 'ops' }, 'alertEmail ops is not an e-mail address'],
    [
      {
        allowedAccountIds: '222222222222,33333333333',
        targetExternalId: 'rotator-ext-id',
        vaultPathTemplate: '{prefix}{accountId}/{userName}',
      },
      'allowedAccountIds: 33333333333 is not a 12-digit account id',
    ],
    [{ allowedAccountIds: '222222222222' }, 'allowedAccountIds needs targetExternalId'],
    [
      { allowedAccountIds: '222222222222', targetExternalId: 'rotator-ext-id' },
      'allowedAccountIds needs a segment {accountId}/ before {userName} in vaultPathTemplate',
    ],
    [
      {
        allowedAccountIds: '222222222222',
        targetExternalId: 'rotator-ext-id',
        vaultPathTemplate: '{prefix}{userName}/{accountId}/key',
      },
      'allowedAccountIds needs a segment {accountId}/ before {userName} in vaultPathTemplate',
    ],
    [
      {
        allowedAccountIds: '222222222222',
        targetExternalId: 'x',
        vaultPathTemplate: '{prefix}{accountId}/{userName}',
      },
      'targetExternalId is 2-1024 of [\\w+=,.@:/-]',
    ],
    [{ targetExternalId: 'has space' }, 'targetExternalId is 2-1024 of'],
    [{ targetRoleName: 'a/b' }, "targetRoleName 'a/b' is not an IAM role name"],
    [
      { vaultCaParameter: '/rotator/ca' },
      'vaultCaParameter is an SSM parameter name without its leading slash',
    ],
  ])('refuses %j at package time', async (params, message) => {
    await expect(resources(context(params))).rejects.toThrow(message);
  });
});
