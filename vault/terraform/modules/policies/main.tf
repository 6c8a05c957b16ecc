# Renders the rotator's two ACL policies from the HCL files in vault/ (the single source of the
# policy text; this module copies none of it). It has no provider and no resource, so it can be
# evaluated offline, which test/vault/policies.test.ts does when terraform is installed.
#
# The files are written for the defaults (mount "secret", prefix "aws/iam-users/") so that they
# also work as they are with `vault policy write`. The substitution below is anchored on the
# policy syntax: the mount directly after `path "`, the prefix directly before `*"`, so comments
# and other text are left alone. The same substitution is done by local-stack/provision.ts.

terraform {
  required_version = ">= 1.3"
}

variable "kv_version" {
  description = "1 or 2: which pair of policy files to render."
  type        = number
}

variable "mount" {
  description = "KV mount path, without slashes at either end."
  type        = string
}

variable "path_prefix" {
  description = "Prefix of the rotated paths: empty, or a relative path ending in /."
  type        = string
}

locals {
  policy_dir = "${path.module}/../../.."
  files = {
    1 = { reader = "kv1-policy-reader.hcl", writer = "kv1-policy-writer.hcl" }
    2 = { reader = "policy-reader.hcl", writer = "policy-writer.hcl" }
  }
  rendered = {
    for role, file in local.files[var.kv_version] : role => replace(
      replace(file("${local.policy_dir}/${file}"), "path \"secret/", "path \"${var.mount}/"),
      "/aws/iam-users/*\"",
      "/${var.path_prefix}*\"",
    )
  }
}

output "reader" {
  description = "Policy text for the functions that only read."
  value       = local.rendered.reader
}

output "writer" {
  description = "Policy text for storeInVault and restoreVault."
  value       = local.rendered.writer
}

output "files" {
  description = "The policy files rendered, relative to vault/."
  value       = local.files[var.kv_version]
}
