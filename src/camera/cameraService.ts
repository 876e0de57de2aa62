// The cameras domain: which cameras exist (discovered V4L2 devices, simulated ones), their names,
// Rotoclear slots, lights and image settings, and who is demanding their streams. Every change is
// validated here, applied to the device all-or-nothing, stored, and published once on the bus.
// Finding devices and opening or closing them as they come and go is cameraDevices.ts, composed here.
//
// `record`, `snap` and `jpeg-quality` are kept as state and published as events only: capturing
// snapshots and recordings is the streaming pipeline's job (a later issue), which acts on them.
import { authorize } from '../auth/permissions.js';
import type { Actor } from '../auth/records.js';
import { AppError, conflict, notFound, runtimeError, unavailable, validationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseInput } from '../core/validation.js';
import type { ListQuery, ListResult, ModuleService } from '../services/modules.js';
import { paginate } from '../services/modules.js';
import { EMPTY_CONTROLS, NO_CAPABILITIES, type CameraControls, type CameraDriverName, type CameraRecord, type CameraView, type RecordState, type Slot } from './cameraRecord.js';
import { boolValue, controlsSchema, createSchema, stateSchema, updateSchema, type ControlsInput } from './cameraSchemas.js';
import { CameraDevices, diffControls as diff, isEnabled, type CameraDevicesDeps } from './cameraDevices.js';
import { DemandTracker, type Reader } from './demand.js';
import type { DeviceControlView } from './deviceControls.js';
import type { DeviceSession } from './deviceSession.js';
import { CameraDriverError } from './driver.js';
import type { Extension } from '../core/extension.js';

/** What the service needs: the device side's needs, less the hooks the service itself provides. */
export type CameraServiceDeps = Omit<CameraDevicesDeps, 'serial' | 'insert' | 'commit'> & {
  /** Throws the storage refusal while the media folder cannot be written (StorageHealth). Default: never. */
  assertMediaWritable?: () => void;
};

const PREFIX = 'payload';

export class CameraService implements ModuleService, Extension {
  readonly name = 'cameras';
  private readonly devices: CameraDevices;
  private readonly demand: DemandTracker;
  /** Each camera's device controls as last read, listed while its device is closed (its entities stay, unavailable); the record keeps them across restarts. */
  private readonly lastDeviceControls = new Map<string, Record<string, DeviceControlView>>();
  /** Serializes changes per camera so read-modify-write of the device and the record never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: CameraServiceDeps) {
    this.demand = new DemandTracker(deps.bus);
    this.devices = new CameraDevices({
      ...deps,
      serial: (id, fn) => this.serial(id, fn),
      insert: (driver, device, name) => this.insert(driver, device, 'discovered', name, {}),
      commit: (rec, patch, changes) => this.commit(rec, patch, changes),
    });
  }

  // --- lifecycle ---------------------------------------------------------------------------

  start(): Promise<void> {
    return this.devices.start();
  }

  stop(): Promise<void> {
    return this.devices.stop();
  }

  /** One discovery pass now rather than at the next tick (see CameraDevices.scan). */
  scan(): Promise<void> {
    return this.devices.scan();
  }

  // --- reads (any signed-in role) ------------------------------------------------------------

  all(): CameraView[] {
    return this.deps.cameras.all().map((r) => this.toView(r));
  }

  get(id: string): CameraView | undefined {
    const r = this.deps.cameras.get(id);
    return r ? this.toView(r) : undefined;
  }

  /** The camera in a Rotoclear slot: the one assigned to it, else unassigned cameras (connected first) fill the free slots in order. */
  bySlot(slot: Slot): CameraView | undefined {
    const records = this.deps.cameras.all();
    const assigned = records.find((r) => r.slot === slot);
    if (assigned) return this.toView(assigned);
    const freeSlots = ([1, 2] as const).filter((s) => !records.some((r) => r.slot === s));
    const free = records.filter((r) => r.slot === null).sort((a, b) => Number(this.devices.connected(b.id)) - Number(this.devices.connected(a.id)));
    const r = free[freeSlots.indexOf(slot)];
    return r ? this.toView(r) : undefined;
  }

