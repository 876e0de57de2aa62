import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../src/auth/records.js';
import { CameraService, STREAM_SWITCH_READER } from '../../src/camera/cameraService.js';
import { CID } from '../../src/camera/controlMapping.js';
import { videoNodesPresent } from '../../src/camera/driverLoader.js';
import { CameraDriverError, type CameraDevice, type CameraDriver } from '../../src/camera/driver.js';
import { SimulatedDriver } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { camerasSchema } from '../../src/config/schema.js';
import { AppError } from '../../src/core/errors.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { Database, type Collection } from '../../src/store/database.js';
import type { CameraRecord } from '../../src/camera/cameraRecord.js';
import { storageRefusal } from '../../src/services/system/storageHealth.js';
import { rejectionOf } from '../helpers/thrown.js';

const USER: Actor = { kind: 'user', userId: 'u1', username: 'user', role: 'user' };
const VIEWER: Actor = { kind: 'user', userId: 'v1', username: 'viewer', role: 'viewer' };
const logger = pino({ level: 'silent' });

/** Stands in for the V4L2 driver (whose own test runs against vivid in a VM): vivid-like devices at /dev paths that can be unplugged. */
class PluggableV4l2 implements CameraDriver {
  readonly name = 'v4l2' as const;
  readonly devices = new SimulatedDriver();
  discover() {
    return this.devices.discover();
  }
  open(path: string) {
    return this.devices.open(path);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(cameras: Record<string, unknown> = { simulated: 'always' }, v4l2: CameraDriver | null = null, extra: { v4l2NodesPresent?: () => boolean; loads?: string[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cameras-'));
  const db = Database.inDir(dir);
  await db.open();
  const bus = new EventBus();
  const events: DomainEvent[] = [];
  bus.subscribe(events, (e) => events.push(e), ['camera']);
  const simulated = new SimulatedDriver();
  const service = new CameraService({ cameras: db.collection('cameras'), bus, config: camerasSchema.parse(cameras), logger, simulated, loadV4l2: async () => (extra.loads?.push('v4l2'), v4l2), v4l2NodesPresent: extra.v4l2NodesPresent });
  await service.start();
  cleanups.push(async () => {
    await service.stop();
    await db.flush();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = () => service.all()[0]!;
  return { service, db, bus, events, simulated, first };
}

const appError = (p: Promise<unknown>): Promise<AppError> => rejectionOf(AppError, p);

describe('camera service', () => {
  it('adds a simulated camera and reads its settings in Rotoclear units', async () => {
    const { first, events } = await setup();
    const cam = first();
    expect(cam).toMatchObject({ driver: 'simulated', device: 'simulated:0', exists: true, slot: null, record: 'off', jpeg_quality: 80 });
    expect(cam.controls).toEqual({
      brightness: 50, contrast: 50, saturation: 50, hue: 50, sharpness: null, gain: 7, 'red-gain': null, 'blue-gain': null,
      'auto-exposure': true, 'auto-white-balance': null, 'noise-supression': null, resolution: '640x360', fps: 30, sensor: 1,
    });
    expect(cam.resolutions).toContain('1920x1080');
    expect(cam.fps_options).toEqual([1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40]);
    expect(cam.capabilities.controls.brightness).toMatchObject({ v4l2_key: 'brightness', minimum: 0, maximum: 255 });
    expect(cam.capabilities.controls.hue).toMatchObject({ v4l2_key: 'hue', minimum: -128, maximum: 128, default: 0 });
    expect(events.map((e) => e.event)).toEqual(['created', 'connected', 'updated']);
  });

  it('scales to the device range and back, and publishes one updated event with the changes', async () => {
    const { service, first, simulated, events } = await setup();
    const dev = simulated.open(first().device);
    events.length = 0;
    const view = await service.update(USER, first().id, { controls: { brightness: 75, contrast: 0, saturation: 100, hue: 25 } });
    expect([dev.getControl(CID.BRIGHTNESS), dev.getControl(CID.CONTRAST), dev.getControl(CID.SATURATION), dev.getControl(CID.HUE)]).toEqual([191, 0, 255, -64]);
    expect(view.controls).toMatchObject({ brightness: 75, contrast: 0, saturation: 100, hue: 25 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'updated', entity: first().id, details: { changes: { brightness: 75, contrast: 0, saturation: 100, hue: 25 } } });
    await service.update(USER, first().id, { controls: { 'auto-exposure': false, resolution: '1280x720', sensor: 3 } });
    expect([dev.getControl(CID.AUTOGAIN), dev.getFormat().width, dev.getInput()]).toEqual([0, 1280, 2]);
    expect(first().controls).toMatchObject({ 'auto-exposure': false, resolution: '1280x720', sensor: 3, fps: 12.5 });
  });

  it('rejects invalid or unsupported values and changes nothing', async () => {
    const { service, first, simulated, events, db } = await setup();
    const id = first().id;
    const dev = simulated.open(first().device);
    const before = structuredClone(db.collection('cameras').get(id));
    events.length = 0;
    const cases: [unknown, string, string][] = [
      [{ brightness: 60, contrast: 150 }, 'payload.controls.contrast', 'Value must be between 0 and 100'],
      [{ brightness: 60.5 }, 'payload.controls.brightness', 'Value must be an integer between 0 and 100'],
      [{ brightness: '60' }, 'payload.controls.brightness', 'Value must be an integer between 0 and 100'],
      [{ sharpness: 50 }, 'payload.controls.sharpness', 'This camera has no such control'],
      [{ resolution: '1000x1000', brightness: 10 }, 'payload.controls.resolution', 'Resolution not offered'],
      [{ resolution: 'big' }, 'payload.controls.resolution', 'Value must be a resolution like "1920x1080"'],
      [{ fps: 0 }, 'payload.controls.fps', 'Value must be a frame rate'],
      [{ fps: 20 }, 'payload.controls.fps', 'This camera does not offer 20 fps at 640x360; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40'],
      [{ sensor: 5 }, 'payload.controls.sensor', 'Value must be between 1 and 4'],
      [{ 'auto-exposure': 'maybe' }, 'payload.controls.auto-exposure', 'Value must be true or false'],
      [{ hue: 101 }, 'payload.controls.hue', 'Value must be between 0 and 100'],
      [{ hue: -1 }, 'payload.controls.hue', 'Value must be between 0 and 100'],
      [{ zoom: 5 }, 'payload.controls', 'unknown key: zoom'],
    ];
    for (const [input, path, message] of cases) {
      const err = await appError(service.update(USER, id, { controls: input }));
      expect(err.kind).toBe('validation');
      expect(err.details[0]?.path).toBe(path);
      expect(err.details[0]?.message).toContain(message);
    }
    // Applied steps are undone when a later one fails: 1280x720 offers no 30 fps.
    const err = await appError(service.update(USER, id, { controls: { brightness: 10, resolution: '1280x720', fps: 30 } }));
    expect(err.details[0]).toMatchObject({ path: 'payload.controls.fps' });
    expect(err.details[0]?.message).toContain('does not offer 30 fps at 1280x720');
    expect(dev.getFormat()).toMatchObject({ width: 640, height: 360 });
    expect(dev.getFrameRate()).toBe(30);
    expect(dev.getControl(CID.BRIGHTNESS)).toBe(128);
    expect(dev.getControl(CID.HUE)).toBe(0);
    expect(db.collection('cameras').get(id)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('exposes the formats, sizes and frame rates the device enumerates, and the current format', async () => {
    const { service, first } = await setup();
    const cam = first();
    expect(cam.format).toEqual({ fourcc: 'YUYV', width: 640, height: 360 });
    expect(cam.formats.map((f) => f.fourcc)).toEqual(['YUYV', 'UYVY', 'NV12', 'RGB3', 'GREY']);
    const yuyv = cam.formats[0]!;
    expect(yuyv).toMatchObject({ description: 'YUYV 4:2:2', compressed: false });
    // vivid: the largest sizes offer only the slowest intervals.
    expect(yuyv.sizes.find((s) => s.width === 640 && s.height === 360)?.fps).toEqual([1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40]);
    expect(yuyv.sizes.find((s) => s.width === 3840)?.fps).toEqual([1, 2]);
    const view = await service.update(USER, cam.id, { controls: { resolution: '1280x720' } });
    expect(view.format).toEqual({ fourcc: 'YUYV', width: 1280, height: 720 });
    expect(view.fps_options).toEqual([1, 2, 4, 5, 10, 12.5]);
    const viewer = await service.read(VIEWER, cam.id);
    expect(viewer.formats).toEqual(cam.formats);
  });

  it('checks a frame rate against the intervals of the requested size before touching the device', async () => {
    const { service, first, simulated, events } = await setup();
    const id = first().id;
    const dev = simulated.open(first().device);
    events.length = 0;
    const offered = await appError(service.update(USER, id, { controls: { fps: 60 } }));
    expect(offered.kind).toBe('validation');
    expect(offered.details).toEqual([{ path: 'payload.controls.fps', message: 'This camera does not offer 60 fps at 640x360; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40' }]);
    const atNewSize = await appError(service.update(USER, id, { controls: { resolution: '320x180', fps: 12, brightness: 0 } }));
    expect(atNewSize.details).toEqual([{ path: 'payload.controls.fps', message: 'This camera does not offer 12 fps at 320x180; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40, 50, 60' }]);
    expect([dev.getFormat().width, dev.getFrameRate(), dev.getControl(CID.BRIGHTNESS)]).toEqual([640, 30, 128]);
    expect(events).toEqual([]);
    await service.update(USER, id, { controls: { resolution: '320x180', fps: 60 } });
    expect([dev.getFormat().width, dev.getFrameRate()]).toEqual([320, 60]);
  });

  it('probes frame rates where the device cannot enumerate intervals', async () => {
    // A vivid-like device whose driver answers ENUM_FRAMEINTERVALS with ENOTTY: sizes come with no rates.
    class NoIntervals extends PluggableV4l2 {
      override open(path: string): CameraDevice {
        const dev = this.devices.open(path);
        return Object.assign(Object.create(dev) as CameraDevice, { listFormats: () => dev.listFormats().map((f) => ({ ...f, sizes: f.sizes.map((s) => ({ ...s, fps: [] })) })) });
      }
    }
    const v4l2 = new NoIntervals();
    v4l2.devices.add('/dev/video0');
    const { service, first } = await setup({ simulated: 'auto' }, v4l2);
    expect(first().formats[0]?.sizes[0]?.fps).toEqual([]);
    expect(first().fps_options).toEqual([5, 10, 15, 25, 30, 40]);
    const err = await appError(service.update(USER, first().id, { controls: { fps: 60 } }));
    expect(err.details[0]).toMatchObject({ path: 'payload.controls.fps', message: expect.stringContaining('does not offer 60 fps at 640x360') });
  });

  it('checks roles: viewers read, users change settings, admins create and delete', async () => {
    const { service, first } = await setup();
    expect((await service.read(VIEWER, first().id)).id).toBe(first().id);
    expect((await appError(service.update(VIEWER, first().id, { controls: { brightness: 1 } }))).kind).toBe('forbidden');
    expect((await appError(service.update(VIEWER, first().id, { name: 'x' }))).kind).toBe('forbidden');
    expect((await appError(service.create(USER, {}))).kind).toBe('forbidden');
    expect((await appError(service.delete(USER, first().id))).kind).toBe('forbidden');
    expect((await appError(service.read(VIEWER, 'nope'))).kind).toBe('not_found');
    const created = await service.create(SYSTEM_ACTOR, { name: 'Bench' });
    expect(created).toMatchObject({ name: 'Bench', driver: 'simulated', device: 'simulated:1', origin: 'manual', exists: true });
    await service.delete(SYSTEM_ACTOR, created.id);
    expect(service.get(created.id)).toBeUndefined();
  });

  it('updates name, slot, light binding and controls in one validated change', async () => {
    const { service, first, events } = await setup();
    const second = await service.create(SYSTEM_ACTOR, { name: 'Second' });
    expect(service.bySlot(1)?.id).toBe(first().id);
    expect(service.bySlot(2)?.id).toBe(second.id);
    events.length = 0;
    const bad = await appError(service.update(USER, first().id, { name: 'Front', controls: { brightness: 101 } }));
    expect(bad.details[0]?.path).toBe('payload.controls.brightness');
    expect(first().name).toBe('Camera 1');
    expect(events).toEqual([]);
    const view = await service.update(USER, second.id, { name: 'Top', slot: 1, light_entity: 'light.bench', light: true, controls: { gain: 100 } });
    expect(view).toMatchObject({ name: 'Top', slot: 1, light_entity: 'light.bench', light: true });
    expect(view.controls.gain).toBe(100);
    expect(service.bySlot(1)?.id).toBe(second.id);
    expect(service.bySlot(2)?.id).toBe(first().id);
    expect(events.at(-1)?.details).toEqual({ changes: { name: 'Top', slot: 1, light_entity: 'light.bench', light: true, gain: 100 } });
    await service.update(USER, first().id, { slot: 1 }); // takes the slot over
    expect(service.get(second.id)?.slot).toBeNull();
    expect(service.bySlot(1)?.id).toBe(first().id);
  });

  it('keeps recording, snapshot and JPEG quality as state with the Rotoclear transitions', async () => {
    const { service, first, events } = await setup();
    const id = first().id;
    expect((await appError(service.update(USER, id, { record: 'pause' }))).details[0]?.message).toBe('Recording is not running');
    expect((await service.update(USER, id, { record: true })).record).toBe('on');
    expect((await service.update(USER, id, { record: 'pause' })).record).toBe('pause');
    expect((await service.update(USER, id, { record: 'pause_release' })).record).toBe('on');
    expect((await appError(service.update(USER, id, { record: 'pause_release' }))).details[0]?.message).toBe('Recording is not paused');
    expect((await service.update(USER, id, { record: 'off' })).record).toBe('off');
    expect((await appError(service.update(USER, id, { record: 'start' }))).kind).toBe('validation');
    events.length = 0;
    await service.update(USER, id, { snap: true, 'jpeg-quality': 55 });
    expect(events).toHaveLength(1);
    expect(events[0]?.details).toEqual({ changes: { snap: true, 'jpeg-quality': 55 } });
    expect(first().jpeg_quality).toBe(55);
    expect((await appError(service.update(USER, id, { 'jpeg-quality': 101 }))).details[0]?.message).toBe('Value must be between 0 and 100');
  });

  it('keeps a camera\'s own motion sensitivity, and null goes back to the add-on\'s setting', async () => {
    const { service, first, events, db } = await setup({ simulated: 'always', motion_threshold: 30, motion_min_area_percent: 2 });
    const id = first().id;
    expect(first()).toMatchObject({ motion_threshold: 30, motion_min_area_percent: 2 });
    await service.update(USER, id, { motion_threshold: 60, motion_min_area_percent: 5.5 });
    expect(first()).toMatchObject({ motion_threshold: 60, motion_min_area_percent: 5.5 });
    events.length = 0;
    await service.update(USER, id, { motion_threshold: null, motion_min_area_percent: null });
    expect(first()).toMatchObject({ motion_threshold: 30, motion_min_area_percent: 2 });
    expect(db.collection('cameras').get(id)).toMatchObject({ motion_threshold: null, motion_min_area_percent: null });
    expect(events.map((e) => e.details)).toEqual([{ changes: { motion_threshold: 30, motion_min_area_percent: 2 } }]);
    expect((await appError(service.update(USER, id, { motion_threshold: 0 }))).details[0]).toMatchObject({ path: 'payload.motion_threshold' });
    expect((await appError(service.update(USER, id, { motion_min_area_percent: 'x' }))).details[0]?.message).toBe('Value must be a number between 0.1 and 100, or null');
  });

  it('tracks demand: first reader demands, last one leaving un-demands', async () => {
    const { service, first, events } = await setup();
    const id = first().id;
    events.length = 0;
    service.addDemand(id, { type: 'mqtt', id: 'switch' });
    service.addDemand(id, { type: 'mqtt', id: 'switch' });
    service.addDemand(id, { type: 'http', id: 'r1' });
    expect(first()).toMatchObject({ demanded: true, readers: 2 });
    service.removeDemand(id, { type: 'mqtt', id: 'switch' });
    service.removeDemand(id, { type: 'http', id: 'r1' });
    service.removeDemand(id, { type: 'http', id: 'r1' });
    expect(events.map((e) => e.event)).toEqual(['demand', 'read', 'read', 'unread', 'unread', 'unDemand']);
    expect(events[1]?.details).toMatchObject({ readerType: 'mqtt', readerId: 'switch' });
    expect(first()).toMatchObject({ demanded: false, readers: 0 });
    expect(() => service.addDemand('nope', { type: 'lab', id: 'x' })).toThrow(AppError);
  });
});

describe('camera discovery and hot-plug', () => {
  it('uses real cameras when present and adds a simulated one only when none is (auto)', async () => {
    const v4l2 = new PluggableV4l2();
    v4l2.devices.add('/dev/video0');
    const withCamera = await setup({ simulated: 'auto' }, v4l2);
    expect(withCamera.service.all().map((c) => [c.driver, c.device, c.exists])).toEqual([['v4l2', '/dev/video0', true]]);
    const without = await setup({ simulated: 'auto' }, new PluggableV4l2());
    expect(without.service.all().map((c) => c.driver)).toEqual(['simulated']);
    const never = await setup({ simulated: 'never' }, null);
    expect(never.service.all()).toEqual([]);
    expect((await appError(never.service.create(SYSTEM_ACTOR, { driver: 'simulated' }))).details[0]?.message).toContain('cameras.simulated: never');
  });

  it('loads the V4L2 driver only once a video node exists, then finds its camera', async () => {
    const v4l2 = new PluggableV4l2();
    v4l2.devices.add('/dev/video0');
    let nodes = false;
    const loads: string[] = [];
    const { service } = await setup({ simulated: 'auto' }, v4l2, { v4l2NodesPresent: () => nodes, loads });
    expect(loads).toEqual([]);
    expect(service.all().map((c) => [c.driver, c.exists])).toEqual([['simulated', true]]);
    nodes = true;
    await service.scan();
    await service.scan();
    expect(loads).toEqual(['v4l2']);
    expect(service.all().map((c) => [c.driver, c.device, c.exists])).toEqual([['simulated', 'simulated:0', false], ['v4l2', '/dev/video0', true]]);
  });

  it('sees video nodes in a device folder, or the configured device paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-dev-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    expect(videoNodesPresent([], dir)).toBe(false);
    writeFileSync(join(dir, 'video-not-a-node'), '');
    expect(videoNodesPresent([], dir)).toBe(false);
    writeFileSync(join(dir, 'video3'), '');
    expect(videoNodesPresent([], dir)).toBe(true);
    expect(videoNodesPresent([join(dir, 'video9')], dir)).toBe(false);
    expect(videoNodesPresent([join(dir, 'video3')], dir)).toBe(true);
    expect(videoNodesPresent([], join(dir, 'missing'))).toBe(false);
  });

  it('only uses the configured devices when cameras.devices is set', async () => {
    const v4l2 = new PluggableV4l2();
    v4l2.devices.add('/dev/video0');
    v4l2.devices.add('/dev/video2');
    const { service } = await setup({ simulated: 'never', devices: ['/dev/video2'] }, v4l2);
    expect(service.all().map((c) => c.device)).toEqual(['/dev/video2']);
  });

  it('marks an unplugged camera absent on ENODEV and restores its settings when it comes back', async () => {
    const v4l2 = new PluggableV4l2();
    v4l2.devices.add('/dev/video0');
    const { service, first, events } = await setup({ simulated: 'auto' }, v4l2);
    const id = first().id;
    await service.update(USER, id, { controls: { brightness: 80, resolution: '320x180', fps: 60 } });
    v4l2.devices.unplug('/dev/video0');
    events.length = 0;
    const err = await appError(service.update(USER, id, { controls: { brightness: 10 } }));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('was disconnected');
    expect(first().exists).toBe(false);
    expect(events.map((e) => [e.event, e.details])).toEqual([
      ['disconnected', { device: '/dev/video0', reason: expect.stringContaining('ENODEV') }],
      ['updated', { changes: { exists: false } }],
    ]);
    expect((await appError(service.update(USER, id, { controls: { brightness: 10 } }))).message).toContain('is not connected');
    expect(first().controls.brightness).toBe(80); // last known values stay visible

    v4l2.devices.add('/dev/video0'); // replugged: the device starts from its defaults
    await service.scan();
    expect(first().exists).toBe(true);
    const dev = v4l2.open('/dev/video0');
    expect([dev.getControl(CID.BRIGHTNESS), dev.getFormat().width, dev.getFrameRate()]).toEqual([204, 320, 60]);
    expect(first().controls).toMatchObject({ brightness: 80, resolution: '320x180', fps: 60 });
  });

  it('notices a camera that went away during a scan', async () => {
    const v4l2 = new PluggableV4l2();
    v4l2.devices.add('/dev/video0');
    const { service, first } = await setup({ simulated: 'never' }, v4l2);
    v4l2.devices.unplug('/dev/video0');
    await service.scan();
    expect(first().exists).toBe(false);
    expect((await appError(service.delete(SYSTEM_ACTOR, 'nope'))).kind).toBe('not_found');
    await service.delete(SYSTEM_ACTOR, first().id); // an absent discovered camera may be removed
    expect(service.all()).toEqual([]);
  });
});

describe('device errors', () => {
  /** A vivid-like device whose format and frame-rate calls fail the way a streaming device's do. */
  class BusyV4l2 extends PluggableV4l2 {
    failWith: 'EBUSY' | 'EIO' | null = null;
    override open(path: string): CameraDevice {
      const dev = super.open(path);
      const fail = (op: string) => {
        if (this.failWith) throw new CameraDriverError(this.failWith, op, path);
      };
      return Object.assign(Object.create(dev) as CameraDevice, {
        setFormat: (f: Parameters<CameraDevice['setFormat']>[0]) => (fail('VIDIOC_S_FMT'), dev.setFormat(f)),
      });
    }
  }

  it('turns kernel errors into clear errors and leaves the settings as they were', async () => {
    const v4l2 = new BusyV4l2();
    v4l2.devices.add('/dev/video0');
    const { service, first, events } = await setup({ simulated: 'never' }, v4l2);
    const id = first().id;
    const name = first().name;
    v4l2.failWith = 'EBUSY';
    events.length = 0;
    const busy = await appError(service.update(USER, id, { controls: { brightness: 90, resolution: '1280x720' } }));
    expect(busy.kind).toBe('conflict');
    expect(busy.message).toContain('is busy (VIDIOC_S_FMT)');
    v4l2.failWith = 'EIO';
    const io = await appError(service.update(USER, id, { name: 'Renamed', controls: { resolution: '320x180' } }));
    expect(io.kind).toBe('runtime');
    expect(io.details).toEqual([{ path: 'controls', message: 'VIDIOC_S_FMT failed with EIO' }]);
    expect(first()).toMatchObject({ name, exists: true, controls: { brightness: 50, resolution: '640x360' } });
    expect(v4l2.devices.open('/dev/video0').getControl(CID.BRIGHTNESS)).toBe(128);
    expect(events).toEqual([]);
  });
});

describe('the one change path', () => {
  /** A data store whose disk can fill: the first write learns it (and fails), later changes are refused before the device. */
  async function withStore(flash = false) {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cameras-'));
    const db = Database.inDir(dir);
    await db.open();
    const real = db.collection('cameras');
    const disk = { full: false, known: false };
    const cameras = Object.assign(Object.create(real) as Collection<CameraRecord>, {
      assertWritable: () => {
        if (disk.known) throw storageRefusal('data', 'ENOSPC');
      },
      update: async (id: string, change: (cur: CameraRecord) => CameraRecord) => {
        if (disk.full) {
          disk.known = true;
          throw storageRefusal('data', 'ENOSPC');
        }
        return real.update(id, change);
      },
    });
    const bus = new EventBus();
    const events: DomainEvent[] = [];
    bus.subscribe(events, (e) => events.push(e), ['camera']);
    const simulated = new SimulatedDriver({ flash });
    const service = new CameraService({ cameras, bus, config: camerasSchema.parse({ simulated: 'always' }), logger, simulated, loadV4l2: async () => null });
    await service.start();
    cleanups.push(async () => {
      await service.stop();
      await db.flush();
      rmSync(dir, { recursive: true, force: true });
    });
    const cam = service.all()[0]!;
    const device = simulated.open(cam.device);
    cleanups.push(() => device.close());
    const brightness = () => device.getControl(CID.BRIGHTNESS);
    const light = () => (cam.capabilities.light ? device.getControl(cam.capabilities.light.v4l2_id) : null);
    return { service, real, disk, events, id: cam.id, brightness, light };
  }

  it('checks in one order: permission, validation, switched on, storage, device; nothing changes on a refusal', async () => {
    const { service, real, disk, events, id, brightness } = await withStore();
    const before = { device: brightness(), stored: JSON.stringify(real.get(id)) };
    disk.full = disk.known = true;
    events.length = 0;
    // A viewer is refused before the value is looked at; a bad value before the storage check.
    expect((await appError(service.update(VIEWER, id, { controls: { brightness: 'x' } }))).kind).toBe('forbidden');
    expect((await appError(service.update(USER, id, { controls: { brightness: 'x' } }))).kind).toBe('validation');
    expect((await appError(service.update(USER, id, { controls: { resolution: '1000x1000' } }))).kind).toBe('validation');
    expect((await appError(service.update(USER, id, { controls: { brightness: 10 } }))).kind).toBe('storage');
    expect((await appError(service.update(USER, id, { light_brightness: 10 }))).kind).toBe('validation');
    // Holding the stream stores nothing: it works while the disk is full.
    expect(await service.update(USER, id, { stream: true })).toMatchObject({ demanded: true });
    expect(await service.update(USER, id, { stream: false })).toMatchObject({ demanded: false });
    expect(brightness()).toBe(before.device);
    expect(JSON.stringify(real.get(id))).toBe(before.stored);
    expect(events.filter((e) => e.event === 'updated')).toEqual([]);
  });

  it('puts the device back when the store refuses a change the device took', async () => {
    const { service, real, disk, events, id, brightness } = await withStore();
    const before = { device: brightness(), stored: JSON.stringify(real.get(id)) };
    disk.full = true;
    events.length = 0;
    const err = await appError(service.update(USER, id, { controls: { brightness: 10, resolution: '1280x720' } }));
    expect([err.kind, disk.known]).toEqual(['storage', true]);
    expect(brightness()).toBe(before.device);
    expect(service.get(id)!.controls).toMatchObject({ resolution: '640x360', fps: 30 });
    expect(service.get(id)!.format).toMatchObject({ width: 640, height: 360 });
    expect(JSON.stringify(real.get(id))).toBe(before.stored);
    expect(events.filter((e) => e.event === 'updated')).toEqual([]);
    // The disk has room again: the same change is made.
    disk.full = disk.known = false;
    expect((await service.update(USER, id, { controls: { brightness: 10 } })).controls.brightness).toBe(10);
    expect(brightness()).not.toBe(before.device);
  });

  it('puts the light and the image settings back together when the store refuses them', async () => {
    const { service, real, disk, id, brightness, light } = await withStore(true);
    const before = { brightness: brightness(), light: light(), stored: JSON.stringify(real.get(id)) };
    expect(before.light).not.toBeNull();
    disk.full = true;
    expect((await appError(service.update(USER, id, { light: true, light_brightness: 30, controls: { brightness: 10 } }))).kind).toBe('storage');
    expect([brightness(), light()]).toEqual([before.brightness, before.light]);
    expect(JSON.stringify(real.get(id))).toBe(before.stored);
    disk.full = disk.known = false;
    expect(await service.update(USER, id, { light: true, light_brightness: 30 })).toMatchObject({ light: true, light_brightness: 30 });
    expect(light()).not.toBe(before.light);
  });
});

describe('switching a camera off and on', () => {
  /** The V4L2 stand-in, counting device handles that are open right now. */
  class CountingV4l2 extends PluggableV4l2 {
    handles = 0;
    override open(path: string): CameraDevice {
      const dev = this.devices.open(path);
      this.handles++;
      let closed = false;
      return Object.assign(Object.create(dev) as CameraDevice, {
        close: () => {
          if (!closed) this.handles--;
          closed = true;
          dev.close();
        },
      });
    }
  }

  it('closes the device but keeps demands, recording and settings, refuses changes with a conflict, stays listed, and reopens as it was', async () => {
    const v4l2 = new CountingV4l2();
    v4l2.devices.add('/dev/video0');
    const { service, first, events } = await setup({ simulated: 'never' }, v4l2);
    const id = first().id;
    await service.update(USER, id, { controls: { brightness: 70 } });
    service.addDemand(id, { type: 'http', id: 'viewer' });
    await service.update(USER, id, { stream: true, record: true });
    const offered = { resolutions: first().resolutions, fps_options: first().fps_options };
    expect(v4l2.handles).toBe(1);
    events.length = 0;

    const off = await service.update(USER, id, { enabled: false });
    expect(off).toMatchObject({ enabled: false, exists: false, readers: 2, demanded: true, record: 'on', ...offered });
    expect(v4l2.handles).toBe(0);
    expect(events.map((e) => e.event)).toEqual(['disabled', 'updated']);
    expect(events.at(-1)?.details).toEqual({ changes: { enabled: false, exists: false } });
    expect(events.find((e) => e.event === 'disabled')?.details).toEqual({ name: first().name, enabled: false, by: 'user' });

    const before = JSON.stringify(first());
    for (const [attempt, part] of [
      [() => service.update(USER, id, { controls: { brightness: 10 } }), 'controls'],
      [() => service.update(USER, id, { light: true }), 'light'],
      [() => service.update(USER, id, { record: false }), 'record'],
      [() => service.update(USER, id, { stream: false }), 'stream'],
      [() => service.update(USER, id, { snap: true }), 'snap'],
      [() => service.update(USER, id, { motion: true }), 'motion'],
      [async () => service.addDemand(id, { type: 'lab', id: 'n1' }), null],
    ] as const) {
      const err = await appError(attempt());
      expect([err.kind, err.message]).toEqual(['conflict', `Camera "${first().name}" is switched off; switch it on first`]);
      expect(err.details, String(part)).toEqual([]);
    }
    expect(JSON.stringify(first())).toBe(before);
    // Still listed, still renamable; scans leave the device closed.
    expect(service.all().map((c) => c.id)).toEqual([id]);
    await service.update(USER, id, { name: 'Bench' });
    await service.scan();
    expect(v4l2.handles).toBe(0);

    const on = await service.update(USER, id, { enabled: true });
    expect(on.enabled).toBe(true);
    await service.scan();
    expect(v4l2.handles).toBe(1);
    expect(first()).toMatchObject({ enabled: true, exists: true, name: 'Bench', controls: { brightness: 70 }, readers: 2, record: 'on', ...offered });
    expect(first().reader_list).toEqual([{ type: 'http', id: 'viewer' }, STREAM_SWITCH_READER]);
  });

  it('validates the value and the role, and refuses mixing enabled with settings in one update', async () => {
    const { service, first } = await setup();
    const id = first().id;
    expect((await appError(service.update(USER, id, { enabled: 'no' }))).kind).toBe('validation');
    expect((await appError(service.update(VIEWER, id, { enabled: false }))).kind).toBe('forbidden');
    const mixed = await appError(service.update(USER, id, { enabled: false, controls: { brightness: 1 } }));
    expect(mixed.details).toEqual([{ path: 'payload.enabled', message: 'change enabled on its own, without controls' }]);
    expect(first().enabled).toBe(true);
    expect((await service.update(USER, id, { enabled: false, name: 'Off cam' }))).toMatchObject({ enabled: false, name: 'Off cam' });
  });

  it('remembers the setting across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cameras-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const boot = async () => {
      const db = Database.inDir(dir);
      await db.open();
      const service = new CameraService({ cameras: db.collection('cameras'), bus: new EventBus(), config: camerasSchema.parse({ simulated: 'always' }), logger, simulated: new SimulatedDriver(), loadV4l2: async () => null });
      await service.start();
      return { db, service };
    };
    const first = await boot();
    const id = first.service.all()[0]!.id;
    await first.service.update(USER, id, { enabled: false });
    await first.service.stop();
    await first.db.flush();
    const second = await boot();
    expect(second.service.get(id)).toMatchObject({ enabled: false, exists: false });
    await second.service.stop();
    await second.db.flush();
  });
});
