variable "namespace" {
  description = "Vault Enterprise / HCP namespace (the rotator's vaultNamespace); empty for none."
  type        = string
  default     = ""
}

variable "mount" {
  description = "KV mount the rotator uses (vaultKvMount)."
  type        = string
  default     = "secret"
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", var.mount))
    error_message = "mount: segments of letters, digits, _ and -, separated by /, no slash at either end."
  }
}

variable "kv_version" {
  description = "Version of the KV engine at the mount: 1 or 2."
  type        = number
  default     = 2
  validation {
    condition     = contains([1, 2], var.kv_version)
    error_message = "kv_version must be 1 or 2."
  }
}

variable "create_mount" {
  description = "Enable the KV engine at var.mount. Leave false when the mount already exists."
  type        = bool
  default     = false
}

variable "path_prefix" {
  description = "Prefix of the rotated paths (vaultPathPrefix): empty, or a relative path ending in /."
  type        = string
  default     = "aws/iam-users/"
  validation {
    condition     = can(regex("^([A-Za-z0-9_.-]+/)*$", var.path_prefix))
    error_message = "path_prefix: empty, or segments of letters, digits, _ . and -, each ending in /."
  }
}

variable "reader_name" {
  description = "Name of the reader policy and of its auth roles (vaultReaderRole)."
  type        = string
  default     = "iam-key-rotator-reader"
}

variable "writer_name" {
  description = "Name of the writer policy and of its auth roles (vaultWriterRole)."
  type        = string
  default     = "iam-key-rotator-writer"
}

variable "token_ttl" {
  description = "TTL in seconds of the tokens the auth roles issue; the rotator logs in again at 2/3 of it."
  type        = number
  default     = 900
}

variable "token_max_ttl" {
  description = "Maximum TTL in seconds of those tokens."
  type        = number
  default     = 1800
}

# AWS IAM auth (the rotator's default, vaultAuthMethod=aws).

variable "enable_aws_auth" {
  description = "Create the aws auth roles (and, with create_aws_auth_backend, the auth method)."
  type        = bool
  default     = true
}

variable "create_aws_auth_backend" {
  description = "Enable the aws auth method at aws_auth_mount. False when it is already enabled."
  type        = bool
  default     = true
}

variable "aws_auth_mount" {
  description = "Path of the aws auth method (vaultAwsAuthMount)."
  type        = string
  default     = "aws"
}

variable "configure_aws_auth_client" {
  description = "Manage auth/<aws_auth_mount>/config/client (STS endpoint and region, server id header)."
  type        = bool
  default     = true
}

variable "iam_server_id" {
  description = "Required value of X-Vault-AWS-IAM-Server-ID (vaultIamServerId); empty for none."
  type        = string
  default     = ""
}

variable "sts_endpoint" {
  description = "STS endpoint Vault calls; must match the rotator's VAULT_AWS_STS_ENDPOINT. Empty: Vault's default (https://sts.amazonaws.com)."
  type        = string
  default     = ""
}

variable "sts_region" {
  description = "Region of sts_endpoint; must match the rotator's VAULT_AWS_STS_REGION. Empty: Vault's default (us-east-1)."
  type        = string
  default     = ""
}

variable "reader_role_arns" {
  description = "ARNs of the IAM roles of createKey, verifyKey, deactivateOld, deleteOld, discardNewKey, discardLeftovers and listCandidates."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.reader_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", arn))])
    error_message = "reader_role_arns: IAM role ARNs (arn:aws:iam::123456789012:role/...)."
  }
}

variable "writer_role_arns" {
  description = "ARNs of the IAM roles of storeInVault and restoreVault."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.writer_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", arn))])
    error_message = "writer_role_arns: IAM role ARNs (arn:aws:iam::123456789012:role/...)."
  }
}

# AppRole (alternative to AWS IAM auth).

variable "enable_approle" {
  description = "Create the two AppRole roles (and, with create_approle_backend, the auth method)."
  type        = bool
  default     = false
}

variable "create_approle_backend" {
  description = "Enable the approle auth method at approle_mount. False when it is already enabled."
  type        = bool
  default     = true
}

variable "approle_mount" {
  description = "Path of the approle auth method."
  type        = string
  default     = "approle"
}

variable "secret_id_ttl" {
  description = "Lifetime in seconds of a secret_id (0: until revoked). Rotate it in Secrets Manager before it ends."
  type        = number
  default     = 0
}

variable "secret_id_bound_cidrs" {
  description = "CIDRs a secret_id may log in from (for example the Lambdas' VPC NAT addresses); empty for any."
  type        = list(string)
  default     = []
}
