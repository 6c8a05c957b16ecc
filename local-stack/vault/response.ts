import { randomUUID } from 'node:crypto';

/** What a handler answers: an HTTP status and, unless 204, a JSON body. */
export interface VaultResponse {
  status: number;
  body?: unknown;
}

export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service';
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

interface EnvelopeFields {
  data?: unknown;
  auth?: AuthBlock | null;
  leaseDuration?: number;
  mountType?: string;
  warnings?: string[] | null;
}

/** Vault's success envelope; every field is present even when empty, as real Vault sends them. */
export function envelope(fields: EnvelopeFields): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: fields.leaseDuration ?? 0,
    data: fields.data ?? null,
    wrap_info: null,
    warnings: fields.warnings ?? null,
    auth: fields.auth ?? null,
    mount_type: fields.mountType ?? '',
  };
}

export const ok = (fields: EnvelopeFields, status = 200): VaultResponse => ({
  status,
  body: envelope(fields),
});

export const noContent = (): VaultResponse => ({ status: 204 });
