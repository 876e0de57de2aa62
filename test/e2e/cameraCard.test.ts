// The camera card end to end: the built bundle in Debian's chromium (playwright-core), with a
// `hass` object made as the frontend makes it (test/e2e/cardHarness) over a real websocket to the
// HA peer, which holds the camera device, its entities as the add-on's discovery names them, and a
// real JPEG (ffmpeg) behind /api/camera_proxy. Every control's service call is checked where HA
// receives it; online, offline, disabled, motion, missing entities and live view are rendered;
// screenshots (desktop/phone × light/dark) go to test-artifacts/card/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium, type Browser } from '../helpers/chromium.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HaPeer } from '../helpers/haPeer.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'card');
const TOKEN = 'frontend-user-token';
const DEVICE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ADDON_DEVICE = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const OBJ = 'front_door';

const id = (domain: string, key: string) => `${domain}.${OBJ}_${key}`;
const ENTITIES: [string, string, Record<string, unknown>][] = [
  [id('camera', 'image'), 'idle', { camera_id: 'cam-1', live_entity: null, access_token: 'tok-image', entity_picture: `/api/camera_proxy/${id('camera', 'image')}?token=tok-image`, friendly_name: 'Front door' }],
  [id('binary_sensor', 'ready'), 'on', {}],
  [id('sensor', 'readers'), '2', {}],
  [id('switch', 'stream'), 'on', {}],
  [id('light', 'light'), 'off', { supported_color_modes: ['brightness'], color_mode: null, brightness: null }],
  [id('switch', 'enabled'), 'on', {}],
  [id('switch', 'recording'), 'off', {}],
  [id('binary_sensor', 'motion'), 'off', { device_class: 'motion' }],
  [id('switch', 'motion_detection'), 'on', {}],
  [id('switch', 'live_view'), 'off', {}],
  [id('button', 'snapshot'), 'unknown', {}],
  ...['brightness', 'contrast', 'saturation', 'sharpness', 'gain', 'hue'].map((k, i) => [id('number', k), String(40 + i * 5), { min: 0, max: 100, step: 1, mode: 'slider' }] as [string, string, Record<string, unknown>]),
  // A camera with a zoom: the catalog puts it on the card on the device's own range.
  [id('number', 'zoom_absolute'), '100', { min: 100, max: 500, step: 1, friendly_name: 'Front door Zoom' }],
  [id('select', 'resolution'), '1280x720', { options: ['640x480', '1280x720', '1920x1080'] }],
  [id('select', 'fps'), '30', { options: ['15', '25', '30'] }],
  [id('event', 'event'), 'unknown', { event_types: ['demand', 'ready'] }],
];
const ADDON_SENSOR = 'sensor.switchboard_connected_clients';
const SERVICES = ['switch.turn_on', 'switch.turn_off', 'button.press', 'number.set_value', 'select.select_option'];

