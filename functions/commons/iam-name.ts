import { accountSettings } from './accounts.js';
import { config } from './config.js';
import { defaultPath, type Request } from './input.js';

/**
 * IAM names are case-insensitive, Vault paths are not: the rotation goes on under IAM's spelling of
 * the name, and a default path is the default path of that spelling.
 */
export function withIamName(request: Request, userName: string): Request {
  if (userName === request.userName) return request;
  const { pathPrefix, pathTemplate } = config().vault;
  const accountId = request.accountId ?? accountSettings().ownAccountId;
  const path = defaultPath(pathTemplate, { prefix: pathPrefix, userName, accountId });
  // A given vaultPath stays as given; the default one is the default of IAM's spelling.
  const defaulted = request.vaultPath === request.defaultVaultPath;
  return { ...request, userName, vaultPath: defaulted ? path : request.vaultPath, defaultVaultPath: path };
}
