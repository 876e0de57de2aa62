// A camera change while the data store sits on a full disk, over every protocol that changes
// cameras: refused in the protocol's own error shape, and the device and the store both keep the
// value they had (the device is put back when the store refuses). Each protocol meets the disk
// full twice: first when nobody knows yet (the store write itself fails, after the device took the
// value), then when the store already knows (refused before the device). Needs root for mount(8).
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CameraRecord } from '../../src/camera/cameraRecord.js';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { canMount, fill, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { until } from '../helpers/wait.js';

if (!canMount) console.warn('cameraChangeFullDisk.test.ts skipped: mounting a tmpfs needs root (CI runs as root)');

type Json = Record<string, unknown>;

describe.skipIf(!canMount)('camera changes with the data store on a full disk', () => {
  let mount: string;
  let t: TestApp;
  let mqtt: Recorder;
  let admin: string;
  let cameraId: string;
  const logLines: Json[] = [];
  const cameraEvents: DomainEvent[] = [];
  const filler = () => join(mount, 'filler.bin');

  beforeAll(async () => {
    mount = mountTmpfs('switchboard-camfull-', '2m');
    t = await startTestApp(
      { mqtt: { url: 'embedded', embedded_port: 0 } },
      // A short refusal-log window: each MQTT attempt below waits for its own log line.
      { dataDir: mount, keepData: true, logOut: (line) => logLines.push(JSON.parse(line) as Json), mqttRefusalLimits: { windowMs: 20, maxReportsPerWindow: 100, maxTracked: 100 } },
    );
    const login = t.app.context.mqtt.embeddedBroker()!;
    mqtt = await Recorder.connect(`mqtt://${login.username}:${login.password}@127.0.0.1:${t.app.ports().mqtt}`, ['switchboard/#']);
    admin = await t.login();
    cameraId = t.app.context.cameras!.all()[0]!.id;
    await until('the camera is connected', () => t.app.context.cameras!.get(cameraId)?.exists);
    await mqtt.waitFor(`switchboard/camera_${cameraId}/brightness/state`);
    t.app.context.bus.subscribe(cameraEvents, (e) => cameraEvents.push(e), ['camera']);
  });

  afterAll(async () => {
    await mqtt?.close();
    await t?.stop();
    if (mount) unmountTmpfs(mount);
  });

  /** The brightness as the device holds it, read through the driver (a handle of its own). */
  const deviceBrightness = (): number => {
    const cam = t.app.context.cameras!.get(cameraId)!;
    const dev = t.app.context.simulatedCameras.open(cam.device);
    try {
      return dev.getControl(cam.capabilities.controls.brightness!.v4l2_id);
    } finally {
      dev.close();
    }
  };
  const storedBrightness = () => t.app.context.db.collection('cameras').get(cameraId)!.controls.brightness;
  const diskBrightness = () => (JSON.parse(readFileSync(join(mount, 'db.json'), 'utf8')) as { cameras: CameraRecord[] }).cameras.find((c) => c.id === cameraId)!.controls.brightness;

  const STORAGE_MESSAGE = /^Insufficient storage: The data store is full/;

  /** One attempt per protocol: each resolves once the protocol answered (or, MQTT, once the bridge logged the refusal). */
  const protocols: [string, (value: number) => Promise<void>][] = [
    [
      'HTTP',
      async (value) => {
        const res = await t.api('PUT', `/api/cameras/${cameraId}`, admin, { controls: { brightness: value } });
        expect(res.status).toBe(507);
        expect((res.body.error as { message: string }).message).toMatch(STORAGE_MESSAGE);
      },
    ],
    [
      'NestMTX',
      async (value) => {
        const socket = connectClient(t.url, { auth: { token: admin }, transports: ['websocket'], forceNew: true, reconnection: false });
        try {
          const reply = await new Promise<Json>((resolve) => {
            socket.once('full-update', resolve);
            socket.emit('request', { command: 'update', module: 'cameras', requestId: 'full-update', entity: cameraId, payload: { controls: { brightness: value } } });
          });
          expect(reply).toMatchObject({ error: { message: expect.stringMatching(STORAGE_MESSAGE) } });
        } finally {
          socket.close();
        }
      },
    ],
    [
      'Rotoclear',
      async (value) => {
        const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
        const messages: Json[] = [];
        ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Json));
        try {
          await new Promise((resolve) => ws.once('open', resolve));
          ws.send(JSON.stringify({ token: admin }));
          await until('signed in', () => messages.some((m) => m.authenticated === true));
          ws.send(JSON.stringify({ brightness: value }));
          const error = await until('the error', () => messages.find((m) => 'error' in m));
          expect(error).toEqual({ error: 'Storage full', key: 'brightness', message: expect.stringMatching(/data store is full/) });
        } finally {
          ws.close();
        }
      },
    ],
    [
      'MQTT',
      async (value) => {
        const from = logLines.length;
        await mqtt.publish(`switchboard/camera_${cameraId}/brightness/set`, String(value));
        const line = await until('the refusal in the log', () => logLines.slice(from).find((l) => l.kind === 'storage' && String(l.topic).endsWith('/brightness/set')));
        expect(line).toMatchObject({ reason: expect.stringMatching(STORAGE_MESSAGE) });
      },
    ],
  ];

  for (const [name, attempt] of protocols) {
    it(`${name}: refused in its own error shape; device and store keep their value`, async () => {
      const device = deviceBrightness();
      const stored = storedBrightness();
      const onDisk = diskBrightness();
      expect(onDisk).toBe(stored);
      const target = stored === 20 ? 30 : 20;
      const events = cameraEvents.length;

      expect(fill(filler())).toBeGreaterThan(0);
      try {
        // Nothing has failed yet: the store learns of the full disk from this very change.
        expect(() => t.app.context.db.assertWritable()).not.toThrow();
        await attempt(target);
        expect(() => t.app.context.db.assertWritable()).toThrow(/data store is full/);
        await attempt(target);

        expect(deviceBrightness()).toBe(device);
        expect(storedBrightness()).toBe(stored);
        expect(t.app.context.cameras!.get(cameraId)!.controls.brightness).toBe(stored);
        expect(cameraEvents.slice(events).filter((e) => e.event === 'updated')).toEqual([]);
      } finally {
        unlinkSync(filler());
        await t.app.context.storage.probe();
      }
      expect(diskBrightness()).toBe(onDisk);

      // With space back the same change goes through: the refusals above were the disk, not the value.
      expect((await t.api('PUT', `/api/cameras/${cameraId}`, admin, { controls: { brightness: target } })).status).toBe(200);
      expect(deviceBrightness()).not.toBe(device);
      expect(storedBrightness()).toBe(target);
      expect(diskBrightness()).toBe(target);
    }, 60_000);
  }
});
