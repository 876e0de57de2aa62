// The cameras domain: which cameras exist (discovered V4L2 devices, simulated ones), their names,
// Rotoclear slots, lights and image settings, and who is demanding their streams. Every change is
// validated here, applied to the device all-or-nothing, stored, and published once on the bus.
// Finding devices and opening or closing them as they come and go is cameraDevices.ts, composed here.
//
// `record`, `snap` and `jpeg-quality` are kept as state and published as events only: capturing
// snapshots and recordings is the streaming pipeline's job (camera/streaming/), which acts on them.
import { authorize } from '../auth/permissions.js';
import type { Actor } from '../auth/records.js';
import { AppError, conflict, notFound, runtimeError, unavailable, validationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseInput } from '../core/validation.js';
import type { ListQuery, ListResult, ModuleService } from '../services/modules.js';
import { paginate } from '../services/modules.js';
import { EMPTY_CONTROLS, NO_CAPABILITIES, type CameraDriverName, type CameraRecord, type CameraView, type RecordState, type Slot } from './cameraRecord.js';
import { changeSchema, createSchema, type CameraChange, type ControlsInput } from './cameraSchemas.js';
import { CameraDevices, diffControls as diff, isEnabled, type CameraDevicesDeps } from './cameraDevices.js';
import { DemandTracker, type Reader } from './demand.js';
import type { DeviceSession } from './deviceSession.js';
import { CameraDriverError } from './driver.js';
import type { Extension } from '../core/extension.js';

/** What the service needs: the device side's needs, less the hooks the service itself provides. */
export type CameraServiceDeps = Omit<CameraDevicesDeps, 'serial' | 'insert' | 'commit'> & {
  /** Throws the storage refusal while the media folder cannot be written (StorageHealth). Default: never. */
  assertMediaWritable?: () => void;
  /** Throws the 503 refusal while nothing can capture (ffmpeg missing or failing). Default: never. */
  assertCaptureWorks?: () => void;
};

const PREFIX = 'payload';

export class CameraService implements ModuleService, Extension {
  readonly name = 'cameras';
  private readonly devices: CameraDevices;
  private readonly demand: DemandTracker;
  /** Serializes changes per camera so read-modify-write of the device and the record never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * What each camera's device offered when it was last open: its options and its own controls are
   * listed while the device is closed (switched off, unplugged), so its entities stay, unavailable.
   * The record keeps the control list across restarts.
   */
  private readonly lastOffer = new Map<string, DeviceOffer>();

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

  /**
   * The one way a camera changes, whoever asks (HTTP, NestMTX, Rotoclear, MQTT, the Home Assistant
   * light, the recorder): `{name?, slot?, light_entity?, enabled?, controls?, device_controls?,
   * light?, light_brightness?, motion?, motion_threshold?, motion_min_area_percent?, record?, snap?,
   * 'jpeg-quality'?, stream?}`. Every change takes the
   * same checks in the same order: permission → validation → camera switched on → storage writable
   * → device → store → one event. Nothing is half-made: the device is put back when the store
   * refuses the change, and the store is written only after the device took it.
   */
  async update(actor: Actor, id: string, change: unknown): Promise<CameraView> {
    this.requireUser(actor);
    this.require(id);
    const input = parseInput(changeSchema, change, PREFIX, 'Invalid camera update');
    return this.serial(id, async () => {
      const rec = this.require(id);
      const plan = this.plan(actor, rec, input);
      if (!plan.touchesCamera.length && !Object.keys(plan.changes).length && !plan.steps.length && !plan.after.length) return this.toView(rec);
      if (plan.touchesCamera.length && !isEnabled(rec)) throw this.switchedOff(rec, plan.touchesCamera);
      // Only what is stored needs the store: holding the stream on is not written anywhere.
      if (Object.keys(plan.patch).length || plan.steps.length) this.deps.cameras.assertWritable();
      if (plan.startsRecording) this.deps.assertMediaWritable?.();
      // A recording needs an ffmpeg that works (the ffmpeg refusal, naming cameras.ffmpeg_path).
      if (plan.startsRecording) this.deps.assertCaptureWorks?.();
      const undo = this.applySteps(rec, plan);
      let view: CameraView;
      try {
        if (plan.patch.slot) await this.releaseSlot(plan.patch.slot, id);
        view = await this.commit(rec, plan.patch, plan.changes, plan.notice);
      } catch (err) {
        undo();
        throw err;
      }
      for (const after of plan.after) after();
      return plan.after.length ? this.toView(this.require(id)) : view;
    });
  }

