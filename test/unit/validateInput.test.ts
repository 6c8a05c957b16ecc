import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import { ACCOUNT_ID, EXECUTION, rejectionOf, resetBeforeEach, setHandlerEnv, STARTED_AT } from './support.js';

type Handler = (event: unknown) => Promise<Request>;
let handler: Handler;

const event = (input: unknown) => ({ input, execution: EXECUTION, startedAt: STARTED_AT });

/** Another account, and a deployment's variables that allow it. */
const MEMBER = '222222222222';
const MEMBERS = {
  ROTATOR_ALLOWED_ACCOUNT_IDS: MEMBER,
  ROTATOR_TARGET_EXTERNAL_ID: 'rotator-external-id',
  VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}',
};

/** The handler of a deployment with these variables (on top of the unit-test environment). */
async function deployment(env: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const other = (await import('../../functions/validateInput.js')).handler;
    // config() reads process.env on its first call: make that call under these variables.
    await other(event({ userName: 'warm-up' }));
    return other;
  } finally {
    process.env = saved;
  }
}

beforeAll(async () => {
  // validateInput makes no calls: nothing listens at this address.
  setHandlerEnv({ addr: 'http://127.0.0.1:9', rootToken: 'unused' });
  ({ handler } = await import('../../functions/validateInput.js'));
});

