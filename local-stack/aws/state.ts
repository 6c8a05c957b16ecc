import { AwsServiceError, noSuchUser, validationError } from './errors.js';
import { newAccessKeyId, newRoleId, newSecretAccessKey, newUserId } from './ids.js';
import type { KeySpec } from './kms-keys.js';
import type { Statement } from './policy/document.js';
import type { TrustStatement } from './policy/trust.js';
import { secretInfo, type Secret, type SecretInfo } from './secrets-manager.js';
import { parameterInfo, type Parameter, type ParameterInfo } from './ssm.js';
import { IamRateLimit } from './rate-limit.js';
import type { Bucket } from './s3/buckets.js';
import { StepFunctions } from '../sfn/service.js';

/** AWS's documented quota: two access keys per IAM user. */
const ACCESS_KEYS_PER_USER = 2;

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const PATH = /^(\/|\/[\u0021-\u007E]{1,510}\/)$/;

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface LastUse {
  date: Date;
  service: string;
  region: string;
}

export interface User {
  userName: string;
  path: string;
  userId: string;
  arn: string;
  createDate: Date;
  tags: Map<string, string>;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  userName: string;
  status: AccessKeyStatus;
  createDate: Date;
  /** False for seeded keys, which are usable at once (real IAM keys take a while to propagate). */
  propagates: boolean;
  lastUsed?: LastUse;
}

/** An IAM role made with CreateRole; its sessions' calls are evaluated against its inline policies. */
export interface Role {
  roleName: string;
  path: string;
  roleId: string;
  arn: string;
  createDate: Date;
  assumeRolePolicyDocument: string;
  /** The trust policy, parsed: who may assume the role. */
  trust: TrustStatement[];
  /** Inline policies by name: the document as given, and parsed. */
  policies: Map<string, { document: string; statements: Statement[] }>;
}

/** A call the policy evaluation refused. */
export interface Denial {
  /** e.g. iam:CreateAccessKey */
  action: string;
  resource: string;
  /** The caller, e.g. arn:aws:sts::123456789012:assumed-role/role/session */
  principal: string;
  /** The role the caller's session belongs to (the user's ARN for an IAM user refused by a trust policy). */
  roleArn: string;
  /** `untrusted`: AssumeRole refused by the role's trust policy, or of a role that does not exist. */
  reason: 'explicit-deny' | 'implicit-deny' | 'untrusted';
}

/** What policy evaluation decided, across every account. */
export interface AuthorizationLog {
  /** Calls refused by policy evaluation, oldest first. */
  readonly denials: Denial[];
  /** Each `<role ARN> <action>` a role's policy allowed, so tests can tell which grants a run used. */
  readonly allowed: Set<string>;
}

/** Temporary credentials from AssumeRole. */
export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The role's account: the session's calls act there. */
  accountId: string;
  roleArn: string;
  roleName: string;
  roleId: string;
  sessionName: string;
  /** AssumeRole's SourceIdentity: the session's calls carry it as aws:SourceIdentity. */
  sourceIdentity?: string;
  /**
   * The emulated role assumed. Only local-admin may assume an ARN its account does not hold (see
   * sts.ts); such a session is not evaluated, like local-admin itself.
   */
  role?: Role;
}

export interface KmsKey {
  keyId: string;
  arn: string;
  /** Its usage follows from it: ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT, GENERATE_VERIFY_MAC for HMAC_*. */
  spec: KeySpec;
  material: Buffer;
  createDate: Date;
  description: string;
  /** An AWS managed key (alias/aws/*), made by a service on first use. */
  awsManaged?: boolean;
}

export interface AccessKeyInfo {
  accessKeyId: string;
  userName: string;
  status: AccessKeyStatus;
  createDate: string;
  lastUsed?: { date: string; service: string; region: string };
}

export interface UserInfo {
  userName: string;
  path: string;
  userId: string;
  arn: string;
  createDate: string;
  tags: Record<string, string>;
}

export interface StateSnapshot {
  accountId: string;
  region: string;
  propagationMs: number;
  users: (UserInfo & { accessKeys: AccessKeyInfo[] })[];
  kmsKeys: { keyId: string; arn: string; createDate: string; description: string; aliases: string[] }[];
  /** Names, ARNs and versions only: never a secret's value. */
  secrets: SecretInfo[];
  /** Names, ARNs, types and versions only: never a parameter's value. */
  parameters: ParameterInfo[];
}

