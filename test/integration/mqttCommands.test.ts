// MQTT commands as automations send them, and as an attacker with broker access sends them: real
// Mosquitto, the whole app, its pino output captured line by line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';

type Json = Record<string, unknown>;

describe.skipIf(SKIP)('MQTT commands', () => {
  let broker: Mosquitto;
  let t: TestApp;
  let ha: Recorder;
  const lines: Json[] = [];
  const events: DomainEvent<'camera'>[] = [];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    t = await startTestApp({ mqtt: { url: broker.url } }, { logOut: (line) => lines.push(JSON.parse(line) as Json) });
    t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
    // Everything but the command topics: 5,000 echoes of our own commands would fill the broker's queue for us.
    ha = await Recorder.connect(broker.url, ['switchboard/+/+/state', 'switchboard/+/availability', 'switchboard/events/#', 'switchboard/bridge/#', 'homeassistant/#']);
    await ha.waitFor('switchboard/bridge/state', (p) => p === '{"state":"online"}');
    // The first full publish is done: states are there before any test sends commands.
    await ha.waitFor(`switchboard/camera_${t.app.context.cameras.all()[0]!.id}/stream/state`);
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
  });

  it('5,000 bad commands (the first refusals this minute): refused, nothing changes, a bounded number of log lines, one commandRefused per topic on the Event entity', async () => {
    const cameras = t.app.context.cameras;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    // What the commands could have changed (not the stream state, which the image refresh moves).
    const settings = () => {
      const c = cameras.get(id)!;
      return JSON.stringify([c.name, c.enabled, c.controls, c.motion, c.motion_threshold, c.motion_min_area_percent, c.record, c.light_brightness, c.reader_list.filter((r) => r.type === 'mqtt')]);
    };
    const before = settings();
    expect(cameras.get(id)!.light).toBe(false);
    const fromLine = lines.length;
    const fromEvent = events.length;
    const from = ha.messages.length;
    const cpu = process.cpuUsage();
    const bad: [string, string][] = [];
    for (let i = 0; i < 2000; i++) bad.push([`${base}/brightness/set`, String(101 + i)]);
    for (let i = 0; i < 1000; i++) bad.push([`${base}/nope/set`, 'ON']);
    for (let i = 0; i < 1000; i++) bad.push([`switchboard/camera_made-up-${i}/light/set`, 'ON']);
    for (let i = 0; i < 1000; i++) bad.push([`${base}/stream/set`, 'maybe']);
    expect(bad).toHaveLength(5000);
    await Promise.all(bad.map(([topic, payload]) => ha.client.publishAsync(topic, payload, { qos: 1 })));
    // A good command after them (same client, in order) shows every bad one was handled.
    await ha.publish(`${base}/light/set`, 'ON');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from });
    const used = process.cpuUsage(cpu);

    const refusedLines = lines.slice(fromLine).filter((l) => typeof l.msg === 'string' && /^MQTT command (ignored|rejected|failed)/.test(l.msg));
    expect(refusedLines.length).toBeGreaterThanOrEqual(1);
    expect(refusedLines.length).toBeLessThanOrEqual(3);
    expect(refusedLines[0]).toMatchObject({ topic: `${base}/brightness/set`, count: 1, reason: expect.stringContaining('expected a number from 0 to 100') });
    const refused = events.slice(fromEvent).filter((e) => e.event === 'commandRefused');
    expect(refused.length).toBeLessThanOrEqual(3);
    expect(refused[0]).toMatchObject({ entity: id, details: { command: 'brightness', origin: 'mqtt', count: 1 } });
    // On the camera's Event entity, with the reason.
    const onEntity = ha.messages.slice(from).filter((m) => m.topic === `${base}/event/state`).map((m) => JSON.parse(m.payload) as Json).filter((p) => p.event_type === 'commandRefused');
    expect(onEntity[0]).toMatchObject({ command: 'brightness', reason: expect.stringContaining('expected a number from 0 to 100'), count: 1, at: expect.any(String) });

    // Nothing changed but the light the good command switched; the process serves on.
    expect(settings()).toBe(before);
    expect((await fetch(`${t.url}/api/health`)).status).toBe(200);
    const off = ha.messages.length;
    await ha.publish(`${base}/light/set`, 'OFF');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from: off });
    console.log(`5000 refused MQTT commands: ${refusedLines.length} log lines, ${refused.length} commandRefused events, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU for the whole process`);
  }, 60_000);

  it('switches and the light take ON/OFF in any case and TOGGLE', async () => {
    const cameras = t.app.context.cameras;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'OFF');
    const from = ha.messages.length;
    await ha.publish(`${base}/stream/set`, 'on');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'ON', { from });
    expect(cameras.get(id)!.reader_list).toContainEqual({ type: 'switch', id: 'stream' });
    await ha.publish(`${base}/stream/set`, 'TOGGLE');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'OFF', { from });
    expect(cameras.get(id)!.demanded).toBe(false);
    await ha.publish(`${base}/stream/set`, 'toggle');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'ON', { from: ha.messages.length - 1 });
    await ha.publish(`${base}/stream/set`, 'Off');
    await ha.waitFor(`${base}/stream/state`, (p) => p === 'OFF', { from: ha.messages.length - 1 });

    const light = ha.messages.length;
    await ha.publish(`${base}/light/set`, 'TOGGLE');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from: light });
    expect(cameras.get(id)!.light).toBe(true);
    await ha.publish(`${base}/light/set`, 'off');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from: light });
    await ha.publish(`${base}/light/set`, 'on');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'ON', { from: ha.messages.length - 1 });
    await ha.publish(`${base}/light/set`, 'TOGGLE');
    await ha.waitFor(`${base}/light/state`, (p) => p === 'OFF', { from: ha.messages.length - 1 });
    expect(cameras.get(id)!.light).toBe(false);
  });

  it('motion from Home Assistant: the sensor exists from discovery on, its availability follows the Motion detection switch; sensitivity as numbers', async () => {
    const cameras = t.app.context.cameras;
    const id = cameras.all()[0]!.id;
    const base = `switchboard/camera_${id}`;
    const config = JSON.parse((await ha.waitFor(`homeassistant/device/switchboard_camera_${id}/config`)).payload) as { cmps: Record<string, Json> };
    expect(cameras.get(id)!.motion).toBe(false);
    expect(config.cmps.motion).toMatchObject({ p: 'binary_sensor', device_class: 'motion', availability_mode: 'all' });
    expect(config.cmps.motion!.availability).toContainEqual({ topic: `${base}/motion_detection/state`, value_template: "{{ 'online' if value == 'ON' else 'offline' }}" });
    expect(config.cmps.motion_detection).toMatchObject({ p: 'switch', command_topic: `${base}/motion_detection/set` });
    expect(config.cmps.motion_threshold).toMatchObject({ p: 'number', entity_category: 'config', min: 1, max: 255 });
    expect(config.cmps.motion_min_area).toMatchObject({ p: 'number', entity_category: 'config', min: 0.1, max: 100, unit_of_measurement: '%' });
    await ha.waitFor(`${base}/motion_detection/state`, (p) => p === 'OFF');

    const from = ha.messages.length;
    await ha.publish(`${base}/motion_detection/set`, 'on');
    await ha.waitFor(`${base}/motion_detection/state`, (p) => p === 'ON', { from });
    // Detection runs: the sensor has a state from the detector (states go out before the switch's).
    expect(['ON', 'OFF']).toContain(ha.last(`${base}/motion/state`));
    expect(t.app.context.streams.info(id).motion).not.toBeNull();
    expect(cameras.get(id)!.motion).toBe(true);

    await ha.publish(`${base}/motion_threshold/set`, '40');
    await ha.waitFor(`${base}/motion_threshold/state`, (p) => p === '40', { from });
    await ha.publish(`${base}/motion_min_area/set`, '2.5');
    await ha.waitFor(`${base}/motion_min_area/state`, (p) => p === '2.5', { from });
    expect(cameras.get(id)).toMatchObject({ motion_threshold: 40, motion_min_area_percent: 2.5 });
    // Out of range: refused over MQTT and HTTP alike, nothing stored changes.
    for (const [key, payload] of [['motion_threshold', '0'], ['motion_threshold', '256'], ['motion_threshold', '4.5'], ['motion_min_area', '0'], ['motion_min_area', '101']] as const) {
      await ha.publish(`${base}/${key}/set`, payload);
    }
    const token = await t.login();
    const bad = await t.api('PUT', `/api/cameras/${id}`, token, { motion_threshold: 300 });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('between 1 and 255');
    expect((await t.api('PUT', `/api/cameras/${id}`, token, { motion_min_area_percent: 0 })).status).toBe(422);
    // A good command after the bad ones (same client, in order) shows they were handled.
    await ha.publish(`${base}/motion_threshold/set`, '41');
    await ha.waitFor(`${base}/motion_threshold/state`, (p) => p === '41', { from });
    expect(cameras.get(id)).toMatchObject({ motion_threshold: 41, motion_min_area_percent: 2.5 });

    await ha.publish(`${base}/motion_detection/set`, 'TOGGLE');
    await ha.waitFor(`${base}/motion_detection/state`, (p) => p === 'OFF', { from });
    expect(cameras.get(id)!.motion).toBe(false);
  }, 60_000);

  it('Take snapshot saves a JPEG in the camera’s readable media folder and tells its path on the Event entity', async () => {
    const cameras = t.app.context.cameras;
    const cam = cameras.all()[0]!;
    const base = `switchboard/camera_${cam.id}`;
    const from = ha.messages.length;
    await ha.publish(`${base}/snapshot/set`, 'PRESS');
    const saved = await ha.waitFor(`${base}/event/state`, (p) => JSON.parse(p).event_type === 'snapshotSaved', { from, ms: 30_000 });
    const details = JSON.parse(saved.payload) as { path: string; bytes: number };
    expect(details.path.startsWith(join(t.app.context.config.recording.media_dir, 'camera_1', 'snapshots') + '/')).toBe(true);
    const jpeg = readFileSync(details.path);
    expect(jpeg.length).toBe(details.bytes);
    expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    // The same news on the event mirror.
    await ha.waitFor(`switchboard/events/camera/${cam.id}/snapshotSaved`, () => true, { from });
  }, 60_000);

});
