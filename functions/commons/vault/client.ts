import type { SecretReader, VaultConfig } from './config.js';
import { resolveTls } from './tls.js';
import { acquireToken, type Lease } from './auth.js';
import { VaultPermissionDeniedError } from './errors.js';
import { createHttp, type Method, send, type VaultEnvelope, type VaultHttp } from './http.js';

/** Vault's HTTP API with a token that is cached across warm invocations and re-acquired before expiry. */
export class VaultClient {
  private lease: Lease | undefined;
  private connection: Promise<VaultHttp> | undefined;

  constructor(
    private readonly settings: VaultConfig,
    /** Where the token, secret_id and TLS material are read from (secret-source.ts in the Lambdas). */
    private readonly readSecret: SecretReader,
  ) {}

  /** The HTTP client, built once the TLS material (possibly in SSM or Secrets Manager) is read. */
  private http(): Promise<VaultHttp> {
    this.connection ??= resolveTls(this.settings.tls, this.readSecret).then((tls) =>
      createHttp(this.settings, tls),
    );
    // A failed read is not cached: the next invocation tries again.
    this.connection.catch(() => {
      this.connection = undefined;
    });
    return this.connection;
  }

  /** Sends an authenticated request; resolves with the envelope, for 404 too (its body may be empty). */
  async request<T>(method: Method, path: string, data?: unknown): Promise<VaultEnvelope<T> | undefined> {
    const lease = await this.token();
    try {
      return (await send<T>(await this.http(), method, path, { token: lease.token, data })).data;
    } catch (error) {
      // A 403 can mean a login token was revoked or expired early: log in again, once.
      if (!(error instanceof VaultPermissionDeniedError) || !lease.fromLogin) throw error;
      this.lease = undefined;
      const fresh = await this.token();
      return (await send<T>(await this.http(), method, path, { token: fresh.token, data })).data;
    }
  }

  private async token(): Promise<Lease> {
    if (!this.lease || Date.now() >= this.lease.refreshAt) {
      this.lease = await acquireToken(await this.http(), this.settings.auth, this.readSecret);
    }
    return this.lease;
  }
}
