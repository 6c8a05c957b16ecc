import { readFile } from 'node:fs/promises';
import { awsFailure } from './aws.js';
import { readSecret } from './clients/secrets-manager.js';
import { readParameter } from './clients/ssm.js';
import { ConfigurationError } from './errors.js';
import type { SecretSource } from './vault/config.js';

/**
 * Reads a value from the environment, a file, a Secrets Manager secret or an SSM (SecureString)
 * parameter.
 * The clients are imported statically: in a one-file bundle a dynamic import() keeps them anyway and
 * defeats tree shaking (+120 KB per function, no init time saved; see docs/performance.md).
 */
export async function readSecretSource(source: SecretSource): Promise<string | undefined> {
  if (source.kind === 'file') return readSecretFile(source.path);
  try {
    switch (source.kind) {
      case 'env':
        return source.value;
      case 'secrets-manager':
        return await readSecret(source.secretId);
      case 'ssm':
        return await readParameter(source.parameter);
    }
  } catch (error) {
    throw awsFailure(source.kind === 'ssm' ? 'ssm:GetParameter' : 'secretsmanager:GetSecretValue', error);
  }
}

/** A file's text; a missing or unreadable file is a ConfigurationError naming it (never its content). */
export async function readSecretFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(`cannot read ${path}: ${typeof code === 'string' ? code : 'unreadable'}`);
  }
}

/** Where a source is, for messages (never its value). */
export function describeSource(source: SecretSource): string {
  switch (source.kind) {
    case 'env':
      return 'the environment';
    case 'file':
      return `file ${source.path}`;
    case 'secrets-manager':
      return `secret ${source.secretId}`;
    case 'ssm':
      return `parameter ${source.parameter}`;
  }
}

/** A value that is either the plain string or JSON holding it under `field`. */
export function plainOrJson(raw: string | undefined, field: string): string | undefined {
  const text = raw?.trim() ?? '';
  if (!text.startsWith('{')) return text.length > 0 ? text : undefined;
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