  /**
   * Reads a change against the camera as it is: what to store, what to tell, what the device must
   * do. Throws validation errors; changes nothing. Each kind of change is one block here (a new
   * kind adds one block, and a device step where it reaches the device).
   */
  private plan(actor: Actor, rec: CameraRecord, input: CameraChange): ChangePlan {
    const plan: ChangePlan = { patch: {}, changes: {}, steps: [], after: [], touchesCamera: [], startsRecording: false, notice: null };
    const { patch, changes } = plan;
    const touch = (key: string, wanted: boolean) => {
      if (wanted) plan.touchesCamera.push(key);
    };
    if (input.name !== undefined && input.name !== rec.name) patch.name = changes.name = input.name;
    if (input.light_entity !== undefined && input.light_entity !== rec.light_entity) patch.light_entity = changes.light_entity = input.light_entity;
    if (input.slot !== undefined && input.slot !== rec.slot) patch.slot = changes.slot = input.slot;

    const controls = input.controls && Object.keys(input.controls).length ? input.controls : undefined;
    touch('controls', controls !== undefined);
    const deviceControls = input.device_controls && Object.keys(input.device_controls).length ? input.device_controls : undefined;
    touch('device_controls', deviceControls !== undefined);
    touch('light', input.light !== undefined && input.light !== rec.light);
    touch('light_brightness', input.light_brightness !== undefined);
    touch('motion', input.motion !== undefined && input.motion !== (rec.motion ?? false));
    touch('motion_threshold', input.motion_threshold !== undefined && input.motion_threshold !== (rec.motion_threshold ?? null));
    touch('motion_min_area_percent', input.motion_min_area_percent !== undefined && input.motion_min_area_percent !== (rec.motion_min_area_percent ?? null));
    touch('record', input.record !== undefined);
    touch('snap', input.snap === true);
    touch('jpeg-quality', input['jpeg-quality'] !== undefined && input['jpeg-quality'] !== rec.jpeg_quality);
    touch('stream', input.stream !== undefined && input.stream !== this.holdsStream(rec.id));

    if (input.enabled !== undefined && input.enabled !== isEnabled(rec)) {
      // Switching on or off is its own step (it opens or closes the device): not mixed with settings.
      if (plan.touchesCamera.length) {
        throw validationError('Invalid camera update', [{ path: `${PREFIX}.enabled`, message: `change enabled on its own, without ${plan.touchesCamera.join(', ')}` }]);
      }
      this.planEnabled(actor, rec, input.enabled, plan);
      return plan;
    }
    if (!isEnabled(rec)) return plan;

    if (input.motion !== undefined && input.motion !== (rec.motion ?? false)) patch.motion = changes.motion = input.motion;
    // Stored as asked (null: the add-on's setting); the change tells the value that now applies.
    if (input.motion_threshold !== undefined && input.motion_threshold !== (rec.motion_threshold ?? null)) {
      patch.motion_threshold = input.motion_threshold;
      changes.motion_threshold = input.motion_threshold ?? this.deps.config.motion_threshold;
    }
    if (input.motion_min_area_percent !== undefined && input.motion_min_area_percent !== (rec.motion_min_area_percent ?? null)) {
      patch.motion_min_area_percent = input.motion_min_area_percent;
      changes.motion_min_area_percent = input.motion_min_area_percent ?? this.deps.config.motion_min_area_percent;
    }
    if (input.record !== undefined) {
      const next = nextRecordState(rec.record, input.record);
      if (next !== 'off' && !this.devices.connected(rec.id)) throw unavailable(`Camera "${rec.name}" is not connected`);
      // A new recording needs a media folder that takes writes (the storage refusal otherwise).
      plan.startsRecording = next !== 'off' && rec.record === 'off';
      if (next !== rec.record) patch.record = changes.record = next;
    }
    if (input['jpeg-quality'] !== undefined && input['jpeg-quality'] !== rec.jpeg_quality) {
      patch.jpeg_quality = input['jpeg-quality'];
      changes['jpeg-quality'] = input['jpeg-quality'];
    }
    if (input.snap === true) {
      if (!this.devices.connected(rec.id)) throw unavailable(`Camera "${rec.name}" is not connected`);
      this.deps.assertCaptureWorks?.();
      patch.last_snap_at = new Date().toISOString();
      changes.snap = true;
    }
    if (controls) {
      // Checked against what the device offers now, before the storage check and before any step runs.
      const session = this.devices.session(rec.id);
      if (!session) throw unavailable(`Camera "${rec.name}" is not connected`);
      try {
        session.check(controls, `${PREFIX}.controls`);
      } catch (err) {
        throw this.deviceError(rec, err);
      }
      plan.steps.push(() => this.controlsStep(rec, session, controls, plan));
    }
    if (deviceControls) {
      const session = this.devices.session(rec.id);
      if (!session) throw unavailable(`Camera "${rec.name}" is not connected`);
      // Against the device's own range, step and menu (deviceControls.ts); a validation error otherwise.
      const values = session.checkDeviceControls(deviceControls, `${PREFIX}.device_controls`);
      plan.steps.push(() => this.deviceControlsStep(rec, session, values, plan));
    }
    this.planLight(rec, input, plan);
    if (input.stream !== undefined && input.stream !== this.holdsStream(rec.id)) {
      const hold = input.stream;
      plan.after.push(() => (hold ? this.demand.add(rec.id, STREAM_SWITCH_READER) : this.demand.remove(rec.id, STREAM_SWITCH_READER)));
    }
    return plan;
  }