/** IAM's checks on a new user or role: its name and path, and a name unique whatever its case. */
function checkNewEntity(kind: 'User' | 'Role', name: string, path: string, existing: Iterable<string>): void {
  const field = kind === 'User' ? 'userName' : 'roleName';
  if (!USER_NAME.test(name)) {
    throw validationError(name, field, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  }
  if (!PATH.test(path)) {
    throw validationError(
      path,
      'path',
      'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    );
  }
  const clash = [...existing].find((other) => other.toLowerCase() === name.toLowerCase());
  if (clash !== undefined) {
    throw new AwsServiceError('EntityAlreadyExists', `${kind} with name ${clash} already exists.`, 409);
  }
}

/** The user the emulator creates in every account at start; it may call everything. */
export const ADMIN_USER_NAME = 'local-admin';

/** One account's IAM, KMS, Secrets Manager, SSM, S3 and Step Functions; lost when the emulator stops. */
export class AwsState {
  readonly users = new Map<string, User>();
  readonly accessKeys = new Map<string, AccessKey>();
  /** Role ARN → role id, so one role keeps one AROA id across sessions. */
  readonly roleIds = new Map<string, string>();
  /** Roles made with CreateRole, by name. */
  readonly roles = new Map<string, Role>();
  readonly kmsKeys = new Map<string, KmsKey>();
  /** Alias name (alias/...) → key id. */
  readonly aliases = new Map<string, string>();
  /** Secrets Manager secrets by name. */
  readonly secrets = new Map<string, Secret>();
  /** SSM parameters by name. */
  readonly parameters = new Map<string, Parameter>();
  /** S3 buckets by name (names are unique across accounts: see s3/buckets.ts). */
  readonly buckets = new Map<string, Bucket>();
  /** IAM's per-action token buckets; off unless configured. */
  readonly iamRateLimit = new IamRateLimit();

  readonly stepFunctions: StepFunctions;

  constructor(
    readonly accountId: string,
    readonly region: string,
    public propagationMs: number,
  ) {
    this.stepFunctions = new StepFunctions({ partition: 'aws', region, accountId });
  }

  addUser(userName: string, path = '/'): User {
    checkNewEntity('User', userName, path, this.users.keys());
    const user: User = {
      userName,
      path,
      userId: newUserId(),
      arn: `arn:aws:iam::${this.accountId}:user${path}${userName}`,
      createDate: new Date(),
      tags: new Map(),
    };
    this.users.set(userName, user);
    return user;
  }

  addRole(roleName: string, path: string, assumeRolePolicyDocument: string, trust: TrustStatement[]): Role {
    checkNewEntity('Role', roleName, path, this.roles.keys());
    const arn = `arn:aws:iam::${this.accountId}:role${path}${roleName}`;
    const roleId = this.roleIds.get(arn) ?? newRoleId();
    this.roleIds.set(arn, roleId);
    const role: Role = {
      roleName,
      path,
      roleId,
      arn,
      createDate: new Date(),
      assumeRolePolicyDocument,
      trust,
      policies: new Map(),
    };
    this.roles.set(roleName, role);
    return role;
  }

  getRole(roleName: string): Role {
    const role = this.roles.get(roleName);
    if (!role)
      throw new AwsServiceError('NoSuchEntity', `The role with name ${roleName} cannot be found.`, 404);
    return role;
  }

  /** IAM resolves a user name whatever its case (names differ in more than case): the user as created. */
  getUser(userName: string): User {
    const wanted = userName.toLowerCase();
    const user =
      this.users.get(userName) ?? [...this.users.values()].find((u) => u.userName.toLowerCase() === wanted);
    if (!user) throw noSuchUser(userName);
    return user;
  }

  addAccessKey(name: string, propagates: boolean): AccessKey {
    const { userName } = this.getUser(name);
    if (this.keysOf(userName).length >= ACCESS_KEYS_PER_USER) {
      throw new AwsServiceError(
        'LimitExceeded',
        `Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`,
        409,
      );
    }
    const key: AccessKey = {
      accessKeyId: newAccessKeyId(),
      secretAccessKey: newSecretAccessKey(),
      userName,
      status: 'Active',
      createDate: new Date(),
      propagates,
    };
    this.accessKeys.set(key.accessKeyId, key);
    return key;
  }

  keysOf(userName: string): AccessKey[] {
    return [...this.accessKeys.values()].filter((key) => key.userName === userName);
  }

  /** Whether a new key is still invisible to the rest of AWS. */
  isPropagating(key: AccessKey, now = Date.now()): boolean {
    return key.propagates && now - key.createDate.getTime() < this.propagationMs;
  }

  snapshot(): StateSnapshot {
    return {
      accountId: this.accountId,
      region: this.region,
      propagationMs: this.propagationMs,
      users: [...this.users.values()].map((user) => ({
        ...userInfo(user),
        accessKeys: this.keysOf(user.userName).map(accessKeyInfo),
      })),
      kmsKeys: [...this.kmsKeys.values()].map((key) => ({
        keyId: key.keyId,
        arn: key.arn,
        createDate: key.createDate.toISOString(),
        description: key.description,
        aliases: [...this.aliases].filter(([, keyId]) => keyId === key.keyId).map(([alias]) => alias),
      })),
      secrets: [...this.secrets.values()].map(secretInfo),
      parameters: [...this.parameters.values()].map(parameterInfo),
    };
  }
}

export function userInfo(user: User): UserInfo {
  return {
    userName: user.userName,
    path: user.path,
    userId: user.userId,
    arn: user.arn,
    createDate: user.createDate.toISOString(),
    tags: Object.fromEntries(user.tags),
  };
}

/** Everything about a key except its secret. */
export function accessKeyInfo(key: AccessKey): AccessKeyInfo {
  const info: AccessKeyInfo = {
    accessKeyId: key.accessKeyId,
    userName: key.userName,
    status: key.status,
    createDate: key.createDate.toISOString(),
  };
  if (key.lastUsed) {
    info.lastUsed = { ...key.lastUsed, date: key.lastUsed.date.toISOString() };
  }
  return info;
}

export interface SeededAccessKey extends AccessKeyInfo {
  secretAccessKey: string;
}

/** The one place a secret leaves the state: answering whoever created the key. */
export function seededAccessKey(key: AccessKey): SeededAccessKey {
  return { ...accessKeyInfo(key), secretAccessKey: key.secretAccessKey };
}
