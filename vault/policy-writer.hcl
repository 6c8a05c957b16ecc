# iam-key-rotator-writer: KV v2. Attached to the Vault role iam-key-rotator-writer.
#
# Used only by storeInVault (writes the new key as a new version, then its custom_metadata) and
# restoreVault (rollback: writes back the version Vault served before, or soft-deletes the path
# when the new key was its first version). Every other function uses iam-key-rotator-reader.
#
# Written for the defaults: KV v2 mount "secret", path prefix "aws/iam-users/". For another mount
# or prefix, replace the "secret/" after `path "` and the "aws/iam-users/" before `*"` (the
# Terraform in terraform/ and local-stack/provision.ts do exactly that).
#
# A trailing `*` matches across `/`: a per-account layout (VAULT_PATH_TEMPLATE
# "{prefix}{accountId}/{userName}", e.g. aws/iam-users/222222222222/alice) is covered by the same
# rules, for every account the deployment rotates in.
#
# Deliberately absent:
# - secret/destroy/... and secret/delete/..., secret/undelete/... (no rule: denied): versions are
#   never destroyed, so a rollback or an operator can always get back an earlier key;
# - delete on secret/metadata/... (would erase every version and the history at once);
# - read/list on secret/metadata/... and list anywhere: the rotator never needs them;
# - any metadata field but custom_metadata (max_versions, delete_version_after, cas_required);
# - patch: the rotator writes whole versions with check-and-set, never JSON merge patches;
# - sys/ (policies, mounts, auth): the rotator never manages Vault. KV version detection
#   (GET sys/internal/ui/mounts/secret) needs no rule, see policy-reader.hcl.

# POST secret/data/<prefix><user> {options: {cas: N}, data}: Vault asks for "create" when the path
# does not exist yet (first key of a user) and "update" when it does; check-and-set needs both.
# "read": the idempotency read (storeInVault re-run after a lost response finds its own version;
# restoreVault reads the served and the previous version, ?version=N).
# "delete": only restoreVault's rollback of a first version, DELETE secret/data/<path>, which is a
# soft delete of the latest version (undeletable by an operator, data kept).
path "secret/data/aws/iam-users/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# POST secret/metadata/<prefix><user> {custom_metadata: {...}}: rotated_at, rotated_by,
# access_key_id, previous_access_key_id. Written after the data, when the metadata exists, so
# Vault asks for "update"; "create" covers a custom_metadata write to a path that has no metadata
# (yet, or any more). No read: the rotator never reads metadata back.
# allowed_parameters: custom_metadata (any value) is the only field a writer may send here, so
# max_versions, delete_version_after and cas_required cannot be changed: a token holding this
# policy cannot make Vault drop the versions a rollback or an operator needs.
path "secret/metadata/aws/iam-users/*" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "custom_metadata" = []
  }
}
