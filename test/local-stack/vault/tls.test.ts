import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVaultEmulator } from '../../../local-stack/vault/index.js';
import type { VaultEmulator } from '../../../local-stack/vault/index.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with the system's openssl. */
function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vault-tls-'));
  try {
    const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ]),
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('TLS', () => {
  let vault: VaultEmulator;
  let cert: string;

  beforeAll(async () => {
    const tls = selfSignedCert();
    cert = tls.cert;
    vault = await startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9', tls });
  });

  afterAll(async () => {
    await vault.close();
  });

  it('serves the Vault API over HTTPS with the supplied certificate', async () => {
    expect(vault.addr).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = axios.create({ httpsAgent: new Agent({ ca: cert }), validateStatus: () => true });
    const health = await client.get(`${vault.addr}/v1/sys/health`);
    expect(health.status).toBe(200);
    const write = await client.post(
      `${vault.addr}/v1/secret/data/tls`,
      { data: { v: 1 } },
      { headers: { 'X-Vault-Token': vault.rootToken } },
    );
    expect(write.data.data.version).toBe(1);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await expect(axios.get(`${vault.addr}/v1/sys/health`)).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });
});
