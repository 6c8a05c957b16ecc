output "policies" {
  description = "Names of the reader and writer policies, and the files they were rendered from."
  value = {
    reader = vault_policy.reader.name
    writer = vault_policy.writer.name
    files  = module.policies.files
  }
}

output "aws_auth_roles" {
  description = "The aws auth roles: the rotator's vaultReaderRole and vaultWriterRole."
  value = var.enable_aws_auth ? {
    mount  = local.aws_auth_mount
    reader = vault_aws_auth_backend_role.reader[0].role
    writer = vault_aws_auth_backend_role.writer[0].role
  } : null
}

output "approle_role_ids" {
  description = "AppRole role_ids for the rotator's configuration (not secret on their own)."
  value       = { for key, role in vault_approle_auth_backend_role.rotator : key => role.role_id }
}
