# iam-key-rotator-reader: KV v2. Attached to the Vault role iam-key-rotator-reader.
#
# Used by the functions that only look at what Vault serves: createKey (which key is current, and
# the version to check-and-set against), verifyKey (reads the new key back and tests it with STS),
# deactivateOld and deleteOld (never retire the key Vault serves), discardNewKey (refuses to delete
# a new key Vault still serves), discardLeftovers (never deletes the key Vault serves),
# listCandidates (the fleet: whether the default path of a user never pinned serves the user's key,
# before it starts a rotation there).
#
# Written for the defaults: KV v2 mount "secret", path prefix "aws/iam-users/". For another mount
# or prefix, replace the "secret/" after `path "` and the "aws/iam-users/" before `*"` (the
# Terraform in terraform/ and local-stack/provision.ts do exactly that).
#
# A trailing `*` matches across `/`: a per-account layout (VAULT_PATH_TEMPLATE
# "{prefix}{accountId}/{userName}", e.g. aws/iam-users/222222222222/alice) is covered by the same
# rules, for every account the deployment rotates in.
#
# Nothing else is granted:
# - no earlier version: every reader reads the version Vault serves now, never `?version=N` (only
#   restoreVault, with the writer policy, reads the version it puts back);
# - no list, no metadata read (secret/metadata/...): the rotator reads one known path at a time;
# - no create/update/patch/delete anywhere;
# - no sys/ path. KV version detection (GET sys/internal/ui/mounts/secret) needs no rule: Vault
#   answers it for any token that has a capability somewhere under the mount, as this one does.

# GET secret/data/<prefix><user>: the current key and its version (in the response's metadata).
# denied_parameters: Vault checks a GET's query parameters like a write's body, so `version` (any
# value) is refused and no reader token can fetch the keys a path served before.
path "secret/data/aws/iam-users/*" {
  capabilities = ["read"]
  denied_parameters = {
    "version" = []
  }
}
