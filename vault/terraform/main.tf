# The Vault side of iam-key-rotator. See ../README.md for the same with the vault CLI.
#
# The policy text is not in this configuration: module.policies renders the HCL files in vault/
# (policy-*.hcl for KV v2, kv1-policy-*.hcl for KV v1) with var.mount and var.path_prefix.

locals {
  namespace = var.namespace == "" ? null : var.namespace
}

module "policies" {
  source      = "./modules/policies"
  kv_version  = var.kv_version
  mount       = var.mount
  path_prefix = var.path_prefix
}

resource "vault_mount" "kv" {
  count       = var.create_mount ? 1 : 0
  namespace   = local.namespace
  path        = var.mount
  type        = "kv"
  options     = { version = tostring(var.kv_version) }
  description = "KV v${var.kv_version}: IAM user access keys rotated by iam-key-rotator"
}

resource "vault_policy" "reader" {
  namespace = local.namespace
  name      = var.reader_name
  policy    = module.policies.reader
}

resource "vault_policy" "writer" {
  namespace = local.namespace
  name      = var.writer_name
  policy    = module.policies.writer
}

# AWS IAM auth: each Lambda logs in with its execution role; Vault checks the signed
# sts:GetCallerIdentity and maps the role to a policy. Only storeInVault's and restoreVault's
# roles get the writer policy.

resource "vault_auth_backend" "aws" {
  count     = var.enable_aws_auth && var.create_aws_auth_backend ? 1 : 0
  namespace = local.namespace
  type      = "aws"
  path      = var.aws_auth_mount
}

locals {
  aws_auth_mount = var.enable_aws_auth && var.create_aws_auth_backend ? vault_auth_backend.aws[0].path : var.aws_auth_mount
}

resource "vault_aws_auth_backend_client" "aws" {
  count                      = var.enable_aws_auth && var.configure_aws_auth_client ? 1 : 0
  namespace                  = local.namespace
  backend                    = local.aws_auth_mount
  sts_endpoint               = var.sts_endpoint == "" ? null : var.sts_endpoint
  sts_region                 = var.sts_region == "" ? null : var.sts_region
  iam_server_id_header_value = var.iam_server_id == "" ? null : var.iam_server_id
}

resource "vault_aws_auth_backend_role" "reader" {
  count                    = var.enable_aws_auth ? 1 : 0
  namespace                = local.namespace
  backend                  = local.aws_auth_mount
  role                     = var.reader_name
  auth_type                = "iam"
  bound_iam_principal_arns = var.reader_role_arns
  resolve_aws_unique_ids   = true
  token_policies           = [vault_policy.reader.name]
  token_no_default_policy  = true
  token_ttl                = var.token_ttl
  token_max_ttl            = var.token_max_ttl

  lifecycle {
    precondition {
      condition     = length(var.reader_role_arns) > 0
      error_message = "enable_aws_auth needs reader_role_arns (the seven reading Lambdas' role ARNs)."
    }
  }
}

resource "vault_aws_auth_backend_role" "writer" {
  count                    = var.enable_aws_auth ? 1 : 0
  namespace                = local.namespace
  backend                  = local.aws_auth_mount
  role                     = var.writer_name
  auth_type                = "iam"
  bound_iam_principal_arns = var.writer_role_arns
  resolve_aws_unique_ids   = true
  token_policies           = [vault_policy.writer.name]
  token_no_default_policy  = true
  token_ttl                = var.token_ttl
  token_max_ttl            = var.token_max_ttl

  lifecycle {
    precondition {
      condition     = length(var.writer_role_arns) > 0
      error_message = "enable_aws_auth needs writer_role_arns (storeInVault's and restoreVault's role ARNs)."
    }
  }
}

# AppRole: the role_id goes in the rotator's configuration, a secret_id in Secrets Manager. The
# secret_id is deliberately not created here: it would be stored in the Terraform state. Create it
# with the CLI as ../README.md shows.

resource "vault_auth_backend" "approle" {
  count     = var.enable_approle && var.create_approle_backend ? 1 : 0
  namespace = local.namespace
  type      = "approle"
  path      = var.approle_mount
}

locals {
  approle_mount = var.enable_approle && var.create_approle_backend ? vault_auth_backend.approle[0].path : var.approle_mount
  approles      = var.enable_approle ? { reader = vault_policy.reader.name, writer = vault_policy.writer.name } : {}
}

resource "vault_approle_auth_backend_role" "rotator" {
  for_each                = local.approles
  namespace               = local.namespace
  backend                 = local.approle_mount
  role_name               = each.value
  bind_secret_id          = true
  secret_id_ttl           = var.secret_id_ttl
  secret_id_bound_cidrs   = length(var.secret_id_bound_cidrs) > 0 ? var.secret_id_bound_cidrs : null
  token_policies          = [each.value]
  token_no_default_policy = true
  token_ttl               = var.token_ttl
  token_max_ttl           = var.token_max_ttl
}
