// Runs INSIDE the vivid VM (bundled to /app/guest.mjs): drives /dev/video0 with our v4l2 driver,
// cross-checks with the v4l2-ctl binary, and prints one `VMTEST {json}` line per step for the
// host test (test/integration/v4l2Vm.test.ts) to assert on.
import { execFileSync, spawn } from 'node:child_process';
import { pino } from 'pino';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import { CameraService } from '../../src/camera/cameraService.js';
import { CameraDriverError, type CameraDevice } from '../../src/camera/driver.js';
import { SimulatedDriver } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { V4l2Driver } from '../../src/camera/drivers/v4l2/v4l2Driver.js';
import { camerasSchema } from '../../src/config/schema.js';
import { EventBus } from '../../src/core/eventBus.js';
import { Database } from '../../src/store/database.js';
import { parseListFormatsExt } from './listFormatsExt.js';

const DEVICE = '/dev/video0';

function report(step: string, data: unknown): void {
  console.log(`VMTEST ${JSON.stringify({ step, data })}`);
}

function v4l2ctl(...args: string[]): string {
  return execFileSync('/usr/bin/v4l2-ctl', ['-d', DEVICE, ...args], { encoding: 'utf8' });
}

function errorOf(fn: () => unknown): { code: string; op: string; isGone: boolean } | { notThrown: true } | { unexpected: string } {
  try {
    fn();
    return { notThrown: true };
  } catch (error) {
    if (error instanceof CameraDriverError) return { code: error.code, op: error.op, isGone: error.isGone };
    return { unexpected: String(error) };
  }
}

function controlId(device: CameraDevice, key: string): number {
  const control = device.listControls().find((c) => c.key === key);
  if (!control) throw new Error(`no control ${key}`);
  return control.id;
}