  /**
   * Switching off closes the device (another program may open it) but keeps the camera as it was:
   * its stream demands, its recording intent and its settings, so switching on brings it all back.
   * Stored, so it survives restarts. The device follows the store (never changed first).
   */
  private planEnabled(actor: Actor, rec: CameraRecord, enabled: boolean, plan: ChangePlan): void {
    plan.patch.enabled = plan.changes.enabled = enabled;
    plan.notice = enabled ? { event: 'enabled', details: { name: rec.name, enabled, by: actor.username } } : { event: 'disabled', details: { name: rec.name, enabled, by: actor.username } };
    if (!enabled) plan.changes.exists = false;
    plan.after.push(() => {
      if (!enabled) this.devices.close(rec.id);
      this.deps.logger.info({ camera: rec.name, enabled, by: actor.username }, enabled ? 'camera enabled' : 'camera disabled');
      this.devices.reportStatus();
      // Opening is the scan's job (it also restores settings); run it now rather than at the next tick.
      if (enabled) setImmediate(() => void this.scan());
    });
  }

  /** The one light rule, however it is asked for; a device step. */
  private planLight(rec: CameraRecord, input: { light?: boolean; light_brightness?: number }, plan: ChangePlan): void {
    const wanted = input.light_brightness;
    if (wanted !== undefined) {
      const session = this.devices.session(rec.id);
      const hasLevels = session ? session.mapping.lightLevel !== undefined : rec.light_brightness != null;
      if (!hasLevels) throw validationError('Invalid camera update', [{ path: `${PREFIX}.light_brightness`, message: "This camera's light has no levels" }]);
      if (wanted === 0 && input.light === true) throw validationError('Invalid camera update', [{ path: `${PREFIX}.light_brightness`, message: '0 switches the light off; it cannot go with light: true' }]);
    }
    // `light` switches it; `light_brightness` (where the light has levels) sets how bright it shines
    // and, without `light`, switches it on — 0 switches it off and keeps the level, as Home
    // Assistant's brightness does.
    const on = wanted === 0 ? false : wanted !== undefined ? (input.light ?? true) : (input.light ?? rec.light);
    const level = wanted !== undefined && wanted > 0 ? wanted : (rec.light_brightness ?? undefined);
    const levelChanged = level !== undefined && level !== rec.light_brightness;
    if (on === rec.light && !levelChanged) return;
    if (on !== rec.light) plan.patch.light = plan.changes.light = on;
    if (levelChanged) plan.patch.light_brightness = plan.changes.light_brightness = level;
    plan.steps.push((session) => {
      if (!session?.mapping.light) return () => undefined;
      session.setLight(on, level);
      return () => session.setLight(rec.light, rec.light_brightness ?? undefined);
    });
  }

