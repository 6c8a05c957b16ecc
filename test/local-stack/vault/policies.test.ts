import { describe, expect, it } from 'vitest';
import { Acl, parsePolicy } from '../../../local-stack/vault/policy.js';
import { useVault, vaultClient } from './helpers.js';

const acl = (hcl: string) => new Acl([parsePolicy('p', hcl)]);

describe('ACL policies', () => {
  describe('matching rules', () => {
    it('lets an exact path win over any glob', () => {
      const policy = acl(`
        path "secret/data/*" { capabilities = ["deny"] }
        path "secret/data/app" { capabilities = ["read"] }`);
      expect(policy.allows('secret/data/app', 'read')).toBe(true);
      expect(policy.allows('secret/data/other', 'read')).toBe(false);
    });

    it('lets the longer prefix glob win', () => {
      const policy = acl(`
        path "secret/*" { capabilities = ["read"] }
        path "secret/data/locked/*" { capabilities = ["deny"] }`);
      expect(policy.allows('secret/data/open', 'read')).toBe(true);
      expect(policy.allows('secret/data/locked/key', 'read')).toBe(false);
    });

    it('matches + against exactly one segment', () => {
      const policy = acl('path "secret/data/+/key" { capabilities = ["read"] }');
      expect(policy.allows('secret/data/team/key', 'read')).toBe(true);
      expect(policy.allows('secret/data/team/sub/key', 'read')).toBe(false);
    });

    it('prefers a glob whose first wildcard comes later', () => {
      const policy = acl(`
        path "secret/+/app/*" { capabilities = ["read"] }
        path "secret/data/*" { capabilities = ["list"] }`);
      expect(policy.allows('secret/data/app/x', 'list')).toBe(true);
      expect(policy.allows('secret/data/app/x', 'read')).toBe(false);
    });

    it('merges the same path across policies and lets deny override grants there', () => {
      const merged = new Acl([
        parsePolicy('a', 'path "kv/x" { capabilities = ["read"] }'),
        parsePolicy('b', 'path "kv/x" { capabilities = ["update"] }'),
        parsePolicy('c', 'path "kv/y" { capabilities = ["read"] }'),
        parsePolicy('d', 'path "kv/y" { capabilities = ["deny"] }'),
      ]);
      expect(merged.allows('kv/x', 'read') && merged.allows('kv/x', 'update')).toBe(true);
      expect(merged.allows('kv/y', 'read')).toBe(false);
    });

    it('reads comments, the legacy policy shorthand and rejects unknown capabilities', () => {
      const policy = acl(`# hash comment
        // slash comment
        /* block
           comment */
        path "kv/*" { policy = "write" }`);
      expect(policy.allows('kv/a', 'update')).toBe(true);
      expect(() => parsePolicy('bad', 'path "kv/*" { capabilities = ["fly"] }')).toThrow(
        /invalid capability "fly"/,
      );
      expect(() => parsePolicy('bad', 'path "kv/*" { capabilities = ["read"]')).toThrow(/found end of input/);
    });
  });

  describe('parameter constraints (allowed_parameters, denied_parameters, required_parameters)', () => {
    const rule = (body: string) =>
      acl(`path "kv/x" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n${body}\n}`);

    it('reads the HCL forms Vault accepts: object with =, block, quoted and bare keys, numbers and bools', () => {
      const [parsed] = parsePolicy(
        'p',
        `path "kv/x" {
          capabilities = ["update"]
          allowed_parameters = {
            "Name" = ["a*", 3, true]
            bare = []
          }
          denied_parameters { "z" = ["c"], "*" = [] }
          required_parameters = ["name"]
        }`,
      ).rules;
      expect(parsed?.allowedParameters).toEqual(
        new Map<string, unknown>([
          ['name', ['a*', 3, true]],
          ['bare', []],
        ]),
      );
      expect(parsed?.deniedParameters).toEqual(
        new Map([
          ['z', ['c']],
          ['*', []],
        ]),
      );
      expect(parsed?.requiredParameters).toEqual(['name']);
      expect(() => parsePolicy('bad', 'path "kv/x" { allowed_parameters = ["a"] }')).toThrow(
        /object of lists/,
      );
    });

    it('allowed_parameters: only the listed names; an empty list takes any value', () => {
      const policy = rule('allowed_parameters = { "custom_metadata" = [] }');
      expect(policy.allows('kv/x', 'update', { custom_metadata: { a: 'b' } })).toBe(true);
      expect(policy.allows('kv/x', 'update', { CUSTOM_METADATA: 'anything' })).toBe(true);
      expect(policy.allows('kv/x', 'update', {})).toBe(true);
      expect(policy.allows('kv/x', 'update', { max_versions: 1 })).toBe(false);
      expect(policy.allows('kv/x', 'create', { custom_metadata: {}, delete_version_after: '1s' })).toBe(
        false,
      );
      expect(policy.allows('kv/x', 'read', { version: '1' })).toBe(false);
      expect(policy.allows('kv/x', 'patch', { max_versions: 1 })).toBe(false);
      // Delete and list are not parameter-checked, as in Vault.
      expect(policy.allows('kv/x', 'delete', { max_versions: 1 })).toBe(true);
      expect(policy.allows('kv/x', 'list', { max_versions: 1 })).toBe(true);
    });

    it('allowed_parameters: value lists with globs, lists and comma-separated strings element by element', () => {
      const policy = rule('allowed_parameters = { "name" = ["team-*", "*-ops", "exact"], "n" = [3, true] }');
      for (const name of ['team-a', 'db-ops', 'exact', ['team-a', 'exact'], 'team-a, exact', ''])
        expect(policy.allows('kv/x', 'update', { name }), JSON.stringify(name)).toBe(true);
      for (const name of ['other', 'exact2', ['team-a', 'other'], 'exact,other', 5, null])
        expect(policy.allows('kv/x', 'update', { name }), JSON.stringify(name)).toBe(false);
      expect(policy.allows('kv/x', 'update', { n: 3 })).toBe(true);
      expect(policy.allows('kv/x', 'update', { n: true })).toBe(true);
      expect(policy.allows('kv/x', 'update', { n: 4 })).toBe(false);
    });

    it('allowed_parameters "*": any other name, while listed names keep their values', () => {
      expect(rule('allowed_parameters = { "*" = [] }').allows('kv/x', 'update', { anything: 1 })).toBe(true);
      const policy = rule('allowed_parameters = { "*" = [], "mode" = ["safe"] }');
      expect(policy.allows('kv/x', 'update', { other: 1, mode: 'safe' })).toBe(true);
      expect(policy.allows('kv/x', 'update', { mode: 'unsafe' })).toBe(false);
    });

    it('denied_parameters: a listed name (any value, or the listed ones), "*" denies any parameter; deny wins over allow', () => {
      const policy = rule(`denied_parameters = { "max_versions" = [], "mode" = ["bad*"] }
        allowed_parameters = { "*" = [] }`);
      expect(policy.allows('kv/x', 'update', { max_versions: 5 })).toBe(false);
      expect(policy.allows('kv/x', 'update', { Max_Versions: 5 })).toBe(false);
      expect(policy.allows('kv/x', 'update', { mode: 'bad-one' })).toBe(false);
      expect(policy.allows('kv/x', 'update', { mode: ['good', 'bad-one'] })).toBe(false);
      expect(policy.allows('kv/x', 'update', { mode: 'good,bad-one' })).toBe(false);
      expect(policy.allows('kv/x', 'update', { mode: 'good' })).toBe(true);
      const none = rule('denied_parameters = { "*" = [] }');
      expect(none.allows('kv/x', 'update', { a: 1 })).toBe(false);
      expect(none.allows('kv/x', 'update', {})).toBe(true);
    });

    it('required_parameters: every listed name must be present', () => {
      const policy = rule('required_parameters = ["cas"]');
      expect(policy.allows('kv/x', 'update', { cas: 0 })).toBe(true);
      expect(policy.allows('kv/x', 'update', { data: 1 })).toBe(false);
      expect(policy.allows('kv/x', 'update', {})).toBe(false);
      expect(policy.allows('kv/x', 'delete', {})).toBe(true);
    });

    it('merges like Vault: an empty list wins, value lists add up, a deny drops the parameters', () => {
      const merged = new Acl([
        parsePolicy(
          'a',
          'path "kv/x" { capabilities = ["update"]\n allowed_parameters = { "a" = ["1"], "b" = ["1"] } }',
        ),
        parsePolicy(
          'b',
          'path "kv/x" { capabilities = ["update"]\n allowed_parameters = { "a" = [], "b" = ["2"] } }',
        ),
      ]);
      expect(merged.allows('kv/x', 'update', { a: 'anything', b: '2' })).toBe(true);
      expect(merged.allows('kv/x', 'update', { b: '1' })).toBe(true);
      expect(merged.allows('kv/x', 'update', { b: '3' })).toBe(false);
      const denied = new Acl([
        parsePolicy('a', 'path "kv/x" { capabilities = ["update"]\n allowed_parameters = { "a" = [] } }'),
        parsePolicy('b', 'path "kv/x" { capabilities = ["deny"] }'),
      ]);
      expect(denied.allows('kv/x', 'update', { a: '1' })).toBe(false);
    });
  });

  describe('over HTTP', () => {
    const vault = useVault();
    const root = () => vaultClient(vault(), { token: vault().rootToken });

    it('answers a path outside the token’s policies with 403 permission denied', async () => {
      vault().putPolicy('reader', 'path "secret/data/readable/*" { capabilities = ["read"] }');
      const token = vault().createToken({ policies: ['reader'] });
      const res = await vaultClient(vault(), { token }).get('secret/data/elsewhere');
      expect(res.status).toBe(403);
      expect(res.data).toEqual({ errors: ['permission denied'] });
    });

    it('needs create for a new KV v2 secret and update for an existing one', async () => {
      vault().putPolicy('creator', 'path "secret/data/cu/*" { capabilities = ["create"] }');
      vault().putPolicy('updater', 'path "secret/data/cu/*" { capabilities = ["update"] }');
      const creator = vaultClient(vault(), { token: vault().createToken({ policies: ['creator'] }) });
      const updater = vaultClient(vault(), { token: vault().createToken({ policies: ['updater'] }) });

      expect((await updater.post('secret/data/cu/new', { data: { v: 1 } })).status).toBe(403);
      expect((await creator.post('secret/data/cu/new', { data: { v: 1 } })).status).toBe(200);
      expect((await creator.post('secret/data/cu/new', { data: { v: 2 } })).status).toBe(403);
      expect((await updater.post('secret/data/cu/new', { data: { v: 2 } })).status).toBe(200);
    });

    it('checks KV v2 paths on the API path, so data/ and metadata/ need separate grants', async () => {
      vault().putPolicy(
        'data-only',
        'path "secret/data/split/*" { capabilities = ["read", "create", "update"] }',
      );
      const client = vaultClient(vault(), { token: vault().createToken({ policies: ['data-only'] }) });
      expect((await client.post('secret/data/split/a', { data: { v: 1 } })).status).toBe(200);
      expect((await client.get('secret/metadata/split/a')).status).toBe(403);
      expect((await client.get('secret/metadata/split', { params: { list: true } })).status).toBe(403);
    });

    it('lets a deny rule override a broader grant', async () => {
      await root().put('sys/policies/acl/mostly', {
        policy: `path "secret/data/*" { capabilities = ["read"] }
                 path "secret/data/private/*" { capabilities = ["deny"] }`,
      });
      const client = vaultClient(vault(), { token: vault().createToken({ policies: ['mostly'] }) });
      await root().post('secret/data/public/a', { data: { v: 1 } });
      await root().post('secret/data/private/a', { data: { v: 1 } });
      expect((await client.get('secret/data/public/a')).status).toBe(200);
      expect((await client.get('secret/data/private/a')).status).toBe(403);
    });

    it('grants list on a metadata folder through a + glob', async () => {
      vault().putPolicy('lister', 'path "secret/metadata/+/" { capabilities = ["list"] }');
      await root().post('secret/data/teamx/a', { data: { v: 1 } });
      const client = vaultClient(vault(), { token: vault().createToken({ policies: ['lister'] }) });
      expect((await client.get('secret/metadata/teamx', { params: { list: true } })).data.data.keys).toEqual([
        'a',
      ]);
    });

    it('writes, reads, lists and deletes policies through sys/policies/acl', async () => {
      const hcl = 'path "secret/data/x" { capabilities = ["read"] }';
      expect((await root().put('sys/policies/acl/Named', { policy: hcl })).status).toBe(204);
      expect((await root().get('sys/policies/acl/named')).data.data).toEqual({ name: 'named', policy: hcl });
      expect((await root().get('sys/policies/acl', { params: { list: true } })).data.data.keys).toContain(
        'named',
      );
      expect((await root().delete('sys/policies/acl/named')).status).toBe(204);
      expect((await root().get('sys/policies/acl/named')).status).toBe(404);
    });

    it('answers a request outside allowed_parameters with 403 permission denied, body and query alike', async () => {
      vault().putPolicy(
        'metadata-writer',
        `path "secret/metadata/limited/*" {
           capabilities = ["create", "update"]
           allowed_parameters = { "custom_metadata" = [] }
         }
         path "secret/data/limited/*" {
           capabilities = ["read", "create", "update"]
           denied_parameters = { "version" = [] }
         }`,
      );
      const client = vaultClient(vault(), { token: vault().createToken({ policies: ['metadata-writer'] }) });
      await root().post('secret/data/limited/a', { data: { v: 1 } });
      const refused = await client.post('secret/metadata/limited/a', { max_versions: 1 });
      expect({ status: refused.status, body: refused.data }).toEqual({
        status: 403,
        body: { errors: ['permission denied'] },
      });
      expect((await client.post('secret/metadata/limited/a', { custom_metadata: { k: 'v' } })).status).toBe(
        204,
      );
      expect((await client.get('secret/data/limited/a')).status).toBe(200);
      expect((await client.get('secret/data/limited/a', { params: { version: 1 } })).status).toBe(403);
      expect((await root().get('secret/metadata/limited/a')).data.data.max_versions).toBe(0);
    });

    it('rejects a policy that does not parse and refuses to delete the default policy', async () => {
      const bad = await root().put('sys/policies/acl/bad', { policy: 'path "x" {' });
      expect(bad.status).toBe(400);
      expect(bad.data.errors[0]).toMatch(/^failed to parse policy: /);
      expect((await root().delete('sys/policies/acl/default')).status).toBe(400);
    });
  });
});
