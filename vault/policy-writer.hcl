# iam-key-rotator functions that write: storeInVault (new version with check-and-set, custom
# metadata) and restoreVault (rewrite the previous version, or soft-delete a first version).
path "secret/data/aws/iam-users/*" {
  capabilities = ["create", "read", "update", "delete"]
}

path "secret/metadata/aws/iam-users/*" {
  capabilities = ["create", "update"]
}
