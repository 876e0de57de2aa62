// A camera's own device controls in Home Assistant, as a user of the default simulated camera meets
// them: vivid's flips as switches, its menus as selects, its button as a button, the read-only
// control as a sensor, unknown controls as disabled config entities, gain unavailable while
// automatic gain is on. Commands over real Mosquitto change the camera; the retained state follows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import { haProblems } from '../helpers/haDiscovery.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';

type Json = Record<string, unknown>;

describe.skipIf(SKIP)('device controls over MQTT', () => {
  let broker: Mosquitto;
  let t: TestApp;
  let ha: Recorder;
  let id: string;
  let base: string;
  let cmps: Record<string, Json>;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    t = await startTestApp({ mqtt: { url: broker.url } });
    ha = await Recorder.connect(broker.url);
    const cameras = t.app.context.cameras!;
    await until('the simulated camera', () => cameras.all()[0]?.exists);
    id = cameras.all()[0]!.id;
    base = `switchboard/camera_${id}`;
    const topic = `homeassistant/device/switchboard_camera_${id}/config`;
    const cfg = JSON.parse((await ha.waitFor(topic, (p) => p.includes('horizontal_flip'))).payload) as Json;
    expect(haProblems(topic, cfg)).toEqual([]);
    cmps = cfg.cmps as Record<string, Json>;
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
  });

  const view = () => t.app.context.cameras!.get(id)!;
  const state = (key: string, payload: string) => ha.waitFor(`${base}/${key}/state`, (p) => p === payload);
  /** Sends a command and waits for the state published after it (an older retained one does not count). */
  const command = async (key: string, payload: string, expected: string) => {
    const from = ha.messages.length;
    await ha.publish(`${base}/${key}/set`, payload);
    return ha.waitFor(`${base}/${key}/state`, (p) => p === expected, { from });
  };

  it('discovery: flips as switches, menus as selects with their items, the button as a button, read-only as a sensor', () => {
    expect(cmps.horizontal_flip).toMatchObject({ p: 'switch', name: 'Flip horizontally', icon: 'mdi:flip-horizontal', command_topic: `${base}/horizontal_flip/set` });
    expect(cmps.horizontal_flip!.enabled_by_default).toBeUndefined();
    expect(cmps.vertical_flip).toMatchObject({ p: 'switch', name: 'Flip vertically' });
    expect(cmps.menu).toMatchObject({ p: 'select', name: 'Menu', entity_category: 'config', enabled_by_default: false, options: ['Menu Item 1', 'Menu Item 3', 'Menu Item 4'] });
    expect(cmps.integer_menu).toMatchObject({ p: 'select', options: ['2', '3', '5', '8', '13', '21', '42'] });
    expect(cmps.test_pattern).toMatchObject({ p: 'select' });
    expect((cmps.test_pattern!.options as string[])[0]).toBe('75% Colorbar');
    expect(cmps.button).toMatchObject({ p: 'button', name: 'Button', command_topic: `${base}/button/set` });
    expect(cmps.button!.state_topic).toBeUndefined();
    expect(cmps.read_only_integer_32_bits).toMatchObject({ p: 'sensor', state_topic: `${base}/read_only_integer_32_bits/state` });
    expect(cmps.read_only_integer_32_bits!.command_topic).toBeUndefined();
    expect(cmps.integer_32_bits).toMatchObject({ p: 'number', min: -2147483648, max: 2147483647, step: 1 });
    // Served by the image settings and the light: no second entity for the same control.
    for (const served of ['brightness_0', 'gain_automatic', 'led_mode', 'intensity_torch_mode']) expect(cmps[served]).toBeUndefined();
    expect(cmps.gain).toMatchObject({ p: 'number', name: 'Gain' });
    // Payload controls (arrays, strings, areas) and 64-bit ones are left out.
    for (const left of ['string', 'area', 'u8_pixel_array', 'integer_64_bits', 'bitmask']) expect(cmps[left]).toBeUndefined();
  });

  it('a switch command flips the camera and the state follows', async () => {
    await state('horizontal_flip', 'OFF');
    await command('horizontal_flip', 'ON', 'ON');
    expect(view().device_controls.horizontal_flip!.value).toBe(true);
    await command('horizontal_flip', 'OFF', 'OFF');
    expect(view().device_controls.horizontal_flip!.value).toBe(false);
  });

  it('select commands pick menu and integer-menu items; an item the device lacks is refused and nothing changes', async () => {
    await state('menu', 'Menu Item 3');
    await command('menu', 'Menu Item 4', 'Menu Item 4');
    expect(view().device_controls.menu!.value).toBe(4);
    await command('integer_menu', '21', '21');
    expect(view().device_controls.integer_menu!.value).toBe(7);
    const from = ha.messages.length;
    await ha.publish(`${base}/menu/set`, 'Menu Item 2');
    await ha.publish(`${base}/vertical_flip/set`, 'ON');
    // Commands on one connection arrive in order: once the flip is applied, the refused item was judged.
    await ha.waitFor(`${base}/vertical_flip/state`, (p) => p === 'ON', { from });
    expect(view().device_controls.menu!.value).toBe(4);
    expect(ha.messages.slice(from).some((m) => m.topic === `${base}/menu/state`)).toBe(false);
  });

  it('a number command outside the device range is refused; inside it is applied', async () => {
    await ha.publish(`${base}/alpha_component/set`, '300');
    await command('alpha_component', '77', '77');
    expect(view().device_controls.alpha_component!.value).toBe(77);
  });

  it('the button press reaches the camera as a change', async () => {
    const bus = t.app.context.bus;
    const pressed = new Promise<Json>((resolve) => {
      const off = bus.subscribe(bus, (e) => {
        const changes = (e.details as { changes?: Json }).changes;
        if (e.entity === id && e.event === 'updated' && changes?.device_controls && 'button' in (changes.device_controls as Json)) {
          off();
          resolve(changes);
        }
      }, ['camera']);
    });
    await ha.publish(`${base}/button/set`, 'PRESS');
    expect((await pressed).device_controls).toEqual({ button: null });
  });

  it('gain is unavailable while automatic gain is on, and available once it is off', async () => {
    const gainAvailability = `${base}/gain/availability`;
    expect((cmps.gain!.availability as { topic: string }[]).map((a) => a.topic)).toContain(gainAvailability);
    await ha.waitFor(gainAvailability, (p) => p === '{"state":"offline"}');
    // vivid's automatic gain is the camera's auto-exposure switch (it has no exposure menu).
    await ha.publish(`${base}/auto_exposure/set`, 'OFF');
    await ha.waitFor(gainAvailability, (p) => p === '{"state":"online"}');
    expect(view().device_controls.gain!.inactive).toBe(false);
    await ha.publish(`${base}/auto_exposure/set`, 'ON');
    const from = ha.messages.length;
    await ha.waitFor(gainAvailability, (p) => p === '{"state":"offline"}', { from });
    expect(view().device_controls.gain!.inactive).toBe(true);
  });

  it('the light: the simulated camera has one by default', () => {
    expect(cmps.light).toMatchObject({ p: 'light', brightness_state_topic: `${base}/light_brightness/state` });
  });

  it('the input (Rotoclear sensor) as a select of the driver\'s input names; a command switches it, a made-up name changes nothing', async () => {
    expect(cmps.sensor).toMatchObject({ p: 'select', name: 'Sensor input', entity_category: 'config', options: ['Webcam 0', 'TV 1', 'S-Video 2', 'HDMI 3'] });
    await state('sensor', 'Webcam 0');
    await command('sensor', 'S-Video 2', 'S-Video 2');
    expect(view().controls.sensor).toBe(3);
    // A refused option, then a good one on the same topic: once the good one is through, the bad one had no effect.
    await ha.publish(`${base}/sensor/set`, 'Composite 9');
    await command('sensor', 'HDMI 3', 'HDMI 3');
    expect(view().controls.sensor).toBe(4);
    expect(ha.messages.filter((m) => m.topic === `${base}/sensor/state`).map((m) => m.payload)).not.toContain('Composite 9');
  });
});

