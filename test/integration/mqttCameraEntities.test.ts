// The camera entities Home Assistant users ask for (Enabled, Light), HA's conventions in discovery,
// and several Switchboards on one broker: real Mosquitto, real socket.io and ws clients.
import { readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import { DEFAULT_TIMING } from '../../src/bridges/mqtt/mqttBridge.js';
import { haProblems } from '../helpers/haDiscovery.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder, retainedNow } from '../helpers/mqttBroker.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';
import { elapse } from '../helpers/wait.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';

type Json = Record<string, unknown>;

/** A NestMTX socket client collecting every camera event it hears. */
async function nestmtx(t: TestApp, token: string): Promise<{ socket: ClientSocket; events: Json[] }> {
  const socket = connectClient(t.url, { reconnection: false, transports: ['websocket'], forceNew: true, auth: { token } });
  const events: Json[] = [];
  socket.on('camera:*', (e: Json) => events.push(e));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, events };
}

const configOf = async (ha: Recorder, topic: string, has: string): Promise<Json> => JSON.parse((await ha.waitFor(topic, (p) => p.includes(has))).payload) as Json;

describe.skipIf(SKIP)('camera entities and HA conventions', () => {
  let broker: Mosquitto;
  let t: TestApp;
  let ha: Recorder;
  let admin: string;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    t = await startTestApp({ mqtt: { url: broker.url, ha_status_topic: 'hass/status' } });
    admin = await t.login();
    ha = await Recorder.connect(broker.url);
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
  });

  // Each test starts from an enabled, connected camera, whatever the one before left behind.
  beforeEach(async () => {
    const cameras = t.app.context.cameras!;
    const id = cameras.all()[0]!.id;
    await cameras.update(SYSTEM_ACTOR, id, { enabled: true });
    await expect.poll(() => cameras.get(id)!.exists, { timeout: 15_000 }).toBe(true);
  });

  it('discovery: Enabled switch, Light as a light, image attributes, entity ids, origin url, panel link, card model', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    const cfg = await configOf(ha, topic, 'configuration_url');
    expect(haProblems(topic, cfg)).toEqual([]);
    const cmps = cfg.cmps as Record<string, Json>;
    const bridge = { topic: 'switchboard/bridge/state', value_template: '{{ value_json.state }}' };
    expect(cmps.enabled).toEqual({
      p: 'switch',
      unique_id: `switchboard_camera_${id}_enabled`,
      name: 'Enabled',
      entity_category: 'config',
      state_topic: `switchboard/camera_${id}/enabled/state`,
      command_topic: `switchboard/camera_${id}/enabled/set`,
      default_entity_id: 'switch.camera_1_enabled',
      object_id: 'camera_1_enabled',
      availability: [bridge],
    });
    expect(cmps.light).toEqual({
      p: 'light',
      unique_id: `switchboard_camera_${id}_light`,
      name: 'Light',
      state_topic: `switchboard/camera_${id}/light/state`,
      command_topic: `switchboard/camera_${id}/light/set`,
      // The simulated camera's light has levels (its LED flash's torch intensity).
      brightness_scale: 100,
      on_command_type: 'brightness',
      brightness_state_topic: `switchboard/camera_${id}/light_brightness/state`,
      brightness_command_topic: `switchboard/camera_${id}/light_brightness/set`,
      default_entity_id: 'light.camera_1_light',
      object_id: 'camera_1_light',
      availability: [bridge, { topic: `switchboard/camera_${id}/availability`, value_template: '{{ value_json.state }}' }],
      availability_mode: 'all',
    });
    expect(cmps.image).toMatchObject({ p: 'camera', topic: `switchboard/camera_${id}/image/state`, json_attributes_topic: `switchboard/camera_${id}/image/attributes`, default_entity_id: 'camera.camera_1_image' });
    // Every camera entity id is <domain>.<device>_<key> (the dashboard card finds them by suffix).
    for (const [key, c] of Object.entries(cmps)) expect(c.default_entity_id, key).toBe(`${String(c.p)}.camera_1_${key}`);
    expect(cfg.o).toEqual({ name: 'Switchboard', sw: t.app.context.status.version, url: 'https://github.com/switchboard-ha/switchboard' });
    expect(cfg.dev).toMatchObject({ name: 'Camera 1', model: expect.stringMatching(/^Simulated camera/), model_id: 'vivid', configuration_url: `http://${hostname()}:${t.port}/` });
    expect(JSON.stringify(cfg.dev)).not.toContain('/dev/');

    const attributes = await ha.waitFor(`switchboard/camera_${id}/image/attributes`);
    expect(JSON.parse(attributes.payload)).toMatchObject({ camera_id: id, live_entity: null, enabled: true });
    const retained = await retainedNow(broker.url, `switchboard/camera_${id}/image/attributes`);
    expect(JSON.parse(retained.get(`switchboard/camera_${id}/image/attributes`)!)).toMatchObject({ camera_id: id });

    // Diagnostics are created disabled in HA.
    const addon = await configOf(ha, 'homeassistant/device/switchboard_addon_switchboard/config', 'configuration_url');
    const addonCmps = addon.cmps as Record<string, Json>;
    expect(addonCmps.version).toMatchObject({ entity_category: 'diagnostic', enabled_by_default: false });
    expect(addonCmps.clients_nestmtx).toMatchObject({ entity_category: 'diagnostic', enabled_by_default: false });
    // Readers and Event are details too, but the card and automations use them: created enabled.
    for (const key of ['readers', 'event']) {
      expect(cmps[key]!.entity_category, key).toBe('diagnostic');
      expect(cmps[key]!.enabled_by_default, key).toBeUndefined();
    }
    expect(cmps.ready).toMatchObject({ p: 'binary_sensor', device_class: 'running' });
    // Switches and the light take HA's own on/off icons, which follow the state.
    for (const key of ['stream', 'recording', 'enabled', 'light', 'motion_detection']) expect(cmps[key]!.icon, key).toBeUndefined();
  });

  it('Enabled round trip: MQTT → camera service → sockets → MQTT state; every protocol refuses changes to a switched-off camera with a conflict', async () => {
    const cameras = t.app.context.cameras!;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const { socket, events } = await nestmtx(t, admin);
    const from = ha.messages.length;
    try {
      await ha.publish(`${base}/enabled/set`, 'OFF');
      await ha.waitFor(`${base}/enabled/state`, (p) => p === 'OFF', { from });
      expect(cameras.get(id)).toMatchObject({ enabled: false, exists: false });
      await expect.poll(() => events.find((e) => e.event === 'disabled'), { timeout: 15_000 }).toMatchObject({ domain: 'camera', entity: id, details: { enabled: false } });
      await ha.waitFor(`${base}/availability`, (p) => p === '{"state":"offline"}', { from });
      await ha.waitFor(`${base}/event/state`, (p) => JSON.parse(p).event_type === 'disabled', { from });
      await ha.waitFor(`${base}/image/attributes`, (p) => JSON.parse(p).enabled === false, { from });

      // HTTP: reads still list it; changes and streams are refused with the protocol's error shape.
      const list = await t.api('GET', '/api/cameras', admin);
      expect((list.body.items as Json[]).map((c) => [c.id, c.enabled])).toContainEqual([id, false]);
      const put = await t.api('PUT', `/api/cameras/${id}`, admin, { controls: { brightness: 12 } });
      expect(put).toEqual({ status: 409, body: { error: { message: 'Camera "Camera 1" is switched off; switch it on first', details: [] } } });
      const stream = await fetch(`${t.url}/api/cameras/${id}/snapshot.jpg?token=${admin}`);
      expect([stream.status, ((await stream.json()) as { error: { message: string } }).error.message]).toEqual([409, 'Camera is switched off; switch it on first']);

      // NestMTX request: the error on the requestId event.
      const reply = await new Promise<Json>((resolve) => {
        socket.once('r1', resolve);
        socket.emit('request', { command: 'update', module: 'cameras', requestId: 'r1', entity: id, payload: { light: true } });
      });
      expect(reply).toMatchObject({ error: { message: 'Camera "Camera 1" is switched off; switch it on first', details: [] } });

      // Rotoclear: {error, key, message}; the connection lives on.
      const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
      const received: Json[] = [];
      ws.on('message', (d) => received.push(JSON.parse(String(d)) as Json));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ username: ADMIN.username, password: ADMIN.password }));
      await expect.poll(() => received.some((m) => m.authenticated === true), { timeout: 15_000 }).toBe(true);
      ws.send(JSON.stringify({ brightness: 33 }));
      await expect.poll(() => received.find((m) => m.key === 'brightness' && 'error' in m), { timeout: 15_000 }).toEqual({ error: 'Busy', key: 'brightness', message: 'Camera "Camera 1" is switched off; switch it on first' });
      ws.close();

      // MQTT commands on a switched-off camera change nothing; the stream switch cannot demand it.
      await ha.publish(`${base}/stream/set`, 'ON');
      await ha.publish(`${base}/light/set`, 'ON');
      await ha.publish(`${base}/enabled/set`, 'ON');
      await ha.waitFor(`${base}/enabled/state`, (p) => p === 'ON', { from });
      expect(cameras.get(id)).toMatchObject({ enabled: true, light: false, demanded: false });
      await ha.waitFor(`${base}/availability`, (p) => p === '{"state":"online"}', { from });
      await expect.poll(() => events.find((e) => e.event === 'enabled'), { timeout: 15_000 }).toMatchObject({ details: { enabled: true } });
      expect(ha.on(`${base}/stream/state`).slice(-1)[0]?.payload ?? 'OFF').toBe('OFF');
      // Bad payloads are ignored; a good command after them (same client, in order) shows they were handled.
      const later = ha.messages.length;
      await ha.publish(`${base}/enabled/set`, 'maybe');
      await ha.publish(`${base}/enabled/set`, '0');
      await ha.publish(`${base}/light/set`, 'ON');
      await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from: later });
      expect(cameras.get(id)!.enabled).toBe(true);
      await ha.publish(`${base}/light/set`, 'OFF');
      await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from: later });
    } finally {
      socket.disconnect();
    }
  });

  it('switching a streaming camera off stops its capture at once but keeps every entity and the stream switch; on again, it streams as before', async () => {
    const cameras = t.app.context.cameras!;
    const streams = t.app.context.streams!;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    // The device's config is published before its availability: read after availability, it is current.
    const entityKeys = () => Object.keys((JSON.parse(ha.on(topic).at(-1)!.payload) as { cmps: Json }).cmps).sort();
    const from = ha.messages.length;
    await ha.publish(`${base}/stream/set`, 'ON');
    await ha.waitFor(`${base}/ready/state`, (p) => p === 'ON', { from, ms: 30_000 });
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'ON', { from });
    const entitiesOn = entityKeys();
    expect(entitiesOn).toEqual(expect.arrayContaining(['resolution', 'fps', 'brightness', 'stream', 'recording', 'light']));
    const pid = streams.capturePid(id)!;
    expect(pid).toBeGreaterThan(0);

    const offAt = ha.messages.length;
    await ha.publish(`${base}/enabled/set`, 'OFF');
    await ha.waitFor(`${base}/enabled/state`, (p) => p === 'OFF', { from: offAt });
    await ha.waitFor(`${base}/availability`, (p) => p === '{"state":"offline"}', { from: offAt });
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // No linger for a switched-off camera: the device must be free for other programs now.
    await expect.poll(alive, { timeout: 10_000 }).toBe(false);
    await ha.waitFor(`${base}/ready/state`, (p) => p === 'OFF', { from: offAt });
    // Off is not gone: the same entities (shown unavailable), the stream switch still held.
    expect(cameras.get(id)).toMatchObject({ enabled: false, exists: false, demanded: true });
    expect(entityKeys()).toEqual(entitiesOn);
    expect(ha.on(`${base}/stream/state`).slice(-1)[0]?.payload).toBe('ON');
    const health = (await (await fetch(`${t.url}/api/health`)).json()) as { status: string; components: Record<string, { state: string; detail?: string }> };
    expect(health.components.cameras).toEqual(expect.objectContaining({ state: 'ok', detail: 'switched off: Camera 1' }));

    const onAt = ha.messages.length;
    await ha.publish(`${base}/enabled/set`, 'ON');
    await ha.waitFor(`${base}/enabled/state`, (p) => p === 'ON', { from: onAt });
    await ha.waitFor(`${base}/availability`, (p) => p === '{"state":"online"}', { from: onAt });
    // The held stream resumes by itself.
    await ha.waitFor(`${base}/ready/state`, (p) => p === 'ON', { from: onAt, ms: 30_000 });
    expect(streams.capturePid(id)).toBeGreaterThan(0);
    expect(entityKeys()).toEqual(entitiesOn);
    expect(ha.on(`${base}/stream/state`).slice(-1)[0]?.payload).toBe('ON');
    await ha.publish(`${base}/stream/set`, 'OFF');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'OFF', { from: onAt });
  }, 90_000);

  it('resolution and frame rate: after selecting each size, the frame-rate state is one of the published frame-rate options; 12.5 fps where offered', async () => {
    const cameras = t.app.context.cameras!;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    const published = () => (JSON.parse(ha.last(topic)!) as { cmps: Record<string, { options?: string[] }> }).cmps;
    await ha.waitFor(topic, (p) => p.includes('"resolution"'));
    const sizes = cameras.get(id)!.resolutions;
    expect(sizes).toEqual(published().resolution!.options);
    const original = cameras.get(id)!.controls.resolution!;
    for (const size of [...sizes.filter((s) => s !== original), original]) {
      const from = ha.messages.length;
      await ha.publish(`${base}/resolution/set`, size);
      await ha.waitFor(`${base}/resolution/state`, (p) => p === size, { from });
      const fps = String(cameras.get(id)!.controls.fps);
      // The rate the camera picked for the size is published, and so are the size's rates (config before states).
      await expect.poll(() => ha.last(`${base}/fps/state`), { timeout: 8000 }).toBe(fps);
      const options = published().fps?.options;
      expect(options, `frame-rate options at ${size}`).toEqual(cameras.get(id)!.fps_options.map(String));
      expect(options, `frame-rate state at ${size}`).toContain(fps);
      expect(published().resolution!.options).toEqual(sizes);
    }

    // vivid offers 12.5 fps at 1280x720: 12.5 is an option and can be chosen.
    const originalFps = String(cameras.get(id)!.controls.fps);
    let from = ha.messages.length;
    await ha.publish(`${base}/resolution/set`, '1280x720');
    await ha.waitFor(`${base}/resolution/state`, (p) => p === '1280x720', { from });
    await expect.poll(() => published().fps?.options).toEqual(['1', '2', '4', '5', '10', '12.5']);
    from = ha.messages.length;
    await ha.publish(`${base}/fps/set`, '10');
    await ha.waitFor(`${base}/fps/state`, (p) => p === '10', { from });
    await ha.publish(`${base}/fps/set`, '12.5');
    await ha.waitFor(`${base}/fps/state`, (p) => p === '12.5', { from });
    expect(cameras.get(id)!.controls).toMatchObject({ resolution: '1280x720', fps: 12.5 });
    from = ha.messages.length;
    await ha.publish(`${base}/resolution/set`, original);
    await ha.waitFor(`${base}/resolution/state`, (p) => p === original, { from });
    await ha.publish(`${base}/fps/set`, originalFps);
    await expect.poll(() => ha.last(`${base}/fps/state`)).toBe(originalFps);
  }, 90_000);

  it('Light round trip: MQTT light → camera service → sockets → MQTT state', async () => {
    const cameras = t.app.context.cameras!;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const { socket, events } = await nestmtx(t, admin);
    const from = ha.messages.length;
    try {
      await ha.publish(`${base}/light/set`, 'ON');
      await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from });
      expect(cameras.get(id)!.light).toBe(true);
      await expect.poll(() => events.find((e) => e.event === 'updated' && (e.details as Json).changes !== undefined && ((e.details as Json).changes as Json).light === true), { timeout: 15_000 }).toBeTruthy();
      // A change from a socket shows up on MQTT too.
      await t.api('PUT', `/api/cameras/${id}`, admin, { light: false });
      await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from });
    } finally {
      socket.disconnect();
    }
  });

  it('republishes discovery when HA announces itself on mqtt.ha_status_topic', async () => {
    const topic = 'homeassistant/device/switchboard_addon_switchboard/config';
    const from = ha.messages.length;
    await ha.publish('hass/status', 'online');
    await ha.waitFor(topic, () => true, { from, ms: 10_000 });
  });
});