async function main(): Promise<void> {
  const driver = new V4l2Driver();
  report('discover', driver.discover());

  const device = driver.open(DEVICE);
  report('info', device.info);
  report('controls', device.listControls());

  const brightness = controlId(device, 'brightness');
  device.setControl(brightness, 200);
  report('brightness', { ours: device.getControl(brightness), v4l2ctl: v4l2ctl('--get-ctrl', 'brightness').trim() });

  // The other direction: v4l2-ctl writes, our driver reads.
  v4l2ctl('--set-ctrl', 'contrast=42');
  report('contrast', { ours: device.getControl(controlId(device, 'contrast')) });

  // 64-bit controls go through G/S_EXT_CTRLS with the value in native memory.
  const int64 = controlId(device, 'integer_64_bits');
  device.setControl(int64, 2 ** 40 + 7);
  const int64Ours = device.getControl(int64);
  device.setControl(int64, -5);
  report('integer64', { ours: int64Ours, negative: device.getControl(int64), v4l2ctl: v4l2ctl('--get-ctrl', 'integer_64_bits').trim() });

  // Compared here, not on the host: vivid lists dozens of formats, too much text for the serial console.
  const formats = device.listFormats();
  const listed = parseListFormatsExt(v4l2ctl('--list-formats-ext'));
  const ours = formats.map(({ fourcc, sizes }) => ({ fourcc, sizes }));
  report('formats', {
    count: formats.length,
    listedCount: listed.length,
    differing: ours.filter((f, i) => JSON.stringify(f) !== JSON.stringify(listed[i])).map((f) => f.fourcc),
    yuyv: formats.find((f) => f.fourcc === 'YUYV'),
  });
  report('setFormat', { result: device.setFormat({ width: 640, height: 480, fourcc: 'YUYV' }), get: device.getFormat(), v4l2ctl: v4l2ctl('--get-fmt-video') });

  report('setFrameRate', { result: device.setFrameRate(15), get: device.getFrameRate(), v4l2ctl: v4l2ctl('--get-parm') });

  const inputs = device.listInputs();
  device.setInput(1);
  report('input', { inputs, get: device.getInput(), v4l2ctl: v4l2ctl('--get-input') });
  device.setInput(0);

  report('errors', {
    bogusControl: errorOf(() => device.getControl(0x00981234)),
    bogusControlSet: errorOf(() => device.setControl(0x00981234, 1)),
    readOnly: errorOf(() => device.setControl(controlId(device, 'read_only_integer_32_bits'), 1)),
    bogusInput: errorOf(() => device.setInput(99)),
  });

  // Another process streaming from the device: format changes are refused with EBUSY.
  const streamer = spawn('/usr/bin/v4l2-ctl', ['-d', DEVICE, '--stream-mmap', '--stream-count=100000'], { stdio: 'ignore' });
  let busy: ReturnType<typeof errorOf> = { notThrown: true };
  for (let attempt = 0; attempt < 50 && 'notThrown' in busy; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    busy = errorOf(() => device.setFormat({ width: 320, height: 240 }));
  }
  streamer.kill('SIGKILL');
  await new Promise((resolve) => streamer.once('exit', resolve));
  report('busy', busy);

  await throughCameraService();

  device.close();
  report('closed', errorOf(() => device.getControl(brightness)));

  // Unplug and replug: the module goes away with its nodes and comes back; a rescan finds it again.
  execFileSync('/bin/rmmod', ['vivid']);
  const duringUnplug = { discover: driver.discover(), open: errorOf(() => driver.open(DEVICE)) };
  execFileSync('/bin/insmod', ['/modules/vivid.ko']);
  for (let attempt = 0; attempt < 50 && driver.discover().length === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const again = driver.open(DEVICE);
  report('replug', { duringUnplug, after: driver.discover(), brightness: again.getControl(brightness) });
  again.close();
}

/** The camera service (0–100 scaling, resolution, fps, sensor) on top of our driver and the real device. */
async function throughCameraService(): Promise<void> {
  const db = Database.inDir('/tmp/data');
  await db.open();
  const bus = new EventBus();
  const events: { event: string; details: Record<string, unknown> }[] = [];
  bus.subscribe(events, (e) => events.push({ event: e.event, details: e.details }), ['camera']);
  const service = new CameraService({
    cameras: db.collection('cameras'),
    bus,
    config: camerasSchema.parse({ simulated: 'never' }),
    logger: pino({ level: 'silent' }),
    simulated: new SimulatedDriver(),
    loadV4l2: async () => new V4l2Driver(),
  });
  await service.start();
  try {
    const camera = service.all().find((c) => c.device === DEVICE);
    if (!camera) throw new Error(`the camera service did not discover ${DEVICE}`);
    const brightness = await service.update(SYSTEM_ACTOR, camera.id, { controls: { brightness: 60, hue: 25 } });
    const brightnessCtl = v4l2ctl('--get-ctrl', 'brightness').trim();
    const hueCtl = v4l2ctl('--get-ctrl', 'hue').trim();
    const format = await service.update(SYSTEM_ACTOR, camera.id, { controls: { resolution: '1280x720', fps: 10 } });
    const formatCtl = { fmt: v4l2ctl('--get-fmt-video'), parm: v4l2ctl('--get-parm') };
    const sensor = await service.update(SYSTEM_ACTOR, camera.id, { controls: { sensor: 2 } });
    await deviceControls(service, camera.id, events);
    report('service', {
      brightness: { view: brightness.controls, v4l2ctl: brightnessCtl },
      hue: { v4l2ctl: hueCtl },
      format: { view: format.controls, ...formatCtl },
      sensor: { view: sensor.controls, v4l2ctl: v4l2ctl('--get-input') },
      events,
    });
  } catch (error) {
    // Say what the service rejected (AppError details) instead of a bare stack.
    report('serviceError', { message: String(error), details: (error as { details?: unknown }).details ?? null });
  } finally {
    await service.stop();
    await db.flush();
  }
}

/** One line of `v4l2-ctl --list-ctrls-menus` per control: its key, type and flags. */
function listedControls(): { key: string; type: string; line: string }[] {
  return v4l2ctl('--list-ctrls').split('\n').flatMap((line) => {
    const m = /^\s*(\w+) 0x[0-9a-f]+ \((\w+)\)/.exec(line);
    return m ? [{ key: m[1]!, type: m[2]!, line: line.trim() }] : [];
  });
}

/** What a refused change said (or that it was not refused). */
async function refusalOf(p: Promise<unknown>): Promise<{ message: string; details: unknown } | { notRefused: true }> {
  try {
    await p;
    return { notRefused: true };
  } catch (error) {
    return { message: String((error as Error).message), details: (error as { details?: unknown }).details ?? null };
  }
}

/** Every simple control through the camera service's `device_controls`, each cross-checked with v4l2-ctl. */
async function deviceControls(service: CameraService, id: string, events: { event: string; details: Record<string, unknown> }[]): Promise<void> {
  const view = () => service.get(id)!.device_controls;
  const simple = listedControls().filter((c) => ['int', 'bool', 'menu', 'intmenu', 'button'].includes(c.type)).map((c) => c.key).sort();
  const listed = { ours: Object.keys(view()).sort(), v4l2ctl: simple };

  await service.update(SYSTEM_ACTOR, id, { device_controls: { horizontal_flip: true } });
  const hflip = { view: view().horizontal_flip!.value, v4l2ctl: v4l2ctl('--get-ctrl', 'horizontal_flip').trim() };
  // Another program flips it back: the next change re-reads every control.
  v4l2ctl('--set-ctrl', 'horizontal_flip=0');
  await service.update(SYSTEM_ACTOR, id, { device_controls: { vertical_flip: true } });
  const hflipAfterV4l2ctl = view().horizontal_flip!.value;

  await service.update(SYSTEM_ACTOR, id, { device_controls: { menu: 'Menu Item 4' } });
  const menu = { view: view().menu!.value, options: view().menu!.options, v4l2ctl: v4l2ctl('--get-ctrl', 'menu').trim() };
  const menuRefused = await refusalOf(service.update(SYSTEM_ACTOR, id, { device_controls: { menu: 2 } }));
  await service.update(SYSTEM_ACTOR, id, { device_controls: { integer_menu: '21' } });
  const integerMenu = { view: view().integer_menu!.value, options: view().integer_menu!.options, v4l2ctl: v4l2ctl('--get-ctrl', 'integer_menu').trim() };

  const before = events.length;
  await service.update(SYSTEM_ACTOR, id, { device_controls: { button: true } });
  const button = {
    view: view().button,
    changes: events.slice(before).filter((e) => e.event === 'updated').map((e) => e.details.changes),
    v4l2ctl: listedControls().find((c) => c.key === 'button')?.line ?? null,
  };

  const readOnly = {
    view: view().read_only_integer_32_bits,
    v4l2ctl: v4l2ctl('--get-ctrl', 'read_only_integer_32_bits').trim(),
    refused: await refusalOf(service.update(SYSTEM_ACTOR, id, { device_controls: { read_only_integer_32_bits: 1 } })),
  };

  const gainLine = () => listedControls().find((c) => c.key === 'gain')?.line ?? null;
  await service.update(SYSTEM_ACTOR, id, { device_controls: { gain_automatic: false } });
  const gainManual = { inactive: view().gain!.inactive, v4l2ctl: gainLine() };
  await service.update(SYSTEM_ACTOR, id, { device_controls: { gain_automatic: true } });
  const gainAutomatic = { inactive: view().gain!.inactive, v4l2ctl: gainLine() };

  report('deviceControls', { listed, hflip, hflipAfterV4l2ctl, menu, menuRefused, integerMenu, button, readOnly, gainManual, gainAutomatic });
}

main().then(
  () => report('done', true),
  (error: unknown) => report('fatal', String(error instanceof Error ? error.stack : error)),
);