  async list(_actor: Actor, query: ListQuery): Promise<ListResult<CameraView>> {
    return paginate(this.all(), query, ['name', 'device', 'driver'], ['name', 'slot', 'driver', 'device', 'exists', 'created_at', 'updated_at']);
  }

  async read(_actor: Actor, id: string): Promise<CameraView> {
    return this.toView(this.require(id));
  }

  // --- changes (user role) -----------------------------------------------------------------

  /** `{name?, slot?, light_entity?, light?, light_brightness?, controls?}`: validated as a whole, applied all-or-nothing. */
  async update(actor: Actor, id: string, payload: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const input = parseInput(updateSchema, payload, PREFIX, 'Invalid camera update');
    return this.serial(id, async () => {
      const rec = this.require(id);
      const changes: Record<string, unknown> = {};
      const patch: Partial<CameraRecord> = {};
      if (input.name !== undefined && input.name !== rec.name) patch.name = changes.name = input.name;
      if (input.light_entity !== undefined && input.light_entity !== rec.light_entity) patch.light_entity = changes.light_entity = input.light_entity;
      if (input.slot !== undefined && input.slot !== rec.slot) patch.slot = changes.slot = input.slot;
      if (input.enabled !== undefined && input.enabled !== isEnabled(rec)) {
        // Switching on or off is its own step (it opens or closes the device): not mixed with settings.
        if (input.controls !== undefined || input.device_controls !== undefined || input.light !== undefined || input.light_brightness !== undefined) {
          throw validationError('Invalid camera update', [{ path: `${PREFIX}.enabled`, message: 'change enabled on its own, without controls or light' }]);
        }
        if (patch.slot) await this.releaseSlot(patch.slot, id);
        return this.switchEnabled(actor, rec, input.enabled, patch, changes);
      }
      if ((input.controls && Object.keys(input.controls).length) || (input.device_controls && Object.keys(input.device_controls).length) || (input.light !== undefined && input.light !== rec.light) || input.light_brightness !== undefined) this.requireEnabled(rec);
      if (input.motion !== undefined && input.motion !== (rec.motion ?? false)) patch.motion = changes.motion = input.motion;
      if (input.record !== undefined) this.applyRecord(rec, input.record, patch, changes);
      if (input.controls && Object.keys(input.controls).length) {
        const controls = this.applyControls(rec, input.controls, `${PREFIX}.controls`);
        Object.assign(changes, diff(rec.controls, controls));
        patch.controls = controls;
      }
      if (input.device_controls && Object.keys(input.device_controls).length) this.changeDeviceControls(rec, input.device_controls, patch, changes);
      this.changeLight(rec, input, patch, changes);
      if (patch.slot) await this.releaseSlot(patch.slot, id);
      return this.commit(rec, patch, changes);
    });
  }

  /** Image settings, resolution, fps and sensor in Rotoclear units, e.g. `{brightness: 60, resolution: '640x480'}`. */
  async setControls(actor: Actor, id: string, controls: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const values = parseInput(controlsSchema, controls, 'controls', 'Invalid camera settings');
    return this.serial(id, async () => {
      const rec = this.require(id);
      if (!Object.keys(values).length) return this.toView(rec);
      this.requireEnabled(rec);
      this.deps.cameras.assertWritable();
      const next = this.applyControls(rec, values, 'controls');
      return this.commit(rec, { controls: next }, diff(rec.controls, next));
    });
  }

  async setLight(actor: Actor, id: string, on: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const value = parseInput(boolValue, on, 'light', 'Invalid light state');
    return this.serial(id, async () => {
      const rec = this.require(id);
      if (rec.light === value) return this.toView(rec);
      this.requireEnabled(rec);
      this.deps.cameras.assertWritable();
      const patch: Partial<CameraRecord> = {};
      const changes: Record<string, unknown> = {};
      this.changeLight(rec, { light: value }, patch, changes);
      return this.commit(rec, patch, changes);
    });
  }

