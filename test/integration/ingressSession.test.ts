// Home Assistant ingress sign-in and the panel's base-path handling, over real HTTP through an
// ingress-like proxy (test/helpers/ingressProxy.ts) in front of a whole Switchboard.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngressProxy, type IngressProxy } from '../helpers/ingressProxy.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface SessionReply {
  bearer: string;
  expiration: string;
  user: { id: string; username: string; role: string; ha_user_id: string | null };
}

const post = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers });

async function listUsers(t: TestApp): Promise<{ id: string; username: string; role: string }[]> {
  const admin = await t.login();
  const res = await fetch(`${t.url}/api/users?itemsPerPage=-1`, { headers: { authorization: `Bearer ${admin}` } });
  return ((await res.json()) as { items: { id: string; username: string; role: string }[] }).items;
}

describe('ingress sign-in through a trusted proxy', () => {
  let app: TestApp;
  let proxy: IngressProxy;

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
    app = await startTestApp({ ingress_trusted_proxies: ['127.0.0.1'] });
    proxy = await startIngressProxy(app.url, { id: 'ha-user-1', name: 'alice', displayName: 'Alice Example' });
  });
  afterAll(async () => {
    await proxy?.close();
    await app?.stop();
  });

  it('creates a user with role "user" on the first visit and reuses it afterwards', async () => {
    const first = await post(`${proxy.url}/api/ingress/session`);
    expect(first.status).toBe(201);
    const a = (await first.json()) as SessionReply;
    expect(a.user).toMatchObject({ username: 'alice', role: 'user', ha_user_id: 'ha-user-1' });
    expect(a.bearer.length).toBeGreaterThan(16);

    // The token is an ordinary bearer: it works on the direct port and on the sockets' APIs.
    const me = await fetch(`${app.url}/api/users/${a.user.id}`, { headers: { authorization: `Bearer ${a.bearer}` } });
    expect(me.status).toBe(200);

    const second = (await (await post(`${proxy.url}/api/ingress/session`)).json()) as SessionReply;
    expect(second.user.id).toBe(a.user.id);
    expect(second.bearer).not.toBe(a.bearer);
    expect((await listUsers(app)).filter((u) => u.username.startsWith('alice'))).toHaveLength(1);
  });

  it('keeps a role an admin gave the HA user', async () => {
    const { user } = (await (await post(`${proxy.url}/api/ingress/session`)).json()) as SessionReply;
    const admin = await app.login();
    const put = await fetch(`${app.url}/api/users/${user.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ role: 'viewer' }) });
    expect(put.status).toBe(200);
    const again = (await (await post(`${proxy.url}/api/ingress/session`)).json()) as SessionReply;
    expect(again.user).toMatchObject({ id: user.id, role: 'viewer' });
  });

  it('makes parallel first visits of one HA user into one Switchboard user, and avoids taken usernames', async () => {
    const p2 = await startIngressProxy(app.url, { id: 'ha-user-2', name: 'admin', displayName: 'Another Admin' });
    try {
      const replies = await Promise.all([1, 2, 3].map(() => post(`${p2.url}/api/ingress/session`).then((r) => r.json() as Promise<SessionReply>)));
      expect(new Set(replies.map((r) => r.user.id)).size).toBe(1);
      expect(replies[0]!.user.username).toBe('admin_2');
    } finally {
      await p2.close();
    }
  });

  it('uses the display name, then the id, when HA sends no username', async () => {
    const p3 = await startIngressProxy(app.url, { id: 'f00dcafe1234567890', displayName: 'Bob Bauer' });
    const p4 = await startIngressProxy(app.url, { id: 'deadbeef99887766' });
    try {
      expect(((await (await post(`${p3.url}/api/ingress/session`)).json()) as SessionReply).user.username).toBe('Bob_Bauer');
      expect(((await (await post(`${p4.url}/api/ingress/session`)).json()) as SessionReply).user.username).toBe('ha_deadbeef9988');
    } finally {
      await p3.close();
      await p4.close();
    }
  });

  it('refuses a request without HA user headers, and malformed headers, without storing anything', async () => {
    const before = await listUsers(app);
    const none = await post(`${app.url}/api/ingress/session`);
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { message: string } }).error.message).toBe('The ingress request carries no Home Assistant user');

    const long = await post(`${app.url}/api/ingress/session`, { 'x-remote-user-id': 'x'.repeat(300) });
    expect(long.status).toBe(422);
    const body = (await long.json()) as { error: { message: string; details: { path: string; message: string }[] } };
    expect(body.error.message).toBe('Invalid Home Assistant user headers');
    expect(body.error.details[0]!.path).toBe('headers.x-remote-user-id');
    expect(await listUsers(app)).toEqual(before);

    // The server lives on.
    expect((await fetch(`${app.url}/api/health`)).status).toBe(200);
  });

  it('refuses an HA user an admin disabled', async () => {
    const p5 = await startIngressProxy(app.url, { id: 'ha-user-5', name: 'carol' });
    try {
      const { user } = (await (await post(`${p5.url}/api/ingress/session`)).json()) as SessionReply;
      const admin = await app.login();
      await fetch(`${app.url}/api/users/${user.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ can_login: false }) });
      const res = await post(`${p5.url}/api/ingress/session`);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe('This Home Assistant user is disabled in Switchboard');
    } finally {
      await p5.close();
    }
  });

  it('serves the panel with the ingress base path under the proxy and "/" on the direct port', async () => {
    const viaProxy = await fetch(`${proxy.url}/`);
    expect(viaProxy.status).toBe(200);
    const html = await viaProxy.text();
    expect(html).toContain(`<base href="${proxy.path}/">`);
    expect(html).toContain(`"base":"${proxy.path}"`);
    expect(html).toContain('"ingress":true');

    const direct = await (await fetch(`${app.url}/`)).text();
    expect(direct).toContain('<base href="/">');
    expect(direct).toContain('"ingress":false');

    // A base path that is not a plain URL path is ignored, never echoed into the page.
    const evil = await (await fetch(`${app.url}/`, { headers: { 'x-ingress-path': '/x"><script>alert(1)</script>' } })).text();
    expect(evil).toContain('<base href="/">');
    expect(evil).not.toContain('alert(1)');

    const js = await fetch(`${proxy.url}/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    // The panel does not shadow the API.
    expect(((await (await fetch(`${proxy.url}/api/health`)).json()) as { version: string }).version).toBeTruthy();
    expect((await fetch(`${app.url}/api/nothing-here`)).status).toBe(401);
  });
});

describe('ingress sign-in from an address that is not a trusted proxy', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('ignores HA user headers and the ingress path from anyone else', async () => {
    const before = await listUsers(app);
    const res = await post(`${app.url}/api/ingress/session`, { 'x-remote-user-id': 'spoofed', 'x-remote-user-name': 'mallory' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Home Assistant sign-in is only possible through the Home Assistant ingress proxy');
    expect(await listUsers(app)).toEqual(before);
    const page = await (await fetch(`${app.url}/`, { headers: { 'x-ingress-path': '/api/hassio_ingress/abc', 'x-remote-user-id': 'spoofed' } })).text();
    expect(page).toContain('<base href="/">');
    expect(page).toContain('"ingress":false');
  });
});