describe.skipIf(SKIP)('two Switchboards on one Mosquitto', () => {
  let broker: Mosquitto;
  let a: TestApp;
  let b: TestApp;
  let ha: Recorder;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    ha = await Recorder.connect(broker.url);
    a = await startTestApp({ mqtt: { url: broker.url } });
    b = await startTestApp({ mqtt: { url: broker.url, base_topic: 'garage' } });
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
    await ha.waitFor('garage/bridge/state', (p) => p === '{"state":"online"}');
  });

  afterAll(async () => {
    await ha?.close();
    await a?.stop();
    await b?.stop();
    if (b) rmSync(b.dataDir, { recursive: true, force: true });
    await broker?.destroy();
  });

  it('publish disjoint topics, unique ids and entity ids, one add-on device each, with their own client ids', async () => {
    const ids = [a, b].map((x) => x.app.context.cameras!.all()[0]!.id);
    const cfgA = await configOf(ha, `homeassistant/device/switchboard_camera_${ids[0]}/config`, 'configuration_url');
    const cfgB = await configOf(ha, `homeassistant/device/garage_camera_${ids[1]}/config`, 'configuration_url');
    const addonA = await configOf(ha, 'homeassistant/device/switchboard_addon_switchboard/config', 'configuration_url');
    const addonB = await configOf(ha, 'homeassistant/device/garage_addon_switchboard/config', 'configuration_url');
    expect([(addonA.dev as Json).name, (addonB.dev as Json).name]).toEqual(['Switchboard', 'Switchboard (garage)']);
    expect((cfgB.dev as Json).via_device).toBe('garage_addon_switchboard');

    const all = [cfgA, cfgB, addonA, addonB].flatMap((c) => Object.values(c.cmps as Record<string, Json>));
    const uniqueIds = all.map((c) => c.unique_id);
    expect(new Set(uniqueIds).size).toBe(uniqueIds.length);
    const entityIds = all.map((c) => c.default_entity_id).filter(Boolean);
    expect(new Set(entityIds).size).toBe(entityIds.length);
    expect((cfgB.cmps as Record<string, Json>).enabled!.default_entity_id).toBe('switch.garage_camera_1_enabled');

    const topicsOf = (c: Json) => Object.values(c.cmps as Record<string, Json>).flatMap((x) => Object.entries(x).filter(([k]) => k.endsWith('topic')).map(([, v]) => v as string).concat(((x.availability as Json[]) ?? []).map((v) => v.topic as string)));
    const topicsA = new Set([cfgA, addonA].flatMap(topicsOf));
    const topicsB = new Set([cfgB, addonB].flatMap(topicsOf));
    expect([...topicsA].filter((x) => topicsB.has(x))).toEqual([]);
    expect([...topicsA].every((x) => x.startsWith('switchboard/'))).toBe(true);
    expect([...topicsB].every((x) => x.startsWith('garage/'))).toBe(true);

    // Different, persisted client ids: the broker would drop one of two clients with the same id.
    const clientIds = [a, b].map((x) => readFileSync(join(x.dataDir, 'mqtt-client-id'), 'utf8').trim());
    expect(clientIds[0]).toMatch(/^switchboard_[0-9a-f]{8}$/);
    expect(clientIds[0]).not.toBe(clientIds[1]);

    // A command to one instance reaches only its camera.
    const from = ha.messages.length;
    await ha.publish(`garage/camera_${ids[1]}/light/set`, 'ON');
    await ha.waitFor(`garage/camera_${ids[1]}/light/state`, (p) => p === 'ON', { from });
    expect(b.app.context.cameras!.get(ids[1]!)!.light).toBe(true);
    expect(a.app.context.cameras!.get(ids[0]!)!.light).toBe(false);
  });

  it('keep their own availability: one stopping leaves the other online', async () => {
    const from = ha.messages.length;
    const dataDir = b.dataDir;
    const clientId = readFileSync(join(dataDir, 'mqtt-client-id'), 'utf8');
    await b.app.stop();
    await ha.waitFor('garage/bridge/state', (p) => p === '{"state":"offline"}', { from });
    const retained = await retainedNow(broker.url, '+/bridge/state');
    expect(retained.get('switchboard/bridge/state')).toBe('{"state":"online"}');
    expect(retained.get('garage/bridge/state')).toBe('{"state":"offline"}');
    // The same data dir keeps the same client id on the next start.
    const restart = ha.messages.length;
    b = await startTestApp({ mqtt: { url: broker.url, base_topic: 'garage' } }, { dataDir });
    await ha.waitFor('garage/bridge/state', (p) => p === '{"state":"online"}', { from: restart });
    expect(readFileSync(join(dataDir, 'mqtt-client-id'), 'utf8')).toBe(clientId);
  });
});

