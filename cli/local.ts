import { redactDeep } from '../functions/commons/redact.js';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AccountId } from '../functions/commons/accounts.js';
import { FloorSeconds, type Floors, UserName } from '../functions/commons/input.js';
import type { Json } from '../local-stack/lambda.js';
import { captureConsole } from '../local-stack/logs.js';
import { localTarget, type Target, type VaultAuthMethod } from '../local-stack/provision.js';
import { LOCAL_TARGET_ROLE_NAME } from '../local-stack/function-roles.js';
import { HOME_ACCOUNT_ID, type LocalStack, startLocalStack } from '../local-stack/stack.js';
import { parseFaultSpec } from '../local-stack/traffic.js';
import { fleetAccountIds, MAX_FLEET_ACCOUNTS } from './fleet-seed.js';
import { runLocalFleet } from './local-fleet.js';
import { rotateThroughApi } from './local-rotation.js';
import { summary } from './progress.js';

/** The most demo users `--fleet` seeds. */
const MAX_FLEET_USERS = 20_000;

const HELP = `usage: iam-key-rotator local [options]      (npm start -- [options])

Runs one full rotation of a demo user on the local stack: the real ASL file, the real handlers,
AWS (IAM, STS, KMS, Secrets Manager) and Vault emulated on 127.0.0.1. Progress goes to stderr,
the summary to stdout.

options:
  --user NAME             the IAM user to create and rotate (default: the input's userName, or
                          demo-ci-<random>)
  --input JSON|@FILE      the execution input, exactly as given (a console or schedule input); an
                          object without userName gets the demo user's name (default {"userName":...})
  --adopt-vault-path      set the input's adoptVaultPath: serve a user never pinned at its vaultPath
                          although that path serves none of its Active keys (refused, exit 2, unless
                          --allow-vault-path-adopt)
  --account ID            rotate in this AWS account (the input's accountId; an --input naming
                          another is refused): a second emulated account, unless it is the
                          rotator's ${HOME_ACCOUNT_ID}, holding the demo user and the target role
                          made from deploy/policies.cjs as deploy/target-account.yml makes it;
                          the deployment allows it and keeps keys per account in Vault
                          ({prefix}{accountId}/{userName}); each step assumes the role there
  --json                  print one JSON document on stdout instead of the summary
  --fleet N               instead: seed N demo users, 1-${MAX_FLEET_USERS} (most due, some young, some not
                          opted in, one with two keys) and run the fleet machine; --json prints the
                          fleet summary. Not with --user, --input, --adopt-vault-path, --account or
                          --aws-endpoint (the fleet's bucket and Map Run are the stack's)
  --accounts K            with --fleet: spread the users over K emulated accounts (1-${MAX_FLEET_ACCOUNTS}): the
                          rotator's own and K-1 member accounts, each with its target role as
                          deploy/target-account.yml makes it, all allowed and listed by the fleet
  --max-concurrency N     with --fleet: the fleet input's maxConcurrency, 1-40 (default 40 here, the
                          most a fleet allows: the local IAM has no rate limit; a deployment's is 5)
  --max-due-per-account N with --fleet: the fleet input's maxDuePerAccount, 1-10000 (default the
                          deployment's, 1000): the oldest keys first, the rest deferred
  --propagation-ms N      how long IAM refuses a new key (default 1500)
  --fault SPEC            inject a fault, repeatable: <service>:<operation>:<fault>[xN][@n] (with
                          --fleet, armed once the users are seeded)
  --kv-version 1|2        the KV engine version of the Vault mount (default 2)
  --vault-auth METHOD     aws (default), approle or token
  --vault-namespace NS    run in this Vault Enterprise namespace
  --vault-addr URL        use this Vault instead of the emulator, with the token in VAULT_TOKEN (one
                          that may manage policies, auth roles and mounts; never on the command line)
  --aws-endpoint URL      use this AWS-compatible endpoint (credentials from AWS_ACCESS_KEY_ID/...)
  --min-grace-seconds N   the deployment's minGraceSeconds floor on input (default 300)
  --min-recovery-seconds N
                          the deployment's minRecoverySeconds floor on input (default 3600)
  --allow-old-key-in-use-proceed
                          the deployment's allowOldKeyInUseProceed (default: refused)
  --allow-vault-path-move the deployment's allowVaultPathMove: input may set moveVaultPath (default:
                          refused)
  --allow-delete-inactive-key
                          the deployment's allowDeleteInactiveKey: input may set deleteInactiveKey
                          (default: refused)
  --allow-vault-path-adopt
                          the deployment's allowVaultPathAdopt: input may set adoptVaultPath
                          (default: refused)
  --verbose               also print the handlers' log lines on stderr

exit code: 0 when the execution SUCCEEDED, 1 when it FAILED, 2 on bad usage.`;

