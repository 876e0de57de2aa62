import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../src/auth/records.js';
import { CameraService } from '../../src/camera/cameraService.js';
import { SimulatedDriver } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { camerasSchema } from '../../src/config/schema.js';
import { EventBus } from '../../src/core/eventBus.js';
import { KEYS, KEY_TABLE, readState, stateSource } from '../../src/protocols/rotoclear/keys.js';
import { RotoclearView, type ViewState } from '../../src/protocols/rotoclear/viewState.js';
import { keyError, type WireError } from '../../src/protocols/rotoclear/wire.js';
import { Database } from '../../src/store/database.js';

const USER: Actor = { kind: 'user', userId: 'u1', username: 'user', role: 'user' };
const VIEWER: Actor = { kind: 'user', userId: 'v1', username: 'viewer', role: 'viewer' };

/** The document's table: key, type, and whether it is writable. */
const DOCUMENT_KEYS: [string, string, boolean][] = [
  ['cam1-light', 'boolean', true], ['cam2-light', 'boolean', true], ['cam1-exists', 'boolean', false], ['cam2-exists', 'boolean', false],
  ['main-camera', 'integer', true], ['cam1-sensor', 'integer', true], ['cam2-sensor', 'integer', true],
  ['resolution', 'string', true], ['fps', 'integer', true], ['pip-mode', 'string', true],
  ['brightness', 'integer', true], ['contrast', 'integer', true], ['sharpness', 'integer', true], ['saturation', 'integer', true],
  ['gain', 'integer', true], ['red-gain', 'integer', true], ['blue-gain', 'integer', true],
  ['auto-exposure', 'string/boolean', true], ['auto-white-balance', 'string/boolean', true], ['noise-supression', 'boolean', true],
  ['record', 'string/boolean', true], ['snap', 'boolean', true], ['jpeg-quality', 'integer', true],
];

let dir: string;
let db: Database;
let cams: CameraService;
/** The adapter's view over the cameras; its change notice is the server's broadcast, not under test here. */
let view: RotoclearView;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-rotoclear-keys-'));
  db = Database.inDir(dir);
  await db.open();
  cams = new CameraService({ cameras: db.collection('cameras'), bus: new EventBus(), config: camerasSchema.parse({ simulated: 'always' }), logger: pino({ level: 'silent' }), simulated: new SimulatedDriver() });
  await cams.start();
  view = new RotoclearView(cams, () => undefined);
  await cams.create(SYSTEM_ACTOR, { name: 'Second' });
});

afterAll(async () => {
  await cams.stop();
  await db.flush();
  rmSync(dir, { recursive: true, force: true });
});

const write = async (key: string, value: unknown, actor: Actor = USER): Promise<WireError | { value: unknown }> => {
  const def = KEYS.get(key)!;
  try {
    await def.write!(view, actor, value);
    return { value: def.read(stateSource(view)) };
  } catch (err) {
    return keyError(key, err);
  }
};