describe('validateInput handler', () => {
  describe('defaults', () => {
    it('fills in the vault path below the prefix and the deployment defaults', async () => {
      await expect(handler(event({ userName: 'alice' }))).resolves.toEqual({
        userName: 'alice',
        accountId: ACCOUNT_ID,
        vaultPath: 'aws/iam-users/alice',
        defaultVaultPath: 'aws/iam-users/alice',
        dryRun: false,
        graceSeconds: 900,
        recoverySeconds: 86_400,
        deleteInactiveKey: false,
        oldKeyInUse: 'wait',
        moveVaultPath: false,
        adoptVaultPath: false,
        inUseRecheckSeconds: 900,
        execution: EXECUTION,
        startedAt: STARTED_AT,
      });
    });

    it('keeps the values the input gives', async () => {
      const handler = await deployment({
        ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true',
        ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true',
      });
      const request = await handler(
        event({
          userName: 'svc.deploy@corp',
          vaultPath: 'aws/iam-users/team-a/deploy',
          dryRun: true,
          graceSeconds: 300,
          recoverySeconds: 3600,
          deleteInactiveKey: true,
          oldKeyInUse: 'fail',
          moveVaultPath: true,
        }),
      );
      expect(request).toMatchObject({
        userName: 'svc.deploy@corp',
        vaultPath: 'aws/iam-users/team-a/deploy',
        defaultVaultPath: 'aws/iam-users/svc.deploy@corp',
        dryRun: true,
        graceSeconds: 300,
        recoverySeconds: 3600,
        deleteInactiveKey: true,
        oldKeyInUse: 'fail',
        moveVaultPath: true,
      });
    });

    it('uses the configured prefix and defaults of another deployment', async () => {
      vi.resetModules();
      const saved = { ...process.env };
      Object.assign(process.env, {
        VAULT_PATH_PREFIX: 'team/keys/',
        ROTATOR_GRACE_SECONDS: '30',
        ROTATOR_OLD_KEY_IN_USE: 'proceed',
        ROTATOR_MIN_GRACE_SECONDS: '30',
        ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
      });
      try {
        const other = (await import('../../functions/validateInput.js')).handler;
        await expect(other(event({ userName: 'bob' }))).resolves.toMatchObject({
          vaultPath: 'team/keys/bob',
          graceSeconds: 30,
          oldKeyInUse: 'proceed',
        });
        const error = await rejectionOf(other(event({ userName: 'bob', vaultPath: 'aws/iam-users/bob' })));
        expect(error.message).toContain("must be below 'team/keys/'");
      } finally {
        process.env = saved;
      }
    });
  });

  describe('deployment floors', () => {
    it.each([
      [{ graceSeconds: 0 }, "graceSeconds 0 is below this deployment's minGraceSeconds 300"],
      [{ graceSeconds: 299 }, "graceSeconds 299 is below this deployment's minGraceSeconds 300"],
      [{ recoverySeconds: 60 }, "recoverySeconds 60 is below this deployment's minRecoverySeconds 3600"],
      [
        { oldKeyInUse: 'proceed' },
        'oldKeyInUse "proceed" is not allowed: this deployment\'s allowOldKeyInUseProceed is false',
      ],
      [
        { moveVaultPath: true },
        "moveVaultPath is not allowed: this deployment's allowVaultPathMove is false",
      ],
      [
        { deleteInactiveKey: true },
        "deleteInactiveKey is not allowed: this deployment's allowDeleteInactiveKey is false",
      ],
      [
        { adoptVaultPath: true },
        "adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false",
      ],
    ])('refuses %j with InvalidInputError naming the floor', async (fields, message) => {
      const error = await rejectionOf(handler(event({ userName: 'alice', ...fields })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toBe(`invalid execution input: ${message}`);
    });

    it('passes adoptVaultPath through where the deployment allows it', async () => {
      const other = await deployment({ ROTATOR_ALLOW_VAULT_PATH_ADOPT: 'true' });
      await expect(
        other(event({ userName: 'alice', vaultPath: 'aws/iam-users/vendors/alice', adoptVaultPath: true })),
      ).resolves.toMatchObject({ vaultPath: 'aws/iam-users/vendors/alice', adoptVaultPath: true });
    });

    it('names every floor an input goes below at once', async () => {
      const input = { userName: 'alice', graceSeconds: 0, recoverySeconds: 0, oldKeyInUse: 'proceed' };
      const error = await rejectionOf(handler(event(input)));
      expect(error.message).toMatch(/graceSeconds 0 .*; recoverySeconds 0 .*; oldKeyInUse "proceed"/);
    });

    it('accepts values exactly at the floors', async () => {
      await expect(
        handler(event({ userName: 'alice', graceSeconds: 300, recoverySeconds: 3600, oldKeyInUse: 'fail' })),
      ).resolves.toMatchObject({ graceSeconds: 300, recoverySeconds: 3600 });
    });

    it('accepts the same input in a deployment whose floors allow it', async () => {
      const other = await deployment({
        ROTATOR_MIN_GRACE_SECONDS: '0',
        ROTATOR_MIN_RECOVERY_SECONDS: '0',
        ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
      });
      const input = { userName: 'alice', graceSeconds: 0, recoverySeconds: 0, oldKeyInUse: 'proceed' };
      await expect(other(event(input))).resolves.toMatchObject({
        graceSeconds: 0,
        recoverySeconds: 0,
        oldKeyInUse: 'proceed',
      });
    });

    it('refuses moveVaultPath under "proceed", given or the deployment default, even where both are allowed', async () => {
      const allowed = { ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true', ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true' };
      const other = await deployment(allowed);
      await expect(other(event({ userName: 'alice', moveVaultPath: true }))).resolves.toMatchObject({
        moveVaultPath: true,
      });
      const given = await rejectionOf(
        other(event({ userName: 'alice', moveVaultPath: true, oldKeyInUse: 'proceed' })),
      );
      expect(given.name).toBe('InvalidInputError');
      expect(given.message).toContain('moveVaultPath is not allowed with oldKeyInUse "proceed"');
      const byDefault = await deployment({ ...allowed, ROTATOR_OLD_KEY_IN_USE: 'proceed' });
      const error = await rejectionOf(byDefault(event({ userName: 'alice', moveVaultPath: true })));
      expect(error.message).toContain('moveVaultPath is not allowed with oldKeyInUse "proceed"');
    });

    it('refuses with the floor of a deployment that raised it', async () => {
      const other = await deployment({ ROTATOR_MIN_GRACE_SECONDS: '900' });
      const error = await rejectionOf(other(event({ userName: 'alice', graceSeconds: 600 })));
      expect(error.message).toContain("graceSeconds 600 is below this deployment's minGraceSeconds 900");
    });
  });

  describe('path template', () => {
    it("fills in {accountId} with the rotator's own account by default", async () => {
      const other = await deployment({ VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}' });
      await expect(other(event({ userName: 'alice' }))).resolves.toMatchObject({
        accountId: ACCOUNT_ID,
        vaultPath: `aws/iam-users/${ACCOUNT_ID}/alice`,
        defaultVaultPath: `aws/iam-users/${ACCOUNT_ID}/alice`,
      });
    });

    it("fills in {accountId} with the execution's account", async () => {
      const other = await deployment(MEMBERS);
      await expect(other(event({ userName: 'alice', accountId: MEMBER }))).resolves.toMatchObject({
        accountId: MEMBER,
        vaultPath: `aws/iam-users/${MEMBER}/alice`,
        defaultVaultPath: `aws/iam-users/${MEMBER}/alice`,
      });
    });

    it('refuses a deployment with other accounts whose template has no {accountId}: one name, one path', async () => {
      vi.resetModules();
      const saved = { ...process.env };
      Object.assign(process.env, { ...MEMBERS, VAULT_PATH_TEMPLATE: '{prefix}{userName}' });
      try {
        const other = (await import('../../functions/validateInput.js')).handler;
        const error = await rejectionOf(other(event({ userName: 'alice' })));
        expect(error.name).toBe('ConfigurationError');
        expect(error.message).toContain(
          'VAULT_PATH_TEMPLATE needs a segment {accountId}/ before {userName} when ROTATOR_ALLOWED_ACCOUNT_IDS is set',
        );
      } finally {
        process.env = saved;
      }
    });

    it('fills in every placeholder, wherever it is, and repeated ones each time', async () => {
      const other = await deployment({
        VAULT_PATH_PREFIX: 'teams/',
        VAULT_PATH_TEMPLATE: 'teams/{accountId}/{userName}/aws/{userName}',
      });
      await expect(other(event({ userName: 'svc.deploy@corp' }))).resolves.toMatchObject({
        vaultPath: `teams/${ACCOUNT_ID}/svc.deploy@corp/aws/svc.deploy@corp`,
      });
    });

    it('lets an explicit vaultPath below the prefix override the template', async () => {
      const other = await deployment({ VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}' });
      await expect(
        other(event({ userName: 'alice', vaultPath: 'aws/iam-users/shared/alice' })),
      ).resolves.toMatchObject({ vaultPath: 'aws/iam-users/shared/alice' });
    });

    it("ignores the state machine's ARN that executions started with the earlier definition pass", async () => {
      const other = await deployment({ VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}' });
      const stateMachine = 'arn:aws:states:us-east-1:210987654321:stateMachine:rotate';
      await expect(other({ ...event({ userName: 'alice' }), stateMachine })).resolves.toMatchObject({
        accountId: ACCOUNT_ID,
        vaultPath: `aws/iam-users/${ACCOUNT_ID}/alice`,
      });
    });
  });

  describe('accounts', () => {
    const iam = resetBeforeEach(mockClient(IAMClient));
    const sts = resetBeforeEach(mockClient(STSClient));

    it.each([
      ['another account’s user into the own account’s folder', MEMBER, `aws/iam-users/${ACCOUNT_ID}/alice`],
      ['another account’s user outside every folder', MEMBER, 'aws/iam-users/shared/alice'],
      ['an own-account user into another account’s folder', ACCOUNT_ID, `aws/iam-users/${MEMBER}/alice`],
      [
        'an own-account user into an unknown account’s folder',
        ACCOUNT_ID,
        'aws/iam-users/999999999999/alice',
      ],
      [
        'an own-account user into a folder named like an account’s',
        ACCOUNT_ID,
        `aws/iam-users/${MEMBER}x/alice`,
      ],
      // Since issue 16 (was accepted): the account's folder itself, with no segment below it.
      ['an own-account user to an account’s folder itself', ACCOUNT_ID, `aws/iam-users/${MEMBER}`],
    ])('refuses a vaultPath that takes %s, making no call', async (_, accountId, vaultPath) => {
      const other = await deployment(MEMBERS);
      const error = await rejectionOf(other(event({ userName: 'alice', accountId, vaultPath })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toMatch(
        /vaultPath: (account \d{12}'s paths are below|'.*' is in account \d{12}'s folder)/,
      );
      expect(iam.calls()).toHaveLength(0);
      expect(sts.calls()).toHaveLength(0);
    });

    it.each([
      ['another account’s user inside its folder', MEMBER, `aws/iam-users/${MEMBER}/team/alice`],
      ['an own-account user inside its folder', ACCOUNT_ID, `aws/iam-users/${ACCOUNT_ID}/alice`],
      ['an own-account user outside every folder', ACCOUNT_ID, 'aws/iam-users/shared/alice'],
    ])('accepts a vaultPath that keeps %s', async (_, accountId, vaultPath) => {
      const other = await deployment(MEMBERS);
      await expect(other(event({ userName: 'alice', accountId, vaultPath }))).resolves.toMatchObject({
        vaultPath,
      });
    });

    it('refuses a template without an {accountId}/ folder before {userName}', async () => {
      for (const template of ['{prefix}{userName}-{accountId}', '{prefix}{userName}/{accountId}/key']) {
        vi.resetModules();
        const saved = { ...process.env };
        Object.assign(process.env, { ...MEMBERS, VAULT_PATH_TEMPLATE: template });
        try {
          const other = (await import('../../functions/validateInput.js')).handler;
          const error = await rejectionOf(other(event({ userName: 'alice' })));
          expect(error.name, template).toBe('ConfigurationError');
        } finally {
          process.env = saved;
        }
      }
    });

    it('refuses adoptVaultPath in a deployment that does not allow it, making no call', async () => {
      const error = await rejectionOf(handler(event({ userName: 'alice', adoptVaultPath: true })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain('allowVaultPathAdopt is false');
      expect(iam.calls()).toHaveLength(0);
      expect(sts.calls()).toHaveLength(0);
    });

    it('accepts the own account given explicitly', async () => {
      await expect(handler(event({ userName: 'alice', accountId: ACCOUNT_ID }))).resolves.toMatchObject({
        accountId: ACCOUNT_ID,
      });
    });

    it('accepts an allowed account', async () => {
      const other = await deployment(MEMBERS);
      await expect(other(event({ userName: 'alice', accountId: MEMBER }))).resolves.toMatchObject({
        userName: 'alice',
        accountId: MEMBER,
      });
    });

    it.each([
      ['a deployment that allows none', {}],
      ['a deployment that allows others', MEMBERS],
    ])(
      'refuses an account that is not allowed in %s with InvalidInputError, making no call',
      async (_what, env) => {
        const other = await deployment(env);
        const error = await rejectionOf(other(event({ userName: 'alice', accountId: '999999999999' })));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(
          'accountId: 999999999999 is not an account this deployment may rotate in',
        );
        expect(iam.calls()).toHaveLength(0);
        expect(sts.calls()).toHaveLength(0);
      },
    );

    it.each(['12345678901', '1234567890123', 'abcdefghijkl', 123456789012])(
      'throws InvalidInputError for accountId %j',
      async (accountId) => {
        const error = await rejectionOf(handler(event({ userName: 'alice', accountId })));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain('accountId');
      },
    );

    it('refuses to run without ROTATOR_ACCOUNT_ID with ConfigurationError', async () => {
      vi.resetModules();
      const saved = { ...process.env };
      delete process.env.ROTATOR_ACCOUNT_ID;
      try {
        const other = (await import('../../functions/validateInput.js')).handler;
        const error = await rejectionOf(other(event({ userName: 'alice' })));
        expect(error.name).toBe('ConfigurationError');
        expect(error.message).toContain('ROTATOR_ACCOUNT_ID');
      } finally {
        process.env = saved;
      }
    });
  });

  describe('rejections', () => {
    it('throws InvalidInputError listing unknown fields by name', async () => {
      const error = await rejectionOf(handler(event({ userName: 'alice', dryrun: true })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toBe('invalid execution input: (input): unknown field(s) dryrun');
    });

    it.each(['', 'alice smith', 'alice/../bob', 'a'.repeat(65), 'ålice'])(
      'throws InvalidInputError for user name %j without echoing it',
      async (userName) => {
        const error = await rejectionOf(handler(event({ userName })));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain('userName');
        if (userName !== '') expect(error.message).not.toContain(userName);
      },
    );

    it.each([
      'aws/other-users/alice',
      'iam-users/alice',
      'secret/data/aws/iam-users/alice',
      'aws/iam-users-evil/alice',
    ])(
      'throws InvalidInputError for vaultPath %j outside the prefix without echoing it',
      async (vaultPath) => {
        const error = await rejectionOf(handler(event({ userName: 'alice', vaultPath })));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain('vaultPath');
        expect(error.message).not.toContain(vaultPath);
      },
    );

    it.each([
      'aws/iam-users/../../sys/policy',
      'aws/iam-users/./alice',
      'aws/iam-users/alice/',
      '/aws/iam-users/alice',
      'aws/iam-users//alice',
      'aws/iam-users/',
    ])('throws InvalidInputError for vaultPath %j with dot segments or empty segments', async (vaultPath) => {
      const error = await rejectionOf(handler(event({ userName: 'alice', vaultPath })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain('vaultPath');
      expect(error.message).not.toContain(vaultPath);
    });

    it.each([
      ['graceSeconds', -5],
      ['recoverySeconds', 2.5],
      ['graceSeconds', '900'],
      ['dryRun', 'yes'],
      ['oldKeyInUse', 'ignore'],
    ])('throws InvalidInputError for %s = %j', async (field, value) => {
      const error = await rejectionOf(handler(event({ userName: 'alice', [field]: value })));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain(field);
    });

    it.each([null, 'alice', ['alice'], 42])('throws InvalidInputError for input %j', async (input) => {
      expect((await rejectionOf(handler(event(input)))).name).toBe('InvalidInputError');
    });

    it('never echoes a secret pasted into the input', async () => {
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const error = await rejectionOf(handler(event({ userName: secret })));
      expect(error.message).not.toContain(secret);
    });

    it('throws InvalidInputError for an event without execution', async () => {
      const error = await rejectionOf(handler({ input: { userName: 'alice' }, startedAt: STARTED_AT }));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain('execution');
    });
  });
});
