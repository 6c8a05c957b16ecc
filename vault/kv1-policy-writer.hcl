# iam-key-rotator-writer: KV v1 (unversioned) mounts. Attached to the Vault role
# iam-key-rotator-writer; use policy-writer.hcl instead when the mount is KV v2.
#
# Used only by storeInVault (writes the new key) and restoreVault (rollback: writes back the key
# Vault served before, or deletes the path when the new key was the first one stored there).
#
# Written for the defaults: KV v1 mount "secret", path prefix "aws/iam-users/". For another mount
# or prefix, replace the "secret/" after `path "` and the "aws/iam-users/" before `*"`.
#
# A trailing `*` matches across `/`: a per-account layout (VAULT_PATH_TEMPLATE
# "{prefix}{accountId}/{userName}", e.g. aws/iam-users/222222222222/alice) is covered by the same
# rules, for every account the deployment rotates in.
#
# KV v1 keeps no versions, no metadata and no check-and-set: a write replaces the value and a
# delete is permanent. No list and no sys/ path are granted; KV version detection
# (GET sys/internal/ui/mounts/secret) needs no rule.

# POST secret/<prefix><user>: "create" for a user's first key, "update" for later ones.
# "read": the idempotency read (a re-run after a lost response finds its own write) and the
# rollback's look at what Vault serves.
# "delete": only restoreVault's rollback of a first key (DELETE secret/<prefix><user>).
path "secret/aws/iam-users/*" {
  capabilities = ["create", "read", "update", "delete"]
}
