import { VaultEmulatorError } from './errors.js';

export class IamArnError extends VaultEmulatorError {
  constructor(message: string) {
    super(message);
    this.name = 'IamArnError';
  }
}

export interface IamEntity {
  partition: string;
  accountNumber: string;
  type: string;
  path: string;
  friendlyName: string;
  sessionInfo: string;
}

/** Vault's parseIamArn (builtin/credential/aws/path_login.go), with its error texts. */
export function parseIamArn(arn: string): IamEntity {
  const full = arn.split(':');
  if (full.length !== 6) {
    throw new IamArnError(`unrecognized arn: contains ${full.length} colon-separated parts, expected 6`);
  }
  const [prefix, partition = '', service, , accountNumber = '', resource = ''] = full;
  if (prefix !== 'arn') throw new IamArnError('unrecognized arn: does not begin with "arn:"');
  if (service !== 'iam' && service !== 'sts') {
    throw new IamArnError(`unrecognized service: ${service ?? ''}, not one of iam or sts`);
  }
  const parts = resource.split('/');
  if (parts.length < 2) {
    throw new IamArnError(`unrecognized arn: "${resource}" contains fewer than 2 slash-separated parts`);
  }
  const type = parts[0] ?? '';
  if (type === 'assumed-role') {
    return {
      partition,
      accountNumber,
      type,
      path: '',
      friendlyName: parts[1] ?? '',
      sessionInfo: parts[2] ?? '',
    };
  }
  if (!['user', 'role', 'instance-profile'].includes(type)) {
    throw new IamArnError(`unrecognized principal type: "${type}"`);
  }
  return {
    partition,
    accountNumber,
    type,
    path: parts.slice(1, -1).join('/'),
    friendlyName: parts.at(-1) ?? '',
    sessionInfo: '',
  };
}

/** Vault's canonical ARN: assumed roles become `role/<name>`, and paths are dropped. */
export function canonicalArn(entity: IamEntity): string {
  const type = entity.type === 'assumed-role' ? 'role' : entity.type;
  return `arn:${entity.partition}:iam::${entity.accountNumber}:${type}/${entity.friendlyName}`;
}

/** Vault's strutil.GlobbedStringsMatch: `*` at either end of the pattern. */
export function globbedMatch(pattern: string, value: string): boolean {
  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*') && pattern.length > 1;
  const core = pattern.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  if (leading && trailing) return value.includes(core);
  if (leading) return value.endsWith(core);
  if (trailing) return value.startsWith(core);
  return value === pattern;
}