  /** `{record?, 'jpeg-quality'?, snap?}`: recording and snapshot state (acted on by the streaming pipeline). */
  /** The one rule for starting, pausing and stopping a recording, whichever way it is asked for. */
  private applyRecord(rec: CameraRecord, wanted: RecordInput, patch: Partial<CameraRecord>, changes: Record<string, unknown>): void {
    const next = nextRecordState(rec.record, wanted);
    if (next !== 'off') {
      this.requireEnabled(rec);
      if (!this.devices.connected(rec.id)) throw unavailable(`Camera "${rec.name}" is not connected`);
      // A new recording needs a media folder that takes writes (the storage refusal otherwise).
      if (rec.record === 'off') this.deps.assertMediaWritable?.();
    }
    if (next !== rec.record) patch.record = changes.record = next;
  }

  async setState(actor: Actor, id: string, state: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const input = parseInput(stateSchema, state, 'state', 'Invalid camera state');
    return this.serial(id, async () => {
      const rec = this.require(id);
      const patch: Partial<CameraRecord> = {};
      const changes: Record<string, unknown> = {};
      if (input.snap === true) this.requireEnabled(rec);
      if (input.record !== undefined) this.applyRecord(rec, input.record, patch, changes);
      if (input['jpeg-quality'] !== undefined && input['jpeg-quality'] !== rec.jpeg_quality) {
        patch.jpeg_quality = input['jpeg-quality'];
        changes['jpeg-quality'] = input['jpeg-quality'];
      }
      if (input.snap === true) {
        if (!this.devices.connected(id)) throw unavailable(`Camera "${rec.name}" is not connected`);
        patch.last_snap_at = new Date().toISOString();
        changes.snap = true;
      }
      return this.commit(rec, patch, changes);
    });
  }

  /**
   * Switches a camera on or off. Off: every demand is dropped, the device is closed (another
   * program may open it) and demands and changes are refused until it is switched on again;
   * the camera stays listed. Stored, so it survives restarts.
   */
  async setEnabled(actor: Actor, id: string, enabled: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const value = parseInput(boolValue, enabled, 'enabled', 'Invalid enabled state');
    return this.serial(id, async () => {
      const rec = this.require(id);
      if (isEnabled(rec) === value) return this.toView(rec);
      return this.switchEnabled(actor, rec, value, {}, {});
    });
  }

  /** Inside the camera's queue: stores the switch (with other pending changes), then opens or closes the device. */
  private async switchEnabled(actor: Actor, rec: CameraRecord, enabled: boolean, patch: Partial<CameraRecord>, changes: Record<string, unknown>): Promise<CameraView> {
    if (!enabled) {
      // Readers go first so the pipeline stops before the device is closed under it.
      this.demand.clear(rec.id);
      if (rec.record !== 'off') patch.record = changes.record = 'off';
      this.devices.close(rec.id);
    }
    patch.enabled = changes.enabled = enabled;
    this.deps.logger.info({ camera: rec.name, enabled, by: actor.username }, enabled ? 'camera enabled' : 'camera disabled');
    if (enabled) this.deps.bus.publish('camera', rec.id, 'enabled', { name: rec.name, enabled, by: actor.username });
    else this.deps.bus.publish('camera', rec.id, 'disabled', { name: rec.name, enabled, by: actor.username });
    const view = await this.commit(rec, patch, enabled ? changes : { ...changes, exists: false });
    this.devices.reportStatus();
    // Opening is the scan's job (it also restores settings); run it now rather than at the next tick.
    if (enabled) setImmediate(() => void this.scan());
    return view;
  }

  // --- create / delete (admin) -------------------------------------------------------------

  async create(actor: Actor, payload: unknown): Promise<CameraView> {
    authorize(actor, 'cameras.manage', 'Only admins may add cameras');
    const input = parseInput(createSchema, payload, PREFIX, 'Invalid camera');
    let device: string;
    if (input.driver === 'simulated') {
      if (input.device !== undefined) throw validationError('Invalid camera', [{ path: `${PREFIX}.device`, message: 'simulated cameras get their device assigned' }]);
      if (this.deps.config.simulated === 'never') throw validationError('Invalid camera', [{ path: `${PREFIX}.driver`, message: 'simulated cameras are disabled (cameras.simulated: never)' }]);
      device = this.deps.simulated.add();
    } else {
      if (!input.device) throw validationError('Invalid camera', [{ path: `${PREFIX}.device`, message: 'required for v4l2 cameras' }]);
      device = input.device;
      if (this.deps.cameras.find((r) => r.driver === 'v4l2' && r.device === device)) throw conflict('Camera already exists', [{ path: `${PREFIX}.device`, message: `${device} is already a camera` }]);
    }
    if (input.slot) await this.releaseSlot(input.slot, null);
    const rec = await this.insert(input.driver, device, 'manual', input.name ?? null, { slot: input.slot ?? null, light_entity: input.light_entity ?? null });
    await this.scan();
    return this.toView(this.deps.cameras.get(rec.id) ?? rec);
  }

