// Credential secrets at rest: the key file, tamper and relocation detection, and a restart that
// keeps an authorized credential refreshing (same key, refresh planned at start).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { SecretBox } from '../../src/services/credentials/secretBox.js';
import { authorizeAsUser, startOAuthServer, type OAuthServer } from '../helpers/oauthProvider.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const dirs: string[] = [];
const apps: TestApp[] = [];
const servers: OAuthServer[] = [];

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'switchboard-cred-'));
  dirs.push(d);
  return d;
};

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SecretBox', () => {
  it('creates a 0600 key on first use and detects tampering and relocated ciphertext', () => {
    const dir = tempDir();
    const box = SecretBox.inDir(dir);
    const sealed = box.seal('refresh-token-value', 'cred-1:tokens');
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(sealed).not.toContain('refresh-token-value');
    expect(box.seal('refresh-token-value', 'cred-1:tokens')).not.toBe(sealed);
    // A second instance (a restart) reads the same key.
    expect(SecretBox.inDir(dir).open(sealed, 'cred-1:tokens')).toBe('refresh-token-value');
    expect(() => box.open(sealed, 'cred-2:tokens')).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open('v1:' + raw.toString('base64'), 'cred-1:tokens')).toThrow();
    expect(() => SecretBox.inDir(tempDir()).open(sealed, 'cred-1:tokens')).toThrow();
  });
});

describe('credentials across a restart', () => {
  it('keeps an authorized credential and goes on refreshing it with the same key', async () => {
    const dataDir = tempDir();
    const first = await startTestApp({}, { dataDir });
    apps.push(first);
    const redirect = `${first.url}/api/credentials/callback`;
    const s = await startOAuthServer({ redirectUri: redirect, accessTtl: 4 });
    servers.push(s);
    const admin = await first.login();
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const created = (await (
      await fetch(`${first.url}/api/credentials`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ description: 'Persisted', client_id: s.clientId, client_secret: s.clientSecret, authorize_url: s.authorizationEndpoint, token_url: s.tokenEndpoint, scopes: 'openid offline_access' }),
      })
    ).json()) as { id: string };
    const { url } = (await (await fetch(`${first.url}/api/credentials/${created.id}`, { method: 'PUT', headers, body: JSON.stringify({ origin: first.url }) })).json()) as { url: string };
    expect((await fetch(await authorizeAsUser(url, redirect))).status).toBe(200);
    const key = readFileSync(join(dataDir, 'secret.key'));
    await apps.pop()!.stop();

    const second = await startTestApp({}, { dataDir });
    apps.push(second);
    const seen = new Promise<DomainEvent>((resolve) => second.app.context.bus.subscribe(second, (e) => e.event === 'reauthenticated' && resolve(e), ['credentials']));
    expect((await seen).entity).toBe(created.id);
    expect(readFileSync(join(dataDir, 'secret.key')).equals(key)).toBe(true);
    const token = second.app.context.credentials.accessToken(created.id)!;
    expect((await fetch(s.userinfoEndpoint, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
