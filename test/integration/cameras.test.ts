// The cameras module over HTTP against a whole server with simulated (vivid) cameras.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CID } from '../../src/camera/controlMapping.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

type Body = Record<string, unknown> & { items?: Record<string, unknown>[]; controls?: Record<string, unknown>; error?: { message: string; details: { path: string; message: string }[] } };

let t: TestApp;
let admin: string;
let user: string;
let viewer: string;

const call = async (method: string, path: string, token: string, body?: unknown) => {
  const res = await t.api(method, path, token, body);
  return { status: res.status, body: res.body as Body };
};

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login();
  user = (await t.createUser('camuser', 'user')).token;
  viewer = (await t.createUser('camviewer', 'viewer')).token;
});

afterAll(async () => {
  await t.stop();
});

describe('cameras module over HTTP', () => {
  it('lists and reads cameras for viewers, with controls, ranges and options', async () => {
    const list = await call('GET', '/api/cameras', viewer);
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);
    const cam = list.body.items![0]!;
    expect(cam).toMatchObject({ driver: 'simulated', device: 'simulated:0', exists: true, demanded: false, readers: 0, record: 'off' });
    expect(cam.controls).toMatchObject({ brightness: 50, resolution: '640x360', fps: 30, sensor: 1 });
    expect((cam.capabilities as { controls: Record<string, unknown> }).controls.brightness).toMatchObject({ minimum: 0, maximum: 255 });
    const read = await call('GET', `/api/cameras/${String(cam.id)}`, viewer);
    expect(read.body.id).toBe(cam.id);
    expect((await call('GET', '/api/cameras/nope', viewer)).status).toBe(404);
    expect((await call('GET', '/api/health', viewer)).body.components).toMatchObject({ cameras: { state: 'ok', detail: '1 of 1 connected' } });
  });

  it('updates settings for users, scaled to the device, and refuses viewers', async () => {
    const id = String((await call('GET', '/api/cameras', viewer)).body.items![0]!.id);
    expect((await call('PUT', `/api/cameras/${id}`, viewer, { controls: { brightness: 60 } })).status).toBe(403);
    const res = await call('PUT', `/api/cameras/${id}`, user, { name: 'Bench', controls: { brightness: 100, contrast: 0, 'auto-exposure': false, fps: 15 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Bench', controls: { brightness: 100, contrast: 0, 'auto-exposure': false, fps: 15 } });
    // The simulated device really holds the scaled values.
    const dev = t.app.context.cameras.all()[0]!;
    expect(dev.controls.brightness).toBe(100);
    // Hue: 0–100 like the others, vivid's −128..128 on the device (50 is its default, 0).
    const hue = await call('PUT', `/api/cameras/${id}`, user, { controls: { hue: 75 } });
    expect(hue.status).toBe(200);
    expect(hue.body.controls).toMatchObject({ hue: 75 });
    expect((hue.body.capabilities as { controls: Record<string, unknown> }).controls.hue).toMatchObject({ v4l2_id: CID.HUE, minimum: -128, maximum: 128, default: 0 });
  });

  it('rejects invalid updates with 422 and the path of each problem, changing nothing', async () => {
    const id = String((await call('GET', '/api/cameras', viewer)).body.items![0]!.id);
    const before = (await call('GET', `/api/cameras/${id}`, viewer)).body;
    const bad = await call('PUT', `/api/cameras/${id}`, user, { name: 'X', controls: { brightness: 150, colour: 3 }, extra: true });
    expect(bad.status).toBe(422);
    expect(bad.body.error?.details).toEqual(expect.arrayContaining([
      { path: 'payload.controls.brightness', message: 'Value must be between 0 and 100' },
      { path: 'payload.controls', message: 'unknown key: colour' },
      { path: 'payload', message: 'unknown key: extra' },
    ]));
    const unsupported = await call('PUT', `/api/cameras/${id}`, user, { name: 'X', controls: { sharpness: 10 } });
    expect(unsupported.status).toBe(422);
    expect(unsupported.body.error?.details).toEqual([{ path: 'payload.controls.sharpness', message: 'This camera has no such control' }]);
    expect((await call('PUT', `/api/cameras/${id}`, user, { slot: 3 })).status).toBe(422);
    expect((await call('PUT', `/api/cameras/${id}`, user, { light_entity: 'switch.x' })).status).toBe(422);
    for (const value of [101, -1, 50.5, '60', null]) {
      const hue = await call('PUT', `/api/cameras/${id}`, user, { controls: { hue: value } });
      expect(hue.status).toBe(422);
      expect(hue.body.error?.details[0]).toMatchObject({ path: 'payload.controls.hue', message: expect.stringMatching(/^Value must be (an integer )?between 0 and 100$/) as unknown });
    }
    // The NestMTX update answers with its own error shape; nothing changes either.
    const socket = io(t.url, { auth: { token: user }, transports: ['websocket'] });
    try {
      const reply = new Promise<{ error?: { message: string; details: unknown[] } }>((resolve) => socket.once('hue-req', resolve));
      socket.emit('request', { requestId: 'hue-req', command: 'update', module: 'cameras', entity: id, payload: { controls: { hue: 150 } } });
      expect((await reply).error).toMatchObject({ details: [{ path: 'payload.controls.hue', message: 'Value must be between 0 and 100' }] });
    } finally {
      socket.disconnect();
    }
    expect((await call('GET', `/api/cameras/${id}`, viewer)).body).toEqual(before);
  });

  it('shows the formats, sizes and frame rates the device offers, and refuses a rate the size lacks over HTTP and NestMTX', async () => {
    const cam = (await call('GET', '/api/cameras', viewer)).body.items![0]!;
    const id = String(cam.id);
    expect(cam.format).toEqual({ fourcc: 'YUYV', width: 640, height: 360 });
    const formats = cam.formats as { fourcc: string; compressed: boolean; sizes: { width: number; height: number; fps: number[] }[] }[];
    expect(formats[0]).toMatchObject({ fourcc: 'YUYV', compressed: false });
    expect(formats[0]!.sizes.find((s) => s.width === 1920)?.fps).toEqual([1, 2, 4, 5]);
    const before = (await call('GET', `/api/cameras/${id}`, viewer)).body;
    const bad = await call('PUT', `/api/cameras/${id}`, user, { controls: { resolution: '1920x1080', fps: 30 } });
    expect(bad.status).toBe(422);
    expect(bad.body.error?.details).toEqual([{ path: 'payload.controls.fps', message: 'This camera does not offer 30 fps at 1920x1080; choose one of 1, 2, 4, 5' }]);
    const socket = io(t.url, { auth: { token: user }, transports: ['websocket'] });
    try {
      const reply = new Promise<{ error?: { message: string; details: unknown[] } }>((resolve) => socket.once('fps-req', resolve));
      socket.emit('request', { requestId: 'fps-req', command: 'update', module: 'cameras', entity: id, payload: { controls: { fps: 60 } } });
      expect((await reply).error).toMatchObject({ message: 'Invalid camera settings', details: [{ path: 'payload.controls.fps', message: 'This camera does not offer 60 fps at 640x360; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40' }] });
    } finally {
      socket.disconnect();
    }
    expect((await call('GET', `/api/cameras/${id}`, viewer)).body).toEqual(before);
  });

  it('holds the stream on through the Stream switch for users only, and reports the health of a switched-off camera as ok', async () => {
    const id = String((await call('GET', '/api/cameras', viewer)).body.items![0]!.id);
    expect((await t.api('PUT', `/api/cameras/${id}`, '', { stream: true })).status).toBe(401);
    expect((await call('PUT', `/api/cameras/${id}`, 'revoked-or-forged-token', { stream: true })).status).toBe(401);
    expect((await call('PUT', `/api/cameras/${id}`, viewer, { stream: true })).status).toBe(403);
    expect((await call('PUT', `/api/cameras/${id}`, user, { stream: 'yes' })).body.error?.details).toEqual([{ path: 'payload.stream', message: 'Value must be true or false' }]);
    expect((await call('GET', `/api/cameras/${id}`, viewer)).body).toMatchObject({ demanded: false, readers: 0 });
    const held = await call('PUT', `/api/cameras/${id}`, user, { stream: true });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ demanded: true, reader_list: [{ type: 'switch', id: 'stream' }] });
    // Holding twice is one hold.
    expect((await call('PUT', `/api/cameras/${id}`, user, { stream: true })).body).toMatchObject({ readers: 1 });

    // Switched off: still held, health ok with the camera listed off; changes are a conflict (409).
    expect((await call('PUT', `/api/cameras/${id}`, user, { enabled: false })).body).toMatchObject({ enabled: false, demanded: true });
    const health = await call('GET', '/api/health', viewer);
    expect(health.body).toMatchObject({ status: 'ok', components: { cameras: { state: 'ok', detail: expect.stringMatching(/^switched off: /) } } });
    const refused = await call('PUT', `/api/cameras/${id}`, user, { stream: false });
    expect([refused.status, refused.body.error?.message]).toEqual([409, expect.stringMatching(/is switched off; switch it on first$/)]);
    expect((await call('PUT', `/api/cameras/${id}`, user, { enabled: true })).status).toBe(200);
    await expect.poll(async () => (await call('GET', `/api/cameras/${id}`, viewer)).body.exists, { timeout: 15_000 }).toBe(true);
    expect((await call('GET', `/api/cameras/${id}`, viewer)).body).toMatchObject({ demanded: true, reader_list: [{ type: 'switch', id: 'stream' }] });
    expect((await call('GET', '/api/health', viewer)).body.components).toMatchObject({ cameras: { state: 'ok', detail: '1 of 1 connected' } });
    expect((await call('PUT', `/api/cameras/${id}`, user, { stream: false })).body).toMatchObject({ demanded: false, readers: 0 });
  });

  it('lets admins add and delete simulated cameras, and v4l2 cameras by device path', async () => {
    expect((await call('POST', '/api/cameras', user, { name: 'Nope' })).status).toBe(403);
    const created = await call('POST', '/api/cameras', admin, { name: 'Second', slot: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Second', driver: 'simulated', device: 'simulated:1', slot: 2, exists: true, origin: 'manual' });
    expect((await call('GET', '/api/cameras?search=second', viewer)).body.total).toBe(1);
    expect((await call('GET', '/api/cameras?sortBy=-name', viewer)).body.items!.map((c) => c.name)).toEqual(['Second', 'Bench']);
    expect((await call('POST', '/api/cameras', admin, { driver: 'v4l2' })).body.error?.details).toEqual([{ path: 'payload.device', message: 'required for v4l2 cameras' }]);
    const manual = await call('POST', '/api/cameras', admin, { driver: 'v4l2', device: '/dev/video99', name: 'Spare' });
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ driver: 'v4l2', device: '/dev/video99', exists: false });
    expect((await call('POST', '/api/cameras', admin, { driver: 'v4l2', device: '/dev/video99' })).status).toBe(409);
    const absent = await call('PUT', `/api/cameras/${String(manual.body.id)}`, user, { controls: { brightness: 5 } });
    expect(absent.status).toBe(503);
    expect(absent.body.error?.message).toBe('Camera "Spare" is not connected');
    expect((await call('DELETE', `/api/cameras/${String(created.body.id)}`, user)).status).toBe(403);
    for (const c of [created, manual]) expect((await call('DELETE', `/api/cameras/${String(c.body.id)}`, admin)).status).toBe(200);
    expect((await call('GET', `/api/cameras/${String(created.body.id)}`, viewer)).status).toBe(404);
  });
});

describe('camera settings across restarts', () => {
  it('keeps each camera and restores its last settings on the device', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cameras-restart-'));
    try {
      const first = await startTestApp({}, { dataDir });
      const token = await first.login();
      const cam = first.app.context.cameras.all()[0]!;
      await fetch(`${first.url}/api/cameras/${cam.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ controls: { brightness: 80, resolution: '320x180', fps: 60 } }) });
      await first.stop();
      const second = await startTestApp({}, { dataDir });
      try {
        const again = second.app.context.cameras.all();
        expect(again.map((c) => c.id)).toEqual([cam.id]);
        expect(again[0]!.controls).toMatchObject({ brightness: 80, resolution: '320x180', fps: 60 });
        // The new process's simulated device started at vivid's defaults; the stored values were put back.
        expect(again[0]!.capabilities.controls.brightness?.v4l2_id).toBe(CID.BRIGHTNESS);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
