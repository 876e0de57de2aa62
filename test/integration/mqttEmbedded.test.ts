// The MQTT bridge with the embedded aedes broker: the add-on's own broker, and the table-driven
// framework (every component kind, command routing, removal of components and devices, stale
// cleanup, the Supervisor's `auto` broker) with a test table on that broker.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttBridge } from '../../src/bridges/mqtt/index.js';
import { bindTable, type DeviceTable } from '../../src/bridges/mqtt/entities.js';
import { MqttBridge } from '../../src/bridges/mqtt/mqttBridge.js';
import { parseInteger, parseOnOff, parseOption, parsePress, parseText } from '../../src/bridges/mqtt/payloads.js';
import { deviceIdOf } from '../../src/bridges/mqtt/topics.js';
import { mqttSchema } from '../../src/config/schema.js';
import { EventBus } from '../../src/core/eventBus.js';
import { StatusService } from '../../src/services/system/statusService.js';
import { haProblems } from '../helpers/haDiscovery.js';
import { embeddedBrokerUrl, freePort, Recorder, retainedNow } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

interface Widget {
  id: string;
  name: string;
  on: boolean;
  level: number;
  mode: string;
  hasLevel: boolean;
  online: boolean;
  image?: Buffer;
}

const FAST = { birthDelayMs: 50, birthJitterMs: 0, sweepWindowMs: 300, claimWindowMs: 300, backoff: { baseMs: 100, maxMs: 500 } };

let t: TestApp;
let brokerUrl: string;
let ha: Recorder;

/** A device table over plain objects; commands are recorded and change the objects like a service would. */
function widgets(bus: EventBus, store: Map<string, Widget>, calls: string[]): DeviceTable<Widget> {
  // Like a service: the handler gets the object as last evaluated; the change applies to the current one.
  const changed = (w: Widget, patch: Partial<Widget>) => {
    store.set(w.id, { ...store.get(w.id)!, ...patch });
    bus.publish('lab', w.id, 'updated', { changes: patch });
  };
  return {
    kind: 'widget',
    domains: ['lab'],
    list: () => [...store.values()],
    id: (w) => w.id,
    device: (w) => ({ name: w.name, model: 'Widget' }),
    available: (w) => w.online,
    rows: [
      { key: 'image', component: 'camera', name: null, image: (w) => w.image },
      { key: 'on', component: 'binary_sensor', name: 'Powered', device_class: 'power', state: (w) => (w.on ? 'ON' : 'OFF') },
      { key: 'power', component: 'switch', name: 'Power', state: (w) => (w.on ? 'ON' : 'OFF'), command: async (w, p) => { calls.push(`power ${p}`); changed(w, { on: parseOnOff(p) }); } },
      {
        key: 'level', component: 'number', name: 'Level', entity_category: 'config', followsDevice: true,
        options: () => ({ min: 0, max: 100, step: 1 }), applies: (w) => w.hasLevel, state: (w) => String(w.level),
        command: async (w, p) => { const level = parseInteger(p, 0, 100); calls.push(`level ${level}`); changed(w, { level }); },
      },
      { key: 'mode', component: 'select', name: 'Mode', options: () => ({ options: ['a', 'b'] }), state: (w) => w.mode, command: async (w, p) => { const mode = parseOption(p, ['a', 'b']); calls.push(`mode ${mode}`); changed(w, { mode }); } },
      { key: 'poke', component: 'button', name: 'Poke', command: async (_w, p) => { parsePress(p); calls.push('poke'); } },
      { key: 'say', component: 'text', name: 'Say', options: () => ({ max: 20 }), command: async (_w, p) => { calls.push(`say ${parseText(p, 20)}`); } },
      { key: 'event', component: 'event', name: 'Event', events: ['updated', 'state'] },
    ],
  };
}

let bridges = 0;

function frameworkBridge(bus: EventBus, store: Map<string, Widget>, calls: string[], mqtt: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
  const status = new StatusService('9.9.9', bus);
  bridges += 1;
  const bridge = new MqttBridge({
    // Its own client id: the data dir is the test app's, whose bridge is on the same broker (the
    // broker drops one of two clients with the same id).
    config: mqttSchema.parse({ url: brokerUrl, base_topic: 'widgets', client_id: `widgets_test_${bridges}`, ...mqtt }),
    bus,
    status,
    logger: pino({ level: 'silent' }),
    version: '9.9.9',
    dataDir: t.dataDir,
    boundPorts: new Map(),
    sources: [bindTable(widgets(bus, store, calls), deviceIdOf)],
    hubDeviceId: 'hub',
    env,
    timing: FAST,
  });
  return { bridge, status };
}