describe('Rotoclear key table', () => {
  it('has exactly the document\'s keys, types and read-only keys', () => {
    expect(KEY_TABLE.map((k) => [k.key, k.type, k.write !== undefined])).toEqual(DOCUMENT_KEYS);
  });

  it('shows anonymous clients the public keys only', () => {
    expect(Object.keys(readState(view, false)).sort()).toEqual(['cam1-exists', 'cam1-light', 'cam2-exists', 'cam2-light', 'fps', 'main-camera', 'pip-mode', 'record', 'resolution']);
    expect(Object.keys(readState(view, true))).toEqual(DOCUMENT_KEYS.map(([k]) => k));
  });

  const invalid = (key: string, message: string) => ({ error: 'Invalid value', key, message });
  const cases: { key: string; ok: [unknown, unknown][]; bad: [unknown, WireError][] }[] = [
    { key: 'cam1-light', ok: [[true, true], [false, false]], bad: [['on', invalid('cam1-light', 'Value must be true or false')], [1, invalid('cam1-light', 'Value must be true or false')]] },
    { key: 'cam2-light', ok: [[true, true]], bad: [[null, invalid('cam2-light', 'Value must be true or false')]] },
    { key: 'main-camera', ok: [[2, 2], [1, 1]], bad: [[3, invalid('main-camera', 'Value must be 1 or 2')], ['1', invalid('main-camera', 'Value must be 1 or 2')]] },
    { key: 'cam1-sensor', ok: [[4, 4], [1, 1]], bad: [[0, invalid('cam1-sensor', 'Value must be a sensor number (1, 2, ...)')], [5, invalid('cam1-sensor', 'Value must be between 1 and 4')]] },
    { key: 'cam2-sensor', ok: [[2, 2]], bad: [[1.5, invalid('cam2-sensor', 'Value must be a sensor number (1, 2, ...)')]] },
    { key: 'resolution', ok: [['640x480', '640x480'], ['640x360', '640x360']], bad: [['800x600', invalid('resolution', 'Resolution not offered; choose one of 320x180, 640x360, 640x480, 1280x720, 1920x1080, 3840x2160')], [1080, invalid('resolution', 'Value must be a resolution like "1920x1080"')]] },
    { key: 'fps', ok: [[15, 15], [12.5, 12.5], [30, 30]], bad: [[0, invalid('fps', 'Value must be a frame rate')], [61, invalid('fps', 'This camera does not offer 61 fps at 640x360; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40')], [20, invalid('fps', 'This camera does not offer 20 fps at 640x360; choose one of 1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40')]] },
    { key: 'pip-mode', ok: [['pip', 'pip'], ['off', 'off']], bad: [['', invalid('pip-mode', 'Value must be a mode name (letters, digits, - or _, up to 32 characters)')], [true, invalid('pip-mode', 'Value must be a mode name')]] },
    { key: 'brightness', ok: [[0, 0], [100, 100], [75, 75]], bad: [[150, invalid('brightness', 'Value must be between 0 and 100')], [-1, invalid('brightness', 'Value must be between 0 and 100')], ['75', invalid('brightness', 'Value must be an integer between 0 and 100')]] },
    { key: 'contrast', ok: [[60, 60]], bad: [[100.5, invalid('contrast', 'Value must be an integer between 0 and 100')]] },
    { key: 'saturation', ok: [[50, 50]], bad: [[null, invalid('saturation', 'Value must be an integer between 0 and 100')]] },
    { key: 'gain', ok: [[100, 100]], bad: [[101, invalid('gain', 'Value must be between 0 and 100')]] },
    { key: 'sharpness', ok: [], bad: [[45, invalid('sharpness', 'This camera has no such control')], [450, invalid('sharpness', 'Value must be between 0 and 100')]] },
    { key: 'red-gain', ok: [], bad: [[50, invalid('red-gain', 'This camera has no such control')]] },
    { key: 'blue-gain', ok: [], bad: [[50, invalid('blue-gain', 'This camera has no such control')]] },
    { key: 'auto-exposure', ok: [[false, false], ['auto', true], ['off', false], [true, true]], bad: [['sometimes', invalid('auto-exposure', 'Value must be true or false (or "on"/"off", "auto"/"manual")')]] },
    { key: 'auto-white-balance', ok: [], bad: [[true, invalid('auto-white-balance', 'This camera has no such control')], [3, invalid('auto-white-balance', 'Value must be true or false (or "on"/"off", "auto"/"manual")')]] },
    { key: 'noise-supression', ok: [], bad: [[true, invalid('noise-supression', 'This camera has no such control')]] },
    { key: 'record', ok: [[true, 'on'], ['pause', 'pause'], ['pause_release', 'on'], [false, 'off'], ['on', 'on'], ['off', 'off']], bad: [['pause', invalid('record', 'Recording is not running')], ['pause_release', invalid('record', 'Recording is not paused')], ['rec', invalid('record', 'Value must be true, false, "on", "off", "pause" or "pause_release"')]] },
    { key: 'snap', ok: [[true, false], [false, false]], bad: [['yes', invalid('snap', 'Value must be true or false')]] },
    { key: 'jpeg-quality', ok: [[0, 0], [100, 100], [85, 85]], bad: [[101, invalid('jpeg-quality', 'Value must be between 0 and 100')]] },
  ];

  it.each(cases)('$key: valid values apply, invalid ones are refused with the reason', async ({ key, ok, bad }) => {
    for (const [value, readBack] of ok) expect(await write(key, value)).toEqual({ value: readBack });
    const before = readState(view, true);
    for (const [value, error] of bad) {
      const got = await write(key, value);
      expect(got).toMatchObject({ error: error.error, key: error.key });
      expect((got as WireError).message).toContain(error.message);
    }
    expect(readState(view, true)).toEqual(before);
  });

  it('refuses changes from viewers and addresses missing cameras clearly', async () => {
    expect(await write('brightness', 10, VIEWER)).toEqual({ error: 'Permission denied', key: 'brightness', message: 'Changing cameras needs the user role' });
    const second = cams.bySlot(2)!;
    await cams.delete(SYSTEM_ACTOR, second.id);
    expect(await write('cam2-light', true)).toEqual({ error: 'Unavailable', key: 'cam2-light', message: 'There is no camera 2' });
    expect(readState(view, true)).toMatchObject({ 'cam2-exists': false, 'cam2-light': false, 'cam2-sensor': null });
  });
});

describe('Rotoclear view', () => {
  it('sets the main camera only to a slot that has a camera, and tells the server of real changes only', async () => {
    const viewDir = mkdtempSync(join(tmpdir(), 'switchboard-rotoclear-view-'));
    const store = Database.inDir(viewDir);
    await store.open();
    const service = new CameraService({ cameras: store.collection('cameras'), bus: new EventBus(), config: camerasSchema.parse({ simulated: 'always' }), logger: pino({ level: 'silent' }), simulated: new SimulatedDriver() });
    await service.start();
    const notices: ViewState[] = [];
    const rv: RotoclearView = new RotoclearView(service, () => notices.push(rv.state()));
    try {
      await expect(rv.setMainCamera(USER, 2)).rejects.toMatchObject({ details: [{ message: 'There is no camera 2' }] });
      await expect(rv.setMainCamera(USER, 3)).rejects.toMatchObject({ details: [{ message: 'Value must be 1 or 2' }] });
      await expect(rv.setPipMode(VIEWER, 'pip')).rejects.toMatchObject({ message: 'Changing cameras needs the user role' });
      expect(notices).toEqual([]);
      await service.create(SYSTEM_ACTOR, {});
      expect((await rv.setMainCamera(USER, 2))['main-camera']).toBe(2);
      expect(stateSource(rv).main()?.id).toBe(service.bySlot(2)?.id);
      expect(notices).toEqual([{ 'main-camera': 2, 'pip-mode': 'off' }]);
      await rv.setMainCamera(USER, 2);
      expect(notices).toHaveLength(1);
    } finally {
      await service.stop();
      await store.flush();
      rmSync(viewDir, { recursive: true, force: true });
    }
  });
});