  /** Image settings on the device (checked by plan), all or nothing; the values read back are what is stored. */
  private controlsStep(rec: CameraRecord, session: DeviceSession, values: ControlsInput, plan: ChangePlan): () => void {
    const before = session.read();
    session.apply(values, `${PREFIX}.controls`);
    const after = session.read();
    Object.assign(plan.changes, diff(rec.controls, after));
    plan.patch.controls = after;
    return () => session.restore(before, (key, err) => this.deps.logger.warn({ camera: rec.name, key, err: (err as Error).message }, 'could not put a camera setting back'));
  }

  /**
   * Device controls by stable name, written and read back with every control's flags (one write can
   * change others). The values set are kept in the record and restored when the camera comes back.
   */
  private deviceControlsStep(rec: CameraRecord, session: DeviceSession, values: ReturnType<DeviceSession['checkDeviceControls']>, plan: ChangePlan): () => void {
    const undo = session.applyDeviceControls(values);
    const after = session.deviceControls();
    const nameOf = (id: number) => Object.keys(after).find((k) => after[k]!.id === id);
    // Pressed buttons change nothing to read, yet they happened: each is published once.
    const pressed = values.filter((v) => v.control.type === 'button').map((v) => nameOf(v.control.id)).filter((k): k is string => k !== undefined);
    const published = session.takeDeviceControlChanges(pressed);
    if (Object.keys(published).length) plan.changes.device_controls = published;
    const stored = { ...rec.device_controls };
    for (const { control, value } of values) {
      const name = nameOf(control.id);
      if (name && control.type !== 'button') stored[name] = value;
    }
    plan.patch.device_controls = stored;
    return undo;
  }

  /** Runs the device steps in order; a failing step undoes the ones before it. Returns the undo of them all. */
  private applySteps(rec: CameraRecord, plan: ChangePlan): () => void {
    const undos: (() => void)[] = [];
    const undoAll = () => {
      for (const undo of undos.reverse()) {
        try {
          undo();
        } catch (err) {
          // Best effort: the device may be gone; the caller's error says what failed.
          this.deps.logger.warn({ camera: rec.name, err: (err as Error).message }, 'could not put the camera back');
        }
      }
    };
    for (const step of plan.steps) {
      try {
        undos.push(step(this.devices.session(rec.id)));
      } catch (err) {
        undoAll();
        throw this.deviceError(rec, err);
      }
    }
    return undoAll;
  }

  private holdsStream(id: string): boolean {
    return this.demand.list(id).some((r) => r.type === STREAM_SWITCH_READER.type && r.id === STREAM_SWITCH_READER.id);
  }

