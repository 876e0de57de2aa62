// The MQTT bridge's pure parts: command payload parsers, topic layout, broker selection from config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { redact, resolveBroker } from '../../src/bridges/mqtt/brokerTarget.js';
import { buildDeviceConfig, retainedStateTopics } from '../../src/bridges/mqtt/discovery.js';
import { bindTable, type DeviceTable } from '../../src/bridges/mqtt/entities.js';
import { parseDecimal, parseInteger, parseOnOff, parseOption, parsePress, parseSwitch, parseText } from '../../src/bridges/mqtt/payloads.js';
import { RefusalLimiter } from '../../src/bridges/mqtt/refusals.js';
import { deviceIdOf, Topics } from '../../src/bridges/mqtt/topics.js';
import { mqttSchema } from '../../src/config/schema.js';
import { AppError } from '../../src/core/errors.js';
import { thrownBy } from '../helpers/thrown.js';

const logger = pino({ level: 'silent' });
const noFetch = (() => {
  throw new Error('must not be called');
}) as unknown as typeof fetch;

function problem(fn: () => unknown): string {
  const err = thrownBy(AppError, fn);
  expect(err.kind).toBe('validation');
  return err.details[0]!.message;
}

describe('command payload parsers', () => {
  it('accept what HA and hand-written automations send and refuse everything else with a reason', () => {
    expect(parseOnOff('ON')).toBe(true);
    expect(parseOnOff('OFF')).toBe(false);
    expect(parseOnOff('on')).toBe(true);
    expect(parseOnOff(' Off\n')).toBe(false);
    expect(problem(() => parseOnOff('1'))).toBe('expected "ON", "OFF" or "TOGGLE"');
    expect(problem(() => parseOnOff('TOGGLE'))).toBe('expected "ON", "OFF" or "TOGGLE"');
    expect(parseSwitch('TOGGLE', false)).toBe(true);
    expect(parseSwitch('toggle', true)).toBe(false);
    expect(parseSwitch('on', true)).toBe(true);
    expect(problem(() => parseSwitch('flip', true))).toBe('expected "ON", "OFF" or "TOGGLE"');
    expect(parseDecimal('2.5', 0.1, 100)).toBe(2.5);
    expect(parseDecimal('100', 0.1, 100)).toBe(100);
    expect(problem(() => parseDecimal('0', 0.1, 100))).toBe('expected a number from 0.1 to 100');
    expect(problem(() => parseDecimal('NaN', 0.1, 100))).toBe('expected a number');
    expect(() => parsePress('PRESS')).not.toThrow();
    expect(problem(() => parsePress(''))).toBe('expected "PRESS"');
    expect(parseInteger('60', 0, 100)).toBe(60);
    expect(parseInteger('60.0', 0, 100)).toBe(60);
    expect(parseInteger(' 0 ', 0, 100)).toBe(0);
    expect(problem(() => parseInteger('60.5', 0, 100))).toBe('expected a whole number');
    expect(problem(() => parseInteger('101', 0, 100))).toBe('expected a number from 0 to 100');
    expect(problem(() => parseInteger('1e2', 0, 100))).toBe('expected a number');
    expect(problem(() => parseInteger('', 0, 100))).toBe('expected a number');
    expect(parseOption('640x480', ['640x480', '1280x720'])).toBe('640x480');
    expect(problem(() => parseOption('1x1', ['640x480']))).toBe('expected one of: 640x480');
    expect(parseText('pump on', 255)).toBe('pump on');
    expect(problem(() => parseText('', 255))).toBe('expected a non-empty text');
    expect(problem(() => parseText('abc', 2))).toBe('expected at most 2 characters');
    expect(problem(() => parseText('a\u0000b', 10))).toBe('control characters are not allowed');
  });
});

