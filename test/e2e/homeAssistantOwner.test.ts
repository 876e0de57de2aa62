// The person who installed the add-on, in Home Assistant's sidebar: Chromium opens the panel through
// an ingress-like proxy as an HA administrator (HA's user list on the HA protocol peer says so), is
// a Switchboard admin, adds a user, sets a password, switches motion detection on and adds a monitor
// — each refused input answered with the API's own message. A non-admin HA user is `user`.
// Screenshots go to test-artifacts/ha-owner/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium, launchChromium, type Browser } from '../helpers/chromium.js';
import { HaPeer, peerUser } from '../helpers/haPeer.js';
import { startIngressProxy, type IngressProxy } from '../helpers/ingressProxy.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'ha-owner');
const TOKEN = 'ha-owner-token';

const TITLE = hasChromium ? 'the Home Assistant owner in the panel (chromium)' : `the Home Assistant owner in the panel: SKIPPED because ${CHROMIUM} is missing (apt-get install chromium)`;

describe.skipIf(!hasChromium)(TITLE, () => {
  let peer: HaPeer;
  let app: TestApp;
  let adminProxy: IngressProxy;
  let plainProxy: IngressProxy;
  let browser: Browser | undefined;

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
    mkdirSync(SHOTS, { recursive: true });
    peer = new HaPeer(TOKEN);
    peer.users.push(peerUser('ha-owner-1', 'Olivia', { owner: true }), peerUser('ha-family-1', 'Fred'));
    await peer.start();
    app = await startTestApp({ ingress_trusted_proxies: ['127.0.0.1'], homeassistant: { enabled: true, url: peer.url, token: TOKEN } });
    await peer.waitFor(() => peer.clientCount > 0);
    adminProxy = await startIngressProxy(app.url, { id: 'ha-owner-1', name: 'olivia', displayName: 'Olivia' });
    plainProxy = await startIngressProxy(app.url, { id: 'ha-family-1', name: 'fred', displayName: 'Fred' }, 'family-ingress-token-0123');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await adminProxy?.close();
    await plainProxy?.close();
    await app?.stop();
    await peer?.stop();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const userNamed = async (name: string) => {
    const admin = await app.login();
    const list = await app.api('GET', '/api/users?itemsPerPage=-1', admin);
    return (list.body.items as { id: string; username: string; role: string }[]).find((u) => u.username === name);
  };

  it('an HA administrator is admin, adds a user and sets a password', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${adminProxy.url}/#users`);
    await page.getByText('olivia · admin').waitFor();
    const table = page.getByRole('article', { name: 'All users' });
    await table.locator('tr[data-user="admin"]').waitFor();

    // Refused as the API refuses it, in its words.
    const add = page.getByRole('form', { name: 'Add a user' });
    await add.getByLabel('Username').fill('carol');
    await add.getByLabel(/^Password/).fill('short');
    await add.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Validation failed (password: must be at least 8 characters)');
    expect(await userNamed('carol')).toBeUndefined();

    await add.getByLabel(/^Password/).fill('carol-password-1');
    await add.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Added carol (User).');
    const carolRow = table.locator('tr[data-user="carol"]');
    await carolRow.waitFor();
    expect(await userNamed('carol')).toMatchObject({ role: 'user' });

    // The same name again: the API's conflict.
    await add.getByLabel('Username').fill('Carol');
    await add.getByLabel(/^Password/).fill('carol-password-1');
    await add.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Username already exists (username: already exists)');

    // Role, then password.
    await carolRow.getByLabel('Role of carol').selectOption('viewer');
    await expect.poll(() => carolRow.locator('.status').textContent()).toBe('carol is now Viewer.');
    expect(await userNamed('carol')).toMatchObject({ role: 'viewer' });
    await carolRow.getByLabel('New password for carol').fill('carol-password-2');
    await carolRow.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => carolRow.locator('.status').textContent()).toBe('Password of carol set; their sessions were signed out.');
    expect((await app.api('POST', '/api/auth', null, { username: 'carol', password: 'carol-password-2' })).status).toBe(201);
    expect((await app.api('POST', '/api/auth', null, { username: 'carol', password: 'carol-password-1' })).status).toBe(400);
    await shot(page, '01-users');
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(SHOTS, 'panel-users.png'), clip: (await table.boundingBox())! });

    // Delete (two clicks: a deletion cannot be undone).
    await add.getByLabel('Username').fill('dave');
    await add.getByLabel(/^Password/).fill('dave-password-1');
    await add.getByRole('button', { name: 'Add user' }).click();
    const dave = table.locator('tr[data-user="dave"]');
    await dave.waitFor();
    await dave.getByRole('button', { name: 'Delete' }).click();
    await dave.getByRole('button', { name: 'Really delete dave?' }).click();
    await expect.poll(() => table.locator('tr[data-user="dave"]').count()).toBe(0);
    expect(await userNamed('dave')).toBeUndefined();
    await page.close();
  });

  it('a user signed in with a password changes it on the Account page', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${app.url}/#users`);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password-2');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('carol · viewer').waitFor();
    const form = page.getByRole('form', { name: 'Change my password' });
    await form.getByLabel('Current password').fill('not-my-password');
    await form.getByLabel(/^New password/).fill('carol-password-3');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.locator('.status').textContent()).toBe('Validation failed (current_password: does not match)');
    await form.getByLabel('Current password').fill('carol-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.locator('.status').textContent()).toBe('Password changed. Sign in again with the new password.');
    expect((await app.api('POST', '/api/auth', null, { username: 'carol', password: 'carol-password-3' })).status).toBe(201);
    await page.getByText('Please sign in again').waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('the HA administrator switches motion detection on and adds a monitor', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${adminProxy.url}/#cameras`);
    await page.getByText('olivia · admin').waitFor();
    const camera = page.locator('article.camera').first();
    const motion = camera.getByRole('switch', { name: 'Motion detection' });
    await expect.poll(() => motion.isChecked()).toBe(false);
    await motion.check();
    const id = await camera.getAttribute('data-camera-id');
    await expect.poll(async () => app.app.context.cameras.all().find((c) => c.id === id)?.motion).toBe(true);
    await shot(page, '02-motion');

    // Live view in one step: the camera's Generic Camera entry in HA (the peer's config flow).
    await camera.getByRole('button', { name: 'Show in Home Assistant' }).click();
    await expect.poll(() => camera.locator('p.status').textContent(), { timeout: 15_000 }).toBe('Added to Home Assistant as camera.camera_1_live. Put it on a dashboard to watch it live.');
    expect([...peer.flows.entries.values()].map((e) => e.domain)).toEqual(['generic']);
    // For the documentation: the top of the camera's card down to that answer.
    await page.evaluate('window.scrollTo(0, 0)');
    const top = (await camera.boundingBox())!;
    const bottom = (await camera.locator('p.status').boundingBox())!;
    await page.screenshot({ path: join(SHOTS, 'panel-live-view.png'), clip: { x: top.x, y: top.y, width: top.width, height: bottom.y + bottom.height + 8 - top.y } });
    // The same button takes it away again.
    await camera.getByRole('button', { name: 'Remove from Home Assistant' }).click();
    await expect.poll(() => camera.locator('p.status').textContent(), { timeout: 15_000 }).toBe('Removed from Home Assistant.');
    expect(peer.flows.entries.size).toBe(0);
    await camera.getByRole('button', { name: 'Show in Home Assistant' }).waitFor();

    await page.getByRole('tab', { name: 'Monitors' }).click();
    const add = page.getByRole('form', { name: 'Add a monitor' });
    await add.getByLabel('Name').fill('Garden');
    await add.getByLabel(/^Monitor id/).fill('garden-1');
    await add.getByLabel(/^Key/).fill('short');
    await add.getByRole('button', { name: 'Add monitor' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Validation failed (key: must be at least 8 characters)');
    await add.getByLabel(/^Key/).fill('garden-key-1');
    await add.getByRole('button', { name: 'Add monitor' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Added Garden. It appears online when it connects.');
    const card = page.locator('[data-monitor-id="garden-1"]');
    await card.waitFor();
    expect(await card.locator('[data-fact="key"]').textContent()).toBe('Set');
    expect(app.app.context.monitors.all().map((m) => m.monitor_id)).toContain('garden-1');

    // Rotate its key, then delete it.
    await card.getByText('Manage').click();
    await card.getByLabel('New key').fill('garden-key-2');
    await card.getByRole('button', { name: 'Change key' }).click();
    await expect.poll(() => card.locator('details .status').textContent()).toBe('Key changed. The monitor must connect with the new key.');
    await shot(page, '03-monitors');
    await card.getByRole('button', { name: 'Delete monitor' }).click();
    await card.getByRole('button', { name: 'Really delete?' }).click();
    await expect.poll(() => page.locator('[data-monitor-id="garden-1"]').count(), { timeout: 10_000 }).toBe(0);
    expect(app.app.context.monitors.all().map((m) => m.monitor_id)).not.toContain('garden-1');
    await page.close();
  });

  it('the HA administrator adds a credential, is told what is wrong, and deletes it', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${adminProxy.url}/#credentials`);
    await page.getByText('olivia · admin').waitFor();
    const add = page.getByRole('form', { name: 'Add a credential' });
    await add.getByLabel('Description').fill('Garage OAuth');
    await add.getByLabel('Client id').fill('client-123');
    await add.getByLabel(/^Authorization URL/).fill('ftp://provider.example/authorize');
    await add.getByLabel(/^Token URL/).fill('https://provider.example/token');
    await add.getByRole('button', { name: 'Add credential' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Validation failed (authorize_url: must be an http or https URL)');
    expect(app.app.context.credentials.all()).toHaveLength(0);

    await add.getByLabel(/^Authorization URL/).fill('https://provider.example/authorize');
    await add.getByRole('button', { name: 'Add credential' }).click();
    await expect.poll(() => add.locator('.status').textContent()).toBe('Added Garage OAuth. Authorize it to sign in at the provider.');
    const [cred] = app.app.context.credentials.all();
    expect(cred).toMatchObject({ description: 'Garage OAuth', client_id: 'client-123', authorize_url: 'https://provider.example/authorize' });
    const card = page.locator(`[data-credential-id="${cred!.id}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Really delete?' }).click();
    await expect.poll(() => page.locator(`[data-credential-id="${cred!.id}"]`).count(), { timeout: 10_000 }).toBe(0);
    expect(app.app.context.credentials.all()).toHaveLength(0);
    await page.close();
  });

  it('an HA user who is not an administrator is `user` and sees no user management', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${plainProxy.url}/#users`);
    await page.getByText('fred · user').waitFor();
    await page.getByRole('heading', { name: 'Account' }).waitFor();
    expect(await page.getByRole('article', { name: 'All users' }).count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Add a user' }).count()).toBe(0);
    await page.getByRole('tab', { name: 'Monitors' }).click();
    expect(await page.getByRole('form', { name: 'Add a monitor' }).count()).toBe(0);
    expect((await userNamed('fred'))?.role).toBe('user');
    // The Logs page says why it is empty.
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.getByText('Server logs are shown to admins only; you are signed in as user.').waitFor();
    await page.close();
  });
});
