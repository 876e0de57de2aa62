// Long outages stay bounded: a real Mosquitto stopped while the add-on keeps producing events, and
// the Home Assistant peer taken away. The queue held for the broker never grows past its cap (the
// oldest go, counted), the heap stays flat, and on return the newest events arrive, the drops are
// reported, and what HA must show (a persistent notification) is sent.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaPeer } from '../helpers/haPeer.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';
const HA_TOKEN = 'ha-token-for-outage-tests';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};


describe.skipIf(SKIP)('long outages', () => {
  let broker: Mosquitto;
  let ha: HaPeer;
  let t: TestApp;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    ha = new HaPeer(HA_TOKEN);
    await ha.start();
    t = await startTestApp({ mqtt: { url: broker.url }, homeassistant: { enabled: true, url: ha.url, token: HA_TOKEN } });
    const health = () => t.app.context.status.health().components;
    await until("health().mqtt?.state === 'ok' && health().homeassistant?.state === 'ok'", () => health().mqtt?.state === 'ok' && health().homeassistant?.state === 'ok');
  });

  afterAll(async () => {
    await t?.stop();
    await broker?.destroy();
    await ha?.stop();
  });

  it('the broker away: the event queue stays at its cap, memory flat, newest delivered and drops reported on return', async () => {
    const mqtt = t.app.context.mqtt!;
    const bus = t.app.context.bus;
    const camera = t.app.context.cameras!.all()[0]!.id;
    await broker.stop();
    await until("t.app.context.status.health().components.mqtt?.state === 'disconnected'", () => t.app.context.status.health().components.mqtt?.state === 'disconnected');

    // An hour of a busy camera's events, in rounds: the heap after each round must not grow with them.
    const { capacity } = mqtt.queueStats();
    const ROUND = capacity * 5;
    const heaps: number[] = [];
    let n = 0;
    for (let round = 0; round < 6; round++) {
      ha.fired.splice(0);
      // A public event (only those leave the process), with no side effect on the camera.
      for (let i = 0; i < ROUND; i++) bus.publish('camera', camera, 'commandRefused', { command: 'brightness', reason: `viewer-${n++}-${'x'.repeat(500)}`, origin: 'test', count: 1 });
      expect(mqtt.queueStats().queued).toBe(capacity);
      // The HA peer runs in this process and records every fired event: that is the test's memory, not the add-on's.
      await until('ha.fired.length >= ROUND', () => ha.fired.length >= ROUND);
      ha.fired.splice(0);
      ha.received.splice(0);
      // HA answers in order on the one websocket: once a command sent after the fired events is
      // answered, so are they, and their pending requests are not counted.
      await t.app.context.homeassistant.command({ type: 'ping' });
      heaps.push(heapAfterGc());
    }
    expect(mqtt.queueStats().dropped).toBe(n - capacity);
    // Once the queue is full, further rounds add nothing that stays: a leak of the events would add
    // ≥ 3.5 MB a round (5000 × 700 B), ≥ 10 MB over the last four rounds; allow 8 MB of noise.
    const settled = heaps.slice(2);
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThan(8 * 1024 * 1024);

    await broker.run();
    const rec = await Recorder.connect(broker.url, []);
    const mirror = t.app.context.mqtt!.topics.eventMirror('camera', camera, 'commandRefused');
    await rec.client.subscribeAsync(mirror, { qos: 1 });
    await until("t.app.context.status.health().components.mqtt?.state === 'ok'", () => t.app.context.status.health().components.mqtt?.state === 'ok', 60_000);
    const newest = `viewer-${n - 1}-`;
    await rec.waitFor(mirror, (p) => p.includes(`"${newest}`), { ms: 20_000 });
    expect(rec.on(mirror).some((m) => m.payload.includes('"viewer-0-'))).toBe(false);
    expect(mqtt.queueStats()).toMatchObject({ queued: 0, dropped: 0 });
    expect(t.app.context.status.health().components.mqtt!.detail).toContain(`${n - capacity} events dropped while the broker was away`);
    await rec.close();
  }, 120_000);

  it('Home Assistant away: events are not held for it, what it must show is sent when it is back', async () => {
    const bus = t.app.context.bus;
    const camera = t.app.context.cameras!.all()[0]!.id;
    await ha.stop();
    await until("t.app.context.status.health().components.homeassistant?.state !== 'ok'", () => t.app.context.status.health().components.homeassistant?.state !== 'ok');
    const firedBefore = ha.fired.length;
    for (let i = 0; i < 5000; i++) bus.publish('camera', camera, 'commandRefused', { command: 'brightness', reason: `viewer-${i}`, origin: 'test', count: 1 });
    // A problem that needs a person, raised while HA is away (a monitor going offline).
    bus.publish('monitor', 'mon-1', 'offline', { monitor_id: 'desk', name: 'desk', reason: 'connection lost' });
    await ha.start();
    await until("t.app.context.status.health().components.homeassistant?.state === 'ok'", () => t.app.context.status.health().components.homeassistant?.state === 'ok', 60_000);
    await until("ha.notifications.has('switchboard_monitor_mon-1')", () => ha.notifications.has('switchboard_monitor_mon-1'));
    expect(t.app.context.status.health().components.homeassistant!.detail).toMatch(/5001 events not fired while it was away/);
    // Nothing from the outage was replayed onto HA's bus.
    expect(ha.fired.slice(firedBefore).some((f) => JSON.stringify(f).includes('viewer-1'))).toBe(false);
    bus.publish('camera', camera, 'commandRefused', { command: 'brightness', reason: 'after-return', origin: 'test', count: 1 });
    await until('the refusal reaches HA', () => ha.fired.some((f) => JSON.stringify(f).includes('after-return')));
  }, 120_000);
});