describe('refused commands are told at most once a window per topic, with a count', () => {
  const limits = { windowMs: 60_000, maxReportsPerWindow: 3, maxTracked: 5 };

  it('tells the first refusal on a topic, counts the rest of the window, and tells their number when the window is over', () => {
    let now = 0;
    const limiter = new RefusalLimiter<string>(limits, () => now);
    expect(limiter.note('a/set', 'first')).toEqual({ topic: 'a/set', count: 1, last: 'first' });
    for (let i = 0; i < 4999; i++) expect(limiter.note('a/set', `n${i}`)).toBeNull();
    now = 59_999;
    expect(limiter.flush()).toEqual({ reports: [], untold: 0 });
    now = 60_000;
    expect(limiter.flush()).toEqual({ reports: [{ topic: 'a/set', count: 4999, last: 'n4998' }], untold: 0 });
    expect(limiter.tracked).toBe(0);
    // A new refusal after the summary starts a fresh count.
    expect(limiter.note('a/set', 'again')).toEqual({ topic: 'a/set', count: 1, last: 'again' });
  });

  it('a refusal after the quiet time carries the count of those refused meanwhile', () => {
    let now = 0;
    const limiter = new RefusalLimiter<string>(limits, () => now);
    limiter.note('a/set', 'x');
    limiter.note('a/set', 'y');
    limiter.note('a/set', 'z');
    now = 61_000;
    expect(limiter.note('a/set', 'w')).toEqual({ topic: 'a/set', count: 3, last: 'w' });
  });

  it('many made-up topics: a few are told, the rest counted; what is remembered stays bounded', () => {
    let now = 0;
    const limiter = new RefusalLimiter<string>(limits, () => now);
    const told = Array.from({ length: 5000 }, (_, i) => limiter.note(`nope${i}/x/set`, 'unknown')).filter(Boolean);
    expect(told.map((r) => r!.topic)).toEqual(['nope0/x/set', 'nope1/x/set', 'nope2/x/set']);
    expect(limiter.tracked).toBeLessThanOrEqual(limits.maxTracked);
    now = 60_000;
    expect(limiter.flush()).toEqual({ reports: [], untold: 4997 });
    expect(limiter.flush()).toEqual({ reports: [], untold: 0 });
  });
});

describe('topics', () => {
  const topics = new Topics('switchboard', 'homeassistant');

  it('lays out discovery, state, command and mirror topics; ids are topic-safe', () => {
    const dev = deviceIdOf('camera', 'a/b+c#d');
    expect(dev).toBe('camera_a_b_c_d');
    expect(topics.discovery(dev)).toBe('homeassistant/device/switchboard_camera_a_b_c_d/config');
    expect(topics.uniqueId(dev, 'brightness')).toBe('switchboard_camera_a_b_c_d_brightness');
    expect(topics.state(dev, 'brightness')).toBe('switchboard/camera_a_b_c_d/brightness/state');
    expect(topics.command(dev, 'brightness')).toBe('switchboard/camera_a_b_c_d/brightness/set');
    expect(topics.eventMirror('monitor', 'm/1', 'commandDone')).toBe('switchboard/events/monitor/m_1/commandDone');
    expect(topics.eventMirror('camera', null, 'state')).toBe('switchboard/events/camera/_/state');
  });

  it('parses only its own command and discovery topics', () => {
    expect(topics.parseCommand('switchboard/camera_x/light/set')).toEqual({ deviceId: 'camera_x', key: 'light' });
    expect(topics.parseCommand('switchboard/camera_x/light/state')).toBeNull();
    expect(topics.parseCommand('switchboard/camera_x/light/set/more')).toBeNull();
    expect(topics.parseCommand('other/camera_x/light/set')).toBeNull();
    expect(topics.parseDiscovery('homeassistant/device/switchboard_camera_x/config')).toBe('camera_x');
    expect(topics.parseDiscovery('homeassistant/device/zigbee2mqtt_0x1/config')).toBeNull();
    const nested = new Topics('home/switchboard', 'ha');
    expect(nested.idPrefix).toBe('home_switchboard');
    expect(nested.parseCommand('home/switchboard/monitor_1/command/set')).toEqual({ deviceId: 'monitor_1', key: 'command' });
  });
});

