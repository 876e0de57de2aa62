import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;

async function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(t.url + path, { method, headers, body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json: json as Record<string, any>, headers: res.headers }; // eslint-disable-line @typescript-eslint/no-explicit-any -- test responses are read loosely
}

const dbFile = () => readFileSync(join(t.dataDir, 'db.json'), 'utf8');

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.stop();
});

describe('sign-in', () => {
  it('POST /api/auth answers 201 {bearer, expiration, user} without the hash', async () => {
    const r = await call('POST', '/api/auth', { body: ADMIN });
    expect(r.status).toBe(201);
    expect(r.json.bearer).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(Date.parse(r.json.expiration)).toBeGreaterThan(Date.now());
    expect(r.json.user).toMatchObject({ username: 'admin', role: 'admin', can_login: true });
    expect(JSON.stringify(r.json)).not.toMatch(/scrypt|password/);
  });

  it('answers 400 with the NestMTX error for bad credentials', async () => {
    for (const body of [{ username: 'admin', password: 'wrong-password' }, { username: 'nobody', password: 'x' }, {}, { username: 1, password: [] }]) {
      const r = await call('POST', '/api/auth', { body });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: { message: 'Invalid user credentials', details: [] } });
    }
  });

  it('POST /api/login answers {token, expiration}; the token works on the API', async () => {
    const r = await call('POST', '/api/login', { body: ADMIN });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['expiration', 'token']);
    expect((await call('GET', '/api/users', { token: r.json.token })).status).toBe(200);
  });

  it('throttles failed logins per username and address with 429', async () => {
    const { id } = await t.createUser('throttled', 'viewer', 'throttled-password');
    for (let i = 0; i < 10; i++) expect((await call('POST', '/api/auth', { body: { username: 'throttled', password: 'bad' } })).status).toBe(400);
    const blocked = await call('POST', '/api/auth', { body: { username: 'throttled', password: 'throttled-password' } });
    expect(blocked.status).toBe(429);
    expect(blocked.json.error.message).toMatch(/Too many failed logins/);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another username from the same address is not affected.
    expect((await call('POST', '/api/auth', { body: ADMIN })).status).toBe(201);
    expect(id).toBeTruthy();
  });
});

