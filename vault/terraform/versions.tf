terraform {
  required_version = ">= 1.3"
  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0"
    }
  }
}

# Address and credentials come from the environment (VAULT_ADDR, VAULT_TOKEN, ...), as for the
# vault CLI. The namespace is set per resource from var.namespace, not here.
provider "vault" {}
