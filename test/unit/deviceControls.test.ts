// Every simple control of a device through the camera service: vivid's full set as the simulated
// driver serves it, values checked against the device's own range, step and menu, flags re-read
// after each change, values kept and restored when the device comes back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/records.js';
import { CameraService } from '../../src/camera/cameraService.js';
import { SimulatedDriver } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { camerasSchema } from '../../src/config/schema.js';
import { AppError } from '../../src/core/errors.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { Database } from '../../src/store/database.js';

const USER: Actor = { kind: 'user', userId: 'u1', username: 'user', role: 'user' };
const VIEWER: Actor = { kind: 'user', userId: 'v1', username: 'viewer', role: 'viewer' };
const HFLIP = 0x00980914;
const MENU = 0x0098f904;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(flash = false) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-devctl-'));
  const db = Database.inDir(dir);
  await db.open();
  const bus = new EventBus();
  const events: DomainEvent[] = [];
  bus.subscribe(events, (e) => events.push(e), ['camera']);
  const simulated = new SimulatedDriver({ flash });
  const service = new CameraService({ cameras: db.collection('cameras'), bus, config: camerasSchema.parse({ simulated: 'always' }), logger: pino({ level: 'silent' }), simulated });
  await service.start();
  cleanups.push(async () => {
    await service.stop();
    await db.flush();
    rmSync(dir, { recursive: true, force: true });
  });
  const cam = () => service.all()[0]!;
  // The device as another program sees it: a second handle on the simulated device.
  const device = () => simulated.open(cam().device);
  return { service, simulated, events, cam, device };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('device controls', () => {
  it("lists vivid's simple controls by name with type, range, menu items and flags; leaves compound ones out", async () => {
    const { cam } = await setup();
    const d = cam().device_controls;
    expect(d.horizontal_flip).toMatchObject({ id: HFLIP, label: 'Flip horizontally', type: 'boolean', value: false, known: true, inactive: false, read_only: false, served_by: null });
    expect(d.menu).toMatchObject({ type: 'menu', value: 3, label: 'Menu', known: false, options: [{ value: 1, label: 'Menu Item 1' }, { value: 3, label: 'Menu Item 3' }, { value: 4, label: 'Menu Item 4' }] });
    expect(d.integer_menu!.options!.map((o) => o.label)).toEqual(['2', '3', '5', '8', '13', '21', '42']);
    expect(d.integer_menu!.value).toBe(4);
    expect(d.button).toMatchObject({ type: 'button', value: null });
    expect(d.read_only_integer_32_bits).toMatchObject({ type: 'integer', read_only: true, value: 0 });
    expect(d.gain).toMatchObject({ inactive: true, served_by: 'gain' });
    expect(d.gain_automatic).toMatchObject({ value: true, served_by: 'auto-exposure' });
    for (const left of ['string', 'area', 'bitmask', 'integer_64_bits', 'u8_pixel_array', 'user_controls', 'power_present']) expect(d[left], left).toBeUndefined();
  });

  it('writes each kind: boolean, menu by label or index, integer menu, integer, button; the device follows and one event says what changed', async () => {
    const { service, cam, device, events } = await setup();
    const from = events.length;
    await service.update(USER, cam().id, { device_controls: { horizontal_flip: true, menu: 'Menu Item 4', integer_menu: 7, alpha_component: 200, button: true } });
    expect(device().getControl(HFLIP)).toBe(1);
    expect(device().getControl(MENU)).toBe(4);
    expect(cam().device_controls).toMatchObject({ horizontal_flip: { value: true }, menu: { value: 4 }, integer_menu: { value: 7 }, alpha_component: { value: 200 } });
    const updated = events.slice(from).filter((e) => e.event === 'updated');
    expect(updated).toHaveLength(1);
    expect((updated[0]!.details as { changes: unknown }).changes).toEqual({ device_controls: { horizontal_flip: true, menu: 4, integer_menu: 7, alpha_component: 200, button: null } });
    await service.update(USER, cam().id, { device_controls: { menu: 1 } });
    expect(device().getControl(MENU)).toBe(1);
  });

  it('refuses values outside what the device offers, each named, and changes nothing of the request', async () => {
    const { service, cam, device, events } = await setup();
    const before = JSON.stringify(cam().device_controls);
    const from = events.length;
    const err = await refusal(service.update(USER, cam().id, {
      device_controls: { horizontal_flip: true, menu: 2, integer_menu: '4', alpha_component: 256, integer_32_bits: 1.5, read_only_integer_32_bits: 1, no_such_control: 1, button: false, vertical_flip: 'yes' },
    }));
    expect(err.message).toBe('Invalid device controls');
    const messages = Object.fromEntries((err.details ?? []).map((p) => [p.path, p.message]));
    expect(messages).toEqual({
      'payload.device_controls.menu': 'Value must be one of "Menu Item 1", "Menu Item 3", "Menu Item 4" (or its number 1, 3, 4)',
      'payload.device_controls.integer_menu': 'Value must be one of "2", "3", "5", "8", "13", "21", "42" (or its number 2, 3, 4, 5, 6, 7, 8)',
      'payload.device_controls.alpha_component': 'Value must be between 0 and 255',
      'payload.device_controls.integer_32_bits': 'Value must be an integer between -2147483648 and 2147483647',
      'payload.device_controls.read_only_integer_32_bits': 'This control is read-only',
      'payload.device_controls.no_such_control': 'This camera has no such control',
      'payload.device_controls.button': 'Value must be true (presses the button)',
      'payload.device_controls.vertical_flip': 'Value must be true or false',
    });
    expect(device().getControl(HFLIP)).toBe(0);
    expect(JSON.stringify(cam().device_controls)).toBe(before);
    expect(events.slice(from)).toEqual([]);
    // Names must look like control names; viewers may not change anything.
    expect((await refusal(service.update(USER, cam().id, { device_controls: { 'Horizontal Flip': true } }))).details?.[0]?.path).toMatch(/device_controls/);
    expect((await refusal(service.update(VIEWER, cam().id, { device_controls: { horizontal_flip: true } }))).kind).toBe('forbidden');
    expect(device().getControl(HFLIP)).toBe(0);
  });

  it('re-reads flags after each change: gain is inactive exactly while automatic gain is on', async () => {
    const { service, cam } = await setup();
    expect(cam().device_controls.gain!.inactive).toBe(true);
    await service.update(USER, cam().id, { device_controls: { gain_automatic: false } });
    expect(cam().device_controls.gain!.inactive).toBe(false);
    // The same control through its image setting: flags follow there too.
    await service.update(USER, cam().id, { controls: { 'auto-exposure': true } });
    expect(cam().device_controls.gain!.inactive).toBe(true);
  });

  it('keeps values set and restores them when the device comes back', async () => {
    const { service, simulated, cam, device } = await setup();
    await service.update(USER, cam().id, { device_controls: { horizontal_flip: true, menu: 'Menu Item 1' } });
    simulated.pull(cam().device);
    await service.scan();
    expect(cam().exists).toBe(false);
    // While the device is away its controls stay listed (its entities stay, unavailable).
    expect(cam().device_controls.horizontal_flip!.value).toBe(true);
    // Plugged back in, the device starts from vivid's defaults, as a re-probed kernel device does.
    simulated.plugBack(cam().device);
    expect(device().getControl(HFLIP)).toBe(0);
    await service.scan();
    expect(cam().exists).toBe(true);
    expect(device().getControl(HFLIP)).toBe(1);
    expect(device().getControl(MENU)).toBe(1);
  });

  it('a camera switched off keeps its controls listed, across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-devctl-'));
    const start = async () => {
      const db = Database.inDir(dir);
      await db.open();
      const service = new CameraService({ cameras: db.collection('cameras'), bus: new EventBus(), config: camerasSchema.parse({ simulated: 'always' }), logger: pino({ level: 'silent' }), simulated: new SimulatedDriver() });
      await service.start();
      return { db, service };
    };
    try {
      const first = await start();
      const id = first.service.all()[0]!.id;
      await first.service.update(USER, id, { device_controls: { vertical_flip: true } });
      await first.service.update(USER, id, { enabled: false });
      expect(first.service.get(id)!.device_controls.vertical_flip).toMatchObject({ value: true });
      await first.service.stop();
      await first.db.flush();
      const second = await start();
      try {
        const cam = second.service.get(id)!;
        expect(cam).toMatchObject({ enabled: false, exists: false });
        expect(Object.keys(cam.device_controls)).toEqual(expect.arrayContaining(['horizontal_flip', 'vertical_flip', 'menu', 'button']));
      } finally {
        await second.service.stop();
        await second.db.flush();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a camera without a light control has no light; the flash gives the simulated camera one', async () => {
    expect((await setup(false)).cam().has_light).toBe(false);
    const lit = (await setup(true)).cam();
    expect(lit.has_light).toBe(true);
    // The flash's controls serve the light: no second entity for them.
    expect(lit.device_controls.led_mode!.served_by).toBe('light');
    expect(lit.device_controls.intensity_torch_mode!.served_by).toBe('light_brightness');
    expect(lit.device_controls.strobe).toMatchObject({ type: 'button', served_by: null });
  });
});
