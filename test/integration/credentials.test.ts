// Credentials against a real OAuth2 server (oidc-provider in its own process on loopback):
// CRUD and permissions, encryption at rest, the authorization code flow, refresh, a revoked
// refresh token, the server going down (back-off, no event storm) and a skewed server clock.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { SecretBox } from '../../src/services/credentials/secretBox.js';
import type { CredentialRecord } from '../../src/services/credentials/records.js';
import { authorizeAsUser, startOAuthServer, type OAuthServer } from '../helpers/oauthProvider.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

let t: TestApp;
let admin: string;
let viewer: string;
let user: string;
let events: DomainEvent[] = [];
const servers: OAuthServer[] = [];

const api = (method: string, path: string, token: string, body?: unknown) => t.api(method, path, token, body);

const redirectUri = () => `${t.url}/api/credentials/callback`;

async function oauthServer(opts: { accessTtl?: number; clockSkewMs?: number; authMethod?: 'client_secret_post' | 'client_secret_basic' } = {}) {
  const s = await startOAuthServer({ redirectUri: redirectUri(), ...opts });
  servers.push(s);
  return s;
}

async function createCredential(s: OAuthServer, extra: Record<string, unknown> = {}) {
  const res = await api('POST', '/api/credentials', admin, {
    description: 'Test provider',
    provider: 'generic',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    authorize_url: s.authorizationEndpoint,
    token_url: s.tokenEndpoint,
    scopes: 'openid offline_access',
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Runs the whole browser round trip and returns the callback's response. */
async function authorize(id: string) {
  const start = await api('PUT', `/api/credentials/${id}`, admin, { origin: t.url });
  expect(start.status).toBe(200);
  const callbackUrl = await authorizeAsUser(start.body.url as string, redirectUri());
  const res = await fetch(callbackUrl);
  return { callbackUrl, status: res.status, text: await res.text() };
}

const waitForEvent = (pred: (e: DomainEvent) => boolean, ms = 20_000) =>
  new Promise<DomainEvent>((resolve, reject) => {
    const found = events.find(pred);
    if (found) return resolve(found);
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for a bus event'));
    }, ms);
    const off = t.app.context.bus.subscribe(events, (e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });

const storedTokens = (id: string): { access_token: string; refresh_token: string | null } => {
  const db = JSON.parse(readFileSync(join(t.dataDir, 'db.json'), 'utf8')) as { credentials: CredentialRecord[] };
  const r = db.credentials.find((c) => c.id === id)!;
  return JSON.parse(SecretBox.inDir(t.dataDir).open(r.tokens_enc!, `${id}:tokens`)) as { access_token: string; refresh_token: string | null };
};

const userinfo = async (s: OAuthServer, accessToken: string) => (await fetch(s.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` } })).status;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login();
  viewer = (await t.createUser('viewer1', 'viewer')).token;
  user = (await t.createUser('user1', 'user')).token;
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['credentials', 'camera']);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  events = [];
});

afterAll(async () => {
  await t?.stop();
});

describe('credentials module', () => {
  it('lets admins manage credentials, viewers read them, and never returns or stores secrets in clear', async () => {
    const body = { description: 'Nest', provider: 'google-device-access', client_id: 'cid.apps.googleusercontent.com', client_secret: 'very-secret-value-42', project_id: 'my-project-1' };
    expect((await api('POST', '/api/credentials', user, body)).status).toBe(403);
    expect((await api('POST', '/api/credentials', viewer, body)).status).toBe(403);
    const created = await api('POST', '/api/credentials', admin, body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      has_secret: true,
      authorized: false,
      needs_reauth: false,
      expires_at: null,
      last_error: null,
      authorize_url: 'https://nestservices.google.com/partnerconnections/my-project-1/auth',
      token_url: 'https://www.googleapis.com/oauth2/v4/token',
      scopes: ['https://www.googleapis.com/auth/sdm.service'],
    });
    expect(JSON.stringify(created.body)).not.toContain('very-secret-value-42');
    expect(created.body).not.toHaveProperty('client_secret');
    expect(events.some((e) => e.event === 'created' && e.entity === id)).toBe(true);

    const listed = await api('GET', '/api/credentials', viewer);
    expect(listed.status).toBe(200);
    expect((listed.body.items as { id: string }[]).map((c) => c.id)).toContain(id);
    expect((await api('GET', `/api/credentials/${id}`, viewer)).body).toMatchObject({ id, has_secret: true });
    expect((await api('PUT', `/api/credentials/${id}`, user, { description: 'x' })).status).toBe(403);
    expect((await api('DELETE', `/api/credentials/${id}`, viewer)).status).toBe(403);

    await t.app.context.db.flush();
    expect(readFileSync(join(t.dataDir, 'db.json'), 'utf8')).not.toContain('very-secret-value-42');
    expect(statSync(join(t.dataDir, 'secret.key')).mode & 0o777).toBe(0o600);

    // Clearing the secret flips has_secret; the id and the rest stay.
    const cleared = await api('PATCH', `/api/credentials/${id}`, admin, { client_secret: null, description: 'Nest (public client)' });
    expect(cleared.body).toMatchObject({ id, has_secret: false, description: 'Nest (public client)' });
    expect((await api('DELETE', `/api/credentials/${id}`, admin)).status).toBe(200);
    expect((await api('GET', `/api/credentials/${id}`, admin)).status).toBe(404);
  });

  it('rejects bad input with the path of every problem and changes nothing', async () => {
    const before = await api('GET', '/api/credentials', admin, undefined);
    const cases: [unknown, string][] = [
      [{ description: 'x', client_id: 'c', authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token', colour: 'red' }, 'payload'],
      [{ description: 'x', client_id: 'c', authorize_url: 'https://a.example/auth' }, 'payload.token_url'],
      [{ description: 'x', client_id: 'c', authorize_url: 'ftp://a.example/auth', token_url: 'https://a.example/token' }, 'payload.authorize_url'],
      [{ description: 'x', provider: 'google-device-access', client_id: 'c' }, 'payload.project_id'],
      [{ description: 'x', client_id: 42, authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token' }, 'payload.client_id'],
      [{ description: 'x', client_id: 'c', authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token', scopes: ['bad"scope'] }, 'payload.scopes.0'],
      ['not an object', 'payload'],
    ];
    for (const [body, path] of cases) {
      const res = await api('POST', '/api/credentials', admin, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const details = (res.body.error as { details: { path: string }[] }).details;
      expect(details.map((d) => d.path), JSON.stringify(body)).toContain(path);
    }
    const s = { clientId: 'c', clientSecret: 's', authorizationEndpoint: 'https://a.example/auth', tokenEndpoint: 'https://a.example/token' } as OAuthServer;
    const id = await createCredential(s);
    for (const body of [{ origin: 'https://host.example/some/path' }, { origin: 'javascript:alert(1)' }, {}, { token_url: 'nope' }]) {
      const res = await api('PUT', `/api/credentials/${id}`, admin, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const mid = await api('GET', `/api/credentials/${id}`, admin);
    expect(mid.body).toMatchObject({ token_url: 'https://a.example/token', authorized: false });
    await api('DELETE', `/api/credentials/${id}`, admin);
    expect((await api('GET', '/api/credentials', admin)).body.total).toBe(before.body.total);
  });
});

describe('authorization against oidc-provider', () => {
  it('exchanges the code at the token endpoint, once per state, and stores the tokens encrypted', async () => {
    const s = await oauthServer();
    const id = await createCredential(s);
    const start = await api('PUT', `/api/credentials/${id}`, admin, { origin: t.url });
    const url = new URL(start.body.url as string);
    expect(url.origin + url.pathname).toBe(s.authorizationEndpoint);
    expect(url.searchParams.get('redirect_uri')).toBe(redirectUri());
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);

    const t0 = Date.now();
    const callbackUrl = await authorizeAsUser(url.toString(), redirectUri());
    const res = await fetch(callbackUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('is authorized');
    const ev = await waitForEvent((e) => e.event === 'authenticated' && e.entity === id);
    const view = (await api('GET', `/api/credentials/${id}`, admin)).body;
    expect(view).toMatchObject({ authorized: true, needs_reauth: false, last_error: null });
    expect(ev.details).toMatchObject({ expires_at: view.expires_at });
    const expires = Date.parse(view.expires_at as string);
    expect(expires).toBeGreaterThanOrEqual(t0 + 3600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);

    // The stored tokens are real (the provider accepts the access token) and not in clear on disk.
    await t.app.context.db.flush();
    const tokens = storedTokens(id);
    expect(await userinfo(s, tokens.access_token)).toBe(200);
    expect(t.app.context.credentials.accessToken(id)).toBe(tokens.access_token);
    const raw = readFileSync(join(t.dataDir, 'db.json'), 'utf8');
    expect(raw).not.toContain(tokens.access_token);
    expect(raw).not.toContain(tokens.refresh_token!);
    expect(JSON.stringify(view)).not.toContain(tokens.access_token);

    // State is single-use: replaying the callback is refused in the HTTP API's error shape.
    const replay = await fetch(callbackUrl);
    expect(replay.status).toBe(422);
    expect(((await replay.json()) as { error: { details: { path: string }[] } }).error.details[0]!.path).toBe('query.state');
    const forged = await fetch(`${redirectUri()}?state=forged&code=abc`);
    expect(forged.status).toBe(422);
    const arrays = await fetch(`${redirectUri()}?state=a&state=b`);
    expect(arrays.status).toBe(400);
    expect(events.filter((e) => e.event === 'authenticated')).toHaveLength(1);
  });

  it('records a refused authorization and a bad code without authorizing', async () => {
    const s = await oauthServer();
    const id = await createCredential(s);
    const refused = new URL((await api('PUT', `/api/credentials/${id}`, admin, { origin: t.url })).body.url as string);
    const res = await fetch(`${redirectUri()}?state=${refused.searchParams.get('state')}&error=access_denied&error_description=nope`);
    expect(res.status).toBe(422);
    expect((await api('GET', `/api/credentials/${id}`, admin)).body).toMatchObject({ authorized: false, last_error: 'authorization refused: access_denied: nope' });

    const bad = new URL((await api('PUT', `/api/credentials/${id}`, admin, { origin: t.url })).body.url as string);
    const res2 = await fetch(`${redirectUri()}?state=${bad.searchParams.get('state')}&code=not-a-real-code`);
    expect(res2.status).toBe(500);
    const view = (await api('GET', `/api/credentials/${id}`, admin)).body;
    expect(view.authorized).toBe(false);
    expect(view.last_error).toMatch(/invalid_grant/);
    expect(events.some((e) => e.event === 'authenticated')).toBe(false);
  });

  it('refreshes before expiry, and a revoked refresh token makes it unauthenticated', async () => {
    const s = await oauthServer({ accessTtl: 4 });
    const id = await createCredential(s);
    expect((await authorize(id)).status).toBe(200);
    const first = storedTokens(id);
    await waitForEvent((e) => e.event === 'reauthenticated' && e.entity === id);
    await t.app.context.db.flush();
    const second = storedTokens(id);
    expect(second.access_token).not.toBe(first.access_token);
    expect(await userinfo(s, second.access_token)).toBe(200);

    await s.revoke(second.refresh_token!);
    const lost = await waitForEvent((e) => e.event === 'unauthenticated' && e.entity === id);
    expect(lost.details).toMatchObject({ error: expect.stringMatching(/invalid_grant/) });
    const view = (await api('GET', `/api/credentials/${id}`, admin)).body;
    expect(view).toMatchObject({ authorized: false, needs_reauth: true });
    expect(view.last_error).toMatch(/invalid_grant/);
    expect(t.app.context.credentials.accessToken(id)).toBeNull();

    // Authorizing again clears needs_reauth.
    expect((await authorize(id)).status).toBe(200);
    expect((await api('GET', `/api/credentials/${id}`, admin)).body).toMatchObject({ authorized: true, needs_reauth: false, last_error: null });
    await api('DELETE', `/api/credentials/${id}`, admin);
  });

  it('backs off while the server is down without emitting events, then recovers', async () => {
    const s = await oauthServer({ accessTtl: 4 });
    const id = await createCredential(s);
    expect((await authorize(id)).status).toBe(200);
    await s.down();
    const failures: string[] = [];
    const off = t.app.context.logs.subscribe((e) => {
      if (e.msg === 'credential refresh failed; will retry') failures.push(e.msg);
    });
    await until('three failed refreshes', () => failures.length >= 3);
    const during = (await api('GET', `/api/credentials/${id}`, admin)).body;
    expect(during.last_error).toMatch(/unreachable/);
    expect(during).toMatchObject({ authorized: true, needs_reauth: false });
    expect(events.filter((e) => e.domain === 'credentials' && e.entity === id && e.event !== 'created' && e.event !== 'authenticated')).toEqual([]);
    await s.up();
    await waitForEvent((e) => e.event === 'reauthenticated' && e.entity === id, 30_000);
    off();
    // Exponential back-off: 3 failures took 1+2 s of waiting, so there cannot have been a burst.
    expect(failures.length).toBeLessThanOrEqual(5);
    expect(events.filter((e) => e.event === 'unauthenticated')).toEqual([]);
    expect((await api('GET', `/api/credentials/${id}`, admin)).body).toMatchObject({ authorized: true, last_error: null });
    await api('DELETE', `/api/credentials/${id}`, admin);
  });

  it.each([
    ['behind', -3 * 3600_000],
    ['ahead', 3 * 3600_000],
  ])('counts expiry from local receipt time when the server clock is %s', async (_label, clockSkewMs) => {
    const s = await oauthServer({ accessTtl: 4, clockSkewMs, authMethod: 'client_secret_basic' });
    const id = await createCredential(s, { token_auth_method: 'client_secret_basic' });
    const t0 = Date.now();
    expect((await authorize(id)).status).toBe(200);
    const t1 = Date.now();
    const view = (await api('GET', `/api/credentials/${id}`, admin)).body;
    const expires = Date.parse(view.expires_at as string);
    expect(expires).toBeGreaterThanOrEqual(t0 + 4000);
    expect(expires).toBeLessThanOrEqual(t1 + 4000);
    await waitForEvent((e) => e.event === 'reauthenticated' && e.entity === id);
    expect(events.filter((e) => e.event === 'unauthenticated')).toEqual([]);
    await api('DELETE', `/api/credentials/${id}`, admin);
  });
});
