# iam-key-rotator functions that only read the current key: createKey, verifyKey, deactivateOld,
# deleteOld, discardNewKey. Adjust the mount (secret) and prefix (aws/iam-users/) to your settings.
path "secret/data/aws/iam-users/*" {
  capabilities = ["read"]
}
