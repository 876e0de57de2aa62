// The MQTT bridge against a real Mosquitto broker, with a recording MQTT client playing Home
// Assistant and real Altoponix monitors over socket.io.
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { haProblems } from '../helpers/haDiscovery.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder, retainedNow as retainedOn } from '../helpers/mqttBroker.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';

let broker: Mosquitto;
let t: TestApp;
let ha: Recorder;
let admin: string;
const sockets: Socket[] = [];

const api = (method: string, path: string, body?: unknown) => t.api(method, `/api/${path}`, admin, body);

/** A monitor on the Altoponix port; resolves once `con ok` arrived. */
async function connectMonitor(monitorId: string): Promise<Socket> {
  const s = io(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('con ok', () => resolve());
    s.once('con failed', (r: unknown) => reject(new Error(JSON.stringify(r))));
    s.once('connect', () => s.emit('con', { monitor_id: monitorId }));
  });
  return s;
}

const retainedNow = (filter: string) => retainedOn(broker.url, filter);

const normalize = (json: string, ids: Record<string, string>): unknown => {
  let out = json.replaceAll(`"${t.app.context.status.version}"`, '"<version>"').replace(/"configuration_url":"[^"]*"/g, '"configuration_url":"<panel>"');
  for (const [id, name] of Object.entries(ids)) out = out.replaceAll(id, name);
  return JSON.parse(out);
};

