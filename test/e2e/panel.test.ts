// The web panel end to end: Debian's chromium driven by playwright-core against a whole Switchboard
// (simulated camera), on the direct port with the login form and under an ingress base path
// through an ingress-like proxy. Screenshots go to test-artifacts/panel/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { io as ioClient, type Socket } from 'socket.io-client';
import { CHROMIUM, hasChromium, launchChromium, type Browser } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startIngressProxy, type IngressProxy } from '../helpers/ingressProxy.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'panel');
const MONITOR_ID = 'bench-monitor-1';

/** A second Rotoclear /api/v1 client, as another app would be. */
class StateClient {
  readonly messages: Record<string, unknown>[] = [];
  readonly ws: WebSocket;
  constructor(url: string, token: string) {
    this.ws = new WebSocket(url);
    this.ws.on('open', () => this.ws.send(JSON.stringify({ token })));
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  }
  saw(pred: (m: Record<string, unknown>) => boolean): boolean {
    return this.messages.some(pred);
  }
}

const TITLE = hasChromium ? 'web panel in a real browser (chromium)' : `web panel in a real browser: SKIPPED because ${CHROMIUM} is missing (apt-get install chromium)`;

describe.skipIf(!hasChromium)(TITLE, () => {
  let app: TestApp;
  let proxy: IngressProxy;
  let context: BrowserContext;
  let browser: Browser | undefined;
  let monitor: Socket | null = null;
  let state: StateClient | null = null;
  const commandsSeen: string[] = [];

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
    mkdirSync(SHOTS, { recursive: true });
    // The simulated camera has an LED flash, so the panel shows a light with levels.
    app = await startTestApp({ ingress_trusted_proxies: ['127.0.0.1'], labs: { allow_exec: true } }, { simulatedFlash: true });
    proxy = await startIngressProxy(app.url, { id: 'ha-0042', name: 'hauser', displayName: 'HA User' });
    const admin = await app.login();
    const res = await fetch(`${app.url}/api/monitors`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ monitor_id: MONITOR_ID, name: 'Bench monitor' }) });
    expect(res.status).toBe(201);
    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    monitor?.close();
    state?.ws.close();
    await browser?.close();
    await proxy?.close();
    await app?.stop();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** A page of the panel on the direct port, signing in through the form when the profile has no session yet. */
  const openSignedIn = async (hash: string): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${app.url}/${hash}`);
    // The sign-in form's fields (the Users page has a Username field of its own).
    const login = page.getByRole('form', { name: 'Sign in' });
    const form = login.getByLabel('Username');
    await form.or(page.locator('.topbar')).first().waitFor();
    if (await form.count()) {
      await form.fill(ADMIN.username);
      await login.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.topbar').waitFor();
    }
    return page;
  };

  it('signs in on the direct port, and a brightness slider reaches another /api/v1 client (and back)', async () => {
    const page = await context.newPage();
    await page.goto(`${app.url}/`);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong username or password.').waitFor();
    await shot(page, '01-login-error');
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    const card = page.locator('article.camera').first();
    await card.waitFor();
    await expect.poll(() => card.locator('.badge', { hasText: 'Main' }).count()).toBe(1);
    expect(await card.locator('[data-fact="format"]').textContent()).toBe('YUYV 640x360');
    expect(await card.locator('[data-fact="formats"]').textContent()).toBe('YUYV, UYVY, NV12, RGB3, GREY');

    state = new StateClient(`ws://127.0.0.1:${app.port}/api/v1`, await app.login());
    await expect.poll(() => state!.saw((m) => m.authenticated === true)).toBe(true);

    const slider = card.locator('input[name="brightness"]');
    await slider.focus();
    await page.keyboard.press('End');
    await expect.poll(() => state!.saw((m) => m.brightness === 100 && !('info' in m)), { timeout: 10_000 }).toBe(true);

    // A change by the other client shows up in the page.
    state.ws.send(JSON.stringify({ contrast: 23 }));
    await expect.poll(() => card.locator('input[name="contrast"]').inputValue(), { timeout: 10_000 }).toBe('23');

    // Hue is no Rotoclear key: its slider goes through the cameras module like the rest.
    const camId = app.app.context.cameras.all()[0]!.id;
    await card.locator('input[name="hue"]').focus();
    await page.keyboard.press('Home');
    await expect.poll(() => app.app.context.cameras.get(camId)!.controls.hue, { timeout: 10_000 }).toBe(0);

    // Live view: progress first, then frames.
    await card.getByRole('button', { name: 'Start live view' }).click();
    await expect.poll(() => card.locator('.overlay').isHidden(), { timeout: 20_000 }).toBe(true);
    await expect.poll(async () => card.locator('[data-fact="readers"]').textContent(), { timeout: 10_000 }).toMatch(/^[1-9]/);
    await card.getByRole('button', { name: 'Snapshot' }).click();
    await card.locator('.snapshot img').waitFor({ timeout: 15_000 });
    await card.getByText('Capture and recording').click();
    await expect.poll(() => card.locator('select[name="resolution"] option').count()).toBeGreaterThan(0);
    await page.mouse.wheel(0, -10_000);
    await shot(page, '02-cameras');
    await page.close();
  });

  it('sets the light level with the slider under the light switch, and follows a level set elsewhere', async () => {
    const page = await openSignedIn('#/cameras');
    const card = page.locator('article.camera').first();
    const id = app.app.context.cameras!.all()[0]!.id;
    const level = card.locator('input[name="light_brightness"]');
    await level.waitFor();
    expect(await level.inputValue()).toBe('100');
    // Home (1 %) from the keyboard, sent on change: the light switches on at that level.
    await level.focus();
    await page.keyboard.press('Home');
    await level.dispatchEvent('change');
    await expect.poll(() => app.app.context.cameras!.get(id)!.light_brightness, { timeout: 10_000 }).toBe(1);
    expect(app.app.context.cameras!.get(id)!.light).toBe(true);
    await expect.poll(() => card.locator('input[name="light"]').isChecked(), { timeout: 10_000 }).toBe(true);
    // Another client sets a level: the slider follows; 0 switches the light off and keeps it.
    await app.api('PUT', `/api/cameras/${id}`, await app.login(), { light_brightness: 65 });
    await expect.poll(() => level.inputValue(), { timeout: 10_000 }).toBe('65');
    await app.api('PUT', `/api/cameras/${id}`, await app.login(), { light_brightness: 0 });
    await expect.poll(() => card.locator('input[name="light"]').isChecked(), { timeout: 10_000 }).toBe(false);
    expect(await level.inputValue()).toBe('65');
    await shot(page, '02b-light-level');
    await page.close();
  });

  it("lists the camera's own controls under All controls, changes one, and follows a change made elsewhere", async () => {
    const page = await openSignedIn('#/cameras');
    const card = page.locator('article.camera').first();
    const id = app.app.context.cameras!.all()[0]!.id;
    await card.getByText('All controls').click();
    const flip = card.locator('[data-section="device-controls"] input[name="horizontal_flip"]');
    await flip.waitFor();
    expect(await flip.isChecked()).toBe(false);
    await flip.check();
    await expect.poll(() => app.app.context.cameras!.get(id)!.device_controls.horizontal_flip!.value, { timeout: 10_000 }).toBe(true);
    const menu = card.locator('[data-section="device-controls"] select[name="menu"]');
    expect(await menu.locator('option').allTextContents()).toEqual(['Menu Item 1', 'Menu Item 3', 'Menu Item 4']);
    await app.api('PUT', `/api/cameras/${id}`, await app.login(), { device_controls: { menu: 'Menu Item 1' } });
    await expect.poll(() => menu.inputValue(), { timeout: 10_000 }).toBe('1');
    // The read-only control is shown, not editable; the flash's own controls serve the light above.
    await expect.poll(() => card.locator('[data-section="device-controls"] output[data-control="read_only_integer_32_bits"]').count()).toBe(1);
    expect(await card.locator('[data-section="device-controls"] [data-control="led_mode"]').count()).toBe(0);
    await shot(page, '02c-all-controls');
    await page.close();
  });

  it('shows a monitor coming online and sends it a command', async () => {
    const page = await openSignedIn('#monitors');
    const card = page.locator(`[data-monitor-id="${MONITOR_ID}"]`);
    await card.waitFor();
    await expect.poll(() => card.getAttribute('data-online')).toBe('false');

    monitor = ioClient(`http://127.0.0.1:${app.app.ports().monitor}`, { transports: ['websocket'], reconnection: false });
    monitor.on('command do', (d: { command: string }) => {
      commandsSeen.push(d.command);
      monitor!.emit('command done');
    });
    const ok = new Promise<void>((resolve) => monitor!.once('con ok', () => resolve()));
    monitor.emit('con', { monitor_id: MONITOR_ID });
    await ok;
    await expect.poll(() => card.getAttribute('data-online'), { timeout: 10_000 }).toBe('true');

    await card.getByLabel('Command').fill('water on');
    await card.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => card.locator('[data-role="reply"]').textContent(), { timeout: 15_000 }).toContain('Done');
    expect(commandsSeen).toEqual(['water on']);
    await expect.poll(() => card.locator('[data-fact="last-command"]').textContent()).toBe('water on');
    await shot(page, '03-monitors');
    await page.close();
  });

  it('shows live log lines and filters them by level', async () => {
    const page = await openSignedIn('#logs');
    await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(0);
    // A failed sign-in logs a warning; it must arrive while the page is open.
    await fetch(`${app.url}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody-e2e', password: 'nope-nope' }) });
    const line = page.locator('.log-line', { hasText: 'failed login' });
    await expect.poll(() => line.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot(page, '04-logs');
    await page.getByLabel('Lowest level shown').selectOption('60');
    await expect.poll(() => line.count()).toBe(0);
    await page.close();
  });

  it('deploys a lab with progress, shows a node\'s live log, and destroys it', async () => {
    const admin = await app.login();
    const cams = (await (await fetch(`${app.url}/api/cameras`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { id: string }[] };
    const topology = [
      'name: bench-lab',
      'topology:',
      '  nodes:',
      '    cam:',
      '      kind: camera',
      `      camera: "${cams.items[0]!.id}"`,
      '    ticker:',
      '      kind: exec',
      '      cmd: ["/bin/sh", "-c", "while true; do echo tick; sleep 0.3; done"]',
      '',
    ].join('\n');
    const created = await fetch(`${app.url}/api/labs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ topology }) });
    expect(created.status).toBe(201);
    const lab = (await created.json()) as { id: string };

    const page = await openSignedIn('#labs');
    const card = page.locator(`[data-lab-id="${lab.id}"]`);
    const state = card.locator('.card-head .badge');
    await expect.poll(() => state.textContent()).toBe('Inactive');
    await card.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => card.locator('.status').textContent()).toMatch(/Deploying|Deployed/);
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe('Running');
    await card.getByRole('button', { name: 'ticker' }).click();
    await expect.poll(() => page.locator('.log-box').textContent(), { timeout: 10_000 }).toContain('tick');
    await shot(page, '05-labs');
    await card.getByRole('button', { name: 'Destroy' }).click();
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toBe('Inactive');
    await expect.poll(() => page.locator('.log-box').textContent()).toContain('the log ended');
    // Ending the log did not cost the page its other connections.
    await expect.poll(() => page.locator('.link-text').textContent()).toBe('Live');
    await page.close();
  }, 90_000);

  it('shows a credential and opens the provider to authorize it', async () => {
    const page = await openSignedIn('#credentials');
    await page.getByText('No credentials yet').waitFor();
    const admin = await app.login();
    const authorizeUrl = `${app.url}/api/health`;
    const body = { description: 'Bench provider', provider: 'generic', client_id: 'bench-client', client_secret: 'bench-secret', authorize_url: authorizeUrl, token_url: `${app.url}/api/version`, scopes: ['read'] };
    const res = await fetch(`${app.url}/api/credentials`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    // The page learns of the new credential from the `credentials:*` status topic.
    const card = page.locator('[data-credential-id]', { hasText: 'Bench provider' });
    await card.waitFor();
    await expect.poll(() => card.locator('.badge').textContent()).toBe('Not authorized yet');
    const popup = context.waitForEvent('page');
    await card.getByRole('button', { name: 'Authorize' }).click();
    const provider = await popup;
    await expect.poll(() => provider.url()).toContain(authorizeUrl);
    const url = new URL(provider.url());
    expect(url.searchParams.get('redirect_uri')).toBe(`${app.url}/api/credentials/callback`);
    expect(url.searchParams.get('client_id')).toBe('bench-client');
    await provider.close();
    await shot(page, '05b-credentials');
    await page.close();
  });

  it('works under the ingress base path: signed in as the HA user, sockets through the proxy', async () => {
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${proxy.url}/`);
    await page.getByText('hauser · user').waitFor();
    expect(await page.getByLabel('Username').count()).toBe(0);
    await page.locator('article.camera').first().waitFor();

    await page.getByRole('tab', { name: 'Status' }).click();
    const mine = page.locator('.card', { hasText: 'This panel' });
    await expect.poll(() => mine.textContent(), { timeout: 10_000 }).toMatch(/Live updates \(Socket\.IO\)Connected.*Camera state \(\/api\/v1\)Connected/);
    await expect.poll(() => page.getByText('Home Assistant ingress').count()).toBe(1);
    const base = `ws://127.0.0.1:${new URL(proxy.url).port}${proxy.path}`;
    expect(sockets.some((u) => u.startsWith(`${base}/socket.io/`))).toBe(true);
    expect(sockets).toContain(`${base}/api/v1`);
    await shot(page, '06-ingress-status');

    // On a phone, dark theme.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('tab', { name: 'Cameras' }).click();
    await page.locator('article.camera').first().waitFor();
    await shot(page, '07-ingress-phone-dark');
    await page.close();
  });

  it('signs out, and asks for a new sign-in when the session is revoked', async () => {
    const carol = await app.createUser('carol', 'user', 'carol-password-1');
    const page = await openSignedIn('#status');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You signed out.').waitFor();
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('carol · user').waitFor();

    // An admin sets a new password: carol's tokens are revoked and every socket drops.
    const admin = await app.login();
    const res = await fetch(`${app.url}/api/users/${carol.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ password: 'carol-password-2' }) });
    expect(res.status).toBe(200);
    await page.getByText('Your session has expired. Please sign in again.').waitFor({ timeout: 15_000 });
    await shot(page, '09-session-expired');
    await page.close();
  });

  it('explains a refused change in words: an HA user an admin made a viewer', async () => {
    const guestProxy = await startIngressProxy(app.url, { id: 'ha-0099', name: 'guest' }, 'another-ingress-token-42');
    try {
      const first = (await (await fetch(`${guestProxy.url}/api/ingress/session`, { method: 'POST' })).json()) as { user: { id: string } };
      const admin = await app.login();
      await fetch(`${app.url}/api/users/${first.user.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ role: 'viewer' }) });

      const page = await context.newPage();
      await page.goto(`${guestProxy.url}/`);
      await page.getByText('guest · viewer').waitFor();
      const card = page.locator('article.camera').first();
      const slider = card.locator('input[name="saturation"]');
      await expect.poll(() => slider.inputValue()).toBe('50');
      await slider.focus();
      await page.keyboard.press('Home');
      await expect.poll(() => card.locator('.status').textContent(), { timeout: 10_000 }).toBe('Could not change saturation: Changing cameras needs the user role');
      await expect.poll(() => slider.inputValue()).toBe('50');
      await shot(page, '08-viewer-refused');
      await page.close();
    } finally {
      await guestProxy.close();
    }
  });
  it('shows a second camera as it is added and makes it the main camera', async () => {
    const page = await openSignedIn('#cameras');
    await page.locator('article.camera').first().waitFor();
    const admin = await app.login();
    const res = await fetch(`${app.url}/api/cameras`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ name: 'Bench camera 2', driver: 'simulated' }) });
    expect(res.status).toBe(201);
    const second = page.locator('article.camera', { hasText: 'Bench camera 2' });
    await second.waitFor({ timeout: 10_000 });
    await expect.poll(() => second.locator('.badge', { hasText: 'Camera 2' }).count()).toBe(1);
    await second.getByRole('button', { name: 'Make main camera' }).click();
    await expect.poll(() => state!.saw((m) => m['main-camera'] === 2), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => second.locator('.badge', { hasText: 'Main' }).count()).toBe(1);
    await expect.poll(() => page.locator('article.camera').first().getByRole('button', { name: 'Make main camera' }).isVisible()).toBe(true);
    await shot(page, '10-two-cameras');
    await page.close();
  });
});