describe.skipIf(SKIP)('a camera without a light control over MQTT', () => {
  it('has no light entity; its device controls are there', async () => {
    const broker = await Mosquitto.start();
    // vivid's exact control set: no flash, no vendor light.
    const t = await startTestApp({ mqtt: { url: broker.url } }, { simulatedFlash: false });
    const ha = await Recorder.connect(broker.url);
    try {
      const cameras = t.app.context.cameras!;
      await until('the simulated camera', () => cameras.all()[0]?.exists);
      const cam = cameras.all()[0]!;
      expect(cam.has_light).toBe(false);
      const topic = `homeassistant/device/switchboard_camera_${cam.id}/config`;
      const cfg = JSON.parse((await ha.waitFor(topic, (p) => p.includes('horizontal_flip'))).payload) as { cmps: Record<string, Json> };
      expect(cfg.cmps.light).toBeUndefined();
      expect(cfg.cmps.horizontal_flip).toMatchObject({ p: 'switch' });
      // Binding a Home Assistant light gives it one.
      await cameras.update(SYSTEM_ACTOR, cam.id, { light_entity: 'light.workbench' });
      await ha.waitFor(topic, (p) => (JSON.parse(p) as { cmps: Record<string, Json> }).cmps.light?.p === 'light');
    } finally {
      await ha.close();
      await t.stop();
      await broker.destroy();
    }
  });
});