beforeAll(async () => {
  t = await startTestApp({ mqtt: { url: 'embedded', embedded_port: 0 } });
  // The embedded broker requires credentials: the ones it generated in the data directory.
  brokerUrl = embeddedBrokerUrl(t);
  ha = await Recorder.connect(brokerUrl);
});

afterAll(async () => {
  await ha?.close();
  await t?.stop();
});

describe('embedded broker', () => {
  it('listens on a loopback port, recorded as the mqtt port, and carries the add-on device', async () => {
    expect(t.app.ports().mqtt).toBeGreaterThan(0);
    const topic = 'homeassistant/device/switchboard_addon_switchboard/config';
    await ha.waitFor('switchboard/addon_switchboard/health/state');
    const retained = await retainedNow(brokerUrl, '#');
    expect(haProblems(topic, JSON.parse(retained.get(topic)!))).toEqual([]);
    expect(retained.get('switchboard/bridge/state')).toBe('{"state":"online"}');
    expect(t.app.context.status.health().components.mqtt?.state).toBe('ok');
  });

  it('a taken embedded port leaves the add-on running with mqtt in "error"', async () => {
    const second = await startTestApp({ mqtt: { url: 'embedded', embedded_port: t.app.ports().mqtt } });
    try {
      expect(second.app.context.status.health().components.mqtt).toMatchObject({ state: 'error', detail: expect.stringContaining('EADDRINUSE') });
      expect((await fetch(`${second.url}/api/health`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('a disabled bridge reports "disabled" and publishes nothing', async () => {
    const off = await startTestApp({ mqtt: { url: 'disabled' } });
    try {
      expect(off.app.context.status.health().components.mqtt).toMatchObject({ state: 'disabled' });
      expect(off.app.ports().mqtt).toBeUndefined();
    } finally {
      await off.stop();
    }
  });
});

describe('table-driven entities on the embedded broker', () => {
  const bus = new EventBus();
  const store = new Map<string, Widget>();
  const calls: string[] = [];
  let bridge: MqttBridge;
  const w1: Widget = { id: 'w1', name: 'Widget one', on: false, level: 10, mode: 'a', hasLevel: true, online: true };

  beforeAll(async () => {
    store.set('w1', w1);
    ({ bridge } = frameworkBridge(bus, store, calls));
    await bridge.start();
    await ha.waitFor('widgets/widget_w1/level/state');
  });

  afterAll(async () => {
    await bridge.stop();
  });

  it('publishes the exact device payload, valid for HA', async () => {
    const topic = 'homeassistant/device/widgets_widget_w1/config';
    const cfg = await ha.waitFor(topic);
    expect(haProblems(topic, JSON.parse(cfg.payload))).toEqual([]);
    expect(JSON.parse(cfg.payload)).toMatchInlineSnapshot(`
      {
        "cmps": {
          "event": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "event_types": [
              "updated",
              "state",
            ],
            "name": "Event",
            "p": "event",
            "state_topic": "widgets/widget_w1/event/state",
            "unique_id": "widgets_widget_w1_event",
          },
          "image": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "name": null,
            "p": "camera",
            "topic": "widgets/widget_w1/image/state",
            "unique_id": "widgets_widget_w1_image",
          },
          "level": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
              {
                "topic": "widgets/widget_w1/availability",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "availability_mode": "all",
            "command_topic": "widgets/widget_w1/level/set",
            "entity_category": "config",
            "max": 100,
            "min": 0,
            "name": "Level",
            "p": "number",
            "state_topic": "widgets/widget_w1/level/state",
            "step": 1,
            "unique_id": "widgets_widget_w1_level",
          },
          "mode": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "widgets/widget_w1/mode/set",
            "name": "Mode",
            "options": [
              "a",
              "b",
            ],
            "p": "select",
            "state_topic": "widgets/widget_w1/mode/state",
            "unique_id": "widgets_widget_w1_mode",
          },
          "on": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "device_class": "power",
            "name": "Powered",
            "p": "binary_sensor",
            "state_topic": "widgets/widget_w1/on/state",
            "unique_id": "widgets_widget_w1_on",
          },
          "poke": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "widgets/widget_w1/poke/set",
            "name": "Poke",
            "p": "button",
            "unique_id": "widgets_widget_w1_poke",
          },
          "power": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "widgets/widget_w1/power/set",
            "name": "Power",
            "p": "switch",
            "state_topic": "widgets/widget_w1/power/state",
            "unique_id": "widgets_widget_w1_power",
          },
          "say": {
            "availability": [
              {
                "topic": "widgets/bridge/state",
                "value_template": "{{ value_json.state }}",
              },
            ],
            "command_topic": "widgets/widget_w1/say/set",
            "max": 20,
            "name": "Say",
            "p": "text",
            "unique_id": "widgets_widget_w1_say",
          },
        },
        "dev": {
          "identifiers": [
            "widgets_widget_w1",
          ],
          "manufacturer": "Switchboard",
          "model": "Widget",
          "name": "Widget one",
          "sw_version": "9.9.9",
          "via_device": "widgets_hub",
        },
        "o": {
          "name": "Switchboard",
          "sw": "9.9.9",
          "url": "https://github.com/switchboard-ha/switchboard",
        },
      }
    `);
    const retained = await retainedNow(brokerUrl, 'widgets/#');
    expect(retained.get('widgets/widget_w1/availability')).toBe('{"state":"online"}');
    expect(retained.get('widgets/widget_w1/mode/state')).toBe('a');
    expect(retained.get('widgets/widget_w1/power/state')).toBe('OFF');
  });

  it('routes a command to every command entity; bad payloads never reach the handler', async () => {
    const from = ha.messages.length;
    const send = (key: string, payload: string) => ha.publish(`widgets/widget_w1/${key}/set`, payload);
    for (const [key, payload] of [['power', 'on'], ['power', 'TRUE'], ['level', '101'], ['level', '5.5'], ['level', 'abc'], ['mode', 'c'], ['poke', 'press'], ['say', ''], ['say', 'x'.repeat(21)], ['on', 'ON']]) {
      await send(key!, payload!);
    }
    await send('power', 'ON');
    await send('level', '42.0');
    await send('mode', 'b');
    await send('poke', 'PRESS');
    await send('say', 'hello');
    await expect.poll(() => calls.filter((c) => !c.startsWith('power ') || c === 'power ON')).toEqual(['power ON', 'level 42', 'mode b', 'poke', 'say hello']);
    // The switch handler saw its two bad payloads (and refused them): no state change came of them.
    expect(calls.filter((c) => c.startsWith('power '))).toEqual(['power on', 'power TRUE', 'power ON']);
    await ha.waitFor('widgets/widget_w1/power/state', (p) => p === 'ON', { from });
    await ha.waitFor('widgets/widget_w1/level/state', (p) => p === '42', { from });
    await ha.waitFor('widgets/widget_w1/mode/state', (p) => p === 'b', { from });
    expect(store.get('w1')).toMatchObject({ on: true, level: 42, mode: 'b' });
  });

  it('event entities get {event_type, ...details} unretained; the event mirror gets the bus event', async () => {
    const from = ha.messages.length;
    bus.publish('lab', 'w1', 'state', { owner: 'o', state: 1, nodes: [] });
    const ev = await ha.waitFor('widgets/widget_w1/event/state', (p) => JSON.parse(p).event_type === 'state', { from });
    expect(JSON.parse(ev.payload)).toEqual({ owner: 'o', state: 1, nodes: [], event_type: 'state', at: expect.any(String) });
    const mirror = await ha.waitFor('widgets/events/lab/w1/state', () => true, { from });
    expect(JSON.parse(mirror.payload)).toEqual({ domain: 'lab', entity: 'w1', event: 'state', details: { owner: 'o', state: 1, nodes: [] }, at: expect.any(String) });
  });

  it('publishes images as raw bytes, retained, when they change', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    store.set('w1', { ...store.get('w1')!, image: jpeg });
    bus.publish('lab', 'w1', 'updated', {});
    const img = await ha.waitFor('widgets/widget_w1/image/state');
    expect(Buffer.from(img.payload, 'utf8').length).toBeGreaterThan(0);
    const raw = await new Promise<Buffer>((resolve) => {
      void Recorder.connect(brokerUrl, []).then(async (r) => {
        r.client.on('message', (_topic, payload) => {
          resolve(payload);
          void r.close();
        });
        await r.client.subscribeAsync('widgets/widget_w1/image/state');
      });
    });
    expect(raw.equals(jpeg)).toBe(true);
  });

  it('follows the device availability; removes a component that no longer applies ({p} first, then without it)', async () => {
    const topic = 'homeassistant/device/widgets_widget_w1/config';
    let from = ha.messages.length;
    store.set('w1', { ...store.get('w1')!, online: false });
    bus.publish('lab', 'w1', 'updated', {});
    await ha.waitFor('widgets/widget_w1/availability', (p) => p === '{"state":"offline"}', { from });

    from = ha.messages.length;
    store.set('w1', { ...store.get('w1')!, hasLevel: false });
    bus.publish('lab', 'w1', 'updated', {});
    const reduced = await ha.waitFor(topic, (p) => JSON.parse(p).cmps.level?.p === 'number' && Object.keys(JSON.parse(p).cmps.level).length === 1, { from });
    const without = await ha.waitFor(topic, (p) => !('level' in JSON.parse(p).cmps), { from });
    expect(ha.messages.indexOf(reduced)).toBeLessThan(ha.messages.indexOf(without));
    expect(JSON.parse(reduced.payload).cmps.level).toEqual({ p: 'number' });
    expect(Object.keys(JSON.parse(without.payload).cmps)).toEqual(['image', 'on', 'power', 'mode', 'poke', 'say', 'event']);
    await ha.waitFor('widgets/widget_w1/level/state', (p) => p === '', { from });
    // The gone entity's command topic is no longer routed.
    await ha.publish('widgets/widget_w1/level/set', '7');
    await ha.publish('widgets/widget_w1/poke/set', 'PRESS');
    await expect.poll(() => calls.at(-1)).toBe('poke');
    expect(calls).not.toContain('level 7');
  });

  it('clears a device deleted while the bridge was away (stale retained config) on the next start', async () => {
    store.set('w2', { id: 'w2', name: 'Widget two', on: true, level: 1, mode: 'a', hasLevel: true, online: true });
    bus.publish('lab', 'w2', 'created', { owner: 'o', name: 'Widget two' });
    await ha.waitFor('widgets/widget_w2/power/state');
    await bridge.stop();
    store.delete('w2');
    // A retained command left on the broker must not replay when the bridge subscribes again.
    await ha.publish('widgets/widget_w1/say/set', 'replayed', true);
    const from = ha.messages.length;
    ({ bridge } = frameworkBridge(bus, store, calls));
    await bridge.start();
    await ha.waitFor('homeassistant/device/widgets_widget_w2/config', (p) => p === '', { from });
    await ha.waitFor('widgets/widget_w2/power/state', (p) => p === '', { from });
    await ha.publish('widgets/widget_w1/say/set', 'live');
    await expect.poll(() => calls.at(-1)).toBe('say live');
    expect(calls).not.toContain('say replayed');
    await ha.publish('widgets/widget_w1/say/set', '', true);
    // The existing device was republished, not cleared.
    expect(ha.on('homeassistant/device/widgets_widget_w1/config').slice(-1)[0]!.payload).not.toBe('');
  });

  it('removes a device whose object is deleted', async () => {
    const from = ha.messages.length;
    store.delete('w1');
    bus.publish('lab', 'w1', 'deleted', { owner: 'o' });
    await ha.waitFor('homeassistant/device/widgets_widget_w1/config', (p) => p === '', { from });
    await ha.waitFor('widgets/widget_w1/availability', (p) => p === '', { from });
  });
});

describe('broker outage', () => {
  it('keeps working while the broker is away, then republishes state and delivers the events it kept', async () => {
    const port = await freePort();
    // The bridge is refused until the test's own client listens again, so nothing it sends is missed.
    let admitBridge = true;
    const startBroker = async () => {
      const aedes = await Aedes.createBroker();
      aedes.authenticate = (client, _u, _p, done) => done(null, admitBridge || client.id.startsWith('test_'));
      const server = createNetServer(aedes.handle);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      return async () => {
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      };
    };
    const url = `mqtt://127.0.0.1:${port}`;
    let stopBroker = await startBroker();
    const bus = new EventBus();
    const store = new Map<string, Widget>([['w9', { id: 'w9', name: 'Widget nine', on: false, level: 5, mode: 'a', hasLevel: true, online: true }]]);
    const { bridge, status } = frameworkBridge(bus, store, [], { url, base_topic: 'outage' });
    const peer = await Recorder.connect(url, ['outage/#', 'homeassistant/device/+/config']);
    await bridge.start();
    try {
      await peer.waitFor('outage/widget_w9/level/state', (p) => p === '5');
      await stopBroker();
      await expect.poll(() => status.health().components.mqtt?.state).toBe('disconnected');
      // Changes while the broker is away: a state change and an event.
      store.set('w9', { ...store.get('w9')!, level: 77 });
      bus.publish('lab', 'w9', 'updated', { changes: { level: 77 } });
      bus.publish('lab', 'w9', 'state', { owner: 'outage', state: 1, nodes: [] });
      admitBridge = false;
      stopBroker = await startBroker();
      await expect.poll(() => peer.client.connected, { timeout: 10_000 }).toBe(true);
      await peer.client.subscribeAsync(['outage/#', 'homeassistant/device/+/config'], { qos: 1 });
      const from = peer.messages.length;
      admitBridge = true;
      await expect.poll(() => status.health().components.mqtt?.state, { timeout: 10_000 }).toBe('ok');
      await peer.waitFor('outage/bridge/state', (p) => p === '{"state":"online"}', { from });
      await peer.waitFor('homeassistant/device/outage_widget_w9/config', (p) => p !== '', { from });
      await peer.waitFor('outage/widget_w9/level/state', (p) => p === '77', { from });
      const kept = await peer.waitFor('outage/events/lab/w9/state', () => true, { from });
      expect(JSON.parse(kept.payload)).toMatchObject({ domain: 'lab', entity: 'w9', event: 'state', details: { owner: 'outage' } });
      // Only news is mirrored: the lab's `updated` (state, shown as entity states) never left, though it came first.
      expect(peer.on('outage/events/lab/w9/updated')).toEqual([]);
    } finally {
      await peer.close();
      await bridge.stop();
      await stopBroker();
    }
  });
});

describe('mqtt.url: auto (the Supervisor MQTT service)', () => {
  let supervisor: Server;
  let supervisorUrl: string;
  const seen: { url?: string; auth?: string }[] = [];
  let answer: () => { status: number; body: unknown } = () => ({ status: 500, body: {} });

  beforeAll(async () => {
    supervisor = createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      const a = answer();
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
    await new Promise<void>((resolve) => supervisor.listen(0, '127.0.0.1', resolve));
    supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => supervisor.close(() => resolve()));
  });

  it('asks the Supervisor with the token and connects to the broker it names', async () => {
    const port = t.app.ports().mqtt!;
    // The broker the Supervisor names is the embedded one, which takes only its own credentials.
    const { username, password } = t.app.context.mqtt.embeddedBroker()!;
    answer = () => ({ status: 200, body: { result: 'ok', data: { host: '127.0.0.1', port, ssl: false, protocol: '3.1.1', username, password } } });
    const bus = new EventBus();
    const { bridge, status } = frameworkBridge(bus, new Map(), [], { url: 'auto', base_topic: 'auto_test' }, { SUPERVISOR_TOKEN: 'sup-token', SUPERVISOR_URL: supervisorUrl });
    await bridge.start();
    try {
      await expect.poll(() => status.health().components.mqtt?.state).toBe('ok');
      expect(status.health().components.mqtt?.detail).toBe(`mqtt://127.0.0.1:${port}`);
      // The broker first, then the add-on's own info (its ingress slug is the devices' panel link).
      expect(seen.slice(-2)).toEqual([{ url: '/services/mqtt', auth: 'Bearer sup-token' }, { url: '/addons/self/info', auth: 'Bearer sup-token' }]);
      await ha.waitFor('auto_test/bridge/state', (p) => p === '{"state":"online"}');
    } finally {
      await bridge.stop();
    }
  });

  it('falls back to the embedded broker with a clear log line when the Supervisor has no MQTT service', async () => {
    answer = () => ({ status: 400, body: { result: 'error', message: 'No mqtt service' } });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const bus = new EventBus();
    const status = new StatusService('9.9.9', bus);
    const bridge = new MqttBridge({
      config: mqttSchema.parse({ url: 'auto', embedded_port: 0 }),
      bus,
      status,
      logger,
      version: '9.9.9',
      dataDir: t.dataDir,
      boundPorts: new Map(),
      sources: [],
      hubDeviceId: 'hub',
      env: { SUPERVISOR_TOKEN: 'sup-token', SUPERVISOR_URL: supervisorUrl },
      timing: FAST,
    });
    await bridge.start();
    try {
      await expect.poll(() => status.health().components.mqtt?.state).toBe('ok');
      const warn = lines.map((l) => JSON.parse(l) as { msg: string; reason?: string }).find((l) => l.msg.includes('using the embedded broker'));
      expect(warn?.reason).toContain('answered 400');
    } finally {
      await bridge.stop();
    }
  });

  it('the app wires the bridge through createMqttBridge (one extension named mqtt)', () => {
    const c = t.app.context;
    const bridge = createMqttBridge({ config: c.config.mqtt, dataDir: c.config.data_dir, bus: c.bus, status: c.status, logger: c.logger, cameras: c.cameras, streams: c.streams, liveViews: c.liveViews, credentials: c.credentials, monitors: c.monitors, monitorRelay: c.monitorRelay, boundPorts: c.boundPorts });
    expect(bridge.name).toBe('mqtt');
  });
});