  async delete(actor: Actor, id: string): Promise<CameraView> {
    authorize(actor, 'cameras.manage', 'Only admins may delete cameras');
    const rec = this.require(id);
    if (rec.driver === 'v4l2' && rec.origin === 'discovered' && this.devices.connected(id)) {
      throw conflict('This camera is connected and was discovered automatically; unplug it or leave it out of cameras.devices first');
    }
    return this.serial(id, async () => {
      const view = this.toView(rec);
      this.devices.close(id);
      this.demand.clear(id);
      await this.deps.cameras.remove(id);
      this.lastDeviceControls.delete(id);
      if (rec.driver === 'simulated') this.deps.simulated.remove(rec.device);
      this.deps.bus.publish('camera', id, 'deleted', { name: rec.name, driver: rec.driver, device: rec.device });
      this.devices.reportStatus();
      return { ...view, exists: false };
    });
  }

  // --- demand --------------------------------------------------------------------------------

  addDemand(id: string, reader: Reader): number {
    this.requireEnabled(this.require(id));
    return this.demand.add(id, reader);
  }

  removeDemand(id: string, reader: Reader): number {
    return this.demand.remove(id, reader);
  }

  // --- internals -----------------------------------------------------------------------------

  private requireEnabled(rec: CameraRecord): void {
    if (!isEnabled(rec)) throw unavailable(`Camera "${rec.name}" is disabled; switch it on first`);
  }

  private requireUser(actor: Actor): void {
    authorize(actor, 'cameras.control', 'Changing cameras needs the user role');
  }

