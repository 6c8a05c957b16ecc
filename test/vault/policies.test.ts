import { readSecretSource } from '../../functions/commons/secret-source.js';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVaultEmulator } from '../../local-stack/vault/index.js';
import type { VaultEmulator } from '../../local-stack/vault/index.js';
import { parsePolicy } from '../../local-stack/vault/policy.js';
import { VaultClient } from '../../functions/commons/vault/client.js';
import type { VaultConfig } from '../../functions/commons/vault/config.js';
import { VaultPermissionDeniedError } from '../../functions/commons/vault/errors.js';
import { type KvEngine, KvV1, KvV2 } from '../../functions/commons/vault/kv.js';

const VAULT_DIR = fileURLToPath(new URL('../../vault/', import.meta.url));
const TERRAFORM_DIR = join(VAULT_DIR, 'terraform');
const POLICY_MODULE = join(TERRAFORM_DIR, 'modules', 'policies');

const FILES = {
  2: { reader: 'policy-reader.hcl', writer: 'policy-writer.hcl' },
  1: { reader: 'kv1-policy-reader.hcl', writer: 'kv1-policy-writer.hcl' },
} as const;

type KvVersion = keyof typeof FILES;

interface Layout {
  kv: KvVersion;
  mount: string;
  prefix: string;
  namespace?: string;
}

/**
 * The files are written for mount `secret` and prefix `aws/iam-users/`. This is the substitution
 * vault/terraform/modules/policies does (Terraform's replace(), literal, every occurrence):
 * the mount right after `path "`, the prefix right before `*"`.
 */
function render(file: string, mount: string, prefix: string): string {
  return readFileSync(join(VAULT_DIR, file), 'utf8')
    .split('path "secret/')
    .join(`path "${mount}/`)
    .split('/aws/iam-users/*"')
    .join(`/${prefix}*"`);
}

/** What a policy grants, as `pattern -> sorted capabilities`. */
function grants(hcl: string): Record<string, string[]> {
  return Object.fromEntries(
    parsePolicy('p', hcl).rules.map((rule) => [rule.pattern, [...rule.capabilities].sort()]),
  );
}

/** The parameter limits of a policy's rules, as `pattern -> {allowed, denied, required}`. */
function parameterLimits(hcl: string) {
  return Object.fromEntries(
    parsePolicy('p', hcl).rules.map((rule) => [
      rule.pattern,
      {
        allowed: rule.allowedParameters && Object.fromEntries(rule.allowedParameters),
        denied: rule.deniedParameters && Object.fromEntries(rule.deniedParameters),
        required: rule.requiredParameters,
      },
    ]),
  );
}