const AUTH_METHODS: readonly VaultAuthMethod[] = ['aws', 'approle', 'token'];

/** `iam-key-rotator local`: the project's main job. */
export async function runLocal(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      account: { type: 'string' },
      json: { type: 'boolean', default: false },
      fleet: { type: 'string' },
      accounts: { type: 'string' },
      'max-concurrency': { type: 'string' },
      'max-due-per-account': { type: 'string' },
      'propagation-ms': { type: 'string', default: '1500' },
      fault: { type: 'string', multiple: true, default: [] },
      'kv-version': { type: 'string', default: '2' },
      'vault-auth': { type: 'string' },
      'vault-namespace': { type: 'string' },
      'vault-addr': { type: 'string' },
      'aws-endpoint': { type: 'string' },
      input: { type: 'string' },
      'adopt-vault-path': { type: 'boolean' },
      'min-grace-seconds': { type: 'string' },
      'min-recovery-seconds': { type: 'string' },
      'allow-old-key-in-use-proceed': { type: 'boolean' },
      'allow-vault-path-move': { type: 'boolean' },
      'allow-delete-inactive-key': { type: 'boolean' },
      'allow-vault-path-adopt': { type: 'boolean' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const propagationMs = Number(values['propagation-ms']);
  if (!Number.isInteger(propagationMs) || propagationMs < 0) throw new Error('--propagation-ms must be >= 0');
  for (const spec of values.fault) parseFaultSpec(spec);
  const fleet = fleetOf(values);
  if (values['kv-version'] !== '1' && values['kv-version'] !== '2')
    throw new Error('--kv-version must be 1 or 2');
  const external = Boolean(values['vault-addr'] || values['aws-endpoint']);
  // A real Vault cannot reach the emulated STS (nor real AWS this one), so aws auth needs both local.
  const vaultAuth = (values['vault-auth'] ?? (external ? 'token' : 'aws')) as VaultAuthMethod;
  if (!AUTH_METHODS.includes(vaultAuth)) throw new Error('--vault-auth must be aws, approle or token');
  const vaultToken = process.env.VAULT_TOKEN;
  if (values['vault-addr'] && !vaultToken) throw new Error('--vault-addr needs the token in VAULT_TOKEN');
  const floors = floorsOf(values);
  // The flag is this deployment's to allow, and its floors are the options: refused before any stack starts.
  if (values['adopt-vault-path'] && !floors.allowVaultPathAdopt) {
    throw new Error(
      "--adopt-vault-path: adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false (--allow-vault-path-adopt)",
    );
  }
  const given = values.input === undefined ? undefined : await readInput(values.input);
  const named = isObject(given) ? UserName.safeParse(given.userName).data : undefined;
  const userName = values.user ?? named ?? `demo-ci-${Math.random().toString(36).slice(2, 8)}`;
  const account = accountOf(values.account, given, values);
  // Exactly the document given; only an object without userName (or accountId) gets the demo user's.
  if (values['adopt-vault-path'] && given !== undefined && !isObject(given)) {
    throw new Error('--adopt-vault-path needs an --input object (or none)');
  }
  // --adopt-vault-path alone is the default input with the flag set.
  const base = given === undefined && values['adopt-vault-path'] ? {} : given;
  const input: Json | undefined = isObject(base)
    ? {
        ...base,
        ...('userName' in base ? {} : { userName }),
        ...(account === undefined || 'accountId' in base ? {} : { accountId: account }),
        ...(values['adopt-vault-path'] ? { adoptVaultPath: true } : {}),
      }
    : base;
  const member = account === HOME_ACCOUNT_ID ? undefined : account;

  const members = fleet ? fleet.accountIds.slice(1) : member ? [member] : [];
  const stack = await startLocalStack({
    propagationMs,
    ...(members.length ? { memberAccountIds: members } : {}),
  });
  const err = (line: string) => process.stderr.write(`${line}\n`);
  // A fleet's rotations go on past its end (their grace and recovery waits) until the stack closes:
  // their handlers' logs stay off stdout until then.
  const fleetLogs = fleet ? captureConsole(values.verbose ? err : undefined) : undefined;
  try {
    const local = localTarget(stack, {
      vaultAuth,
      kvVersion: values['kv-version'] === '1' ? 1 : 2,
      ...(values['vault-namespace'] ? { namespace: values['vault-namespace'] } : {}),
      floors,
      ...(account !== undefined || members.length ? accountSettings(stack, members) : {}),
    });
    const target: Target = {
      ...local,
      ...(values['aws-endpoint'] ? { aws: externalAws(values['aws-endpoint']) } : {}),
      ...(values['vault-addr'] ? { vault: { addr: values['vault-addr'], token: vaultToken ?? '' } } : {}),
    };
    if (fleet) {
      return await runLocalFleet({ stack, target, ...fleet, faults: values.fault, json: values.json, err });
    }
    err(
      `iam-key-rotator: rotating ${userName}${account === undefined ? '' : ` in account ${accountLabel(account)}`}` +
        ` (AWS ${target.aws.endpoint ?? 'default'}, Vault ${target.vault.addr}` +
        `${target.namespace ? ` namespace ${target.namespace}` : ''}, KV v${target.kvVersion}, ${vaultAuth} auth)`,
    );
    // The same path as `iam-key-rotator rotate <user> --wait`, against the stack's Step Functions endpoint.
    const document = await rotateThroughApi({
      target,
      stack,
      userName,
      ...(member ? { accountId: member } : {}),
      faults: values.fault,
      ...(input === undefined ? {} : { input }),
      err,
      ...(values.verbose ? { onLog: err } : {}),
    });
    process.stdout.write(
      values.json
        ? `${JSON.stringify(redactDeep(document), null, 2)}\n`
        : `${summary(document, `${target.kvMount}/${document.vaultPath}`)}\n  account:      ${accountLabel(document.accountId)}\n`,
    );
    return document.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await stack.close();
    fleetLogs?.restore();
  }
}

/** `--account`: 12 digits, with the emulated AWS only, for one rotation (fleetOf refuses it with --fleet); an --input naming another is refused. */
function accountOf(
  option: string | undefined,
  given: Json | undefined,
  values: { 'aws-endpoint'?: string },
): string | undefined {
  if (option === undefined) return undefined;
  if (!AccountId.safeParse(option).success) throw new Error('--account must be a 12-digit AWS account id');
  // A member account's target role is made by that account's administrator: the emulator's.
  if (values['aws-endpoint']) throw new Error('--account needs the emulated AWS, not --aws-endpoint');
  if (isObject(given) && 'accountId' in given && given.accountId !== option) {
    throw new Error(`--input names accountId ${JSON.stringify(given.accountId)}, --account ${option}`);
  }
  return option;
}

/** Options that only a fleet run uses. */
const FLEET_ONLY = ['accounts', 'max-concurrency', 'max-due-per-account'] as const;
/** Options about the one rotation, which a fleet run has no use for. */
const ROTATION_ONLY = ['user', 'input', 'adopt-vault-path', 'account', 'aws-endpoint'] as const;

/** `--fleet N` and the options that go with it; every option that cannot apply is refused before the stack starts. */
function fleetOf(
  values: { fleet?: string | undefined } & Partial<
    Record<(typeof FLEET_ONLY)[number] | (typeof ROTATION_ONLY)[number], unknown>
  >,
): { count: number; accountIds: string[]; input: Record<string, number> } | undefined {
  if (values.accounts !== undefined && values.account !== undefined) {
    throw new Error(
      '--account and --accounts exclude each other: --account runs one rotation in that account, --fleet N --accounts K spreads a fleet over K accounts',
    );
  }
  if (values.fleet === undefined) {
    const given = FLEET_ONLY.filter((option) => values[option] !== undefined);
    if (given.length) throw new Error(`${given.map((o) => `--${o}`).join(', ')}: only with --fleet`);
    return undefined;
  }
  const refused = ROTATION_ONLY.filter((option) => values[option] !== undefined);
  if (refused.length) {
    throw new Error(
      `--fleet does not go with ${refused.map((o) => `--${o}`).join(', ')}: it seeds its own users${
        refused.includes('account') ? ' (--accounts K spreads them over K accounts)' : ''
      }${refused.includes('aws-endpoint') ? " and runs on the local stack's bucket and Map Run" : ''}`,
    );
  }
  const whole = (option: string, value: unknown, max: number) => {
    const n = Number(value);
    if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > max)
      throw new Error(`--${option} must be a whole number from 1 to ${max.toLocaleString('en-US')}`);
    return n;
  };
  const count = whole('fleet', values.fleet, MAX_FLEET_USERS);
  const accounts = values.accounts === undefined ? 1 : whole('accounts', values.accounts, MAX_FLEET_ACCOUNTS);
  const input: Record<string, number> = {
    maxConcurrency:
      values['max-concurrency'] === undefined ? 40 : whole('max-concurrency', values['max-concurrency'], 40),
  };
  if (values['max-due-per-account'] !== undefined)
    input.maxDuePerAccount = whole('max-due-per-account', values['max-due-per-account'], 10_000);
  return { count, accountIds: fleetAccountIds(accounts), input };
}