describe.skipIf(SKIP)('two Switchboards that keep the same base topic', () => {
  let broker: Mosquitto;
  let ha: Recorder;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    ha = await Recorder.connect(broker.url);
  });

  afterAll(async () => {
    await ha?.close();
    for (const x of apps) await x.stop();
    for (const x of apps) rmSync(x.dataDir, { recursive: true, force: true });
    await broker?.destroy();
  });

  const start = async () => {
    const x = await startTestApp({ mqtt: { url: broker.url } });
    apps.push(x);
    return x;
  };
  const clientIdOf = (x: TestApp) => readFileSync(join(x.dataDir, 'mqtt-client-id'), 'utf8').trim();
  /**
   * For a fresh claim's window (claimWindowMs) a live claim from a smaller client id still wins the
   * topic: two instances started at once. The forged claims below (id "0") must come later, so the
   * window must pass; `seen` is when the claim was seen on the broker, after it was taken.
   */
  const pastClaimWindow = (seen: number) => elapse(DEFAULT_TIMING.claimWindowMs + 1, 'a fresh claim yields to a smaller id only within its window', seen);
  const claimNow = async () => JSON.parse((await retainedNow(broker.url, 'switchboard/bridge/instance')).get('switchboard/bridge/instance') ?? 'null') as { id: string; host: string } | null;

  it('the second stays off the broker and says why; the first keeps its topic, entities and availability', async () => {
    const first = await start();
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
    await expect.poll(claimNow, { timeout: 10_000 }).toEqual({ id: clientIdOf(first), host: hostname() });
    const firstCamera = first.app.context.cameras.all()[0]!.id;
    await ha.waitFor(`switchboard/camera_${firstCamera}/fps/state`);

    const from = ha.messages.length;
    const second = await start();
    await expect.poll(() => second.app.context.status.health().components.mqtt?.state, { timeout: 15_000 }).toBe('error');
    const detail = second.app.context.status.health().components.mqtt!.detail!;
    expect(detail).toContain('base topic "switchboard" is used by another Switchboard');
    expect(detail).toContain(clientIdOf(first));
    // It published nothing of its own: no state or discovery of its camera, no bridge state, no claim;
    // the first answered each probe. (The first may still be publishing its own camera's entities.)
    const secondCamera = second.app.context.cameras.all()[0]!.id;
    const published = ha.messages.slice(from);
    expect(published.filter((m) => m.topic.includes(secondCamera) || m.payload.includes(secondCamera)).map((m) => m.topic)).toEqual([]);
    expect(published.filter((m) => m.topic === 'switchboard/bridge/state').map((m) => m.payload)).toEqual([]);
    const claims = published.filter((m) => m.topic === 'switchboard/bridge/instance');
    expect(claims.length).toBeGreaterThanOrEqual(3);
    expect(claims.every((m) => m.payload.includes(clientIdOf(first)))).toBe(true);
    expect(await claimNow()).toMatchObject({ id: clientIdOf(first) });
    expect((await retainedNow(broker.url, 'switchboard/bridge/state')).get('switchboard/bridge/state')).toBe('{"state":"online"}');
    // Stopping the one that stayed off changes nothing for the first (no last will).
    const quiet = ha.messages.length;
    await second.stop();
    apps.splice(apps.indexOf(second), 1);
    rmSync(second.dataDir, { recursive: true, force: true });
    expect(ha.messages.slice(quiet).some((m) => m.topic === 'switchboard/bridge/state')).toBe(false);
    expect(first.app.context.status.health().components.mqtt?.state).toBe('ok');

    // A claim left behind by a Switchboard that is gone is taken over after the holder fails to answer.
    await first.stop();
    apps.splice(apps.indexOf(first), 1);
    rmSync(first.dataDir, { recursive: true, force: true });
    const successor = await start();
    await expect.poll(claimNow, { timeout: 15_000 }).toMatchObject({ id: clientIdOf(successor) });
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}', { from: quiet });
    expect(successor.app.context.status.health().components.mqtt?.state).toBe('ok');
  }, 90_000);

  it('started at the same moment, exactly one keeps the topic', async () => {
    for (const x of apps.splice(0)) {
      await x.stop();
      rmSync(x.dataDir, { recursive: true, force: true });
    }
    const pair = await Promise.all([start(), start()]);
    const stateOf = (x: TestApp) => x.app.context.status.health().components.mqtt?.state;
    await expect.poll(() => pair.map(stateOf).sort(), { timeout: 20_000 }).toEqual(['error', 'ok']);
    const kept = pair.find((x) => stateOf(x) === 'ok')!;
    await expect.poll(claimNow, { timeout: 10_000 }).toMatchObject({ id: clientIdOf(kept) });
    expect((await retainedNow(broker.url, 'switchboard/bridge/state')).get('switchboard/bridge/state')).toBe('{"state":"online"}');
  }, 90_000);

  it('as an attacker on the broker: a probe flood gets a few answers, a forged claim does not take the topic', async () => {
    for (const x of apps.splice(0)) {
      await x.stop();
      rmSync(x.dataDir, { recursive: true, force: true });
    }
    const holder = await start();
    await expect.poll(claimNow, { timeout: 15_000 }).toMatchObject({ id: clientIdOf(holder) });
    await pastClaimWindow(Date.now());
    const from = ha.messages.length;
    const began = Date.now();
    for (let i = 0; i < 200; i++) await ha.publish('switchboard/bridge/instance/probe', JSON.stringify({ id: `attacker_${i}` }));
    await ha.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil' }), true);
    for (const junk of ['', 'not json', '[]', '{"id":5}', JSON.stringify({ id: 'x'.repeat(500) })]) await ha.publish('switchboard/bridge/instance/probe', junk);
    // The holder answers with its own claim again, so the forged one does not stay on the broker.
    await expect.poll(claimNow, { timeout: 10_000 }).toMatchObject({ id: clientIdOf(holder) });
    // A probe after the flood: the holder handles messages in order, so once its answer echoes this
    // nonce every earlier probe and claim has been handled, and no answer is still pending.
    const nonce = 'after-the-flood';
    await ha.publish('switchboard/bridge/instance/probe', JSON.stringify({ id: 'late_newcomer', nonce }));
    await ha.waitFor('switchboard/bridge/instance', (p) => p.includes(nonce) && p.includes(clientIdOf(holder)), { from });
    const answers = ha.messages.slice(from).filter((m) => m.topic === 'switchboard/bridge/instance' && m.payload.includes(clientIdOf(holder)));
    // At most one answer a second (plus the one pending when the flood ends), not one per probe.
    expect(answers.length).toBeGreaterThanOrEqual(1);
    expect(answers.length).toBeLessThanOrEqual(Math.ceil((Date.now() - began) / 1000) + 1);
    expect(holder.app.context.status.health().components.mqtt?.state).toBe('ok');
    expect((await retainedNow(broker.url, 'switchboard/bridge/state')).get('switchboard/bridge/state')).toBe('{"state":"online"}');
    expect((await fetch(`${holder.url}/api/health`)).status).toBe(200);
  }, 90_000);

  it('as an attacker: client-id takeover, a forged retained claim and an answered probe; Switchboard is back by itself', async () => {
    for (const x of apps.splice(0)) {
      await x.stop();
      rmSync(x.dataDir, { recursive: true, force: true });
    }
    const victim = await start();
    const id = clientIdOf(victim);
    await expect.poll(claimNow, { timeout: 15_000 }).toMatchObject({ id });
    const claimed = Date.now();
    const health = () => victim.app.context.status.health().components.mqtt?.state;
    await expect.poll(health, { timeout: 10_000 }).toBe('ok');
    await pastClaimWindow(claimed);
    // An accomplice answers every probe it sees with a forged claim echoing the probe's nonce, once.
    const accomplice = await Recorder.connect(broker.url, ['switchboard/bridge/instance/probe']);
    let answered = 0;
    accomplice.client.on('message', (_topic, payload) => {
      const probe = JSON.parse(payload.toString('utf8')) as { nonce?: string };
      if (answered++ > 0) return;
      void accomplice.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil', nonces: probe.nonce ? [probe.nonce] : [] }), true);
    });
    // Connecting with the victim's client id makes the broker drop it; a forged claim is left retained.
    const from = ha.messages.length;
    const impostor = await mqtt.connectAsync(broker.url, { clientId: id, reconnectPeriod: 0 });
    await impostor.publishAsync('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil' }), { qos: 1, retain: true });
    await impostor.endAsync(true);
    // The victim came back (taking its client id back) and re-asserted its claim over the forged one.
    const forged = await ha.waitFor('switchboard/bridge/instance', (p) => p.includes('evil'), { from });
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}', { from: ha.messages.indexOf(forged), ms: 60_000 });
    await expect.poll(claimNow, { timeout: 60_000 }).toMatchObject({ id });
    await expect.poll(health, { timeout: 60_000 }).toBe('ok');
    await accomplice.close();
    expect((await retainedNow(broker.url, 'switchboard/bridge/state')).get('switchboard/bridge/state')).toBe('{"state":"online"}');
  }, 120_000);

  it('as an attacker: one forged answer at start-up does not keep a new Switchboard off the broker', async () => {
    for (const x of apps.splice(0)) {
      await x.stop();
      rmSync(x.dataDir, { recursive: true, force: true });
    }
    const attacker = await Recorder.connect(broker.url, ['switchboard/bridge/instance/probe']);
    await attacker.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil' }), true);
    let answers = 0;
    attacker.client.on('message', (_topic, payload) => {
      const probe = JSON.parse(payload.toString('utf8')) as { id?: string; nonce?: string };
      if (probe.id === '0' || answers++ > 0) return;
      void attacker.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil', nonces: probe.nonce ? [probe.nonce] : [] }), true);
    });
    const newcomer = await start();
    await expect.poll(claimNow, { timeout: 30_000 }).toMatchObject({ id: clientIdOf(newcomer) });
    await expect.poll(() => newcomer.app.context.status.health().components.mqtt?.state, { timeout: 30_000 }).toBe('ok');
    expect(answers).toBeGreaterThanOrEqual(2);
    await attacker.close();
  }, 90_000);

  it('as an attacker: a forged holder answering every probe keeps a new Switchboard off only while it answers', async () => {
    for (const x of apps.splice(0)) {
      await x.stop();
      rmSync(x.dataDir, { recursive: true, force: true });
    }
    const attacker = await Recorder.connect(broker.url, ['switchboard/bridge/instance/probe']);
    await attacker.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil' }), true);
    attacker.client.on('message', (_topic, payload) => {
      const probe = JSON.parse(payload.toString('utf8')) as { nonce?: string };
      void attacker.publish('switchboard/bridge/instance', JSON.stringify({ id: '0', host: 'evil', nonces: probe.nonce ? [probe.nonce] : [] }), true);
    });
    const newcomer = await start();
    const health = () => newcomer.app.context.status.health().components.mqtt;
    await expect.poll(() => health()?.state, { timeout: 30_000 }).toBe('error');
    expect(health()?.detail).toContain('client id 0 on evil');
    expect(health()?.detail).toContain('checked again every 30 s');
    // The forged holder goes away: the next check finds nobody answering and takes the topic.
    await attacker.close();
    await expect.poll(claimNow, { timeout: 60_000 }).toMatchObject({ id: clientIdOf(newcomer) });
    await expect.poll(() => health()?.state, { timeout: 10_000 }).toBe('ok');
  }, 120_000);
});