describe('the policy files grant exactly what the rotator needs', () => {
  it.each([
    [2, 'reader', { 'secret/data/aws/iam-users/*': ['read'] }],
    [
      2,
      'writer',
      {
        'secret/data/aws/iam-users/*': ['create', 'delete', 'read', 'update'],
        'secret/metadata/aws/iam-users/*': ['create', 'update'],
      },
    ],
    [1, 'reader', { 'secret/aws/iam-users/*': ['read'] }],
    [1, 'writer', { 'secret/aws/iam-users/*': ['create', 'delete', 'read', 'update'] }],
  ] as const)('KV v%s %s', (kv, role, expected) => {
    expect(grants(render(FILES[kv][role], 'secret', 'aws/iam-users/'))).toEqual(expected);
  });

  it('limits the parameters: writers send only custom_metadata to metadata/, readers no version', () => {
    expect(parameterLimits(render(FILES[2].writer, 'secret', 'aws/iam-users/'))).toEqual({
      'secret/data/aws/iam-users/*': { allowed: undefined, denied: undefined, required: [] },
      'secret/metadata/aws/iam-users/*': {
        allowed: { custom_metadata: [] },
        denied: undefined,
        required: [],
      },
    });
    expect(parameterLimits(render(FILES[2].reader, 'secret', 'aws/iam-users/'))).toEqual({
      'secret/data/aws/iam-users/*': { allowed: undefined, denied: { version: [] }, required: [] },
    });
    for (const file of [FILES[1].reader, FILES[1].writer]) {
      expect(Object.values(parameterLimits(render(file, 'secret', 'aws/iam-users/')))).toEqual([
        { allowed: undefined, denied: undefined, required: [] },
      ]);
    }
  });

  it("vault/README.md's sed substitution for the CLI gives the same text", () => {
    const readme = readFileSync(join(VAULT_DIR, 'README.md'), 'utf8');
    const fn = readme.split('\n').find((line) => line.startsWith('render() {'));
    expect(fn).toBeDefined();
    for (const [file, mount, prefix] of [
      [FILES[2].writer, 'kv/team', 'rotated/iam/'],
      [FILES[1].reader, 'legacy', ''],
      [FILES[2].reader, 'secret', 'aws/iam-users/'],
    ] as const) {
      const res = spawnSync('bash', ['-c', `${fn}\nrender "$1"`, 'render', join(VAULT_DIR, file)], {
        encoding: 'utf8',
        env: { ...process.env, MOUNT: mount, PREFIX: prefix },
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toBe(render(file, mount, prefix));
    }
  });

  it('substitutes mount and prefix in the path rules only, including an empty prefix', () => {
    expect(grants(render(FILES[2].writer, 'kv/team', 'rotated/iam/'))).toEqual({
      'kv/team/data/rotated/iam/*': ['create', 'delete', 'read', 'update'],
      'kv/team/metadata/rotated/iam/*': ['create', 'update'],
    });
    expect(grants(render(FILES[1].reader, 'legacy', ''))).toEqual({ 'legacy/*': ['read'] });
  });
});

const LAYOUTS: Layout[] = [
  { kv: 2, mount: 'secret', prefix: 'aws/iam-users/' },
  { kv: 2, mount: 'kv/rotator', prefix: 'rotated/', namespace: 'team-a' },
  { kv: 1, mount: 'secret', prefix: 'aws/iam-users/' },
  { kv: 1, mount: 'legacy', prefix: 'iam/users/', namespace: 'team-a' },
];

const KEY = { access_key: 'AKIAEXAMPLEOLD000001', secret_key: 'old-secret' };
const NEW_KEY = { access_key: 'AKIAEXAMPLENEW000002', secret_key: 'new-secret' };

const expectDenied = (res: AxiosResponse): void => {
  expect({ status: res.status, body: res.data }).toEqual({
    status: 403,
    body: { errors: ['permission denied'] },
  });
};

describe.each(LAYOUTS)(
  'KV v$kv at $mount/, prefix "$prefix", namespace $namespace',
  ({ kv, mount, prefix, namespace }) => {
    let vault: VaultEmulator | undefined;
    let reader: AxiosInstance;
    let writer: AxiosInstance;
    let root: AxiosInstance;

    const emulator = (): VaultEmulator => {
      if (!vault) throw new Error('the Vault emulator has not started');
      return vault;
    };
    const client = (token: string): AxiosInstance =>
      axios.create({
        baseURL: `${emulator().addr}/v1/`,
        validateStatus: () => true,
        timeout: 5_000,
        headers: { 'X-Vault-Token': token, ...(namespace ? { 'X-Vault-Namespace': namespace } : {}) },
      });

    // Paths in the rotator's shape: `<prefix><userName>`, and nested ones (`vaultPath` input).
    const user = `${prefix}ci-deployer`;
    const nested = `${prefix}vendors/vendor-sync`;
    // Outside the prefix: elsewhere on the mount, and a sibling whose name only starts like it.
    const outside = 'apps/payments/db';
    const sibling = `${prefix.replace(/\/$/, '')}-other/ci-deployer`;
    // The same relative path on another mount of the same kind.
    const otherMount = 'other';

    const data = (path: string): string => (kv === 2 ? `${mount}/data/${path}` : `${mount}/${path}`);
    const metadata = (path: string): string => `${mount}/metadata/${path}`;
    const write = (http: AxiosInstance, path: string, value: Record<string, string>, cas = 0) =>
      kv === 2 ? http.post(data(path), { options: { cas }, data: value }) : http.post(data(path), value);
    const seed = (path: string, value: Record<string, string> = KEY, onMount = mount) =>
      emulator().writeSecret({ mount: onMount, path, data: value, ...(namespace ? { namespace } : {}) });
    const stored = (path: string) => emulator().readSecret(mount, path, namespace);

    beforeAll(async () => {
      vault = await startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9' });
      const ns = namespace;
      if (ns) emulator().createNamespace(ns);
      root = client(emulator().rootToken);
      if (!ns && mount === 'secret' && kv === 1) {
        // The emulator starts with secret/ as KV v2, like a dev server; make it KV v1.
        expect((await root.delete('sys/mounts/secret')).status).toBe(204);
      }
      emulator().enableKv(mount, kv, ns);
      emulator().enableKv(otherMount, kv, ns);
      emulator().putPolicy('iam-key-rotator-reader', render(FILES[kv].reader, mount, prefix), ns);
      emulator().putPolicy('iam-key-rotator-writer', render(FILES[kv].writer, mount, prefix), ns);
      const token = (policy: string) =>
        emulator().createToken({ policies: [policy], ...(ns ? { namespace: ns } : {}) });
      reader = client(token('iam-key-rotator-reader'));
      writer = client(token('iam-key-rotator-writer'));
    });

    afterAll(async () => {
      await vault?.close();
    });

    it('both tokens can detect the KV version (sys/internal/ui/mounts) with no sys/ rule', async () => {
      for (const http of [reader, writer]) {
        const res = await http.get(`sys/internal/ui/mounts/${mount}`);
        expect(res.status).toBe(200);
        expect(res.data.data).toMatchObject({
          type: 'kv',
          path: `${mount}/`,
          options: { version: String(kv) },
        });
      }
      // Only for the rotator's mount: another mount is as unknown to them as a missing one.
      expect((await reader.get(`sys/internal/ui/mounts/${otherMount}`)).status).toBe(403);
      expect((await writer.get(`sys/internal/ui/mounts/${otherMount}`)).status).toBe(403);
    });

    describe('reader (createKey, verifyKey, deactivateOld, deleteOld, discardNewKey)', () => {
      beforeAll(() => {
        seed(user);
        seed(nested);
        seed(outside);
        seed(sibling);
        seed(user, KEY, otherMount);
      });

      it('reads the current key under the prefix and nested paths, (KV v2) with its version', async () => {
        for (const path of [user, nested]) {
          const res = await reader.get(data(path));
          expect(res.status).toBe(200);
          expect(kv === 2 ? res.data.data.data : res.data.data).toEqual(KEY);
          if (kv === 2) expect(res.data.data.metadata.version).toBe(1);
        }
      });

      if (kv === 2)
        it('cannot read an earlier version (denied_parameters version), whatever the spelling', async () => {
          const path = `${prefix}two-versions`;
          seed(path);
          seed(path, NEW_KEY);
          expect((await reader.get(data(path))).data.data.data).toEqual(NEW_KEY);
          for (const query of ['version=1', 'version=2', 'VERSION=1', 'version=1&version=2', 'version=']) {
            expectDenied(await reader.get(`${data(path)}?${query}`));
          }
          expect((await writer.get(`${data(path)}?version=1`)).data.data.data).toEqual(KEY);
        });

      it('cannot write, create or delete under the prefix, and nothing changed', async () => {
        expectDenied(await write(reader, user, NEW_KEY, 1));
        expectDenied(await write(reader, `${prefix}brand-new`, NEW_KEY));
        expectDenied(await reader.delete(data(user)));
        expect(stored(user)?.data).toEqual(KEY);
        expect(stored(`${prefix}brand-new`)).toBeUndefined();
      });

      it('cannot list, nor (KV v2) read or write metadata, patch, delete, undelete or destroy versions', async () => {
        expectDenied(await reader.get(`${kv === 2 ? metadata(prefix) : data(prefix)}?list=true`));
        if (kv === 2) {
          expectDenied(await reader.get(metadata(user)));
          expectDenied(await reader.post(metadata(user), { custom_metadata: { rotated_by: 'x' } }));
          expectDenied(await reader.delete(metadata(user)));
          expectDenied(
            await reader.patch(
              data(user),
              { data: NEW_KEY },
              {
                headers: { 'Content-Type': 'application/merge-patch+json' },
              },
            ),
          );
          for (const action of ['delete', 'undelete', 'destroy']) {
            expectDenied(await reader.post(`${mount}/${action}/${user}`, { versions: [1] }));
          }
        }
      });

      it('cannot read outside the prefix or on another mount', async () => {
        expectDenied(await reader.get(data(outside)));
        expectDenied(await reader.get(data(sibling)));
        expectDenied(await reader.get(kv === 2 ? `${otherMount}/data/${user}` : `${otherMount}/${user}`));
      });

      it('cannot touch sys/ or auth/', async () => {
        await expectNoAdmin(reader);
      });
    });

    describe('writer (storeInVault, restoreVault)', () => {
      it('creates a first version (cas 0), reads it back and writes the next one with check-and-set', async () => {
        const path = `${prefix}first-key`;
        const created = await write(writer, path, KEY, 0);
        expect(created.status).toBe(kv === 2 ? 200 : 204);
        if (kv === 2) expect(created.data.data.version).toBe(1);

        const read = await writer.get(data(path));
        expect(read.status).toBe(200);
        expect(kv === 2 ? read.data.data.data : read.data.data).toEqual(KEY);

        const updated = await write(writer, path, NEW_KEY, 1);
        expect(updated.status).toBe(kv === 2 ? 200 : 204);
        expect(stored(path)?.data).toEqual(NEW_KEY);

        if (kv === 2) {
          // The idempotency/rollback read of an earlier version.
          const previous = await writer.get(`${data(path)}?version=1`);
          expect(previous.data.data.data).toEqual(KEY);
          // A stale cas is refused by the engine (400), not by the policy (403): the write is allowed.
          const stale = await write(writer, path, KEY, 1);
          expect(stale.status).toBe(400);
          expect(stale.data.errors.join()).toMatch(/check-and-set parameter did not match/);
        }
      });

      it('writes nested paths (vaultPath below the prefix)', async () => {
        const res = await write(writer, `${prefix}vendors/new-vendor`, KEY, 0);
        expect(res.status).toBeLessThan(300);
      });

      if (kv === 2)
        it('sets custom_metadata, on an existing path and on one without metadata', async () => {
          const path = `${prefix}with-metadata`;
          seed(path);
          const custom = {
            rotated_at: '2024-01-01T00:00:00Z',
            rotated_by: 'arn:aws:states:execution',
            access_key_id: 'AKIA1',
          };
          expect((await writer.post(metadata(path), { custom_metadata: custom })).status).toBe(204);
          expect(stored(path)?.metadata?.custom_metadata).toEqual(custom);
          expect(
            (await writer.post(metadata(`${prefix}no-data-yet`), { custom_metadata: custom })).status,
          ).toBe(204);
        });

      if (kv === 2)
        it('cannot set max_versions, delete_version_after or cas_required (allowed_parameters), and nothing changed', async () => {
          const path = `${prefix}kept-versions`;
          seed(path);
          seed(path, NEW_KEY);
          const custom = { rotated_by: 'arn:aws:states:execution' };
          for (const body of [
            { max_versions: 1 },
            { delete_version_after: '1s' },
            { cas_required: false },
            { custom_metadata: custom, max_versions: 1 },
            { custom_metadata: custom, delete_version_after: '1s' },
            { MAX_VERSIONS: 1 },
          ]) {
            expectDenied(await writer.post(metadata(path), body));
            expectDenied(await writer.put(metadata(path), body));
          }
          // A new path's metadata (Vault asks for "create") is limited the same way.
          expectDenied(await writer.post(metadata(`${prefix}no-metadata-yet`), { max_versions: 1 }));
          expect(stored(`${prefix}no-metadata-yet`)).toBeUndefined();
          const kept = await root.get(metadata(path));
          expect(kept.data.data).toMatchObject({
            max_versions: 0,
            current_version: 2,
            custom_metadata: null,
          });
          expect(Object.keys(kept.data.data.versions)).toEqual(['1', '2']);
          // What the rotator sends is still allowed, and so is an empty write.
          expect((await writer.post(metadata(path), { custom_metadata: custom })).status).toBe(204);
          expect((await writer.post(metadata(path), {})).status).toBe(204);
          expect((await root.get(metadata(path))).data.data.custom_metadata).toEqual(custom);
        });

      if (kv === 2)
        it('rolls back a first version with a soft delete that an operator can undo', async () => {
          const path = `${prefix}rolled-back`;
          seed(path);
          expect((await writer.delete(data(path))).status).toBe(204);
          const gone = await writer.get(data(path));
          expect(gone.status).toBe(404);
          expect(gone.data.data.metadata.deletion_time).not.toBe('');
          expect(stored(path)?.metadata).toMatchObject({ version: 1, destroyed: false });
          // The version is kept: root (not the writer) can bring it back.
          expectDenied(await writer.post(`${mount}/undelete/${path}`, { versions: [1] }));
          expect((await root.post(`${mount}/undelete/${path}`, { versions: [1] })).status).toBe(204);
          expect(stored(path)?.data).toEqual(KEY);
        });

      if (kv === 1)
        it('rolls back a first key by deleting the path', async () => {
          const path = `${prefix}rolled-back`;
          seed(path);
          expect((await writer.delete(data(path))).status).toBe(204);
          expect(stored(path)).toBeUndefined();
        });

      if (kv === 2)
        it('cannot destroy versions, delete metadata, read metadata, patch or list', async () => {
          const path = `${prefix}protected`;
          seed(path);
          seed(path, NEW_KEY);
          expectDenied(await writer.post(`${mount}/destroy/${path}`, { versions: [1, 2] }));
          expectDenied(await writer.post(`${mount}/delete/${path}`, { versions: [1] }));
          expectDenied(await writer.delete(metadata(path)));
          expectDenied(await writer.get(metadata(path)));
          expectDenied(await writer.get(`${metadata(prefix)}?list=true`));
          expectDenied(
            await writer.patch(
              data(path),
              { data: KEY },
              {
                headers: { 'Content-Type': 'application/merge-patch+json' },
              },
            ),
          );
          const first = await root.get(`${data(path)}?version=1`);
          expect(first.data.data).toMatchObject({ data: KEY, metadata: { destroyed: false } });
          expect(stored(path)).toMatchObject({ data: NEW_KEY, metadata: { version: 2 } });
        });

      if (kv === 1)
        it('cannot list', async () => {
          expectDenied(await writer.get(`${data(prefix)}?list=true`));
        });

      it('cannot write, read or delete outside the prefix or on another mount', async () => {
        seed(outside);
        for (const path of [outside, sibling]) {
          expectDenied(await write(writer, path, NEW_KEY, 1));
          expectDenied(await writer.get(data(path)));
          expectDenied(await writer.delete(data(path)));
          if (kv === 2) expectDenied(await writer.post(metadata(path), { custom_metadata: { a: 'b' } }));
        }
        const elsewhere = kv === 2 ? `${otherMount}/data/${user}` : `${otherMount}/${user}`;
        expectDenied(await writer.post(elsewhere, kv === 2 ? { data: NEW_KEY } : NEW_KEY));
        expectDenied(await writer.get(elsewhere));
        expect(stored(outside)?.data).toEqual(KEY);
      });

      it('cannot manage policies, mounts or auth (no way to widen its own access)', async () => {
        await expectNoAdmin(writer);
      });
    });

    describe("the rotator's own calls (functions/commons/vault) under each policy", () => {
      const rotatorKv = (token: string): KvEngine => {
        const settings: VaultConfig = {
          addr: emulator().addr,
          namespace,
          mount,
          kvVersion: kv,
          pathPrefix: prefix,
          pathTemplate: '{prefix}{userName}',
          fields: { accessKeyId: 'access_key', secretAccessKey: 'secret_key' },
          extraFields: {},
          timeoutMs: 2_000,
          auth: { method: 'token', token: { kind: 'env', value: token } },
          tls: { ca: undefined, clientCert: undefined, skipVerify: false },
        };
        const client = new VaultClient(settings, readSecretSource);
        return kv === 2 ? new KvV2(client, mount) : new KvV1(client, mount);
      };
      const holding = (version: number, accessKeyId: string | null) => ({
        version,
        matches: (value: Record<string, unknown> | null) => (value?.['access_key'] ?? null) === accessKeyId,
      });
      const tokenFor = (policy: string) =>
        emulator().createToken({ policies: [policy], ...(namespace ? { namespace } : {}) });

      it('a whole rotation and its rollback: readers read, the writer stores, describes and restores', async () => {
        const path = `${prefix}rotated-by-the-rotator`;
        seed(path);
        const readerKv = rotatorKv(tokenFor('iam-key-rotator-reader'));
        const writerKv = rotatorKv(tokenFor('iam-key-rotator-writer'));
        // createKey (reader): what Vault serves now.
        const before = await readerKv.read(path);
        expect(before).toEqual({ version: 1, data: KEY });
        // storeInVault (writer): the idempotency read, the check-and-set write, the custom_metadata.
        expect(await writerKv.read(path)).toEqual(before);
        const version = await writerKv.write(path, NEW_KEY, holding(1, KEY.access_key));
        expect(version).toBe(kv === 2 ? 2 : 1);
        await writerKv.setCustomMetadata(path, {
          rotated_at: '2024-05-01T12:00:00.000Z',
          rotated_by: 'arn:aws:states:eu-west-1:123456789012:execution:rotate-access-key:run-1',
          access_key_id: NEW_KEY.access_key,
          previous_access_key_id: KEY.access_key,
        });
        if (kv === 2) {
          expect(stored(path)?.metadata?.custom_metadata).toMatchObject({
            access_key_id: NEW_KEY.access_key,
          });
        }
        // verifyKey, deactivateOld, deleteOld, discardNewKey (reader): the current key only.
        expect((await readerKv.read(path))?.data).toEqual(NEW_KEY);
        if (kv === 2) await expect(readerKv.read(path, 1)).rejects.toThrow(VaultPermissionDeniedError);
        // restoreVault (writer): reads the version it puts back and writes it with check-and-set.
        if (kv === 2) expect((await writerKv.read(path, 1))?.data).toEqual(KEY);
        await writerKv.write(path, KEY, holding(version, NEW_KEY.access_key));
        expect(stored(path)?.data).toEqual(KEY);
        // restoreVault's rollback of a first key.
        const first = `${prefix}first-of-the-rotator`;
        await writerKv.write(first, NEW_KEY, holding(0, null));
        await writerKv.deleteCurrent(first);
        expect(await readerKv.read(first)).toEqual(kv === 2 ? { version: 1, data: null } : null);
        // A reader's token cannot do any of the writer's steps.
        await expect(readerKv.write(path, NEW_KEY, holding(version, KEY.access_key))).rejects.toThrow(
          VaultPermissionDeniedError,
        );
        if (kv === 2) {
          await expect(readerKv.setCustomMetadata(path, { rotated_by: 'reader' })).rejects.toThrow(
            VaultPermissionDeniedError,
          );
        }
        await expect(readerKv.deleteCurrent(path)).rejects.toThrow(VaultPermissionDeniedError);
        expect(stored(path)?.data).toEqual(KEY);
      });

      it('separate reader and writer AppRole roles: the reader logs in and cannot write the key path', async () => {
        const path = `${prefix}approle-user`;
        seed(path);
        const login = async (role: string) => {
          const policy = `iam-key-rotator-${role}`;
          expect(
            (await root.post(`auth/approle/role/${policy}`, { token_policies: [policy], token_ttl: 900 }))
              .status,
          ).toBe(204);
          const roleId = (await root.get(`auth/approle/role/${policy}/role-id`)).data.data.role_id;
          const secretId = (await root.post(`auth/approle/role/${policy}/secret-id`, {})).data.data.secret_id;
          const res = await client('').post('auth/approle/login', { role_id: roleId, secret_id: secretId });
          expect(res.status).toBe(200);
          return client(res.data.auth.client_token as string);
        };
        const approleReader = await login('reader');
        const approleWriter = await login('writer');
        expect((await approleReader.get(data(path))).status).toBe(200);
        expectDenied(await write(approleReader, path, NEW_KEY, 1));
        expectDenied(await approleReader.delete(data(path)));
        if (kv === 2) expectDenied(await approleReader.post(metadata(path), { custom_metadata: { a: 'b' } }));
        expect(stored(path)?.data).toEqual(KEY);
        expect((await write(approleWriter, path, NEW_KEY, 1)).status).toBeLessThan(300);
        expect(stored(path)?.data).toEqual(NEW_KEY);
      });
    });

    async function expectNoAdmin(http: AxiosInstance): Promise<void> {
      const wide = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }';
      expectDenied(await http.put('sys/policies/acl/iam-key-rotator-writer', { policy: wide }));
      expectDenied(await http.put('sys/policies/acl/new-policy', { policy: wide }));
      expectDenied(await http.get('sys/policies/acl/iam-key-rotator-writer'));
      expectDenied(await http.delete('sys/policies/acl/iam-key-rotator-reader'));
      expectDenied(await http.get('sys/policies/acl?list=true'));
      expectDenied(await http.get('sys/mounts'));
      expectDenied(await http.post('sys/mounts/stolen', { type: 'kv', options: { version: '2' } }));
      expectDenied(await http.delete(`sys/mounts/${mount}`));
      expectDenied(await http.post(`${mount}/config`, { cas_required: false, max_versions: 1 }));
      expectDenied(
        await http.post('auth/aws/role/iam-key-rotator-writer', {
          auth_type: 'iam',
          bound_iam_principal_arn: ['arn:aws:iam::123456789012:role/attacker'],
          token_policies: ['iam-key-rotator-writer'],
        }),
      );
      expectDenied(await http.post('auth/approle/role/iam-key-rotator-writer/secret-id', {}));
      expect((await root.get('auth/aws/role/iam-key-rotator-writer')).status).toBe(404);
      expect((await root.get('sys/policies/acl/new-policy')).status).toBe(404);
    }
  },
);

const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;

describe('Terraform uses the same policy files', () => {
  it.skipIf(!terraform)(
    'renders the same text as the CLI substitution, parameter limits included (terraform console, offline)',
    () => {
      // A copy, so that `terraform init` leaves nothing in the repository.
      const copy = mkdtempSync(join(tmpdir(), 'iam-key-rotator-tf-'));
      try {
        cpSync(VAULT_DIR, join(copy, 'vault'), { recursive: true });
        const module = join(copy, 'vault', 'terraform', 'modules', 'policies');
        const run = (args: string[], input = '', env: Record<string, string> = {}) =>
          spawnSync('terraform', [`-chdir=${module}`, ...args], {
            encoding: 'utf8',
            input,
            env: { ...process.env, TF_IN_AUTOMATION: '1', ...env },
          });
        const init = run(['init', '-input=false', '-no-color']);
        expect(init.status, init.stderr).toBe(0);
        for (const [kv, mount, prefix] of [
          [2, 'kv/team', 'rotated/'],
          [1, 'legacy', ''],
        ] as const) {
          const res = run(['console', '-no-color'], 'jsonencode(local.rendered)\n', {
            TF_VAR_kv_version: String(kv),
            TF_VAR_mount: mount,
            TF_VAR_path_prefix: prefix,
          });
          expect(res.status, res.stderr).toBe(0);
          const rendered = JSON.parse(JSON.parse(res.stdout.trim()) as string) as Record<string, string>;
          expect(rendered).toEqual({
            reader: render(FILES[kv].reader, mount, prefix),
            writer: render(FILES[kv].writer, mount, prefix),
          });
        }
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
  );

  const tfFiles = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.tf') && !name.includes('.terraform'))
      .map((name) => join(dir, name));

  it('has no policy text of its own', () => {
    const files = tfFiles(TERRAFORM_DIR);
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/capabilities\s*=/);
      expect(text, file).not.toMatch(/path\s+"[^"]*"\s*\{/);
    }
  });

  it('renders every policy file in vault/ from the policies module, and the root module uses its outputs', () => {
    const module = readFileSync(join(POLICY_MODULE, 'main.tf'), 'utf8');
    const hclFiles = readdirSync(VAULT_DIR).filter((name) => name.endsWith('.hcl'));
    expect(hclFiles.sort()).toEqual(
      Object.values(FILES)
        .flatMap((pair) => Object.values(pair))
        .sort(),
    );
    for (const file of hclFiles) expect(module).toContain(`"${file}"`);
    expect(module).toMatch(/file\("\$\{local\.policy_dir\}\/\$\{file\}"\)/);
    expect(module).toContain('policy_dir = "${path.module}/../../.."');

    const main = readFileSync(join(TERRAFORM_DIR, 'main.tf'), 'utf8');
    expect(main).toContain('source      = "./modules/policies"');
    expect(main).toMatch(/resource "vault_policy" "reader" \{[^}]*policy\s+= module\.policies\.reader\n/);
    expect(main).toMatch(/resource "vault_policy" "writer" \{[^}]*policy\s+= module\.policies\.writer\n/);
  });
});