/**
 * The deployment for `--account` or `--fleet N --accounts K`: the member accounts allowed, their
 * target roles made by their administrators, and Vault keeping each account's users apart.
 */
function accountSettings(stack: LocalStack, members: string[]): Partial<Target> {
  return {
    vaultPathTemplate: '{prefix}{accountId}/{userName}',
    ...(members.length
      ? {
          allowedAccountIds: members,
          memberAccounts: members.map((accountId) => ({
            accountId,
            credentials: stack.aws.account(accountId).adminCredentials,
          })),
        }
      : {}),
  };
}

/** An account as the output names it: the rotator's own, or a member one and the role assumed there. */
const accountLabel = (account: string): string =>
  account === HOME_ACCOUNT_ID
    ? `${account}, the rotator's own`
    : `${account} via arn:aws:iam::${account}:role/${LOCAL_TARGET_ROLE_NAME}`;

const isObject = (value: unknown): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `--input`: a JSON document, or `@path` of a file holding one. */
async function readInput(option: string): Promise<Json> {
  const text = option.startsWith('@') ? await readFile(option.slice(1), 'utf8') : option;
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new Error(`--input is not JSON: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** The deployment floors the options set; the others keep a deployment's defaults. */
function floorsOf(values: {
  'min-grace-seconds'?: string;
  'min-recovery-seconds'?: string;
  'allow-old-key-in-use-proceed'?: boolean;
  'allow-vault-path-move'?: boolean;
  'allow-delete-inactive-key'?: boolean;
  'allow-vault-path-adopt'?: boolean;
}): Partial<Floors> {
  const seconds = (option: 'min-grace-seconds' | 'min-recovery-seconds') => {
    const parsed = FloorSeconds.safeParse(values[option]);
    if (!parsed.success) throw new Error(`--${option} must be a whole number of seconds`);
    return parsed.data;
  };
  return {
    ...(values['min-grace-seconds'] === undefined ? {} : { minGraceSeconds: seconds('min-grace-seconds') }),
    ...(values['min-recovery-seconds'] === undefined
      ? {}
      : { minRecoverySeconds: seconds('min-recovery-seconds') }),
    ...(values['allow-old-key-in-use-proceed'] ? { allowOldKeyInUseProceed: true } : {}),
    ...(values['allow-vault-path-move'] ? { allowVaultPathMove: true } : {}),
    ...(values['allow-delete-inactive-key'] ? { allowDeleteInactiveKey: true } : {}),
    ...(values['allow-vault-path-adopt'] ? { allowVaultPathAdopt: true } : {}),
  };
}

function externalAws(endpoint: string): Target['aws'] {
  const env = process.env;
  return {
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  };
}
