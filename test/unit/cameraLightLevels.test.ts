// A camera light with levels (an LED flash's torch intensity): the one light rule in the camera
// service, validation that changes nothing, all-or-nothing on the device, and restore after replug.
// The simulated driver with its LED flash option stands in for a flash-capable sensor.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/records.js';
import { CameraService } from '../../src/camera/cameraService.js';
import { CID } from '../../src/camera/controlMapping.js';
import { CameraDriverError, type CameraDevice, type CameraDriver, type ControlInfo } from '../../src/camera/driver.js';
import { SimulatedDriver } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { camerasSchema } from '../../src/config/schema.js';
import { AppError } from '../../src/core/errors.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { Database } from '../../src/store/database.js';
import { rejectionOf } from '../helpers/thrown.js';

const USER: Actor = { kind: 'user', userId: 'u1', username: 'user', role: 'user' };
const logger = pino({ level: 'silent' });
const LED_OFF = 0;
const LED_TORCH = 2;

/** V4L2 devices at /dev paths with vivid's controls plus an LED flash; LED mode writes can be made to fail. */
class FlashV4l2 implements CameraDriver {
  readonly name = 'v4l2' as const;
  readonly devices = new SimulatedDriver({ flash: true });
  failLedMode: 'EIO' | null = null;
  discover() {
    return this.devices.discover();
  }
  open(path: string): CameraDevice {
    const dev = this.devices.open(path);
    return Object.assign(Object.create(dev) as CameraDevice, {
      setControl: (id: number, value: number) => {
        if (id === CID.FLASH_LED_MODE && this.failLedMode) throw new CameraDriverError(this.failLedMode, 'VIDIOC_S_CTRL', path);
        dev.setControl(id, value);
      },
    });
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `v4l2`: the camera's driver (one device at /dev/video0); null: only vivid's simulated camera, no light levels. */
async function setup(v4l2: (CameraDriver & { devices: SimulatedDriver }) | null = new FlashV4l2()) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-light-'));
  const db = Database.inDir(dir);
  await db.open();
  const bus = new EventBus();
  const events: DomainEvent[] = [];
  bus.subscribe((e) => events.push(e), ['camera']);
  v4l2?.devices.add('/dev/video0');
  const config = camerasSchema.parse(v4l2 ? { simulated: 'never' } : { simulated: 'always' });
  const service = new CameraService({ cameras: db.collection('cameras'), bus, config, logger, simulated: new SimulatedDriver(), loadV4l2: async () => v4l2 });
  await service.start();
  cleanups.push(async () => {
    await service.stop();
    await db.flush();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = () => service.all()[0]!;
  const device = () => v4l2!.devices.open('/dev/video0');
  return { service, db, events, first, device };
}

const appError = (p: Promise<unknown>): Promise<AppError> => rejectionOf(AppError, p);

describe('camera light with levels', () => {
  it('reports the level and its control; a camera without levels reports null', async () => {
    const { first } = await setup();
    expect(first()).toMatchObject({ light: false, light_brightness: 100 });
    expect(first().capabilities.light).toMatchObject({ v4l2_key: 'led_mode', v4l2_id: CID.FLASH_LED_MODE });
    expect(first().capabilities.light_level).toEqual({ v4l2_key: 'intensity_torch_mode', v4l2_id: CID.FLASH_TORCH_INTENSITY, type: 'integer', minimum: 50, maximum: 155, step: 15, default: 155 });
    const plain = await setup(null);
    expect(plain.first()).toMatchObject({ light: false, light_brightness: null, capabilities: { light: null, light_level: null } });
  });

  it('brightness above 0 switches the light on at that level, 0 switches it off and keeps the level', async () => {
    const { service, first, events, device } = await setup();
    const id = first().id;
    events.length = 0;
    expect(await service.update(USER, id, { light_brightness: 40 })).toMatchObject({ light: true, light_brightness: 40 });
    // 40 % of 50…155 mA on 15 mA steps.
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY)]).toEqual([LED_TORCH, 95]);
    expect(await service.update(USER, id, { light_brightness: 0 })).toMatchObject({ light: false, light_brightness: 40 });
    expect(device().getControl(CID.FLASH_LED_MODE)).toBe(LED_OFF);
    // Switching on without a level shines at the kept one.
    expect(await service.update(USER, id, { light: true })).toMatchObject({ light: true, light_brightness: 40 });
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY)]).toEqual([LED_TORCH, 95]);
    // An explicit `light` decides on/off; the level is set beside it.
    expect(await service.update(USER, id, { light: false, light_brightness: 100 })).toMatchObject({ light: false, light_brightness: 100 });
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY)]).toEqual([LED_OFF, 155]);
    // Repeating what is already so changes nothing and publishes nothing.
    const before = events.length;
    await service.update(USER, id, { light: false, light_brightness: 100 });
    await service.update(USER, id, { light_brightness: 0 });
    expect(events.length).toBe(before);
    expect(events.map((e) => e.details)).toEqual([
      { changes: { light: true, light_brightness: 40 } },
      { changes: { light: false } },
      { changes: { light: true } },
      { changes: { light: false, light_brightness: 100 } },
    ]);
  });

  it('rejects bad values, a contradiction and a light without levels, and changes nothing', async () => {
    const { service, first, events, db, device } = await setup();
    const id = first().id;
    const before = structuredClone(db.collection('cameras').get(id));
    events.length = 0;
    const cases: [unknown, string][] = [
      [{ light_brightness: 101 }, 'Value must be between 0 and 100'],
      [{ light_brightness: -1 }, 'Value must be between 0 and 100'],
      [{ light_brightness: 50.5 }, 'Value must be an integer between 0 and 100'],
      [{ light_brightness: '50' }, 'Value must be an integer between 0 and 100'],
      [{ light_brightness: null }, 'Value must be an integer between 0 and 100'],
      [{ light: true, light_brightness: 0 }, '0 switches the light off; it cannot go with light: true'],
      [{ name: 'Renamed', controls: { brightness: 10 }, light_brightness: 200 }, 'Value must be between 0 and 100'],
    ];
    for (const [input, message] of cases) {
      const err = await appError(service.update(USER, id, input));
      expect(err.kind, JSON.stringify(input)).toBe('validation');
      expect(err.details[0], JSON.stringify(input)).toMatchObject({ path: 'payload.light_brightness', message: expect.stringContaining(message) });
    }
    const plain = await setup(null);
    const none = await appError(plain.service.update(USER, plain.first().id, { light_brightness: 50 }));
    expect(none.details).toEqual([{ path: 'payload.light_brightness', message: "This camera's light has no levels" }]);
    expect(plain.first().light).toBe(false);
    expect(db.collection('cameras').get(id)).toEqual(before);
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY), device().getControl(CID.BRIGHTNESS)]).toEqual([LED_OFF, 155, 128]);
    expect(events).toEqual([]);
  });

  it('applies all or nothing: a failing LED switch puts the level and the image settings back', async () => {
    const v4l2 = new FlashV4l2();
    const { service, first, events, db, device } = await setup(v4l2);
    const id = first().id;
    const before = structuredClone(db.collection('cameras').get(id));
    events.length = 0;
    v4l2.failLedMode = 'EIO';
    const err = await appError(service.update(USER, id, { controls: { brightness: 10 }, light_brightness: 40 }));
    expect(err.kind).toBe('runtime');
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY), device().getControl(CID.BRIGHTNESS)]).toEqual([LED_OFF, 155, 128]);
    expect(db.collection('cameras').get(id)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('refuses a level on a switched-off camera (a conflict)', async () => {
    const { service, first } = await setup();
    const id = first().id;
    await service.update(USER, id, { enabled: false });
    expect((await appError(service.update(USER, id, { light_brightness: 30 }))).kind).toBe('conflict');
    expect(first()).toMatchObject({ light: false, light_brightness: 100 });
  });

  it('restores light and level on a replugged device, and keeps a level set while it was away', async () => {
    const v4l2 = new FlashV4l2();
    const { service, first, device } = await setup(v4l2);
    const id = first().id;
    await service.update(USER, id, { light_brightness: 40 });
    v4l2.devices.unplug('/dev/video0');
    await service.scan();
    expect(first()).toMatchObject({ exists: false, light: true, light_brightness: 40 });
    // Known to have levels while absent: the change is stored and applied when it comes back.
    expect(await service.update(USER, id, { light_brightness: 70 })).toMatchObject({ light: true, light_brightness: 70 });
    v4l2.devices.add('/dev/video0'); // replugged: the device starts from its defaults (LED off, full torch)
    await service.scan();
    expect(first()).toMatchObject({ exists: true, light: true, light_brightness: 70 });
    // 70 % of 50…155 on 15 mA steps: 50 + round(73.5 / 15) * 15.
    expect([device().getControl(CID.FLASH_LED_MODE), device().getControl(CID.FLASH_TORCH_INTENSITY)]).toEqual([LED_TORCH, 125]);
  });

  it('uses a lone integer lamp control as switch and level: its minimum is off, on is never the minimum', async () => {
    const lamp = new LampV4l2();
    const { service, first } = await setup(lamp);
    const id = first().id;
    expect(first()).toMatchObject({ light: false, light_brightness: 100, capabilities: { light: { v4l2_key: 'lamp' }, light_level: { v4l2_key: 'lamp', minimum: 0, maximum: 10 } } });
    expect(await service.update(USER, id, { light_brightness: 40 })).toMatchObject({ light: true, light_brightness: 40 });
    expect(lamp.lamp).toBe(4);
    expect(await service.update(USER, id, { light_brightness: 0 })).toMatchObject({ light: false, light_brightness: 40 });
    expect(lamp.lamp).toBe(0);
    // 1 % of 0…10 rounds to the minimum, which is off: the lamp shines at its lowest step instead.
    expect(await service.update(USER, id, { light_brightness: 1 })).toMatchObject({ light: true, light_brightness: 1 });
    expect(lamp.lamp).toBe(1);
    expect(await service.update(USER, id, { light: false })).toMatchObject({ light: false, light_brightness: 1 });
    expect(lamp.lamp).toBe(0);
  });
});

const LAMP: ControlInfo = {
  id: 0x0a046d20, name: 'Lamp', key: 'lamp', type: 'integer', minimum: 0, maximum: 10, step: 1, default: 0,
  flags: { disabled: false, grabbed: false, readOnly: false, update: false, inactive: false, slider: true, writeOnly: false, volatile: false, hasPayload: false },
};

/** A vivid-like device with one vendor control "Lamp" (0–10, no switch of its own), as some microscope cameras have. */
class LampV4l2 implements CameraDriver {
  readonly name = 'v4l2' as const;
  readonly devices = new SimulatedDriver();
  lamp = 0;
  discover() {
    return this.devices.discover();
  }
  open(path: string): CameraDevice {
    const dev = this.devices.open(path);
    return Object.assign(Object.create(dev) as CameraDevice, {
      listControls: () => [...dev.listControls(), LAMP],
      getControl: (id: number) => (id === LAMP.id ? this.lamp : dev.getControl(id)),
      setControl: (id: number, value: number) => {
        if (id === LAMP.id) this.lamp = value;
        else dev.setControl(id, value);
      },
    });
  }
}
