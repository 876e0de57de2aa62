// The camera card installation against the protocol-faithful HA peer: the bundle lands in
// <config>/www/switchboard/, the dashboard resource is created once, updated on a new add-on
// version, left alone on a restart of HA; YAML resource mode and an HA without lovelace/info get
// the lines to add instead; a missing config folder sends nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CardInstaller, cardResourceUrl } from '../../src/bridges/homeassistant/cardInstaller.js';
import { HomeAssistantBridge } from '../../src/bridges/homeassistant/homeAssistantBridge.js';
import { EventBus } from '../../src/core/eventBus.js';
import { StatusService } from '../../src/services/system/statusService.js';
import { VERSION } from '../../src/app.js';
import { HaPeer } from '../helpers/haPeer.js';
import { startTestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'long-lived-access-token-for-tests';
const ROOT = new URL('../../', import.meta.url).pathname;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(): Promise<HaPeer> {
  const p = new HaPeer(TOKEN);
  await p.start();
  cleanups.push(() => p.stop());
  return p;
}

function folders(withWww: boolean) {
  const root = mkdtempSync(join(tmpdir(), 'switchboard-card-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const configDir = join(root, 'homeassistant');
  mkdirSync(configDir);
  if (withWww) mkdirSync(join(configDir, 'www'));
  const bundlePath = join(root, 'bundle.js');
  writeFileSync(bundlePath, 'customElements.define("switchboard-camera-card", class extends HTMLElement {});\n');
  return { configDir, bundlePath, installed: join(configDir, 'www', 'switchboard', 'switchboard-camera-card.js') };
}

/** A bridge as the add-on builds it (version = the add-on's), started against the peer. */
async function bridge(p: HaPeer, dirs: { configDir: string; bundlePath: string }, version: string) {
  const bus = new EventBus();
  const status = new StatusService(version, bus);
  const logger = pino({ level: 'silent' });
  const b = new HomeAssistantBridge({
    config: { enabled: true, url: p.url, token: TOKEN, notifications: true, card: true, config_dir: dirs.configDir, live_view: 'off' },
    env: {},
    bus,
    status,
    logger,
    sources: {},
    card: new CardInstaller({ configDir: dirs.configDir, bundlePath: dirs.bundlePath, version, status, logger }),
  });
  await b.start();
  cleanups.push(() => b.stop());
  const card = () => status.health().components.card;
  return { bridge: b, card };
}

const lovelaceWrites = (p: HaPeer) => p.received.filter((m) => typeof m.type === 'string' && /^lovelace\/resources\/(create|update|delete)$/.test(m.type));

describe('camera card installation', () => {
  it('writes the bundle, creates the resource once, says HA must restart once, and does nothing on an HA restart', async () => {
    const p = await peer();
    const dirs = folders(false);
    const { card } = await bridge(p, dirs, '1.2.0');
    await until("card()?.detail?.startsWith('dashboard resource created')", () => card()?.detail?.startsWith('dashboard resource created'));

    expect(readFileSync(dirs.installed, 'utf8')).toBe(readFileSync(dirs.bundlePath, 'utf8'));
    expect(p.resources).toEqual([{ id: expect.any(String), type: 'module', url: '/local/switchboard/switchboard-camera-card.js?v=1.2.0' }]);
    expect(lovelaceWrites(p)).toEqual([{ id: expect.any(Number), type: 'lovelace/resources/create', res_type: 'module', url: '/local/switchboard/switchboard-camera-card.js?v=1.2.0' }]);
    // www/ did not exist: HA serves /local/ only after a restart.
    expect(p.notifications.get('switchboard_card_restart')?.message).toMatch(/restart Home Assistant once/);

    // HA restarts: the bridge reconnects, lists the resources again and changes nothing.
    const listsBefore = p.received.filter((m) => m.type === 'lovelace/resources').length;
    p.notifications.clear();
    await p.stop();
    await p.start();
    await until("card()?.detail?.startsWith('dashboard resource up to date')", () => card()?.detail?.startsWith('dashboard resource up to date'));
    expect(p.received.filter((m) => m.type === 'lovelace/resources').length).toBe(listsBefore + 1);
    expect(lovelaceWrites(p)).toHaveLength(1);
    expect(p.resources).toHaveLength(1);
    expect(p.notifications.size).toBe(0);
  });

  it('updates the resource (not a second one) and the file when the add-on version changes', async () => {
    const p = await peer();
    const dirs = folders(true);
    const first = await bridge(p, dirs, '1.2.0');
    await until("first.card()?.detail?.startsWith('dashboard resource created')", () => first.card()?.detail?.startsWith('dashboard resource created'));
    await first.bridge.stop();
    const id = p.resources[0]!.id;

    writeFileSync(dirs.bundlePath, 'customElements.define("switchboard-camera-card", class extends HTMLElement { static v = 2 });\n');
    const second = await bridge(p, dirs, '1.3.0');
    await until("second.card()?.detail?.startsWith('dashboard resource updated')", () => second.card()?.detail?.startsWith('dashboard resource updated'));
    expect(p.resources).toEqual([{ id, type: 'module', url: cardResourceUrl('1.3.0') }]);
    expect(lovelaceWrites(p).map((m) => m.type)).toEqual(['lovelace/resources/create', 'lovelace/resources/update']);
    expect(lovelaceWrites(p)[1]).toMatchObject({ resource_id: id, res_type: 'module', url: '/local/switchboard/switchboard-camera-card.js?v=1.3.0' });
    expect(readFileSync(dirs.installed, 'utf8')).toContain('static v = 2');
    // www/ existed: no restart notice.
    expect(p.notifications.has('switchboard_card_restart')).toBe(false);
  });

  it('keeps exactly one resource when the user had added a second copy', async () => {
    const p = await peer();
    p.resources.push({ id: 'manual1', type: 'module', url: '/local/switchboard/switchboard-camera-card.js' }, { id: 'other', type: 'module', url: '/local/other-card.js' }, { id: 'manual2', type: 'js', url: '/local/switchboard/switchboard-camera-card.js?v=0.9' });
    const { card } = await bridge(p, folders(true), '1.2.0');
    await until("card()?.detail?.startsWith('dashboard resource updated')", () => card()?.detail?.startsWith('dashboard resource updated'));
    expect(p.resources).toEqual([
      { id: 'manual1', type: 'module', url: cardResourceUrl('1.2.0') },
      { id: 'other', type: 'module', url: '/local/other-card.js' },
    ]);
  });

  it('in YAML resource mode writes nothing to HA but tells the user the lines to add', async () => {
    const p = await peer();
    p.resourceMode = 'yaml';
    const dirs = folders(true);
    const { card } = await bridge(p, dirs, '1.2.0');
    await until("card()?.state === 'disabled'", () => card()?.state === 'disabled');
    expect(card()?.detail).toMatch(/YAML/);
    expect(existsSync(dirs.installed)).toBe(true);
    expect(lovelaceWrites(p)).toEqual([]);
    const notice = p.notifications.get('switchboard_card_resource');
    expect(notice?.message).toContain('- url: /local/switchboard/switchboard-camera-card.js?v=1.2.0\n      type: module');

    // Once the user has added the line, the notice goes away on the next connection.
    p.resources.push({ id: 'yaml0', type: 'module', url: cardResourceUrl('1.2.0') });
    await p.stop();
    await p.start();
    await until("card()?.state === 'ok'", () => card()?.state === 'ok');
    await until("!p.notifications.has('switchboard_card_resource')", () => !p.notifications.has('switchboard_card_resource'));
    expect(lovelaceWrites(p)).toEqual([]);
  });

  it('on an HA without lovelace/info learns YAML mode from the refused create', async () => {
    const p = await peer();
    p.resourceMode = 'yaml';
    p.hasLovelaceInfo = false;
    const { card } = await bridge(p, folders(true), '1.2.0');
    await until("card()?.state === 'disabled'", () => card()?.state === 'disabled');
    expect(p.resources).toEqual([]);
    expect(p.notifications.has('switchboard_card_resource')).toBe(true);
  });

  it('on an HA without lovelace/info in storage mode still creates the resource', async () => {
    const p = await peer();
    p.hasLovelaceInfo = false;
    const { card } = await bridge(p, folders(true), '1.2.0');
    await until("card()?.detail?.startsWith('dashboard resource created')", () => card()?.detail?.startsWith('dashboard resource created'));
    expect(p.resources.map((r) => r.url)).toEqual([cardResourceUrl('1.2.0')]);
  });

  it('without the HA config folder mapped, touches no resource and says why', async () => {
    const p = await peer();
    const dirs = folders(false);
    rmSync(dirs.configDir, { recursive: true });
    const { card } = await bridge(p, dirs, '1.2.0');
    await until("card()?.state === 'disabled'", () => card()?.state === 'disabled');
    expect(card()?.detail).toMatch(/config folder not mapped/);
    expect(p.received.some((m) => typeof m.type === 'string' && m.type.startsWith('lovelace/'))).toBe(false);
    expect(existsSync(dirs.configDir)).toBe(false);
  });

  it('the add-on installs its built card with its own version (homeassistant.card), and not with card: false', async () => {
    execFileSync('npm', ['run', '-s', 'build:card'], { cwd: ROOT, stdio: 'ignore' });
    const p = await peer();
    const dirs = folders(true);
    const t = await startTestApp({ homeassistant: { enabled: true, url: p.url, token: TOKEN, config_dir: dirs.configDir } });
    cleanups.push(() => t.stop());
    await p.waitFor(() => p.resources.length === 1);
    expect(p.resources[0]).toMatchObject({ type: 'module', url: cardResourceUrl(VERSION) });
    expect(readFileSync(dirs.installed)).toEqual(readFileSync(join(ROOT, 'card/dist/switchboard-camera-card.js')));
    await until("t.app.context.status.health().components.card?.state === 'ok'", () => t.app.context.status.health().components.card?.state === 'ok');

    const off = folders(true);
    const p2 = await peer();
    const t2 = await startTestApp({ homeassistant: { enabled: true, url: p2.url, token: TOKEN, config_dir: off.configDir, card: false } });
    cleanups.push(() => t2.stop());
    await until("t2.app.context.status.health().components.homeassistant?.state === 'ok'", () => t2.app.context.status.health().components.homeassistant?.state === 'ok');
    // Messages keep their order on the socket: once an event fired after connecting has arrived,
    // anything the installer would have sent on connecting would have arrived before it.
    t2.app.context.bus.publish('lab', 'probe', 'state', { owner: 'test', state: 1, nodes: [] });
    await p2.waitFor(() => p2.fired.some((f) => f.data.entity === 'probe'));
    expect(t2.app.context.status.health().components.card).toBeUndefined();
    expect(p2.received.some((m) => typeof m.type === 'string' && m.type.startsWith('lovelace/'))).toBe(false);
    expect(existsSync(off.installed)).toBe(false);
  });
});
