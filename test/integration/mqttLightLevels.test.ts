// A camera light with levels as Home Assistant's MQTT light with brightness: discovery, and the
// round trip MQTT → camera service → sockets → MQTT state, with bad input on every path. Real
// Mosquitto, real socket.io, ws and HTTP clients; the simulated camera has an LED flash (torch levels).
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { haProblems } from '../helpers/haDiscovery.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder, retainedNow } from '../helpers/mqttBroker.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';

type Json = Record<string, unknown>;

describe.skipIf(SKIP)('camera light with levels on MQTT', () => {
  let broker: Mosquitto;
  let t: TestApp;
  let ha: Recorder;
  let admin: string;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    t = await startTestApp({ mqtt: { url: broker.url } }, { simulatedFlash: true });
    admin = await t.login();
    ha = await Recorder.connect(broker.url);
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
  });

  it('discovery: the light has brightness topics on a 0–100 scale, sent as one brightness per turn_on', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    const cfg = JSON.parse((await ha.waitFor(topic, (p) => p.includes('brightness_command_topic'))).payload) as Json;
    expect(haProblems(topic, cfg)).toEqual([]);
    const bridge = { topic: 'switchboard/bridge/state', value_template: '{{ value_json.state }}' };
    expect((cfg.cmps as Record<string, Json>).light).toEqual({
      p: 'light',
      unique_id: `switchboard_camera_${id}_light`,
      name: 'Light',
      brightness_scale: 100,
      on_command_type: 'brightness',
      state_topic: `switchboard/camera_${id}/light/state`,
      command_topic: `switchboard/camera_${id}/light/set`,
      brightness_state_topic: `switchboard/camera_${id}/light_brightness/state`,
      brightness_command_topic: `switchboard/camera_${id}/light_brightness/set`,
      default_entity_id: 'light.camera_1_light',
      object_id: 'camera_1_light',
      availability: [bridge, { topic: `switchboard/camera_${id}/availability`, value_template: '{{ value_json.state }}' }],
      availability_mode: 'all',
    });
    const retained = await retainedNow(broker.url, `switchboard/camera_${id}/+/state`);
    expect([retained.get(`switchboard/camera_${id}/light/state`), retained.get(`switchboard/camera_${id}/light_brightness/state`)]).toEqual(['OFF', '100']);
  });

  it('round trip: MQTT brightness → camera service → sockets → MQTT state; bad input changes nothing', async () => {
    const cameras = t.app.context.cameras!;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const socket: ClientSocket = connectClient(t.url, { reconnection: false, transports: ['websocket'], forceNew: true, auth: { token: admin } });
    const events: Json[] = [];
    socket.on('camera:*', (e: Json) => events.push(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
    const rotoclear: Json[] = [];
    ws.on('message', (d) => rotoclear.push(JSON.parse(String(d)) as Json));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ username: ADMIN.username, password: ADMIN.password }));
    await expect.poll(() => rotoclear.some((m) => m.authenticated === true), { timeout: 15_000 }).toBe(true);
    const changesOf = (e: Json) => ((e.details as Json | undefined)?.changes ?? {}) as Json;
    const from = ha.messages.length;
    try {
      // HA's turn_on with brightness 40 %: one message on the brightness topic, no "ON".
      await ha.publish(`${base}/light_brightness/set`, '40');
      await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from });
      await ha.waitFor(`${base}/light_brightness/state`, (p) => p === '40', { from });
      expect(cameras.get(id)).toMatchObject({ light: true, light_brightness: 40 });
      await expect.poll(() => events.find((e) => e.event === 'updated' && changesOf(e).light_brightness === 40), { timeout: 15_000 }).toMatchObject({ details: { changes: { light: true, light_brightness: 40 } } });
      // Rotoclear keeps its boolean light key.
      await expect.poll(() => rotoclear.some((m) => m['cam1-light'] === true), { timeout: 15_000 }).toBe(true);

      // HTTP: the level from a socket client reaches MQTT; 0 switches off and keeps the level.
      expect((await t.api('PUT', `/api/cameras/${id}`, admin, { light_brightness: 0 })).body).toMatchObject({ light: false, light_brightness: 40 });
      await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from });
      const bad = await t.api('PUT', `/api/cameras/${id}`, admin, { light_brightness: 150, name: 'Renamed' });
      expect(bad).toEqual({ status: 422, body: { error: { message: 'Invalid camera update', details: [{ path: 'payload.light_brightness', message: 'Value must be between 0 and 100' }] } } });

      // NestMTX request: a level and its error in the protocol's shape on the requestId event.
      const request = (requestId: string, payload: Json) =>
        new Promise<Json>((resolve) => {
          socket.once(requestId, resolve);
          socket.emit('request', { command: 'update', module: 'cameras', requestId, entity: id, payload });
        });
      expect(await request('r1', { light_brightness: 75 })).toMatchObject({ light: true, light_brightness: 75 });
      await ha.waitFor(`${base}/light_brightness/state`, (p) => p === '75', { from });
      expect(await request('r2', { light: true, light_brightness: 0 })).toMatchObject({ error: { message: 'Invalid camera update', details: [{ path: 'payload.light_brightness', message: '0 switches the light off; it cannot go with light: true' }] } });
      expect(cameras.get(id)).toMatchObject({ light: true, light_brightness: 75 });

      // Bad MQTT payloads are ignored; a good command after them (same client, in order) shows they were handled.
      const later = ha.messages.length;
      await ha.publish(`${base}/light_brightness/set`, 'bright');
      await ha.publish(`${base}/light_brightness/set`, '101');
      await ha.publish(`${base}/light_brightness/set`, '12.5');
      await ha.publish(`${base}/light/set`, 'OFF');
      await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from: later });
      expect(cameras.get(id)).toMatchObject({ name: 'Camera 1', light: false, light_brightness: 75 });
      expect(ha.on(`${base}/light_brightness/state`).filter((m) => ha.messages.indexOf(m) >= later)).toEqual([]);
    } finally {
      socket.disconnect();
      ws.close();
    }
  });
});
