import {
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import type * as IamClients from '../../functions/commons/clients/iam.js';
import type { IamTarget } from '../../functions/commons/clients/iam.js';
import {
  ACCOUNT_ID,
  makeCreated,
  makeRequest,
  makeStored,
  noSuchEntity,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  uniqueUser,
  useFakeKms,
  useVaultAndModule,
} from './support.js';

// Which account and step each handler's IAM calls act as: the targets it asks iamClients for.
const targets = vi.hoisted((): IamTarget[] => []);
vi.mock('../../functions/commons/clients/iam.js', async (importOriginal) => {
  const real = await importOriginal<typeof IamClients>();
  return {
    ...real,
    iamClients: (target?: IamTarget) => {
      if (target) targets.push(target);
      return real.iamClients(target);
    },
  };
});

const MEMBER = '222222222222';
const EXECUTION = `arn:aws:states:eu-west-1:${ACCOUNT_ID}:execution:rotate-access-key:member-run`;

const file = useVaultAndModule(() =>
  Promise.all([
    import('../../functions/createKey.js'),
    import('../../functions/verifyKey.js'),
    import('../../functions/deactivateOld.js'),
    import('../../functions/deleteOld.js'),
    import('../../functions/discardNewKey.js'),
    import('../../functions/discardLeftovers.js'),
  ]),
);
const iam = resetBeforeEach(mockClient(IAMClient), () => {
  targets.length = 0;
});
const sts = resetBeforeEach(mockClient(STSClient));
useFakeKms();

/** A request of an execution in the member account, and its event for the later steps. */
function memberEvent() {
  const request = makeRequest({ userName: uniqueUser('member'), accountId: MEMBER, execution: EXECUTION });
  const created = makeCreated(request.userName, {
    userArn: `arn:aws:iam::${MEMBER}:user/${request.userName}`,
    pinnedVaultPath: null,
  });
  return { request, created, stored: makeStored() };
}

const steps = () => [...new Set(targets.map((t) => `${t.accountId} ${t.step} ${t.execution}`))];

describe("each step acts in the execution's account as itself", () => {
  it('createKey', async () => {
    const [createKey] = file.module();
    iam.on(GetUserCommand).rejects(noSuchEntity());
    const error = await rejectionOf(createKey.handler({ request: memberEvent().request }));
    expect(error.name).toBe('UserNotFoundError');
    expect(steps()).toEqual([`${MEMBER} createKey member-run`]);
  });

  it("verifyKey, for the user's pin", async () => {
    const [, verifyKey] = file.module();
    const event = memberEvent();
    file.vault().writeSecret({
      mount: 'secret',
      path: event.request.vaultPath,
      data: { access_key: event.created.accessKeyId, secret_key: SECRET },
    });
    sts.on(GetCallerIdentityCommand).resolves({ Arn: event.created.userArn, Account: MEMBER });
    iam.on(TagUserCommand).resolves({});
    await expect(verifyKey.handler(event)).resolves.toMatchObject({ pinned: true });
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(1);
    expect(steps()).toEqual([`${MEMBER} verifyKey member-run`]);
  });

  it('deactivateOld', async () => {
    const [, , deactivateOld] = file.module();
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    await expect(deactivateOld.handler(memberEvent())).resolves.toMatchObject({ deactivated: [] });
    expect(steps()).toEqual([`${MEMBER} deactivateOld member-run`]);
  });

  it('deleteOld', async () => {
    const [, , , deleteOld] = file.module();
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    await expect(deleteOld.handler(memberEvent())).resolves.toMatchObject({ deleted: [] });
    expect(steps()).toEqual([`${MEMBER} deleteOld member-run`]);
  });

  it('discardNewKey', async () => {
    const [, , , , discardNewKey] = file.module();
    iam.rejects(noSuchEntity());
    await expect(discardNewKey.handler(memberEvent())).resolves.toMatchObject({ deleted: false });
    expect(steps()).toEqual([`${MEMBER} discardNewKey member-run`]);
  });

  it('discardLeftovers', async () => {
    const [, , , , , discardLeftovers] = file.module();
    iam.on(GetUserCommand).resolves({
      User: {
        UserName: 'member',
        UserId: 'AIDAMEMBER',
        Arn: `arn:aws:iam::${MEMBER}:user/member`,
        Path: '/',
        CreateDate: new Date(),
      },
    });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    iam.on(ListUserTagsCommand).resolves({ Tags: [] });
    const { request } = memberEvent();
    await expect(
      discardLeftovers.handler({
        failedWith: 'AwsUnavailableError',
        request: { ...request, userName: 'member' },
      }),
    ).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(steps()).toEqual([`${MEMBER} discardLeftovers member-run`]);
  });

  it("an execution without accountId acts in the rotator's own account", async () => {
    const [, , , deleteOld] = file.module();
    const event = memberEvent();
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    await deleteOld.handler({ ...event, request: { ...event.request, accountId: undefined } });
    expect(steps()).toEqual([`${ACCOUNT_ID} deleteOld member-run`]);
  });
});
