import { ConfigurationError } from '../errors.js';
import { describeSource } from '../secret-source.js';
import type { SecretReader, VaultTls } from './config.js';
import type { TlsMaterial } from './http.js';

const PEM = /-----BEGIN [A-Z ]+-----/;

/** Reads the CA bundle and client certificate from where the configuration says they are. */
export async function resolveTls(tls: VaultTls, readSecret: SecretReader): Promise<TlsMaterial> {
  const material: TlsMaterial = {};
  if (tls.ca) {
    const ca = await readSecret(tls.ca);
    if (!ca || !PEM.test(ca))
      throw new ConfigurationError(`${describeSource(tls.ca)} holds no PEM CA bundle`);
    material.ca = ca;
  }
  if (tls.clientCert && 'cert' in tls.clientCert) {
    material.cert = tls.clientCert.cert;
    material.key = tls.clientCert.key;
  } else if (tls.clientCert) {
    const source = { kind: 'secrets-manager', secretId: tls.clientCert.secretId } as const;
    const raw = await readSecret(source);
    let parsed: { certificate?: unknown; private_key?: unknown } = {};
    try {
      parsed = JSON.parse(raw ?? '{}') as typeof parsed;
    } catch {
      // Reported below like any other malformed value.
    }
    if (typeof parsed.certificate !== 'string' || typeof parsed.private_key !== 'string') {
      throw new ConfigurationError(
        `${describeSource(source)} must be JSON {"certificate": PEM, "private_key": PEM}`,
      );
    }
    material.cert = parsed.certificate;
    material.key = parsed.private_key;
  }
  return material;
}
