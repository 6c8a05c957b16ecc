# iam-key-rotator-reader: KV v1 (unversioned) mounts. Attached to the Vault role
# iam-key-rotator-reader; use policy-reader.hcl instead when the mount is KV v2.
#
# Used by the functions that only look at what Vault serves: createKey, verifyKey, deactivateOld,
# deleteOld, discardNewKey, discardLeftovers and listCandidates (see policy-reader.hcl for why each
# reads).
#
# Written for the defaults: KV v1 mount "secret", path prefix "aws/iam-users/". For another mount
# or prefix, replace the "secret/" after `path "` and the "aws/iam-users/" before `*"`.
#
# A trailing `*` matches across `/`: a per-account layout (VAULT_PATH_TEMPLATE
# "{prefix}{accountId}/{userName}", e.g. aws/iam-users/222222222222/alice) is covered by the same
# rules, for every account the deployment rotates in.
#
# Nothing else is granted: no list, no write, no delete, no sys/ path. KV version detection
# (GET sys/internal/ui/mounts/secret) needs no rule: Vault answers it for any token that has a
# capability somewhere under the mount, as this one does.

# GET secret/<prefix><user>: the current key.
path "secret/aws/iam-users/*" {
  capabilities = ["read"]
}