describe('tokens', () => {
  it('refuses missing, malformed and unknown tokens with 401', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer' }, { authorization: 'Basic abc' }, { authorization: 'Bearer ' + 'x'.repeat(43) }]) {
      const r = await call('GET', '/api/users', { headers });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error: { message: 'Unauthorized', details: [] } });
    }
  });

  it('expires tokens', async () => {
    const short = await startTestApp({ token_ttl_hours: 1 });
    try {
      const token = await short.login();
      expect((await fetch(`${short.url}/api/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // Age the stored token past its expiry, as time passing would.
      const tokens = short.app.context.db.collection('tokens');
      for (const rec of tokens.all()) await tokens.update(rec.id, (r) => ({ ...r, expires_at: new Date(Date.now() - 1000).toISOString() }));
      expect((await fetch(`${short.url}/api/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  it('POST /api/logout revokes only the calling token', async () => {
    const a = await t.login();
    const b = await t.login();
    expect((await call('POST', '/api/logout', { token: a })).status).toBe(204);
    expect((await call('GET', '/api/users', { token: a })).status).toBe(401);
    expect((await call('GET', '/api/users', { token: b })).status).toBe(200);
    expect((await call('POST', '/api/logout')).status).toBe(401);
  });

  it('revokes tokens on password change and user delete', async () => {
    const admin = await t.login();
    const { id, token } = await t.createUser('revokee', 'user', 'revokee-password');
    expect((await call('GET', `/api/users/${id}`, { token })).status).toBe(200);
    const changed = await call('PUT', `/api/users/${id}`, { token: admin, body: { password: 'a-new-password' } });
    expect(changed.status).toBe(200);
    expect((await call('GET', `/api/users/${id}`, { token })).status).toBe(401);
    const fresh = await t.login('revokee', 'a-new-password');
    expect((await call('DELETE', `/api/users/${id}`, { token: admin })).status).toBe(200);
    expect((await call('GET', `/api/users/${id}`, { token: fresh })).status).toBe(401);
  });
});

describe('users module', () => {
  it('lets an admin create, list, read, update and delete users', async () => {
    const admin = await t.login();
    const created = await call('POST', '/api/users', { token: admin, body: { username: 'carol', password: 'carol-password', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ username: 'carol', role: 'viewer', can_login: true });
    expect(created.json).not.toHaveProperty('password_hash');
    const id = created.json.id as string;
    expect((await call('GET', `/api/users/${id}`, { token: admin })).json.username).toBe('carol');
    const updated = await call('PUT', `/api/users/${id}`, { token: admin, body: { role: 'user', username: 'carol2' } });
    expect(updated.json).toMatchObject({ username: 'carol2', role: 'user' });
    expect((await call('DELETE', `/api/users/${id}`, { token: admin })).status).toBe(200);
    expect((await call('GET', `/api/users/${id}`, { token: admin })).status).toBe(404);
  });

  it('validates input with every problem and its path, and rejects duplicates', async () => {
    const admin = await t.login();
    const r = await call('POST', '/api/users', { token: admin, body: { username: 'bad name!', password: 'short', role: 'root', extra: 1 } });
    expect(r.status).toBe(422);
    expect(r.json.error.message).toBe('Validation failed');
    const paths = (r.json.error.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['payload', 'payload.password', 'payload.role', 'payload.username']);
    expect((await call('POST', '/api/users', { token: admin, body: { username: 'ADMIN', password: 'long-enough' } })).status).toBe(409);
    expect((await call('POST', '/api/users', { token: admin })).status).toBe(422);
  });

  it('denies non-admins everything but reading themselves and changing their own password', async () => {
    const { id, token } = await t.createUser('dave', 'user', 'dave-password');
    const admin = await t.login();
    const adminId = (await call('GET', '/api/users?search=admin', { token: admin })).json.items[0].id;
    expect((await call('GET', '/api/users', { token })).status).toBe(403);
    expect((await call('GET', `/api/users/${adminId}`, { token })).status).toBe(403);
    expect((await call('POST', '/api/users', { token, body: { username: 'x', password: 'xxxxxxxx' } })).status).toBe(403);
    expect((await call('DELETE', `/api/users/${adminId}`, { token })).status).toBe(403);
    expect((await call('PUT', `/api/users/${id}`, { token, body: { role: 'admin' } })).status).toBe(422);
    expect((await call('PUT', `/api/users/${id}`, { token, body: { password: 'dave-new-password', current_password: 'wrong' } })).status).toBe(422);
    expect((await call('GET', `/api/users/${id}`, { token })).json.role).toBe('user');
    expect((await call('PUT', `/api/users/${id}`, { token, body: { password: 'dave-new-password', current_password: 'dave-password' } })).status).toBe(200);
    await expect(t.login('dave', 'dave-new-password')).resolves.toBeTruthy();
  });

  it('never removes or demotes the last admin', async () => {
    const admin = await t.login();
    const adminId = (await call('GET', '/api/users?search=admin&itemsPerPage=-1', { token: admin })).json.items.find((u: { username: string }) => u.username === 'admin').id;
    expect((await call('DELETE', `/api/users/${adminId}`, { token: admin })).status).toBe(409);
    expect((await call('PUT', `/api/users/${adminId}`, { token: admin, body: { role: 'viewer' } })).status).toBe(409);
    expect((await call('PUT', `/api/users/${adminId}`, { token: admin, body: { can_login: false } })).status).toBe(409);
    expect((await call('GET', `/api/users/${adminId}`, { token: admin })).json.role).toBe('admin');
  });

  it('pages, searches and sorts', async () => {
    const admin = await t.login();
    for (const name of ['page-c', 'page-a', 'page-b', 'page-e', 'page-d']) await call('POST', '/api/users', { token: admin, body: { username: name, password: 'password-1', role: 'viewer' } });
    const first = await call('GET', '/api/users?search=page-&itemsPerPage=2&page=1&sortBy=username', { token: admin });
    expect(first.json).toMatchObject({ search: 'page-', page: 1, itemsPerPage: 2, total: 5, sortBy: [{ key: 'username', order: 'asc' }] });
    expect(first.json.items.map((u: { username: string }) => u.username)).toEqual(['page-a', 'page-b']);
    const third = await call('GET', '/api/users?search=page-&itemsPerPage=2&page=3&sortBy=-username', { token: admin });
    expect(third.json.items.map((u: { username: string }) => u.username)).toEqual(['page-a']);
    const bad = await call('GET', '/api/users?sortBy=password_hash&page=0&bogus=1', { token: admin });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['payload', 'payload.page']);
    const unsortable = await call('GET', '/api/users?sortBy=password_hash', { token: admin });
    expect(unsortable.status).toBe(422);
    expect(unsortable.json.error.details[0].message).toMatch(/cannot sort by "password_hash"/);
  });
});

describe('hostile and malformed input', () => {
  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const admin = await t.login();
    const malformed = await call('POST', '/api/users', { token: admin, raw: '{"username": "x",' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.message).toBe('Malformed JSON');
    const huge = await call('POST', '/api/users', { token: admin, raw: JSON.stringify({ username: 'x'.repeat(400_000) }) });
    expect(huge.status).toBe(413);
    expect(huge.json.error.message).toBe('Payload too large');
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  it('rejects __proto__ and constructor keys without effect', async () => {
    const admin = await t.login();
    const before = dbFile();
    for (const raw of [
      '{"username":"mallory","password":"mallory-password","__proto__":{"role":"admin"}}',
      '{"username":"mallory","password":"mallory-password","constructor":{"prototype":{"polluted":true}}}',
    ]) {
      const r = await call('POST', '/api/users', { token: admin, raw });
      expect(r.status).toBe(422);
      expect(r.json.error.details[0].message).toMatch(/is not allowed/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(dbFile()).toBe(before);
  });

  it('refuses deep nesting and non-object payloads', async () => {
    const admin = await t.login();
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect((await call('POST', '/api/users', { token: admin, body: deep })).status).toBe(422);
    expect((await call('POST', '/api/users', { token: admin, raw: '"just a string"' })).status).toBe(422);
    expect((await call('POST', '/api/users', { token: admin, raw: '[1,2]' })).status).toBe(422);
  });

  it('answers unknown routes and modules with JSON 404', async () => {
    const admin = await t.login();
    expect(await call('GET', '/nowhere')).toMatchObject({ status: 404, json: { error: { message: 'No route GET /nowhere' } } });
    expect(await call('GET', '/api/nosuchmodule', { token: admin })).toMatchObject({ status: 404, json: { error: { message: 'Module nosuchmodule not found' } } });
  });
});

describe('health', () => {
  it('answers without auth', async () => {
    const r = await call('GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: expect.stringMatching(/ok|degraded/), version: expect.any(String), uptime: expect.any(Number), components: expect.any(Object), memory: { rss_mb: expect.any(Number), heap_used_mb: expect.any(Number) } });
  });
});

describe('unexpected errors', () => {
  it('are logged once with their stack and answered 500 in the API error shape, whether a route throws or rejects', async () => {
    const logged: string[] = [];
    const app = await startTestApp({}, { logOut: (l) => logged.push(l) });
    try {
      // Routes other parts add go on `extensions`, like every stream, live-view and broker route.
      app.app.context.http.api.routes.get('/api/test/throws', () => {
        throw new TypeError('sync failure in a route');
      });
      app.app.context.http.api.routes.get('/api/test/rejects', async () => {
        await Promise.resolve();
        throw new RangeError('async failure in a route');
      });
      const token = await app.login();
      for (const [path, message] of [['/api/test/throws', 'sync failure in a route'], ['/api/test/rejects', 'async failure in a route']] as const) {
        const r = await app.api('GET', path, token);
        expect(r.status).toBe(500);
        // No internals in the reply: the message and stack are for the log only.
        expect(r.body).toEqual({ error: { message: 'Internal error', details: [] } });
        const lines = logged.map((l) => JSON.parse(l) as { msg: string; err?: { message: string; stack: string } }).filter((l) => l.err?.message === message);
        expect(lines).toHaveLength(1);
        expect(lines[0]!.msg).toBe('unhandled error in HTTP request');
        expect(lines[0]!.err!.stack).toContain(message);
        expect(lines[0]!.err!.stack).toMatch(/httpApi\.test\.ts/);
      }
      // An expected error (a service's AppError) is answered but not logged as unhandled.
      const before = logged.filter((l) => l.includes('unhandled error')).length;
      expect((await app.api('GET', '/api/cameras/nope/live-view', token)).status).toBe(404);
      expect(logged.filter((l) => l.includes('unhandled error')).length).toBe(before);
    } finally {
      await app.stop();
    }
  });
});