describe.skipIf(!hasChromium)(hasChromium ? 'camera card in a real browser (chromium)' : `camera card: SKIPPED because ${CHROMIUM} is missing`, () => {
  let peer: HaPeer;
  let site: Server;
  let siteUrl = '';
  let context: BrowserContext;
  let browser: Browser | undefined;
  let work: string;

  /** Everything as discovery and the add-on leave it: online, enabled, no motion. */
  const resetHa = () => {
    peer.serviceCalls.length = 0;
    for (const [entityId, state, attributes] of ENTITIES) peer.setState(entityId, state, attributes);
    peer.setState(ADDON_SENSOR, '3', {});
    peer.services.clear();
    for (const s of SERVICES) peer.services.add(s);
  };

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:card'], { cwd: ROOT, stdio: 'ignore' });
    mkdirSync(SHOTS, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'switchboard-card-e2e-'));
    // A real JPEG for the camera proxy, made by ffmpeg.
    const jpeg = join(work, 'frame.jpg');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=1', '-frames:v', '1', '-y', jpeg]);
    const harness = await build({ entryPoints: [join(ROOT, 'test/e2e/cardHarness/harness.ts')], bundle: true, format: 'esm', write: false, logLevel: 'warning' });

    peer = new HaPeer(TOKEN);
    await peer.start();
    peer.deviceRegistry.push(
      { id: DEVICE, name: 'Front door', name_by_user: null, manufacturer: 'Switchboard', model: 'V4L2 camera (/dev/video0)', disabled_by: null },
      { id: ADDON_DEVICE, name: 'Switchboard', name_by_user: null, manufacturer: 'Switchboard', model: 'Switchboard add-on', disabled_by: null },
      { id: 'other-device', name: 'Kitchen plug', name_by_user: null, manufacturer: 'Acme', model: 'Plug', disabled_by: null },
    );
    // unique_id as the add-on's discovery sets it: <base topic>_<device id>_<key>.
    for (const [entityId] of ENTITIES) peer.entityRegistry.push({ entity_id: entityId, device_id: DEVICE, platform: 'mqtt', unique_id: `switchboard_camera_cam-1_${entityId.slice(entityId.indexOf(`${OBJ}_`) + OBJ.length + 1)}` });
    peer.entityRegistry.push({ entity_id: ADDON_SENSOR, device_id: ADDON_DEVICE, platform: 'mqtt' }, { entity_id: 'camera.generic_front_door', platform: 'generic' });
    peer.pictures.set(id('camera', 'image'), readFileSync(jpeg));
    peer.pictures.set('camera.generic_front_door', readFileSync(jpeg));
    resetHa();

    const files: Record<string, [string, Buffer | string]> = {
      '/': ['text/html', '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><body style="margin:0;font-family:Roboto,sans-serif"><div id="slot" style="max-width:var(--w);margin:16px auto;padding:0 8px"></div><script type="module" src="/card.js"></script><script type="module" src="/harness.js"></script>'],
      '/card.js': ['text/javascript', readFileSync(join(ROOT, 'card/dist/switchboard-camera-card.js'))],
      '/harness.js': ['text/javascript', harness.outputFiles[0]!.text],
    };
    site = createServer((req, res) => {
      const file = files[new URL(req.url ?? '/', 'http://x').pathname];
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await peer?.stop();
    await new Promise((r) => site?.close(r));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => resetHa());

  const open = async (config: Record<string, unknown> = { device_id: DEVICE }, opts: { dark?: boolean; phone?: boolean; stream?: boolean } = {}): Promise<Page> => {
    const page = await context.newPage();
    if (opts.phone) await page.setViewportSize({ width: 390, height: 844 });
    const q = new URLSearchParams({ hass: peer.url, token: TOKEN, config: JSON.stringify({ type: 'custom:switchboard-camera-card', ...config }), ...(opts.dark ? { dark: '1' } : {}), ...(opts.stream ? { stream: '1' } : {}) });
    await page.goto(`${siteUrl}/?${q}`);
    await page.evaluate(`document.getElementById('slot').style.setProperty('--w', '${opts.phone ? '100%' : '560px'}')`);
    await expect.poll(() => page.evaluate('window.harness && (window.harness.error || window.harness.updates)')).toBeTruthy();
    expect(await page.evaluate('window.harness.error')).toBe('');
    await page.locator('switchboard-camera-card ha-card').waitFor();
    return page;
  };
  const card = (page: Page) => page.locator('switchboard-camera-card');
  const shot = (page: Page, name: string) => card(page).screenshot({ path: join(SHOTS, `${name}.png`) });
  const lastCall = () => peer.serviceCalls.at(-1);
  const callCount = () => peer.serviceCalls.length;
  const pictureLoaded = (page: Page, view: string) => page.evaluate(`window.harness.pictureWidth(${JSON.stringify(view)})`);

  it('shows the camera online: picture from the camera proxy, stream state, readers, format, no motion', async () => {
    const page = await open();
    const c = card(page);
    await expect.poll(() => pictureLoaded(page, 'picture')).toBe(640);
    expect(await c.locator('h2').textContent()).toBe('Front door');
    expect(await c.locator('[data-fact="stream"]').textContent()).toBe('Stream: ready');
    expect(await c.locator('[data-fact="readers"]').textContent()).toBe('Readers: 2');
    expect(await c.locator('[data-fact="format"]').textContent()).toBe('1280x720 · 30 fps');
    expect(await c.locator('[data-motion]').getAttribute('data-motion')).toBe('off');
    expect(await c.locator('[data-problem]').count()).toBe(0);
    expect(await c.locator('[data-control="stream"]').getAttribute('aria-pressed')).toBe('true');
    expect(await c.locator('[data-control="light"]').getAttribute('aria-pressed')).toBe('false');
    await page.close();
  });

  it('every control calls the matching service on the camera entity, by mouse and by keyboard', async () => {
    const page = await open();
    const c = card(page);
    const expectCall = async (domain: string, service: string, entity: string, data: Record<string, unknown> = {}) => {
      // The whole call: consecutive calls of one service (number.set_value) differ only in entity and data.
      await expect.poll(() => lastCall()).toEqual({ domain, service, service_data: data, target: { entity_id: entity } });
    };

    await c.locator('[data-control="stream"]').click();
    await expectCall('switch', 'turn_off', id('switch', 'stream'));
    await c.locator('[data-control="snapshot"]').click();
    await expectCall('button', 'press', id('button', 'snapshot'));
    await c.locator('[data-control="light"]').click();
    await expectCall('light', 'turn_on', id('light', 'light'));
    await c.locator('[data-control="recording"]').click();
    await expectCall('switch', 'turn_on', id('switch', 'recording'));
    await c.locator('[data-control="enabled"]').click();
    await expectCall('switch', 'turn_off', id('switch', 'enabled'));

    // The state comes back from HA (the add-on confirmed it): the button follows.
    peer.setState(id('switch', 'recording'), 'on');
    await expect.poll(() => c.locator('[data-control="recording"]').getAttribute('aria-pressed')).toBe('true');
    await c.locator('[data-control="recording"]').click();
    await expectCall('switch', 'turn_off', id('switch', 'recording'));

    // Keyboard: the image settings open with Enter on their summary; a slider moves with keys.
    await c.locator('summary').focus();
    await page.keyboard.press('Enter');
    await c.locator('input[name="brightness"]').focus();
    await page.keyboard.press('End');
    await expectCall('number', 'set_value', id('number', 'brightness'), { value: 100 });
    await c.locator('input[name="gain"]').focus();
    await page.keyboard.press('ArrowLeft');
    await expectCall('number', 'set_value', id('number', 'gain'), { value: 59 });
    await c.locator('input[name="hue"]').focus();
    await page.keyboard.press('ArrowRight');
    await expectCall('number', 'set_value', id('number', 'hue'), { value: 66 });
    await c.locator('input[name="zoom_absolute"]').focus();
    await page.keyboard.press('End');
    await expectCall('number', 'set_value', id('number', 'zoom_absolute'), { value: 500 });
    expect(await c.locator('label', { has: page.locator('input[name="zoom_absolute"]') }).locator('span').textContent()).toBe('Zoom');
    await c.locator('select[name="resolution"]').selectOption('1920x1080');
    await expectCall('select', 'select_option', id('select', 'resolution'), { option: '1920x1080' });
    await c.locator('select[name="fps"]').selectOption('15');
    await expectCall('select', 'select_option', id('select', 'fps'), { option: '15' });
    // The light is on at full brightness (the peer, like HA, turned it on at 255): Home dims it to 1 %.
    await c.locator('input[name="light_brightness"]').focus();
    await page.keyboard.press('Home');
    await expectCall('light', 'turn_on', id('light', 'light'), { brightness_pct: 1 });

    // A button reached with Tab and pressed with Space (the peer's light followed light.turn_on: on).
    expect(await c.locator('[data-control="light"]').getAttribute('aria-pressed')).toBe('true');
    await c.locator('[data-control="snapshot"]').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('window.harness.focusedControl()')).toBe('light');
    const before = callCount();
    await page.keyboard.press('Space');
    await expect.poll(callCount).toBe(before + 1);
    expect(lastCall()).toMatchObject({ domain: 'light', service: 'turn_off', target: { entity_id: id('light', 'light') } });
    await page.close();
  });

  it('switches motion detection and the live view in Home Assistant', async () => {
    const page = await open();
    const c = card(page);
    await expect.poll(() => c.locator('[data-control="motion_detection"]').getAttribute('aria-pressed')).toBe('true');
    await c.locator('[data-control="motion_detection"]').click();
    await expect.poll(() => lastCall()).toEqual({ domain: 'switch', service: 'turn_off', service_data: {}, target: { entity_id: id('switch', 'motion_detection') } });
    await c.locator('[data-control="live_view"]').click();
    await expect.poll(() => lastCall()).toEqual({ domain: 'switch', service: 'turn_on', service_data: {}, target: { entity_id: id('switch', 'live_view') } });
    await page.close();
  });

  it('finds entities a user renamed, by their entity registry entries', async () => {
    const renames: [string, string][] = [
      [id('switch', 'stream'), 'switch.porch_video_feed'],
      [id('switch', 'recording'), 'switch.porch_recorder'],
      [id('camera', 'image'), 'camera.porch'],
    ];
    const rename = (from: string, to: string) => {
      const entry = peer.entityRegistry.find((e) => e.entity_id === from)!;
      entry.entity_id = to;
      const state = peer.states.get(from)!;
      peer.states.delete(from);
      peer.setState(to, state.state, state.attributes);
    };
    for (const [from, to] of renames) rename(from, to);
    try {
      const page = await open();
      const c = card(page);
      await expect.poll(() => c.locator('[data-control="stream"]').getAttribute('aria-pressed')).toBe('true');
      expect(await c.locator('[data-problem]').count()).toBe(0);
      await c.locator('[data-control="stream"]').click();
      await expect.poll(() => lastCall()).toMatchObject({ domain: 'switch', service: 'turn_off', target: { entity_id: 'switch.porch_video_feed' } });
      await c.locator('[data-control="recording"]').click();
      await expect.poll(() => lastCall()).toMatchObject({ domain: 'switch', service: 'turn_on', target: { entity_id: 'switch.porch_recorder' } });
      await page.close();
    } finally {
      for (const [from, to] of renames) rename(to, from);
    }
  });

  it('says so when HA refuses a call, and keeps working', async () => {
    peer.services.delete('button.press');
    const page = await open();
    const c = card(page);
    await c.locator('[data-control="snapshot"]').click();
    await expect.poll(() => c.locator('[role="alert"]').textContent()).toContain('Home Assistant refused button.press: Service button.press not found.');
    await c.locator('[data-control="recording"]').click();
    await expect.poll(() => c.locator('[role="alert"]').count()).toBe(0);
    expect(lastCall()).toMatchObject({ domain: 'switch', service: 'turn_on' });
    await page.close();
  });

  it('shows motion, a disabled camera, and the add-on offline, and which controls still work', async () => {
    const page = await open();
    const c = card(page);
    peer.setState(id('binary_sensor', 'motion'), 'on');
    await expect.poll(() => c.locator('[data-motion]').textContent()).toBe('Motion detected');
    await shot(page, 'motion-desktop-light');

    peer.setState(id('switch', 'enabled'), 'off');
    await expect.poll(() => c.locator('[data-problem]').getAttribute('data-problem')).toBe('disabled');
    expect(await c.locator('[data-problem]').textContent()).toContain('disabled in Switchboard');
    expect(await c.locator('[data-control="stream"]').isDisabled()).toBe(true);
    expect(await c.locator('[data-control="enabled"]').isDisabled()).toBe(false);
    expect(await c.locator('img').count()).toBe(0);
    await shot(page, 'disabled-desktop-light');
    await c.locator('[data-control="enabled"]').click();
    await expect.poll(() => lastCall()).toMatchObject({ domain: 'switch', service: 'turn_on', target: { entity_id: id('switch', 'enabled') } });

    // The add-on stops: its availability topic says offline, every entity goes unavailable.
    for (const [entityId] of ENTITIES) peer.setState(entityId, 'unavailable');
    peer.setState(ADDON_SENSOR, 'unavailable');
    await expect.poll(() => c.locator('[data-problem]').getAttribute('data-problem')).toBe('addon_offline');
    expect(await c.locator('[data-problem]').textContent()).toContain('Switchboard is offline');
    for (const key of ['stream', 'snapshot', 'light', 'recording', 'enabled']) expect(await c.locator(`[data-control="${key}"]`).isDisabled()).toBe(true);
    expect(await c.locator('[data-motion]').textContent()).toBe('Motion: unknown');
    await shot(page, 'offline-desktop-light');

    // The add-on is back but this camera is gone.
    peer.setState(ADDON_SENSOR, '1');
    await expect.poll(() => c.locator('[data-problem]').getAttribute('data-problem')).toBe('camera_gone');
    await page.close();
  });

  it('explains missing entities (discovery not run) and an unknown device', async () => {
    const registry = peer.entityRegistry.splice(0);
    try {
      const page = await open();
      const c = card(page);
      expect(await c.locator('[data-problem]').getAttribute('data-problem')).toBe('entities_missing');
      expect(await c.locator('[data-problem]').textContent()).toContain('MQTT discovery');
      expect(await c.locator('button').count()).toBe(0);
      await shot(page, 'missing-desktop-light');
      await page.close();
    } finally {
      peer.entityRegistry.push(...registry);
    }
    const page = await open({ device_id: 'no-such-device' });
    expect(await card(page).locator('[data-problem]').getAttribute('data-problem')).toBe('device_missing');
    await page.close();
  });

  it('has no Light button for a camera without a light (the add-on publishes no light entity for it)', async () => {
    const registry = peer.entityRegistry.splice(0);
    peer.entityRegistry.push(...registry.filter((e) => e.entity_id !== id('light', 'light')));
    try {
      const page = await open();
      const c = card(page);
      await c.locator('[data-control="stream"]').waitFor();
      expect(await c.locator('[data-control="light"]').count()).toBe(0);
      expect(await c.locator('input[name="light_brightness"]').count()).toBe(0);
      await page.close();
    } finally {
      peer.entityRegistry.splice(0, peer.entityRegistry.length, ...registry);
    }
  });

  it('uses an entity override from the config', async () => {
    peer.setState('light.porch', 'off', { supported_color_modes: ['onoff'] });
    peer.entityRegistry.push({ entity_id: 'light.porch', platform: 'hue' });
    const page = await open({ device_id: DEVICE, entities: { light: 'light.porch' }, name: 'Porch view' });
    const c = card(page);
    expect(await c.locator('h2').textContent()).toBe('Porch view');
    await c.locator('[data-control="light"]').click();
    await expect.poll(() => lastCall()).toMatchObject({ domain: 'light', service: 'turn_on', target: { entity_id: 'light.porch' } });
    await page.close();
  });

  it('shows the live camera when live_entity is set: its picture without ha-camera-stream, ha-camera-stream when the frontend has it', async () => {
    peer.setState('camera.generic_front_door', 'streaming', { access_token: 'tok-live', entity_picture: '/api/camera_proxy/camera.generic_front_door?token=tok-live', supported_features: 2, frontend_stream_type: 'web_rtc' });
    peer.setState(id('camera', 'image'), 'idle', { live_entity: 'camera.generic_front_door' });
    const page = await open();
    await expect.poll(() => pictureLoaded(page, 'live-picture')).toBe(640);

    // With the frontend's own player loaded, the card hands the live entity to it.
    const withStream = await open({ device_id: DEVICE }, { stream: true });
    await expect.poll(() => withStream.evaluate('window.harness.liveStream()')).toEqual(['camera.generic_front_door', true, 'function']);
    await withStream.close();
    await page.close();
  });

  it('offers itself in the card picker with a visual editor that picks Switchboard cameras', async () => {
    const page = await open();
    expect(await page.evaluate('window.customCards')).toEqual([expect.objectContaining({ type: 'switchboard-camera-card', name: 'Switchboard camera', preview: true })]);
    const result = (await page.evaluate('window.harness.editor()')) as { stub: unknown; tag: string; options: unknown; detail: unknown };
    expect(result.tag).toBe('switchboard-camera-card-editor');
    expect(result.stub).toEqual({ device_id: DEVICE });
    // Only camera devices of Switchboard: not the add-on's own device, not other makers'.
    expect(result.options).toEqual([['', 'Choose a camera…'], [DEVICE, 'Front door']]);
    expect(result.detail).toEqual({ config: { type: 'custom:switchboard-camera-card', device_id: DEVICE } });
    // A broken YAML config is refused with a message the dashboard shows in its error card.
    expect(await page.evaluate(`window.harness.configError({ type: 'custom:switchboard-camera-card', entities: ['light.x'] })`)).toMatch(/"entities" must map keys to entity ids/);
    expect(await page.evaluate('window.harness.configError(null)')).toBe('Invalid configuration');
    expect(await page.evaluate(`window.harness.configError({ type: 'custom:switchboard-camera-card', device_id: 'x' })`)).toBe('');
    await page.close();
  });

  it('screenshots: desktop and phone width, light and dark', async () => {
    for (const dark of [false, true]) {
      for (const phone of [false, true]) {
        const page = await open({ device_id: DEVICE }, { dark, phone });
        await expect.poll(() => pictureLoaded(page, 'picture')).toBe(640);
        await card(page).locator('summary').click();
        await shot(page, `online-${phone ? 'phone' : 'desktop'}-${dark ? 'dark' : 'light'}`);
        if (phone) {
          // Nothing wider than the phone.
          expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
        }
        await page.close();
      }
    }
  });
});
