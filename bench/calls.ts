/**
 * The calls a rotation cannot do without (a rotation of a user with one key, first rotation since
 * path pins exist) and why each further call is made. Keys are the local stack's traffic counter's.
 */
export const MINIMUM_CALLS: Record<string, number> = {
  'iam:GetUser': 1,
  'iam:ListAccessKeys': 1,
  'iam:CreateAccessKey': 1,
  'iam:UpdateAccessKey': 1,
  'iam:DeleteAccessKey': 1,
  'kms:Encrypt': 1,
  'kms:Decrypt': 1,
  'sts:GetCallerIdentity': 1,
  'vault:login': 1,
  'vault:kv-read': 1,
  'vault:kv-write': 1,
};

/** Why a rotation makes more calls of an operation than the minimum, or makes it at all. */
export const EXTRA_REASONS: Record<string, string> = {
  'iam:ListAccessKeys':
    'DeactivateOld and DeleteOld list the keys again before acting: hours or days pass between steps, and a key deleted or reactivated meanwhile must not be touched (OldKeyReactivatedError)',
  'iam:ListUserTags':
    'CreateKey reads the tags (the Vault-path pin, an earlier claim), reads its claim back after writing it (tags cannot be written conditionally, so of two overlapping executions one steps aside: ConcurrentRotationError), and checks it is still its own once the key exists (a key made under a lost claim is deleted by its maker, never taken for another execution’s leftover)',
  'iam:TagUser':
    'CreateKey claims the user before a key exists (a retry after a lost CreateAccessKey response tells its own key from others); VerifyKey pins the user to the Vault path on a first rotation, a move or an unsigned pin of an earlier version only',
  'kms:GenerateMac':
    'CreateKey signs its claim (the claim key) and VerifyKey signs the pin it writes (the pin key): tags anyone allowed iam:TagUser can write are trusted only with a MAC the rotator made',
  'kms:VerifyMac':
    "CreateKey checks the MAC of a pin and of a claim the user's tags hold before trusting either (none on a user never rotated)",
  'iam:GetAccessKeyLastUsed':
    'DeactivateOld checks that the old key is no longer used after the new key was stored (oldKeyInUse policy)',
  'sts:GetCallerIdentity':
    'one per VerifyKey attempt while IAM has not yet propagated the new key (KeyNotYetValidError retries), and one for each aws-auth login, which Vault forwards to STS',
  'vault:kv-read':
    'CreateKey (what Vault serves now), StoreInVault (idempotent write with check-and-set), each VerifyKey attempt (the key it verifies is the one Vault serves), DeactivateOld and DeleteOld (never retire the key Vault serves)',
  'vault:kv-metadata': 'StoreInVault records the rotation in the secret’s custom_metadata (KV v2)',
  'vault:mounts':
    'the KV version is asked of Vault once per container when vaultKvVersion is auto; set it to 1 or 2 to skip the call',
  'vault:login':
    'once per container and token lease: in Lambda each Vault function logs in on its cold start; the local stack shares one process, whose token outlives a rotation',
};
