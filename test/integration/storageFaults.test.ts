// A full data store, for real: the data directory on a small tmpfs filled to the brim. Writes are
// refused in each protocol's own error shape, nothing acknowledged is lost, no temp file is left,
// sign-in keeps working (tokens held in memory), health, MQTT and HA say which store is failing,
// and writes work again once space returns, without a restart. Needs root for mount(8).
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { HaPeer } from '../helpers/haPeer.js';
import { command, connected, createLab, topology } from './antimonyHelpers.js';
import { recorderOnEmbeddedBroker, type Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { canMount, fill, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { until } from '../helpers/wait.js';

if (!canMount) console.warn('storageFaults.test.ts skipped: mounting a tmpfs needs root (CI runs as root)');

const HA_TOKEN = 'ha-token-for-storage-tests';

const tempFiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe.skipIf(!canMount)('a full data store', () => {
  let mount: string;
  let t: TestApp;
  let ha: HaPeer;
  let mqtt: Recorder;
  let admin: string;
  const storageEvents: DomainEvent[] = [];
  const filler = () => join(mount, 'filler.bin');

  beforeAll(async () => {
    mount = mountTmpfs('switchboard-tmpfs-', '2m');
    ha = new HaPeer(HA_TOKEN);
    await ha.start();
    t = await startTestApp(
      { mqtt: { url: 'embedded', embedded_port: 0 }, homeassistant: { enabled: true, url: ha.url, token: HA_TOKEN }, monitors: { open_registration: true } },
      { dataDir: mount, keepData: true },
    );
    t.app.context.bus.subscribe(storageEvents, (e) => {
      if (e.event === 'storage') storageEvents.push(e);
    }, ['system']);
    // The embedded broker takes only the credentials it generated.
    mqtt = await recorderOnEmbeddedBroker(t, ['switchboard/#']);
    admin = await t.login();
    await until("t.app.context.status.health().components.homeassistant?.state === 'ok'", () => t.app.context.status.health().components.homeassistant?.state === 'ok');
  });

  afterAll(async () => {
    await mqtt?.close();
    await t?.stop();
    await ha?.stop();
    if (mount) {
      unmountTmpfs(mount);
    }
  });

  it('refuses writes with 507 and the protocols’ own errors, keeps reads, sign-in and live state, and recovers without a restart', async () => {
    // Acknowledged before the disk fills: must survive everything below.
    const kept = await t.api('POST', '/api/monitors', admin, { monitor_id: 'kept-1', name: 'Kept' });
    expect(kept.status).toBe(201);
    const cameraId = t.app.context.cameras!.all()[0]!.id;
    const lab = await createLab(t, admin, topology('full-disk', `    cam:\n      kind: camera\n      camera: ${cameraId}\n`));
    const problemTopic = t.app.context.mqtt!.topics.state('addon_switchboard', 'data_store_problem');
    await mqtt.waitFor(problemTopic, (p) => p === 'OFF');

    expect(fill(filler())).toBeGreaterThan(0);

    // HTTP: 507 with a message that says which store and why; nothing changed.
    const refused = await t.api('POST', '/api/monitors', admin, { monitor_id: 'refused-1' });
    expect(refused.status).toBe(507);
    const err = refused.body.error as { message: string; details: { message: string }[] };
    expect(err.message).toBe('Insufficient storage: The data store is full (no space left on the device)');
    expect(err.details[0]!.message).toMatch(/nothing was changed/);
    const renamed = await t.api('PUT', `/api/monitors/${kept.body.id as string}`, admin, { name: 'Renamed' });
    expect(renamed.status).toBe(507);
    expect((await t.api('DELETE', `/api/monitors/${kept.body.id as string}`, admin)).status).toBe(507);
    const list = await t.api('GET', '/api/monitors', admin);
    expect(list.status).toBe(200);
    expect((list.body.items as { monitor_id: string; name: string }[]).map((m) => [m.monitor_id, m.name])).toEqual([['kept-1', 'Kept']]);
    expect(tempFiles(mount)).toEqual([]);

    // Health, bus, MQTT problem sensor, HA notification: all say the data store is failing.
    const health = (await (await fetch(`${t.url}/api/health`)).json()) as { status: string; components: Record<string, { state: string; detail?: string }> };
    expect(health.status).toBe('degraded');
    expect(health.components.data_store).toMatchObject({ state: 'error', detail: 'The data store is full (no space left on the device)' });
    expect(storageEvents.at(-1)).toMatchObject({ entity: 'data', details: { store: 'data', ok: false, code: 'ENOSPC' } });
    await mqtt.waitFor(problemTopic, (p) => p === 'ON');
    await until("ha.notifications.has('switchboard_storage_data')", () => ha.notifications.has('switchboard_storage_data'));
    expect(ha.notifications.get('switchboard_storage_data')!.message).toMatch(/data store is full/);

    // Sign-in works: the token is held in memory and authenticates at once.
    const fresh = await t.login();
    expect((await t.api('GET', '/api/users', fresh)).status).toBe(200);

    // NestMTX: {error:{message, details}} on the request's reply event.
    const nest: ClientSocket = connectClient(t.url, { auth: { token: admin }, transports: ['websocket'] });
    try {
      const reply = await new Promise<Record<string, unknown>>((resolve) => {
        nest.once('full-1', resolve);
        nest.emit('request', { command: 'create', module: 'monitors', requestId: 'full-1', payload: { monitor_id: 'refused-2' } });
      });
      expect(reply).toMatchObject({ error: { message: expect.stringMatching(/^Insufficient storage: The data store is full/), details: [expect.objectContaining({ path: '' })] } });
    } finally {
      nest.close();
    }

    // Antimony: a deploy is refused with {code: 5001, message}; the lab stays as it was.
    const sockets: ClientSocket[] = [];
    const labCommands = await connected(t, '/lab-commands', admin, sockets);
    expect(await command(labCommands, { labId: lab.id, command: 0 })).toEqual({ code: 5001, message: expect.stringMatching(/^Insufficient storage: The data store is full/) });
    expect((await t.api('GET', `/api/labs/${lab.id}`, admin)).body).toMatchObject({ state: -1 });

    // Altoponix: an open registration that would store a new monitor fails with that reason.
    const monitor = connectClient(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    sockets.push(monitor);
    const conFailed = await new Promise<{ reason: string }>((resolve) => {
      monitor.once('con failed', resolve);
      monitor.once('connect', () => monitor.emit('con', { monitor_id: 'refused-3' }));
    });
    expect(conFailed.reason).toMatch(/^Insufficient storage: The data store is full/);
    // Live state keeps working: a registered monitor comes online (held in memory until the disk recovers).
    const keptMonitor = connectClient(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    sockets.push(keptMonitor);
    await new Promise<void>((resolve, reject) => {
      keptMonitor.once('con ok', () => resolve());
      keptMonitor.once('con failed', (r: unknown) => reject(new Error(JSON.stringify(r))));
      keptMonitor.once('connect', () => keptMonitor.emit('con', { monitor_id: 'kept-1' }));
    });
    await until("t.app.context.monitors!.all().find((m) => m.monitor_id === 'kept-1')?.online === true", () => t.app.context.monitors!.all().find((m) => m.monitor_id === 'kept-1')?.online === true);
    for (const s of sockets) s.close();

    // Rotoclear: {error, key, message} for a setting that would be stored; the camera is not touched.
    const cam = ((await t.api('GET', '/api/cameras', admin)).body.items as { id: string; controls: { brightness: number } }[])[0]!;
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ token: admin }));
    await until('messages.some((m) => m.authenticated === true)', () => messages.some((m) => m.authenticated === true));
    const target = cam.controls.brightness === 20 ? 30 : 20;
    ws.send(JSON.stringify({ brightness: target }));
    await until("messages.some((m) => 'error' in m)", () => messages.some((m) => 'error' in m));
    expect(messages.find((m) => 'error' in m)).toEqual({ error: 'Storage full', key: 'brightness', message: expect.stringMatching(/data store is full.*nothing was changed/) });
    ws.close();
    const camNow = (await t.api('GET', `/api/cameras/${cam.id}`, admin)).body as { controls: { brightness: number } };
    expect(camNow.controls.brightness).toBe(cam.controls.brightness);
    expect(tempFiles(mount)).toEqual([]);

    // Space returns: the recovery probe writes what was held in memory; writes work again.
    unlinkSync(filler());
    await t.app.context.storage.probe();
    expect(t.app.context.status.health().components.data_store).toMatchObject({ state: 'ok' });
    expect(t.app.context.db.hasUnwritten).toBe(false);
    await mqtt.waitFor(problemTopic, (p) => p === 'OFF', { from: mqtt.messages.findLastIndex((m) => m.topic === problemTopic && m.payload === 'ON') });
    await until("!ha.notifications.has('switchboard_storage_data')", () => !ha.notifications.has('switchboard_storage_data'));
    expect((await t.api('POST', '/api/monitors', admin, { monitor_id: 'after-1' })).status).toBe(201);
    expect(storageEvents.at(-1)).toMatchObject({ entity: 'data', details: { store: 'data', ok: true } });

    // On disk: the acknowledged monitors, not the refused ones; the token issued while full.
    const onDisk = JSON.parse(readFileSync(join(mount, 'db.json'), 'utf8')) as { monitors: { monitor_id: string; name: string }[]; tokens: unknown[] };
    expect(onDisk.monitors.map((m) => [m.monitor_id, m.name])).toEqual([['kept-1', 'Kept'], ['after-1', 'after-1']]);
    expect(tempFiles(mount)).toEqual([]);
  }, 120_000);

  it('after a restart, everything acknowledged (including a sign-in made while full) is there', async () => {
    fill(filler());
    const whileFull = await t.login();
    unlinkSync(filler());
    await t.app.context.storage.probe();
    await t.stop();
    t = await startTestApp({}, { dataDir: mount, keepData: true });
    expect((await t.api('GET', '/api/monitors', whileFull)).status).toBe(200);
    const ids = ((await t.api('GET', '/api/monitors', whileFull)).body.items as { monitor_id: string }[]).map((m) => m.monitor_id).sort();
    expect(ids).toEqual(['after-1', 'kept-1']);
  }, 60_000);
});
