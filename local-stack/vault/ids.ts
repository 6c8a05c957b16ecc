import { randomBytes, randomUUID } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function base62(length: number): string {
  const bytes = randomBytes(length);
  return [...bytes].map((b) => BASE62[b % BASE62.length]).join('');
}

/** A service token shaped like Vault 1.10+ ones: `hvs.` and 24 characters, plus `.<ns id>` outside the root namespace. */
export function serviceToken(namespaceId: string): string {
  const token = `hvs.${base62(24)}`;
  return namespaceId === 'root' ? token : `${token}.${namespaceId}`;
}

export const uuid = (): string => randomUUID();
