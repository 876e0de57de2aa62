// The `monitors` module over HTTP: admin manages, everyone signed in reads, keys never come back,
// and a refused request changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let admin: string;
let userToken: string;
let viewerToken: string;

const api = (method: string, path: string, token: string | null, body?: unknown) => t.api(method, `/api/${path}`, token, body);

const stored = () => JSON.stringify(t.app.context.db.collection('monitors').all());

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login();
  userToken = (await t.createUser('ursula', 'user')).token;
  viewerToken = (await t.createUser('victor', 'viewer')).token;
});

afterAll(async () => {
  await t.stop();
});

describe('monitors module over HTTP', () => {
  let id: string;

  it('admin creates a monitor; the key is hashed and never returned', async () => {
    const res = await api('POST', 'monitors', admin, { monitor_id: 'tank-1', name: 'Tank one', key: 'tank-secret-1' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ monitor_id: 'tank-1', name: 'Tank one', has_key: true, online: false, last_seen: null, last_command: null, last_result: null, users: 0, pending: 0 });
    expect(res.body).not.toHaveProperty('key');
    expect(res.body).not.toHaveProperty('key_hash');
    id = res.body.id as string;
    const rec = t.app.context.db.collection('monitors').get(id)!;
    expect(rec.key_hash).toMatch(/^scrypt\$/);
    expect(stored()).not.toContain('tank-secret-1');
    const second = await api('POST', 'monitors', admin, { monitor_id: 'tank-2' });
    expect(second.body).toMatchObject({ name: 'tank-2', has_key: false });
  });

  it('everyone signed in lists and reads; search and sort work', async () => {
    for (const token of [admin, userToken, viewerToken]) {
      const list = await api('GET', 'monitors?sortBy=-monitor_id', token);
      expect(list.status).toBe(200);
      expect((list.body.items as { monitor_id: string }[]).map((m) => m.monitor_id)).toEqual(['tank-2', 'tank-1']);
      expect(JSON.stringify(list.body)).not.toContain('scrypt');
    }
    const search = await api('GET', 'monitors?search=one', viewerToken);
    expect(search.body).toMatchObject({ total: 1, items: [{ monitor_id: 'tank-1' }] });
    expect((await api('GET', `monitors/${id}`, viewerToken)).body).toMatchObject({ id, has_key: true });
    expect((await api('GET', 'monitors', null)).status).toBe(401);
    expect((await api('GET', 'monitors?sortBy=key_hash', admin)).status).toBe(422);
  });

  it('only admins create, update and delete; refusals change nothing', async () => {
    const before = stored();
    for (const token of [userToken, viewerToken]) {
      expect((await api('POST', 'monitors', token, { monitor_id: 'sneaky' })).status).toBe(403);
      expect((await api('PUT', `monitors/${id}`, token, { name: 'mine' })).status).toBe(403);
      expect((await api('DELETE', `monitors/${id}`, token)).status).toBe(403);
    }
    expect(stored()).toBe(before);
  });

  it('invalid payloads get 422 with each problem; duplicates 409; unknown ids 404', async () => {
    const before = stored();
    const bad = await api('POST', 'monitors', admin, { monitor_id: 5, key: 'short', colour: 'red' });
    expect(bad.status).toBe(422);
    const paths = ((bad.body.error as { details: { path: string }[] }).details).map((d) => d.path).sort();
    expect(paths).toEqual(['payload', 'payload.key', 'payload.monitor_id']);
    expect((await api('POST', 'monitors', admin, { monitor_id: '' })).status).toBe(422);
    expect((await api('POST', 'monitors', admin, { monitor_id: 'x'.repeat(129) })).status).toBe(422);
    expect((await api('POST', 'monitors', admin, [])).status).toBe(422);
    expect((await api('POST', 'monitors', admin, { monitor_id: 'tank-1' })).status).toBe(409);
    expect((await api('PUT', `monitors/${id}`, admin, { monitor_id: 'tank-2' })).status).toBe(409);
    expect((await api('PUT', `monitors/${id}`, admin, { key: 12345678 })).status).toBe(422);
    expect((await api('GET', 'monitors/no-such-id', admin)).status).toBe(404);
    expect((await api('PUT', 'monitors/no-such-id', admin, { name: 'x' })).status).toBe(404);
    expect((await api('DELETE', 'monitors/no-such-id', admin)).status).toBe(404);
    expect(stored()).toBe(before);
  });

  it('admin renames, changes and clears the key, and deletes', async () => {
    const renamed = await api('PUT', `monitors/${id}`, admin, { name: 'Tank A', monitor_id: 'tank-a' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Tank A', monitor_id: 'tank-a', has_key: true });
    const oldHash = t.app.context.db.collection('monitors').get(id)!.key_hash;
    await api('PUT', `monitors/${id}`, admin, { key: 'another-key-2' });
    expect(t.app.context.db.collection('monitors').get(id)!.key_hash).not.toBe(oldHash);
    const cleared = await api('PUT', `monitors/${id}`, admin, { key: null });
    expect(cleared.body).toMatchObject({ has_key: false });
    expect(t.app.context.db.collection('monitors').get(id)!.key_hash).toBeNull();
    const del = await api('DELETE', `monitors/${id}`, admin);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id, monitor_id: 'tank-a' });
    expect((await api('GET', `monitors/${id}`, admin)).status).toBe(404);
  });
});