  private require(id: string): CameraRecord {
    const r = this.deps.cameras.get(id);
    if (!r) throw notFound('Camera');
    return r;
  }

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return run;
  }

  /** Applies control changes on the device (all or nothing) and returns the values read back. */
  private applyControls(rec: CameraRecord, values: ControlsInput, prefix: string): CameraControls {
    const session = this.devices.session(rec.id);
    if (!session) throw unavailable(`Camera "${rec.name}" is not connected`);
    try {
      session.check(values, prefix);
      session.apply(values, prefix);
      return session.read();
    } catch (err) {
      throw this.deviceError(rec, err);
    }
  }

  /**
   * Device controls by stable name (deviceControls.ts): checked against the device's own range, step
   * and menu, written, and read back with every control's flags (one write can change others). The
   * values set are kept in the record and restored when the camera comes back.
   */
  private changeDeviceControls(rec: CameraRecord, input: Record<string, unknown>, patch: Partial<CameraRecord>, changes: Record<string, unknown>): void {
    const session = this.devices.session(rec.id);
    if (!session) throw unavailable(`Camera "${rec.name}" is not connected`);
    const prefix = `${PREFIX}.device_controls`;
    const values = session.checkDeviceControls(input, prefix);
    try {
      session.applyDeviceControls(values);
    } catch (err) {
      throw this.deviceError(rec, err);
    }
    const after = session.deviceControls();
    // Pressed buttons change nothing to read, yet they happened: each is published once.
    const pressed = values.filter((v) => v.control.type === 'button').map((v) => Object.keys(after).find((k) => after[k]!.id === v.control.id)!);
    const published = session.takeDeviceControlChanges(pressed);
    if (Object.keys(published).length) changes.device_controls = published;
    const stored = { ...rec.device_controls };
    for (const { control, value } of values) {
      const name = Object.keys(after).find((k) => after[k]!.id === control.id);
      if (name && control.type !== 'button') stored[name] = value;
    }
    patch.device_controls = stored;
  }

  /**
   * The one light rule, however it is asked for: `light` switches it; `light_brightness` (where the
   * light has levels) sets how bright it shines and, without `light`, switches it on — 0 switches it
   * off and keeps the level, as Home Assistant's brightness does. Applied to the device, then patched.
   */
  private changeLight(rec: CameraRecord, input: { light?: boolean; light_brightness?: number }, patch: Partial<CameraRecord>, changes: Record<string, unknown>): void {
    const wanted = input.light_brightness;
    if (wanted !== undefined) {
      const session = this.devices.session(rec.id);
      const hasLevels = session ? session.mapping.lightLevel !== undefined : rec.light_brightness != null;
      if (!hasLevels) throw validationError('Invalid camera update', [{ path: `${PREFIX}.light_brightness`, message: "This camera's light has no levels" }]);
      if (wanted === 0 && input.light === true) throw validationError('Invalid camera update', [{ path: `${PREFIX}.light_brightness`, message: '0 switches the light off; it cannot go with light: true' }]);
    }
    const on = wanted === 0 ? false : wanted !== undefined ? (input.light ?? true) : (input.light ?? rec.light);
    const level = wanted !== undefined && wanted > 0 ? wanted : (rec.light_brightness ?? undefined);
    const levelChanged = level !== undefined && level !== rec.light_brightness;
    if (on === rec.light && !levelChanged) return;
    this.applyLight(rec, on, level, patch.controls !== undefined);
    if (on !== rec.light) patch.light = changes.light = on;
    if (levelChanged) patch.light_brightness = changes.light_brightness = level;
  }

  private applyLight(rec: CameraRecord, on: boolean, level: number | undefined, controlsApplied: boolean): void {
    const session = this.devices.session(rec.id);
    if (!session?.mapping.light) return;
    try {
      session.setLight(on, level);
    } catch (err) {
      // Image settings applied in the same update stay applied on the device only if the light worked.
      if (controlsApplied) session.restore(rec.controls, () => undefined);
      throw this.deviceError(rec, err);
    }
  }

  /** Device failures as clear AppErrors; a vanished device marks the camera absent (the scan picks it up again). */
  private deviceError(rec: CameraRecord, err: unknown): AppError {
    if (err instanceof AppError) return err;
    if (!(err instanceof CameraDriverError)) {
      this.deps.logger.error({ err, camera: rec.name }, 'unexpected camera error');
      return runtimeError(`Camera "${rec.name}" failed`);
    }
    this.deps.logger.warn({ camera: rec.name, device: rec.device, code: err.code, op: err.op }, err.message);
    if (err.isGone) {
      void this.devices.detach(rec.id, `${err.op}: ${err.code}`);
      return unavailable(`Camera "${rec.name}" was disconnected`);
    }
    switch (err.code) {
      case 'EBUSY':
        return conflict(`Camera "${rec.name}" is busy (${err.op}); try again when it is not streaming`);
      case 'EINVAL':
      case 'ERANGE':
        return validationError(`Camera "${rec.name}" rejected the setting`, [{ path: 'controls', message: `${err.op} failed with ${err.code}` }]);
      case 'EACCES':
      case 'EPERM':
        return runtimeError(`No permission to change camera "${rec.name}"`, [{ path: 'controls', message: `${err.op} failed with ${err.code}` }]);
      default:
        return runtimeError(`Camera "${rec.name}" failed`, [{ path: 'controls', message: `${err.op} failed with ${err.code}` }]);
    }
  }

  /** Stores a change and publishes it once; an empty change is neither stored nor published. */
  private async commit(rec: CameraRecord, patch: Partial<CameraRecord>, changes: Record<string, unknown>): Promise<CameraView> {
    // Device controls an image setting or the light changed on the way (automatic gain makes gain inactive).
    const moved = changes.device_controls === undefined ? this.devices.session(rec.id)?.takeDeviceControlChanges([], false) : undefined;
    if (moved && Object.keys(moved).length && Object.keys(changes).length) changes = { ...changes, device_controls: moved };
    if (!Object.keys(changes).length) return this.toView(this.deps.cameras.get(rec.id) ?? rec);
    const next = await this.deps.cameras.update(rec.id, (cur) => ({ ...cur, ...patch, updated_at: new Date().toISOString() }));
    if (!next) throw notFound('Camera');
    this.deps.bus.publish('camera', rec.id, 'updated', { changes });
    return this.toView(next);
  }

  /** Frees a slot held by another camera (the new holder takes it over). */
  private async releaseSlot(slot: Slot, newHolder: string | null): Promise<void> {
    const holder = this.deps.cameras.find((r) => r.slot === slot && r.id !== newHolder);
    if (holder) await this.commit(holder, { slot: null }, { slot: null });
  }

  private async insert(driver: CameraDriverName, device: string, origin: CameraRecord['origin'], name: string | null, extra: Pick<Partial<CameraRecord>, 'slot' | 'light_entity'>): Promise<CameraRecord> {
    const now = new Date().toISOString();
    const count = this.deps.cameras.all().length;
    const rec: CameraRecord = {
      id: newId(),
      name: name ?? `Camera ${count + 1}`,
      driver,
      device,
      origin,
      enabled: true,
      slot: extra.slot ?? null,
      light: false,
      light_brightness: null,
      light_entity: extra.light_entity ?? null,
      controls: { ...EMPTY_CONTROLS },
      record: 'off',
      jpeg_quality: this.deps.config.jpeg_quality,
      motion: false,
      last_snap_at: null,
      created_at: now,
      updated_at: now,
    };
    await this.deps.cameras.insert(rec);
    this.deps.logger.info({ camera: rec.name, driver, device, origin }, 'camera added');
    this.deps.bus.publish('camera', rec.id, 'created', { name: rec.name, driver, device });
    return rec;
  }

  private deviceControlsOf(r: CameraRecord, session: DeviceSession | undefined): Record<string, DeviceControlView> {
    const id = r.id;
    if (!session) return this.lastDeviceControls.get(id) ?? r.device_control_list ?? {};
    const now = session.deviceControls();
    this.lastDeviceControls.set(id, now);
    return now;
  }

  private toView(r: CameraRecord): CameraView {
    const session = this.devices.session(r.id);
    let extra: Pick<CameraView, 'resolutions' | 'fps_options' | 'formats' | 'format' | 'capabilities'> = { resolutions: [], fps_options: [], formats: [], format: null, capabilities: NO_CAPABILITIES };
    if (session) {
      try {
        extra = { resolutions: session.resolutions(), fps_options: session.fpsOptions, formats: session.formatList(), format: session.currentFormat(), capabilities: session.capabilities() };
      } catch (err) {
        if (err instanceof CameraDriverError && err.isGone) void this.devices.detach(r.id, `${err.op}: ${err.code}`);
      }
    }
    const readers = this.demand.list(r.id);
    return {
      id: r.id,
      name: r.name,
      slot: r.slot,
      driver: r.driver,
      device: r.device,
      origin: r.origin,
      enabled: isEnabled(r),
      card: r.card ?? null,
      kernel_driver: r.kernel_driver ?? null,
      exists: session !== undefined,
      light: r.light,
      light_brightness: r.light_brightness ?? null,
      light_entity: r.light_entity,
      has_light: (session ? session.mapping.light !== undefined : (r.has_light ?? true)) || r.light_entity !== null,
      device_controls: this.deviceControlsOf(r, session),
      // Records stored before a setting existed (hue) read it as null until the device is read again.
      controls: { ...EMPTY_CONTROLS, ...r.controls },
      ...extra,
      record: r.record,
      jpeg_quality: r.jpeg_quality,
      motion: r.motion ?? false,
      last_snap_at: r.last_snap_at,
      demanded: readers.length > 0,
      readers: readers.length,
      reader_list: readers,
      ready: this.devices.isReady(r.id),
      created_at: r.created_at,
      updated_at: r.updated_at,
    };
  }
}

/** The Rotoclear recording values: on/true starts, off/false stops, pause only while recording, pause_release only while paused. */
type RecordInput = boolean | 'on' | 'off' | 'pause' | 'pause_release';

function nextRecordState(current: RecordState, wanted: RecordInput): RecordState {
  if (wanted === true || wanted === 'on') return 'on';
  if (wanted === false || wanted === 'off') return 'off';
  if (wanted === 'pause') {
    if (current === 'off') throw validationError('Invalid camera state', [{ path: 'state.record', message: 'Recording is not running' }]);
    return 'pause';
  }
  if (current !== 'pause') throw validationError('Invalid camera state', [{ path: 'state.record', message: 'Recording is not paused' }]);
  return 'on';
}
