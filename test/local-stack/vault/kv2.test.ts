import { describe, expect, it } from 'vitest';
import { uniquePath, useVault, vaultClient } from './helpers.js';

describe('KV v2 on secret/', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  it('writes a version and reads it back inside the data/metadata envelope', async () => {
    const path = uniquePath();
    const write = await root().post(`secret/data/${path}`, { data: { AccessKeyId: 'AKIA1' } });
    expect(write.status).toBe(200);
    expect(write.data).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'kv',
      data: { version: 1, deletion_time: '', destroyed: false, custom_metadata: null },
    });
    expect(write.data.request_id).toMatch(/^[0-9a-f-]{36}$/);

    const read = await root().get(`secret/data/${path}`);
    expect(read.status).toBe(200);
    expect(read.data.data).toEqual({
      data: { AccessKeyId: 'AKIA1' },
      metadata: {
        created_time: write.data.data.created_time,
        custom_metadata: null,
        deletion_time: '',
        destroyed: false,
        version: 1,
      },
    });
  });

  it('keeps every version and serves an older one with ?version=N', async () => {
    const path = uniquePath();
    await root().put(`secret/data/${path}`, { data: { v: 'one' } });
    await root().put(`secret/data/${path}`, { data: { v: 'two' } });
    const latest = await root().get(`secret/data/${path}`);
    const first = await root().get(`secret/data/${path}?version=1`);
    expect(latest.data.data).toMatchObject({ data: { v: 'two' }, metadata: { version: 2 } });
    expect(first.data.data).toMatchObject({ data: { v: 'one' }, metadata: { version: 1 } });
    expect((await root().get(`secret/data/${path}?version=9`)).status).toBe(404);
  });

  it('answers a missing secret with 404 and an empty error list', async () => {
    const res = await root().get(`secret/data/${uniquePath('missing')}`);
    expect(res.status).toBe(404);
    expect(res.data).toEqual({ errors: [] });
  });

  it('rejects a write whose cas does not match the current version with 400 and Vault’s message', async () => {
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    const res = await root().post(`secret/data/${path}`, { data: { v: 2 }, options: { cas: 0 } });
    expect(res.status).toBe(400);
    expect(res.data).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    const ok = await root().post(`secret/data/${path}`, { data: { v: 2 }, options: { cas: 1 } });
    expect(ok.data.data.version).toBe(2);
  });

  it('accepts cas 0 only while the secret does not exist', async () => {
    const path = uniquePath();
    expect((await root().post(`secret/data/${path}`, { data: { v: 1 }, options: { cas: 0 } })).status).toBe(
      200,
    );
    expect((await root().post(`secret/data/${path}`, { data: { v: 1 }, options: { cas: 0 } })).status).toBe(
      400,
    );
  });

  it('requires cas when the secret’s metadata sets cas_required', async () => {
    const path = uniquePath();
    await root().post(`secret/metadata/${path}`, { cas_required: true });
    const res = await root().post(`secret/data/${path}`, { data: { v: 1 } });
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual(['check-and-set parameter required for this call']);
  });

  it('rejects a write without data', async () => {
    const res = await root().post(`secret/data/${uniquePath()}`, { options: {} });
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual(['no data provided']);
  });

  it('soft-deletes the latest version so reads get 404 with the version metadata, and undeletes it', async () => {
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    expect((await root().delete(`secret/data/${path}`)).status).toBe(204);

    const gone = await root().get(`secret/data/${path}`);
    expect(gone.status).toBe(404);
    expect(gone.data.data.data).toBeNull();
    expect(gone.data.data.metadata).toMatchObject({ version: 1, destroyed: false });
    expect(gone.data.data.metadata.deletion_time).not.toBe('');

    expect((await root().post(`secret/undelete/${path}`, { versions: [1] })).status).toBe(204);
    expect((await root().get(`secret/data/${path}`)).data.data.data).toEqual({ v: 1 });
  });

  it('deletes and destroys chosen versions', async () => {
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    await root().post(`secret/data/${path}`, { data: { v: 2 } });
    expect((await root().post(`secret/delete/${path}`, { versions: [2] })).status).toBe(204);
    expect((await root().post(`secret/destroy/${path}`, { versions: [1] })).status).toBe(204);

    const destroyed = await root().get(`secret/data/${path}?version=1`);
    expect(destroyed.status).toBe(404);
    expect(destroyed.data.data.metadata.destroyed).toBe(true);
    expect((await root().post(`secret/undelete/${path}`, { versions: [1, 2] })).status).toBe(204);
    expect((await root().get(`secret/data/${path}?version=1`)).status).toBe(404);
    expect((await root().get(`secret/data/${path}`)).data.data.data).toEqual({ v: 2 });
  });

  it('requires a version list on delete, undelete and destroy', async () => {
    const res = await root().post(`secret/destroy/${uniquePath()}`, {});
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual(['no version number provided']);
  });

  it('stores custom_metadata, reports it on reads and in the metadata document', async () => {
    const path = uniquePath();
    await root().post(`secret/metadata/${path}`, { custom_metadata: { owner: 'rotator' }, max_versions: 5 });
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    await root().post(`secret/data/${path}`, { data: { v: 2 } });

    expect((await root().get(`secret/data/${path}`)).data.data.metadata.custom_metadata).toEqual({
      owner: 'rotator',
    });
    const meta = await root().get(`secret/metadata/${path}`);
    expect(meta.status).toBe(200);
    expect(meta.data.data).toMatchObject({
      cas_required: false,
      current_version: 2,
      oldest_version: 0,
      max_versions: 5,
      custom_metadata: { owner: 'rotator' },
      delete_version_after: '0s',
    });
    expect(Object.keys(meta.data.data.versions)).toEqual(['1', '2']);
    expect(meta.data.data.versions['1']).toEqual({
      created_time: expect.any(String),
      deletion_time: '',
      destroyed: false,
    });
  });

  it('merges custom_metadata on a metadata PATCH and removes keys set to null', async () => {
    const path = uniquePath();
    await root().post(`secret/metadata/${path}`, { custom_metadata: { a: '1', b: '2' } });
    const res = await root().patch(
      `secret/metadata/${path}`,
      { custom_metadata: { a: null, c: '3' } },
      { headers: { 'Content-Type': 'application/merge-patch+json' } },
    );
    expect(res.status).toBe(204);
    expect((await root().get(`secret/metadata/${path}`)).data.data.custom_metadata).toEqual({
      b: '2',
      c: '3',
    });
  });

  it('patches data as a JSON merge patch and refuses PATCH without the merge-patch content type', async () => {
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { a: 1, b: 2 } });
    expect((await root().patch(`secret/data/${path}`, { data: { a: 9 } })).status).toBe(415);
    const res = await root().patch(
      `secret/data/${path}`,
      { data: { b: null, c: 3 } },
      { headers: { 'Content-Type': 'application/merge-patch+json' } },
    );
    expect(res.data.data.version).toBe(2);
    expect((await root().get(`secret/data/${path}`)).data.data.data).toEqual({ a: 1, c: 3 });
  });

  it('drops the oldest versions beyond max_versions', async () => {
    const path = uniquePath();
    await root().post(`secret/metadata/${path}`, { max_versions: 2 });
    for (const v of [1, 2, 3]) await root().post(`secret/data/${path}`, { data: { v } });
    const meta = (await root().get(`secret/metadata/${path}`)).data.data;
    expect(Object.keys(meta.versions)).toEqual(['2', '3']);
    expect(meta.oldest_version).toBe(2);
  });

  it('lists keys and folders with GET ?list=true and answers an empty folder with 404', async () => {
    const folder = uniquePath('list');
    await root().post(`secret/data/${folder}/a`, { data: { v: 1 } });
    await root().post(`secret/data/${folder}/sub/b`, { data: { v: 1 } });
    const res = await root().get(`secret/metadata/${folder}`, { params: { list: true } });
    expect(res.status).toBe(200);
    expect(res.data.data).toEqual({ keys: ['a', 'sub/'] });
    expect((await root().get(`secret/metadata/${folder}/none/`, { params: { list: true } })).status).toBe(
      404,
    );
  });

  it('deletes every version and the metadata with DELETE metadata', async () => {
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    expect((await root().delete(`secret/metadata/${path}`)).status).toBe(204);
    expect((await root().get(`secret/metadata/${path}`)).status).toBe(404);
  });

  it('answers KV v1-style paths on a v2 mount with Vault’s invalid-path 404', async () => {
    const res = await root().get(`secret/${uniquePath()}`);
    expect(res.status).toBe(404);
    expect(res.data.errors[0]).toMatch(/^Invalid path for a versioned K\/V secrets engine/);
  });

  it('applies the mount’s config/cas_required to every secret', async () => {
    vault().enableKv('strict', 2);
    expect((await root().post('strict/config', { cas_required: true })).status).toBe(204);
    expect((await root().get('strict/config')).data.data).toMatchObject({ cas_required: true });
    expect((await root().post('strict/data/x', { data: { v: 1 } })).status).toBe(400);
    expect((await root().post('strict/data/x', { data: { v: 1 }, options: { cas: 0 } })).status).toBe(200);
  });
});