describe.skipIf(SKIP)('MQTT bridge on Mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    t = await startTestApp({ mqtt: { url: broker.url }, monitors: { command_timeout_seconds: 2 } });
    admin = await t.login();
    ha = await Recorder.connect(broker.url);
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
  });

  it('publishes the add-on device: exact payload, retained, with everything HA requires', async () => {
    const topic = 'homeassistant/device/switchboard_addon_switchboard/config';
    await ha.waitFor(topic, (p) => p.includes('configuration_url'));
    const retained = await retainedNow(topic);
    const payload = JSON.parse(retained.get(topic)!) as unknown;
    expect(haProblems(topic, payload)).toEqual([]);
    expect(normalize(retained.get(topic)!, {})).toMatchInlineSnapshot(`
      {
        "cmps": {
          "clients_altoponix": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:lan-connect",
            "name": "Altoponix clients",
            "p": "sensor",
            "state_class": "measurement",
            "state_topic": "switchboard/addon_switchboard/clients_altoponix/state",
            "unique_id": "switchboard_addon_switchboard_clients_altoponix",
          },
          "clients_antimony": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:lan-connect",
            "name": "Antimony clients",
            "p": "sensor",
            "state_class": "measurement",
            "state_topic": "switchboard/addon_switchboard/clients_antimony/state",
            "unique_id": "switchboard_addon_switchboard_clients_antimony",
          },
          "clients_nestmtx": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:lan-connect",
            "name": "NestMTX clients",
            "p": "sensor",
            "state_class": "measurement",
            "state_topic": "switchboard/addon_switchboard/clients_nestmtx/state",
            "unique_id": "switchboard_addon_switchboard_clients_nestmtx",
          },
          "clients_rotoclear": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:lan-connect",
            "name": "Rotoclear clients",
            "p": "sensor",
            "state_class": "measurement",
            "state_topic": "switchboard/addon_switchboard/clients_rotoclear/state",
            "unique_id": "switchboard_addon_switchboard_clients_rotoclear",
          },
          "data_store_problem": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "problem",
            "entity_category": "diagnostic",
            "name": "Data store problem",
            "p": "binary_sensor",
            "state_topic": "switchboard/addon_switchboard/data_store_problem/state",
            "unique_id": "switchboard_addon_switchboard_data_store_problem",
          },
          "health": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "enum",
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "name": "Health",
            "options": [
              "ok",
              "degraded",
            ],
            "p": "sensor",
            "state_topic": "switchboard/addon_switchboard/health/state",
            "unique_id": "switchboard_addon_switchboard_health",
          },
          "media_store_problem": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "problem",
            "entity_category": "diagnostic",
            "name": "Media folder problem",
            "p": "binary_sensor",
            "state_topic": "switchboard/addon_switchboard/media_store_problem/state",
            "unique_id": "switchboard_addon_switchboard_media_store_problem",
          },
          "version": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:tag",
            "name": "Version",
            "p": "sensor",
            "state_topic": "switchboard/addon_switchboard/version/state",
            "unique_id": "switchboard_addon_switchboard_version",
          },
        },
        "dev": {
          "configuration_url": "<panel>",
          "identifiers": [
            "switchboard_addon_switchboard",
          ],
          "manufacturer": "Switchboard",
          "model": "Switchboard add-on",
          "name": "Switchboard",
          "sw_version": "<version>",
        },
        "o": {
          "name": "Switchboard",
          "sw": "<version>",
          "url": "https://github.com/switchboard-ha/switchboard",
        },
      }
    `);
    expect(t.app.context.status.health().components.mqtt).toMatchObject({ state: 'ok', detail: broker.url });
    expect(await retainedNow('switchboard/addon_switchboard/+/state')).toEqual(
      new Map([
        ['switchboard/addon_switchboard/clients_nestmtx/state', '0'],
        ['switchboard/addon_switchboard/clients_antimony/state', '0'],
        ['switchboard/addon_switchboard/clients_rotoclear/state', '0'],
        ['switchboard/addon_switchboard/clients_altoponix/state', '0'],
        ['switchboard/addon_switchboard/data_store_problem/state', 'OFF'],
        ['switchboard/addon_switchboard/media_store_problem/state', 'OFF'],
        ['switchboard/addon_switchboard/version/state', t.app.context.status.version],
        ['switchboard/addon_switchboard/health/state', 'ok'],
      ]),
    );
  });

  it('a monitor: discovery, availability, online state, client count, and the text command round trip', async () => {
    const created = await api('POST', 'monitors', { monitor_id: 'pump-1', name: 'Pump' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const topic = `homeassistant/device/switchboard_monitor_${id}/config`;
    const cfg = await ha.waitFor(topic, (p) => p.includes('configuration_url'));
    expect(haProblems(topic, JSON.parse(cfg.payload))).toEqual([]);
    expect(normalize(cfg.payload, { [id]: '<id>' })).toMatchInlineSnapshot(`
      {
        "cmps": {
          "command": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/monitor_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/monitor_<id>/command/set",
            "icon": "mdi:send",
            "max": 255,
            "min": 1,
            "name": "Send command",
            "p": "text",
            "state_topic": "switchboard/monitor_<id>/command/state",
            "unique_id": "switchboard_monitor_<id>_command",
          },
          "event": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "event_types": [
              "online",
              "offline",
              "commandDone",
              "commandFailed",
            ],
            "name": "Event",
            "p": "event",
            "state_topic": "switchboard/monitor_<id>/event/state",
            "unique_id": "switchboard_monitor_<id>_event",
          },
          "last_command": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "icon": "mdi:console-line",
            "name": "Last command",
            "p": "sensor",
            "state_topic": "switchboard/monitor_<id>/last_command/state",
            "unique_id": "switchboard_monitor_<id>_last_command",
          },
          "last_result": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "icon": "mdi:check-circle-outline",
            "name": "Last result",
            "p": "sensor",
            "state_topic": "switchboard/monitor_<id>/last_result/state",
            "unique_id": "switchboard_monitor_<id>_last_result",
          },
          "last_seen": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "timestamp",
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "name": "Last seen",
            "p": "sensor",
            "state_topic": "switchboard/monitor_<id>/last_seen/state",
            "unique_id": "switchboard_monitor_<id>_last_seen",
          },
          "online": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "connectivity",
            "name": "Connection",
            "p": "binary_sensor",
            "state_topic": "switchboard/monitor_<id>/online/state",
            "unique_id": "switchboard_monitor_<id>_online",
          },
        },
        "dev": {
          "configuration_url": "<panel>",
          "identifiers": [
            "switchboard_monitor_<id>",
          ],
          "manufacturer": "Switchboard",
          "model": "Altoponix monitor",
          "name": "Pump",
          "sw_version": "<version>",
          "via_device": "switchboard_addon_switchboard",
        },
        "o": {
          "name": "Switchboard",
          "sw": "<version>",
          "url": "https://github.com/switchboard-ha/switchboard",
        },
      }
    `);
    await ha.waitFor(`switchboard/monitor_${id}/availability`, (p) => p === '{"state":"offline"}');

    const from = ha.messages.length;
    const m = await connectMonitor('pump-1');
    await ha.waitFor(`switchboard/monitor_${id}/availability`, (p) => p === '{"state":"online"}', { from });
    await ha.waitFor(`switchboard/monitor_${id}/online/state`, (p) => p === 'ON', { from });
    await ha.waitFor('switchboard/addon_switchboard/clients_altoponix/state', (p) => p === '1', { from });
    const online = await ha.waitFor(`switchboard/monitor_${id}/event/state`, (p) => JSON.parse(p).event_type === 'online', { from });
    expect(online.retain).toBe(false);

    const received = new Promise<unknown>((resolve) => m.once('command do', resolve));
    await ha.publish(`switchboard/monitor_${id}/command/set`, 'pump on');
    expect(await received).toEqual({ command: 'pump on' });
    m.emit('command done');
    await ha.waitFor(`switchboard/monitor_${id}/last_result/state`, (p) => p === 'done', { from });
    expect(ha.last(`switchboard/monitor_${id}/last_command/state`)).toBe('pump on');
    expect(ha.last(`switchboard/monitor_${id}/command/state`)).toBe('pump on');
    const done = await ha.waitFor(`switchboard/monitor_${id}/event/state`, (p) => JSON.parse(p).event_type === 'commandDone', { from });
    expect(JSON.parse(done.payload)).toMatchObject({ event_type: 'commandDone', monitor_id: 'pump-1', command: 'pump on', by: 'mqtt' });
    // The event mirror: the same object the sockets get, for public events (the command's result, not its sending).
    const mirrored = await ha.waitFor(`switchboard/events/monitor/${id}/commandDone`, () => true, { from });
    expect(JSON.parse(mirrored.payload)).toEqual({ domain: 'monitor', entity: id, event: 'commandDone', details: { monitor_id: 'pump-1', command: 'pump on', by: 'mqtt' }, at: expect.any(String) });
    expect(mirrored.retain).toBe(false);
    expect(ha.on(`switchboard/events/monitor/${id}/command`)).toEqual([]);

    m.disconnect();
    await ha.waitFor(`switchboard/monitor_${id}/availability`, (p) => p === '{"state":"offline"}', { from: ha.messages.length - 1 });
  });

  it('a camera: exact discovery, and a round trip for every command entity through the camera service', async () => {
    const cameras = t.app.context.cameras;
    const cam = cameras.all()[0]!;
    const id = cam.id;
    const base = `switchboard/camera_${id}`;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    const cfg = await ha.waitFor(topic, (p) => p.includes('configuration_url'));
    expect(haProblems(topic, JSON.parse(cfg.payload))).toEqual([]);
    // The device's own controls (vivid's flips, menus, button, …) are covered by mqttDeviceControls.test.ts.
    const discovered = normalize(cfg.payload, { [id]: '<id>' }) as { cmps: Record<string, unknown> };
    for (const [name, d] of Object.entries(cameras.get(id)!.device_controls)) if (!d.served_by) delete discovered.cmps[name];
    expect(discovered).toMatchInlineSnapshot(`
      {
        "cmps": {
          "auto_exposure": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/auto_exposure/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/auto_exposure/set",
            "default_entity_id": "switch.camera_1_auto_exposure",
            "entity_category": "config",
            "icon": "mdi:camera-iris",
            "name": "Auto exposure",
            "object_id": "camera_1_auto_exposure",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/auto_exposure/state",
            "unique_id": "switchboard_camera_<id>_auto_exposure",
          },
          "brightness": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/brightness/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/brightness/set",
            "default_entity_id": "number.camera_1_brightness",
            "entity_category": "config",
            "icon": "mdi:brightness-6",
            "max": 100,
            "min": 0,
            "mode": "slider",
            "name": "Brightness",
            "object_id": "camera_1_brightness",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/brightness/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_brightness",
          },
          "contrast": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/contrast/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/contrast/set",
            "default_entity_id": "number.camera_1_contrast",
            "entity_category": "config",
            "icon": "mdi:contrast-box",
            "max": 100,
            "min": 0,
            "mode": "slider",
            "name": "Contrast",
            "object_id": "camera_1_contrast",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/contrast/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_contrast",
          },
          "enabled": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "switchboard/camera_<id>/enabled/set",
            "default_entity_id": "switch.camera_1_enabled",
            "entity_category": "config",
            "name": "Enabled",
            "object_id": "camera_1_enabled",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/enabled/state",
            "unique_id": "switchboard_camera_<id>_enabled",
          },
          "event": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "default_entity_id": "event.camera_1_event",
            "entity_category": "diagnostic",
            "event_types": [
              "motion",
              "recording",
              "snapshotSaved",
              "connected",
              "disconnected",
              "enabled",
              "disabled",
              "commandRefused",
            ],
            "name": "Event",
            "object_id": "camera_1_event",
            "p": "event",
            "state_topic": "switchboard/camera_<id>/event/state",
            "unique_id": "switchboard_camera_<id>_event",
          },
          "fps": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/fps/set",
            "default_entity_id": "select.camera_1_fps",
            "entity_category": "config",
            "icon": "mdi:filmstrip",
            "name": "Frame rate",
            "object_id": "camera_1_fps",
            "options": [
              "1",
              "2",
              "4",
              "5",
              "10",
              "12.5",
              "15",
              "25",
              "30",
              "40",
            ],
            "p": "select",
            "state_topic": "switchboard/camera_<id>/fps/state",
            "unique_id": "switchboard_camera_<id>_fps",
          },
          "gain": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/gain/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/gain/set",
            "default_entity_id": "number.camera_1_gain",
            "entity_category": "config",
            "icon": "mdi:tune-vertical",
            "max": 100,
            "min": 0,
            "mode": "slider",
            "name": "Gain",
            "object_id": "camera_1_gain",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/gain/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_gain",
          },
          "hue": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/hue/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/hue/set",
            "default_entity_id": "number.camera_1_hue",
            "entity_category": "config",
            "icon": "mdi:palette-swatch",
            "max": 100,
            "min": 0,
            "mode": "slider",
            "name": "Hue",
            "object_id": "camera_1_hue",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/hue/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_hue",
          },
          "image": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "default_entity_id": "camera.camera_1_image",
            "json_attributes_topic": "switchboard/camera_<id>/image/attributes",
            "name": null,
            "object_id": "camera_1_image",
            "p": "camera",
            "topic": "switchboard/camera_<id>/image/state",
            "unique_id": "switchboard_camera_<id>_image",
          },
          "light": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "brightness_command_topic": "switchboard/camera_<id>/light_brightness/set",
            "brightness_scale": 100,
            "brightness_state_topic": "switchboard/camera_<id>/light_brightness/state",
            "command_topic": "switchboard/camera_<id>/light/set",
            "default_entity_id": "light.camera_1_light",
            "name": "Light",
            "object_id": "camera_1_light",
            "on_command_type": "brightness",
            "p": "light",
            "state_topic": "switchboard/camera_<id>/light/state",
            "unique_id": "switchboard_camera_<id>_light",
          },
          "live_view": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "switchboard/camera_<id>/live_view/set",
            "default_entity_id": "switch.camera_1_live_view",
            "entity_category": "config",
            "name": "Live view in Home Assistant",
            "object_id": "camera_1_live_view",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/live_view/state",
            "unique_id": "switchboard_camera_<id>_live_view",
          },
          "motion": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/motion_detection/state",
                "value_template": "{{ 'online' if value == 'ON' else 'offline' }}",
              },
            ],
            "availability_mode": "all",
            "default_entity_id": "binary_sensor.camera_1_motion",
            "device_class": "motion",
            "name": "Motion",
            "object_id": "camera_1_motion",
            "p": "binary_sensor",
            "state_topic": "switchboard/camera_<id>/motion/state",
            "unique_id": "switchboard_camera_<id>_motion",
          },
          "motion_detection": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/motion_detection/set",
            "default_entity_id": "switch.camera_1_motion_detection",
            "name": "Motion detection",
            "object_id": "camera_1_motion_detection",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/motion_detection/state",
            "unique_id": "switchboard_camera_<id>_motion_detection",
          },
          "motion_min_area": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "switchboard/camera_<id>/motion_min_area/set",
            "default_entity_id": "number.camera_1_motion_min_area",
            "entity_category": "config",
            "icon": "mdi:select-all",
            "max": 100,
            "min": 0.1,
            "mode": "box",
            "name": "Motion minimum area",
            "object_id": "camera_1_motion_min_area",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/motion_min_area/state",
            "step": 0.1,
            "unique_id": "switchboard_camera_<id>_motion_min_area",
            "unit_of_measurement": "%",
          },
          "motion_threshold": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "switchboard/camera_<id>/motion_threshold/set",
            "default_entity_id": "number.camera_1_motion_threshold",
            "entity_category": "config",
            "icon": "mdi:motion-sensor",
            "max": 255,
            "min": 1,
            "mode": "box",
            "name": "Motion threshold",
            "object_id": "camera_1_motion_threshold",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/motion_threshold/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_motion_threshold",
          },
          "readers": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "default_entity_id": "sensor.camera_1_readers",
            "entity_category": "diagnostic",
            "icon": "mdi:eye",
            "json_attributes_topic": "switchboard/camera_<id>/readers/attributes",
            "name": "Readers",
            "object_id": "camera_1_readers",
            "p": "sensor",
            "state_class": "measurement",
            "state_topic": "switchboard/camera_<id>/readers/state",
            "unique_id": "switchboard_camera_<id>_readers",
          },
          "ready": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "default_entity_id": "binary_sensor.camera_1_ready",
            "device_class": "running",
            "name": "Stream ready",
            "object_id": "camera_1_ready",
            "p": "binary_sensor",
            "state_topic": "switchboard/camera_<id>/ready/state",
            "unique_id": "switchboard_camera_<id>_ready",
          },
          "recording": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/recording/set",
            "default_entity_id": "switch.camera_1_recording",
            "name": "Recording",
            "object_id": "camera_1_recording",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/recording/state",
            "unique_id": "switchboard_camera_<id>_recording",
          },
          "resolution": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/resolution/set",
            "default_entity_id": "select.camera_1_resolution",
            "entity_category": "config",
            "icon": "mdi:image-size-select-large",
            "name": "Resolution",
            "object_id": "camera_1_resolution",
            "options": [
              "320x180",
              "640x360",
              "640x480",
              "1280x720",
              "1920x1080",
              "3840x2160",
            ],
            "p": "select",
            "state_topic": "switchboard/camera_<id>/resolution/state",
            "unique_id": "switchboard_camera_<id>_resolution",
          },
          "saturation": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/saturation/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/saturation/set",
            "default_entity_id": "number.camera_1_saturation",
            "entity_category": "config",
            "icon": "mdi:palette",
            "max": 100,
            "min": 0,
            "mode": "slider",
            "name": "Saturation",
            "object_id": "camera_1_saturation",
            "p": "number",
            "state_topic": "switchboard/camera_<id>/saturation/state",
            "step": 1,
            "unique_id": "switchboard_camera_<id>_saturation",
          },
          "sensor": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/sensor/set",
            "default_entity_id": "select.camera_1_sensor",
            "entity_category": "config",
            "icon": "mdi:video-input-component",
            "name": "Sensor input",
            "object_id": "camera_1_sensor",
            "options": [
              "Webcam 0",
              "TV 1",
              "S-Video 2",
              "HDMI 3",
            ],
            "p": "select",
            "state_topic": "switchboard/camera_<id>/sensor/state",
            "unique_id": "switchboard_camera_<id>_sensor",
          },
          "snapshot": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/snapshot/set",
            "default_entity_id": "button.camera_1_snapshot",
            "icon": "mdi:camera",
            "name": "Take snapshot",
            "object_id": "camera_1_snapshot",
            "p": "button",
            "unique_id": "switchboard_camera_<id>_snapshot",
          },
          "stream": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "switchboard/camera_<id>/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "switchboard/camera_<id>/stream/set",
            "default_entity_id": "switch.camera_1_stream",
            "name": "Stream",
            "object_id": "camera_1_stream",
            "p": "switch",
            "state_topic": "switchboard/camera_<id>/stream/state",
            "unique_id": "switchboard_camera_<id>_stream",
          },
        },
        "dev": {
          "configuration_url": "<panel>",
          "identifiers": [
            "switchboard_camera_<id>",
          ],
          "manufacturer": "Switchboard",
          "model": "Simulated camera 0",
          "model_id": "vivid",
          "name": "Camera 1",
          "sw_version": "<version>",
          "via_device": "switchboard_addon_switchboard",
        },
        "o": {
          "name": "Switchboard",
          "sw": "<version>",
          "url": "https://github.com/switchboard-ha/switchboard",
        },
      }
    `);
    const from = ha.messages.length;
    const set = (key: string, payload: string) => ha.publish(`${base}/${key}/set`, payload);
    const changes: Record<string, unknown>[] = [];
    const demands: { event: string; details: unknown }[] = [];
    const offBus = t.app.context.bus.subscribe(changes, (e) => {
      if (e.entity !== id) return;
      if (e.event === 'updated') changes.push(e.details.changes);
      if (e.event === 'demand' || e.event === 'unDemand') demands.push({ event: e.event, details: e.details });
    }, ['camera']);

    // Stream switch: holds a demand as reader {type: switch, id: stream}.
    await set('stream', 'ON');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'ON', { from });
    await ha.waitFor(`${base}/readers/state`, (p) => p === '1', { from });
    expect(cameras.get(id)!.reader_list).toEqual([{ type: 'switch', id: 'stream' }]);
    expect(demands).toEqual([{ event: 'demand', details: { readerType: 'switch', readerId: 'stream' } }]);
    await set('stream', 'OFF');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'OFF', { from });
    expect(demands.map((d) => d.event)).toEqual(['demand', 'unDemand']);
    expect(cameras.get(id)!.demanded).toBe(false);

    await set('light', 'ON');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from });
    expect(cameras.get(id)!.light).toBe(true);

    // Every image number the simulated camera has, with a value it does not have yet.
    const numbers = (['brightness', 'contrast', 'saturation', 'hue', 'sharpness', 'gain'] as const).filter((k) => cam.controls[k] !== null);
    expect(numbers.length).toBeGreaterThan(0);
    for (const [i, key] of numbers.entries()) {
      const value = 61 + i;
      await set(key, `${value}.0`);
      await ha.waitFor(`${base}/${key}/state`, (p) => p === String(value), { from });
      expect(cameras.get(id)!.controls[key]).toBe(value);
    }
    // The change went over the bus like any socket's change (the same event every adapter broadcasts).
    const updated = changes;
    expect(updated).toContainEqual(expect.objectContaining({ brightness: 61 }));
    expect(numbers).toContain('hue');
    expect(updated).toContainEqual(expect.objectContaining({ hue: 61 + numbers.indexOf('hue') }));

    const resolution = cam.resolutions.find((r) => r !== cam.controls.resolution)!;
    await set('resolution', resolution);
    await ha.waitFor(`${base}/resolution/state`, (p) => p === resolution, { from });
    const fps = String(cam.fps_options.find((f) => f !== cam.controls.fps));
    await set('fps', fps);
    await ha.waitFor(`${base}/fps/state`, (p) => p === fps, { from });
    expect(cameras.get(id)!.controls).toMatchObject({ resolution, fps: Number(fps) });

    // The snapshot button: the streaming pipeline captures a JPEG, published raw on the camera entity's topic.
    const image = new Promise<Buffer>((resolve) => {
      const onImage = (topic: string, payload: Buffer) => {
        if (topic !== `${base}/image/state` || payload.length === 0) return;
        ha.client.off('message', onImage);
        resolve(payload);
      };
      ha.client.on('message', onImage);
    });
    await set('snapshot', 'PRESS');
    await expect.poll(() => cameras.get(id)!.last_snap_at).not.toBeNull();
    const jpeg = await image;
    expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(jpeg.equals(t.app.context.streams.latestSnapshot(id)!.jpeg)).toBe(true);

    // Bad payloads: logged and ignored, nothing changes.
    const before = JSON.stringify(cameras.get(id)!.controls);
    for (const [key, payload] of [['brightness', '150'], ['brightness', 'bright'], ['hue', '101'], ['hue', '-5'], ['resolution', '1x1'], ['fps', '31'], ['stream', 'maybe'], ['light', '1'], ['snapshot', 'NOW']]) {
      await set(key!, payload!);
    }
    await set('light', 'OFF');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from });
    expect(JSON.stringify(cameras.get(id)!.controls)).toBe(before);
    expect(cameras.get(id)!.demanded).toBe(false);
    offBus();
  });

  it('a brightness set over MQTT reaches Rotoclear /api/v1 clients like any other change', async () => {
    // Rotoclear's main camera: slot 1 until a client picks another.
    const main = t.app.context.cameras.bySlot(1)!;
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
    const received: Record<string, unknown>[] = [];
    ws.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      ws.send(JSON.stringify({ username: ADMIN.username, password: ADMIN.password }));
      await expect.poll(() => received.some((m) => m.authenticated === true)).toBe(true);
      const value = main.controls.brightness === 77 ? 78 : 77;
      await ha.publish(`switchboard/camera_${main.id}/brightness/set`, String(value));
      await expect.poll(() => received.some((m) => m.brightness === value)).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('a hue set over MQTT reaches NestMTX socket clients and comes back as MQTT state', async () => {
    const cam = t.app.context.cameras.all()[0]!;
    const socket = io(t.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: admin } });
    sockets.push(socket);
    const changes: Record<string, unknown>[] = [];
    socket.on('camera:updated', (e: { entity: string; details: { changes: Record<string, unknown> } }) => {
      if (e.entity === cam.id) changes.push(e.details.changes);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const value = cam.controls.hue === 20 ? 21 : 20;
    const from = ha.messages.length;
    await ha.publish(`switchboard/camera_${cam.id}/hue/set`, String(value));
    await expect.poll(() => changes.some((c) => c.hue === value), { timeout: 15_000 }).toBe(true);
    await ha.waitFor(`switchboard/camera_${cam.id}/hue/state`, (p) => p === String(value), { from });
    expect(t.app.context.cameras.get(cam.id)!.controls.hue).toBe(value);
  });

  it('a credential: exact discovery and its states', async () => {
    const created = await api('POST', 'credentials', {
      description: 'Nest account',
      client_id: 'client-1',
      client_secret: 'top-secret-value',
      authorize_url: 'https://auth.example.com/authorize',
      token_url: 'https://auth.example.com/token',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const topic = `homeassistant/device/switchboard_credential_${id}/config`;
    const cfg = await ha.waitFor(topic, (p) => p.includes('configuration_url'));
    expect(haProblems(topic, JSON.parse(cfg.payload))).toEqual([]);
    expect(normalize(cfg.payload, { [id]: '<id>' })).toMatchInlineSnapshot(`
      {
        "cmps": {
          "event": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "event_types": [
              "unauthenticated",
            ],
            "name": "Event",
            "p": "event",
            "state_topic": "switchboard/credential_<id>/event/state",
            "unique_id": "switchboard_credential_<id>_event",
          },
          "expires_at": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "timestamp",
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "name": "Token expires",
            "p": "sensor",
            "state_topic": "switchboard/credential_<id>/expires_at/state",
            "unique_id": "switchboard_credential_<id>_expires_at",
          },
          "last_error": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "enabled_by_default": false,
            "entity_category": "diagnostic",
            "icon": "mdi:alert-circle-outline",
            "name": "Last error",
            "p": "sensor",
            "state_topic": "switchboard/credential_<id>/last_error/state",
            "unique_id": "switchboard_credential_<id>_last_error",
          },
          "needs_reauth": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "problem",
            "name": "Re-authentication needed",
            "p": "binary_sensor",
            "state_topic": "switchboard/credential_<id>/needs_reauth/state",
            "unique_id": "switchboard_credential_<id>_needs_reauth",
          },
          "status": {
            "availability": [
              {
                "topic": "switchboard/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "enum",
            "name": "Status",
            "options": [
              "authorized",
              "needs_reauth",
              "unauthorized",
            ],
            "p": "sensor",
            "state_topic": "switchboard/credential_<id>/status/state",
            "unique_id": "switchboard_credential_<id>_status",
          },
        },
        "dev": {
          "configuration_url": "<panel>",
          "identifiers": [
            "switchboard_credential_<id>",
          ],
          "manufacturer": "Switchboard",
          "model": "OAuth credential (generic)",
          "name": "Nest account",
          "sw_version": "<version>",
          "via_device": "switchboard_addon_switchboard",
        },
        "o": {
          "name": "Switchboard",
          "sw": "<version>",
          "url": "https://github.com/switchboard-ha/switchboard",
        },
      }
    `);
    await ha.waitFor(`switchboard/credential_${id}/status/state`, (p) => p === 'unauthorized');
    await ha.waitFor(`switchboard/credential_${id}/needs_reauth/state`, (p) => p === 'OFF');
    await ha.waitFor(`switchboard/credential_${id}/last_error/state`, (p) => p === 'none');
    // The secret never reaches the broker.
    expect(ha.messages.some((m) => m.payload.includes('top-secret-value'))).toBe(false);
  });

  it('invalid command payloads are ignored: nothing reaches the monitor, nothing stored changes, the bridge lives on', async () => {
    const created = await api('POST', 'monitors', { monitor_id: 'valve-1', name: 'Valve' });
    const id = created.body.id as string;
    await ha.waitFor(`homeassistant/device/switchboard_monitor_${id}/config`);
    const m = await connectMonitor('valve-1');
    const commands: unknown[] = [];
    m.on('command do', (c: unknown) => commands.push(c));
    const before = t.app.context.db.collection('monitors').get(id);
    const logged: string[] = [];
    const unsubscribe = t.app.context.logs.subscribe((e) => {
      if (e.service === 'mqtt') logged.push(e.msg);
    });
    const bad: [string, string | Buffer, boolean?][] = [
      [`switchboard/monitor_${id}/command/set`, ''],
      [`switchboard/monitor_${id}/command/set`, 'x'.repeat(256)],
      [`switchboard/monitor_${id}/command/set`, 'line\nbreak'],
      [`switchboard/monitor_${id}/command/set`, Buffer.alloc(10_000, 65)],
      [`switchboard/monitor_${id}/online/set`, 'ON'],
      [`switchboard/monitor_${id}/nope/set`, 'ON'],
      ['switchboard/monitor_00000000-0000-4000-8000-000000000000/command/set', 'hello'],
      [`switchboard/monitor_${id}/command/set/extra`, 'hello'],
    ];
    for (const [topic, payload, retain] of bad) await ha.client.publishAsync(topic, payload, { qos: 1, retain: retain ?? false });
    // A valid command afterwards is the first and only one the monitor gets.
    const received = new Promise<unknown>((resolve) => m.once('command do', resolve));
    await ha.publish(`switchboard/monitor_${id}/command/set`, 'open');
    expect(await received).toEqual({ command: 'open' });
    expect(commands).toEqual([{ command: 'open' }]);
    expect(before?.last_command).toBeNull();
    unsubscribe();
    // Refusals are logged at most once a minute per topic and for a few topics a minute in all
    // (earlier bad commands in this file may have used this minute's lines up already).
    expect(logged.filter((msg) => msg.startsWith('MQTT command ignored') || msg.startsWith('MQTT command rejected')).length).toBeLessThanOrEqual(3);
    m.emit('command done');
    await expect.poll(() => t.app.context.db.collection('monitors').get(id)?.last_result).toBe('done');
  });

  it('republishes configs and states when Home Assistant announces itself (birth message)', async () => {
    const topic = 'homeassistant/device/switchboard_addon_switchboard/config';
    const from = ha.messages.length;
    await ha.publish('homeassistant/status', 'online');
    const again = await ha.waitFor(topic, () => true, { from });
    expect(again.payload).toBe(ha.on(topic)[0]!.payload);
    await ha.waitFor('switchboard/addon_switchboard/version/state', () => true, { from });
    // "offline" from HA changes nothing.
    await ha.publish('homeassistant/status', 'offline');
  });

  it('removes a deleted object: empty retained config and cleared state topics', async () => {
    const created = await api('POST', 'monitors', { monitor_id: 'gone-1', name: 'Gone' });
    const id = created.body.id as string;
    const topic = `homeassistant/device/switchboard_monitor_${id}/config`;
    await ha.waitFor(`switchboard/monitor_${id}/online/state`);
    expect((await retainedNow(topic)).has(topic)).toBe(true);
    const from = ha.messages.length;
    expect((await api('DELETE', `monitors/${id}`)).status).toBe(200);
    await ha.waitFor(topic, (p) => p === '', { from });
    await ha.waitFor(`switchboard/monitor_${id}/online/state`, (p) => p === '', { from });
    await ha.waitFor(`switchboard/monitor_${id}/availability`, (p) => p === '', { from });
    const left = await retainedNow(`switchboard/monitor_${id}/#`);
    expect([...left.keys()]).toEqual([]);
    expect((await retainedNow(topic)).has(topic)).toBe(false);
  });

  it('survives a broker restart: keeps working while it is away, then republishes everything', async () => {
    broker.stop();
    await expect.poll(() => t.app.context.status.health().components.mqtt?.state, { timeout: 10_000 }).toBe('disconnected');
    // The add-on keeps working without its broker.
    const created = await api('POST', 'monitors', { monitor_id: 'late-1', name: 'Late' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await broker.run();
    await expect.poll(() => t.app.context.status.health().components.mqtt?.state, { timeout: 20_000 }).toBe('ok');
    // The restarted broker had nothing retained; the bridge put it all back.
    await expect
      .poll(async () => [...(await retainedNow('homeassistant/device/+/config')).keys()].sort(), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          'homeassistant/device/switchboard_addon_switchboard/config',
          `homeassistant/device/switchboard_monitor_${id}/config`,
        ]),
      );
    const retained = await retainedNow('switchboard/#');
    expect(retained.get('switchboard/bridge/state')).toBe('{"state":"online"}');
    expect(retained.get(`switchboard/monitor_${id}/online/state`)).toBe('OFF');
    expect(retained.get('switchboard/addon_switchboard/version/state')).toBe(t.app.context.status.version);
  });
});