describe('broker selection', () => {
  it('disabled, embedded and a URL with credentials and a CA file', async () => {
    expect(await resolveBroker(mqttSchema.parse({ url: 'disabled' }), { env: {}, fetch: noFetch, logger })).toEqual({ kind: 'disabled' });
    expect(await resolveBroker(mqttSchema.parse({ url: 'embedded', embedded_port: 0 }), { env: {}, fetch: noFetch, logger })).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-ca-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), 'PEM');
      const target = await resolveBroker(mqttSchema.parse({ url: 'mqtts://broker:8883', username: 'u', password: 'p', ca_file: join(dir, 'ca.pem'), reject_unauthorized: false }), { env: {}, fetch: noFetch, logger });
      expect(target).toEqual({ kind: 'remote', url: 'mqtts://broker:8883', username: 'u', password: 'p', ca: Buffer.from('PEM'), rejectUnauthorized: false, source: 'config' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('auto outside the add-on (no SUPERVISOR_TOKEN) falls back to the embedded broker', async () => {
    expect(await resolveBroker(mqttSchema.parse({ url: 'auto' }), { env: {}, fetch: noFetch, logger })).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 1883 });
  });

  it('auto: an unexpected Supervisor answer falls back too; ssl answers become mqtts://', async () => {
    const answer = (body: unknown) => (async () => new Response(JSON.stringify(body), { status: 200 })) as unknown as typeof fetch;
    const env = { SUPERVISOR_TOKEN: 't' };
    expect(await resolveBroker(mqttSchema.parse({ url: 'auto' }), { env, fetch: answer({ result: 'ok', data: {} }), logger })).toMatchObject({ kind: 'embedded' });
    expect(await resolveBroker(mqttSchema.parse({ url: 'auto' }), { env, fetch: answer({ result: 'ok', data: { host: 'core-mosquitto', port: 8883, ssl: true, username: 'addons', password: 'x' } }), logger })).toEqual({
      kind: 'remote', url: 'mqtts://core-mosquitto:8883', username: 'addons', password: 'x', rejectUnauthorized: true, source: 'supervisor',
    });
  });

  it('redacts credentials in URLs for logs and health', () => {
    expect(redact('mqtt://user:pass@broker:1883')).toBe('mqtt://***@broker:1883');
    expect(redact('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});

describe('entity facets (a light with brightness)', () => {
  type Lamp = { id: string; on: boolean; level: number | null };
  const table: DeviceTable<Lamp> = {
    kind: 'lamp',
    domains: ['camera'],
    list: () => [{ id: 'a', on: true, level: 40 }, { id: 'b', on: false, level: null }],
    id: (l) => l.id,
    device: (l) => ({ name: `Lamp ${l.id}`, model: 'Lamp' }),
    rows: [{
      key: 'light',
      component: 'light',
      name: 'Light',
      state: (l) => (l.on ? 'ON' : 'OFF'),
      command: async () => undefined,
      facets: [{ name: 'brightness', applies: (l) => l.level !== null, state: (l) => String(l.level), command: async () => undefined }],
    }],
  };
  const topics = new Topics('sb', 'homeassistant');
  const [a, b] = bindTable(table, deviceIdOf).snapshot();
  const origin = { name: 'Switchboard', sw: '1', url: 'https://example.org' };

  it('adds <name>_state_topic and <name>_command_topic under the key <row>_<name>, and retains the facet state', () => {
    expect(buildDeviceConfig(a!, topics, origin, 'hub').cmps.light).toMatchObject({
      state_topic: 'sb/lamp_a/light/state',
      command_topic: 'sb/lamp_a/light/set',
      brightness_state_topic: 'sb/lamp_a/light_brightness/state',
      brightness_command_topic: 'sb/lamp_a/light_brightness/set',
    });
    expect([...retainedStateTopics(a!, topics)]).toEqual([['sb/lamp_a/light/state', 'ON'], ['sb/lamp_a/light_brightness/state', '40']]);
    expect(topics.parseCommand('sb/lamp_a/light_brightness/set')).toEqual({ deviceId: 'lamp_a', key: 'light_brightness' });
  });

  it('leaves the facet out where it does not apply', () => {
    const light = buildDeviceConfig(b!, topics, origin, 'hub').cmps.light!;
    expect(Object.keys(light).filter((k) => k.startsWith('brightness'))).toEqual([]);
    expect([...retainedStateTopics(b!, topics).keys()]).toEqual(['sb/lamp_b/light/state']);
  });
});
