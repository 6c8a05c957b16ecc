import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { DEFAULT_TAG_KEY, DEFAULT_TAG_VALUE } from '../functions/commons/fleet-input.js';
import { defaultPath } from '../functions/commons/input.js';
import { dataPath, type SeededUser, type Target, USER_PATH, vaultAdmin } from '../local-stack/provision.js';
import { HOME_ACCOUNT_ID, type LocalStack } from '../local-stack/stack.js';

const DAY_MS = 86_400_000;

/** The most emulated accounts a local fleet spreads over. */
export const MAX_FLEET_ACCOUNTS = 100;

/** The accounts of a local fleet over `k`: the home account, then k-1 member accounts. */
export function fleetAccountIds(k: number): string[] {
  return [HOME_ACCOUNT_ID, ...Array.from({ length: k - 1 }, (_, i) => String(210_000_000_001 + i))];
}

/** One user to seed: where, whether opted in, how old its keys are, how many it has. */
export interface FleetSeed {
  accountId: string;
  userName: string;
  tagged: boolean;
  ageDays: number;
  keys: number;
}

/** A seeded fleet user; `accountId` is always set. */
export type SeededFleetUser = SeededUser & { accountId: string };

/** Users seeded at once: the HTTP calls left (TagUser, backdating) overlap. */
const PARALLEL_SEEDS = 16;

/**
 * Seeds fleet users fast: each user and its keys are made in-process (seeded keys, usable at
 * once), the opt-in tag through IAM's TagUser as that account's administrator, the keys backdated
 * through the emulator's admin route (IAM never changes a CreateDate), and the newest key put in
 * Vault at the path the deployment's template gives it (in-process on the stack's own Vault).
 * Seeding 10,000 users takes seconds, not the minutes of provision.ts's seedUser one by one.
 */
export async function seedFleetUsers(
  stack: LocalStack,
  target: Target,
  seeds: FleetSeed[],
): Promise<SeededFleetUser[]> {
  const iam = new Map<string, IAMClient>();
  const iamOf = (accountId: string) => {
    let client = iam.get(accountId);
    if (!client) {
      client = new IAMClient({
        region: stack.aws.region,
        endpoint: stack.aws.endpoint,
        credentials: stack.aws.account(accountId).adminCredentials,
      });
      iam.set(accountId, client);
    }
    return client;
  };
  const template = target.vaultPathTemplate ?? '{prefix}{userName}';
  const ownVault = target.vault.addr === stack.vault.addr;
  const seedOne = async (seed: FleetSeed): Promise<SeededFleetUser> => {
    const account = stack.aws.account(seed.accountId);
    account.createUser(seed.userName, USER_PATH);
    const keys = Array.from({ length: seed.keys }, () => account.createAccessKey(seed.userName));
    if (seed.tagged) {
      await iamOf(seed.accountId).send(
        new TagUserCommand({
          UserName: seed.userName,
          Tags: [{ Key: DEFAULT_TAG_KEY, Value: DEFAULT_TAG_VALUE }],
        }),
      );
    }
    const createDate = new Date(Date.now() - seed.ageDays * DAY_MS).toISOString();
    for (const key of keys) {
      const response = await fetch(
        `${stack.aws.endpoint}/__admin/access-keys/${key.accessKeyId}/create-date`,
        { method: 'POST', body: JSON.stringify({ createDate }) },
      );
      if (!response.ok) throw new Error(`backdating ${key.accessKeyId} failed: HTTP ${response.status}`);
    }
    const vaultPath = defaultPath(template, {
      prefix: target.pathPrefix,
      userName: seed.userName,
      accountId: seed.accountId,
    });
    const newest = keys.at(-1);
    if (newest) {
      const data = { access_key: newest.accessKeyId, secret_key: newest.secretAccessKey };
      if (ownVault) {
        stack.vault.writeSecret({
          mount: target.kvMount,
          path: vaultPath,
          data,
          ...(target.namespace ? { namespace: target.namespace } : {}),
        });
      } else {
        await vaultAdmin(target).post(dataPath(target, vaultPath), target.kvVersion === 2 ? { data } : data);
      }
    }
    return {
      userName: seed.userName,
      vaultPath,
      oldAccessKeyId: newest?.accessKeyId ?? null,
      accountId: seed.accountId,
    };
  };
  const seeded: SeededFleetUser[] = new Array<SeededFleetUser>(seeds.length);
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) {
      const index = next++;
      const seed = seeds[index];
      if (seed) seeded[index] = await seedOne(seed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SEEDS, seeds.length) }, worker));
  return seeded;
}