  /** A switched-off camera keeps what it was; changing it waits until it is switched on (a conflict, not a failure). */
  private switchedOff(rec: CameraRecord, what: string[]): AppError {
    this.deps.logger.debug({ camera: rec.name, refused: what }, 'change refused: the camera is switched off');
    return conflict(`Camera "${rec.name}" is switched off; switch it on first`);
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
      this.lastOffer.delete(id);
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
    if (!isEnabled(rec)) throw conflict(`Camera "${rec.name}" is switched off; switch it on first`);
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

  /**
   * Stores a change and publishes it once (after a switch on or off, its `enabled`/`disabled` notice
   * first); an empty change is neither stored nor published.
   */
  private async commit(rec: CameraRecord, patch: Partial<CameraRecord>, changes: Record<string, unknown>, notice: ChangePlan['notice'] = null): Promise<CameraView> {
    // Device controls an image setting or the light changed on the way (automatic gain makes gain inactive).
    const moved = changes.device_controls === undefined ? this.devices.session(rec.id)?.takeDeviceControlChanges([], false) : undefined;
    if (moved && Object.keys(moved).length && Object.keys(changes).length) changes = { ...changes, device_controls: moved };
    if (!Object.keys(changes).length) return this.toView(this.deps.cameras.get(rec.id) ?? rec);
    const next = await this.deps.cameras.update(rec.id, (cur) => ({ ...cur, ...patch, updated_at: new Date().toISOString() }));
    if (!next) throw notFound('Camera');
    if (notice?.event === 'enabled') this.deps.bus.publish('camera', rec.id, 'enabled', notice.details);
    else if (notice?.event === 'disabled') this.deps.bus.publish('camera', rec.id, 'disabled', notice.details);
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

  private toView(r: CameraRecord): CameraView {
    const session = this.devices.session(r.id);
    // While the device is closed (switched off, unplugged) the camera shows what it offered when
    // last open, so its options (and the entities made from them) stay as they were.
    let extra: DeviceOffer = this.lastOffer.get(r.id) ?? storedOffer(r);
    if (session) {
      try {
        extra = {
          resolutions: session.resolutions(),
          fps_options: session.fpsOptions,
          formats: session.formatList(),
          format: session.currentFormat(),
          capabilities: session.capabilities(),
          device_controls: session.deviceControls(),
        };
        this.lastOffer.set(r.id, extra);
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
      // Records stored before a setting existed (hue) read it as null until the device is read again.
      controls: { ...EMPTY_CONTROLS, ...r.controls },
      ...extra,
      record: r.record,
      jpeg_quality: r.jpeg_quality,
      motion: r.motion ?? false,
      motion_threshold: r.motion_threshold ?? this.deps.config.motion_threshold,
      motion_min_area_percent: r.motion_min_area_percent ?? this.deps.config.motion_min_area_percent,
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

/** The demand the camera's Stream switch holds while it is on. */
export const STREAM_SWITCH_READER: Reader = { type: 'switch', id: 'stream' };

type DeviceOffer = Pick<CameraView, 'resolutions' | 'fps_options' | 'formats' | 'format' | 'capabilities' | 'device_controls'>;

/** Before the device was ever open in this process: the stored size and rate are the only options known. */
const storedOffer = (r: CameraRecord): DeviceOffer => ({
  resolutions: r.controls.resolution === null ? [] : [r.controls.resolution],
  fps_options: r.controls.fps === null ? [] : [r.controls.fps],
  formats: [],
  format: null,
  capabilities: NO_CAPABILITIES,
  device_controls: r.device_control_list ?? {},
});

/** One change, read against the camera (CameraService.plan) before anything is applied. */
interface ChangePlan {
  patch: Partial<CameraRecord>;
  /** What the `updated` event says changed. */
  changes: Record<string, unknown>;
  /** Device work in order, each returning its undo (run when the store refuses the change). */
  steps: ((session: DeviceSession | undefined) => () => void)[];
  /** After the store took the change: opening or closing the device, the stream hold. */
  after: (() => void)[];
  /** The parts of the change that act on the camera itself: refused while it is switched off. */
  touchesCamera: string[];
  startsRecording: boolean;
  /** The `enabled`/`disabled` notice a switch on or off publishes. */
  notice: { event: 'enabled'; details: { name: string; enabled: true; by: string } } | { event: 'disabled'; details: { name: string; enabled: false; by: string } } | null;
}

/** The Rotoclear recording values: on/true starts, off/false stops, pause only while recording, pause_release only while paused. */
type RecordInput = boolean | 'on' | 'off' | 'pause' | 'pause_release';

function nextRecordState(current: RecordState, wanted: RecordInput): RecordState {
  if (wanted === true || wanted === 'on') return 'on';
  if (wanted === false || wanted === 'off') return 'off';
  if (wanted === 'pause') {
    if (current === 'off') throw validationError('Invalid camera update', [{ path: `${PREFIX}.record`, message: 'Recording is not running' }]);
    return 'pause';
  }
  if (current !== 'pause') throw validationError('Invalid camera update', [{ path: `${PREFIX}.record`, message: 'Recording is not paused' }]);
  return 'on';
}
