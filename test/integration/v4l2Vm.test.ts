// The real V4L2 driver against a real kernel driver: boots a Debian kernel with `vivid` under
// qemu (test/vm/), runs test/vm/guest.ts inside against /dev/video0 and asserts on what it
// printed. Cross-checks go through the independent v4l2-ctl binary inside the same VM.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ControlInfo, DeviceInfo, FormatInfo, InputInfo } from '../../src/camera/driver.js';
import { qemuMissingReason, runGuest, type GuestRun } from '../vm/vivid.js';

const skipReason = qemuMissingReason();
if (skipReason) console.warn(`v4l2Vm: skipped: ${skipReason}`);

interface DriverErrorView {
  code: string;
  op: string;
  isGone: boolean;
}

describe.skipIf(skipReason !== null)('V4L2 driver on the vivid kernel driver (qemu VM)', () => {
  let run: GuestRun;

  // First run downloads the kernel package and builds the initramfs (cached in .vm/); boots take ~20 s under TCG.
  beforeAll(async () => {
    run = await runGuest(150_000);
  }, 300_000);

  function step<T>(name: string): T {
    if (!run.steps.has(name)) {
      throw new Error(`the guest printed no "${name}" step; console:\n${run.console.slice(-4000)}`);
    }
    return run.steps.get(name) as T;
  }

  it('ran to the end without a fatal error', () => {
    expect(run.steps.get('fatal')).toBeUndefined();
    expect(step<boolean>('done')).toBe(true);
  });

  it('discovers /dev/video0 as a vivid capture device (the output node is not listed)', () => {
    const devices = step<DeviceInfo[]>('discover');
    expect(devices).toEqual([{ path: '/dev/video0', driver: 'vivid', card: 'vivid', busInfo: 'platform:vivid-000', isCapture: true }]);
  });

  it('enumerates controls with ranges, flags and menus, skipping control classes', () => {
    const controls = step<ControlInfo[]>('controls');
    const byKey = new Map(controls.map((c) => [c.key, c]));
    expect(byKey.get('brightness')).toMatchObject({ id: 0x00980900, name: 'Brightness', type: 'integer', minimum: 0, maximum: 255, step: 1, default: 128 });
    expect(byKey.get('brightness')?.flags.slider).toBe(true);
    expect(byKey.get('hue')).toMatchObject({ minimum: -128, maximum: 128, default: 0 });
    expect(byKey.get('gain_automatic')).toMatchObject({ type: 'boolean', default: 1 });
    expect(byKey.get('gain')?.flags).toMatchObject({ inactive: true, volatile: true });
    expect(byKey.get('button')).toMatchObject({ type: 'button' });
    expect(byKey.get('button')?.flags.writeOnly).toBe(true);
    expect(byKey.get('read_only_integer_32_bits')?.flags.readOnly).toBe(true);
    // vivid's menu has a hole at index 2: QUERYMENU answers EINVAL there and the item is left out.
    expect(byKey.get('menu')?.menu).toEqual([
      { index: 1, name: 'Menu Item 1' },
      { index: 3, name: 'Menu Item 3' },
      { index: 4, name: 'Menu Item 4' },
    ]);
    expect(byKey.get('integer_menu')?.menu?.find((m) => m.index === 8)).toEqual({ index: 8, value: 42 });
    expect(byKey.get('test_pattern')?.menu?.[0]).toEqual({ index: 0, name: '75% Colorbar' });
    expect(controls.some((c) => c.type === 'ctrl_class')).toBe(false);
    // 64-bit range from QUERY_EXT_CTRL, limited to what a JS number holds exactly.
    expect(byKey.get('integer_64_bits')).toMatchObject({ type: 'integer64', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, step: 1, default: 0 });
  });

  it('sets brightness and v4l2-ctl reads the same value back; reads what v4l2-ctl set', () => {
    expect(step('brightness')).toEqual({ ours: 200, v4l2ctl: 'brightness: 200' });
    expect(step('contrast')).toEqual({ ours: 42 });
    expect(step('integer64')).toEqual({ ours: 2 ** 40 + 7, negative: -5, v4l2ctl: 'integer_64_bits: -5' });
  });

  it('lists formats, frame sizes and frame intervals exactly as v4l2-ctl --list-formats-ext, and switches to 640x480 YUYV', () => {
    const formats = step<{ count: number; listedCount: number; differing: string[]; yuyv: FormatInfo }>('formats');
    expect(formats.count).toBeGreaterThan(5);
    expect(formats.listedCount).toBe(formats.count);
    expect(formats.differing).toEqual([]);
    expect(formats.yuyv.sizes.map(({ width, height }) => ({ width, height }))).toContainEqual({ width: 1280, height: 720 });
    // vivid's webcam: the smaller sizes offer intervals down to 1/60 s, the largest only 1/1 and 1/2 s.
    expect(formats.yuyv.sizes.find((s) => s.width === 320 && s.height === 180)?.fps).toContain(60);
    expect(formats.yuyv.sizes.find((s) => s.width === 3840)?.fps).toEqual([1, 2]);
    const set = step<{ result: unknown; get: unknown; v4l2ctl: string }>('setFormat');
    expect(set.result).toEqual({ width: 640, height: 480, fourcc: 'YUYV' });
    expect(set.get).toEqual({ width: 640, height: 480, fourcc: 'YUYV' });
    expect(set.v4l2ctl).toMatch(/Width\/Height\s*: 640\/480/);
    expect(set.v4l2ctl).toMatch(/Pixel Format\s*: 'YUYV'/);
  });

  it('sets the frame rate through S_PARM', () => {
    const fps = step<{ result: number; get: number; v4l2ctl: string }>('setFrameRate');
    expect(fps.result).toBe(15);
    expect(fps.get).toBe(15);
    expect(fps.v4l2ctl).toMatch(/Frames per second: 15\.000 \(15\/1\)/);
  });

  it('enumerates inputs and selects one', () => {
    const input = step<{ inputs: InputInfo[]; get: number; v4l2ctl: string }>('input');
    expect(input.inputs).toEqual([
      { index: 0, name: 'Webcam 0', type: 'camera' },
      { index: 1, name: 'TV 0', type: 'tuner' },
      { index: 2, name: 'S-Video 0', type: 'camera' },
      { index: 3, name: 'HDMI 0', type: 'camera' },
    ]);
    expect(input.get).toBe(1);
    expect(input.v4l2ctl).toMatch(/Video input : 1 \(TV 0/);
  });

  it('turns kernel errors into typed CameraDriverErrors', () => {
    expect(step<Record<string, DriverErrorView>>('errors')).toEqual({
      bogusControl: { code: 'EINVAL', op: 'VIDIOC_G_CTRL', isGone: false },
      bogusControlSet: { code: 'EINVAL', op: 'VIDIOC_S_CTRL', isGone: false },
      readOnly: { code: 'EACCES', op: 'VIDIOC_S_CTRL', isGone: false },
      bogusInput: { code: 'EINVAL', op: 'VIDIOC_S_INPUT', isGone: false },
    });
    // Another process streaming holds the queue: the kernel refuses the format change.
    expect(step<DriverErrorView>('busy')).toEqual({ code: 'EBUSY', op: 'VIDIOC_S_FMT', isGone: false });
  });

  it('the camera service drives the device: 0–100 brightness and hue, resolution, fps and sensor', () => {
    expect(run.steps.get('serviceError')).toBeUndefined();
    type Controls = Record<string, unknown>;
    const service = step<{
      brightness: { view: Controls; v4l2ctl: string };
      hue: { v4l2ctl: string };
      format: { view: Controls; fmt: string; parm: string };
      sensor: { view: Controls; v4l2ctl: string };
      events: { event: string; details: { changes?: Controls } }[];
    }>('service');
    // 60 % of vivid's 0..255 brightness range.
    expect(service.brightness.view.brightness).toBe(60);
    expect(service.brightness.v4l2ctl).toBe('brightness: 153');
    // 25 % of vivid's signed −128..128 hue range.
    expect(service.brightness.view.hue).toBe(25);
    expect(service.hue.v4l2ctl).toBe('hue: -64');
    expect(service.format.view).toMatchObject({ resolution: '1280x720', fps: 10 });
    expect(service.format.fmt).toMatch(/Width\/Height\s*: 1280\/720/);
    expect(service.format.parm).toMatch(/Frames per second: 10\.000 \(10\/1\)/);
    expect(service.sensor.view.sensor).toBe(2);
    expect(service.sensor.v4l2ctl).toMatch(/Video input : 1 \(TV 0/);
    expect(service.events.map((e) => e.event)).toEqual(expect.arrayContaining(['created', 'connected', 'updated']));
    expect(service.events.some((e) => e.event === 'updated' && e.details.changes?.brightness === 60)).toBe(true);
  });

  it('device controls through the camera service: flip, menu, integer menu, button, read-only, gain inactive under automatic gain — as v4l2-ctl sees them', () => {
    expect(run.steps.get('serviceError')).toBeUndefined();
    interface Option { value: number; label: string }
    const d = step<{
      listed: { ours: string[]; v4l2ctl: string[] };
      hflip: { view: unknown; v4l2ctl: string };
      hflipAfterV4l2ctl: unknown;
      menu: { view: unknown; options: Option[]; v4l2ctl: string };
      menuRefused: { message: string; details: { path: string; message: string }[] };
      integerMenu: { view: unknown; options: Option[]; v4l2ctl: string };
      button: { view: Record<string, unknown>; changes: Record<string, unknown>[]; v4l2ctl: string | null };
      readOnly: { view: Record<string, unknown>; v4l2ctl: string; refused: { message: string; details: { path: string; message: string }[] } };
      gainManual: { inactive: boolean; v4l2ctl: string | null };
      gainAutomatic: { inactive: boolean; v4l2ctl: string | null };
    }>('deviceControls');
    // Every integer, boolean, menu, integer-menu and button control v4l2-ctl lists, and no other.
    expect(d.listed.ours).toEqual(d.listed.v4l2ctl);
    expect(d.listed.ours).toEqual(expect.arrayContaining(['horizontal_flip', 'menu', 'integer_menu', 'button', 'read_only_integer_32_bits', 'gain', 'gain_automatic']));
    expect(d.hflip).toEqual({ view: true, v4l2ctl: 'horizontal_flip: 1' });
    expect(d.hflipAfterV4l2ctl).toBe(false);
    expect(d.menu.view).toBe(4);
    expect(d.menu.v4l2ctl).toBe('menu: 4 (Menu Item 4)');
    expect(d.menu.options.map((o) => o.label)).toEqual(['Menu Item 1', 'Menu Item 3', 'Menu Item 4']);
    // Index 2 is the hole in vivid's menu: refused before it reaches the device.
    expect(d.menuRefused.message).toBe('Invalid device controls');
    expect(d.menuRefused.details[0]).toMatchObject({ path: 'payload.device_controls.menu' });
    expect(d.integerMenu.view).toBe(7);
    // v4l2-ctl prints the index and the item's value (21).
    expect(d.integerMenu.v4l2ctl).toMatch(/^integer_menu: 7\b.*\b21\b/);
    expect(d.integerMenu.options.find((o) => o.value === 8)).toEqual({ value: 8, label: '42' });
    expect(d.button.view).toMatchObject({ type: 'button', value: null });
    expect(d.button.v4l2ctl).toMatch(/\(button\).*flags=write-only/);
    // Published once as pressed (with whatever else the re-read found changed: vivid's gain is volatile).
    expect(d.button.changes).toContainEqual({ device_controls: expect.objectContaining({ button: null }) });
    expect(d.readOnly.view).toMatchObject({ read_only: true, type: 'integer' });
    expect(d.readOnly.v4l2ctl).toBe(`read_only_integer_32_bits: ${String(d.readOnly.view.value)}`);
    expect(d.readOnly.refused.details).toEqual([{ path: 'payload.device_controls.read_only_integer_32_bits', message: 'This control is read-only' }]);
    expect(d.gainManual.inactive).toBe(false);
    expect(d.gainManual.v4l2ctl).not.toMatch(/inactive/);
    expect(d.gainAutomatic.inactive).toBe(true);
    expect(d.gainAutomatic.v4l2ctl).toMatch(/flags=.*inactive/);
  });

  it('a closed device reports gone; an unplugged and replugged device is found again', () => {
    expect(step<DriverErrorView>('closed')).toEqual({ code: 'ENODEV', op: 'VIDIOC_G_CTRL', isGone: true });
    const replug = step<{ duringUnplug: { discover: DeviceInfo[]; open: DriverErrorView }; after: DeviceInfo[]; brightness: number }>('replug');
    expect(replug.duringUnplug.discover).toEqual([]);
    expect(replug.duringUnplug.open).toEqual({ code: 'ENOENT', op: 'open', isGone: true });
    expect(replug.after.map((d) => d.path)).toEqual(['/dev/video0']);
    // A fresh module instance: controls are back at their defaults.
    expect(replug.brightness).toBe(128);
  });
});

