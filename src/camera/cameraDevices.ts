// Camera devices: finding them (V4L2 discovery, simulated cameras by configuration), loading the
// V4L2 driver when a node first appears, and hot-plug — opening a device session when a camera's
// device is present and enabled, closing it when the device goes away. The camera service composes
// this and owns the records and settings; this file never decides what a setting is.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../core/eventBus.js';
import type { StatusService } from '../services/system/statusService.js';
import type { Collection } from '../store/database.js';
import type { CameraControls, CameraDriverName, CameraRecord } from './cameraRecord.js';
import { DeviceSession } from './deviceSession.js';
import type { CameraDriver, DeviceInfo } from './driver.js';
import type { SimulatedDriver } from './drivers/simulated/simulatedDriver.js';

export interface CameraDevicesDeps {
  cameras: Collection<CameraRecord>;
  bus: EventBus;
  config: Config['cameras'];
  /** Where connected/total is reported for /api/health. */
  status?: StatusService;
  logger: Logger;
  simulated: SimulatedDriver;
  /** Resolves to the V4L2 driver, or null where it is missing or cannot load. */
  loadV4l2?: () => Promise<CameraDriver | null>;
  /** Whether a V4L2 node exists; the driver is loaded on the first scan that finds one. Default: always. */
  v4l2NodesPresent?: () => boolean;
  /** The camera's change queue, shared with settings, so opening a device never interleaves with a change. */
  serial: <T>(id: string, fn: () => Promise<T>) => Promise<T>;
  /** Creates the record of a newly found device (the service's, so every record is made one way). */
  insert: (driver: CameraDriverName, device: string, name: string | null) => Promise<unknown>;
  /** Stores and publishes what an opened device reports (its controls, light, card). */
  commit: (rec: CameraRecord, patch: Partial<CameraRecord>, changes: Record<string, unknown>) => Promise<unknown>;
}

export class CameraDevices {
  private readonly sessions = new Map<string, DeviceSession>();
  /** Cameras whose capture runs (the streaming pipeline's `ready`/`notReady`). */
  private readonly ready = new Set<string>();
  private readonly lastAttachError = new Map<string, string>();
  /** Configured device paths (`cameras.devices`) that are not usable, with why: health names them. */
  private deviceProblems = new Map<string, string>();
  private v4l2: CameraDriver | null = null;
  /** Loading the V4L2 driver was tried (it is not retried when it failed to load). */
  private v4l2Tried = false;
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;

  constructor(private readonly deps: CameraDevicesDeps) {}

  async start(): Promise<void> {
    this.deps.bus.subscribe(this, (e) => {
      if (!e.entity) return;
      if (e.event === 'ready') this.ready.add(e.entity);
      else if (e.event === 'notReady') this.ready.delete(e.entity);
    }, ['camera']);
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.deps.config.scan_interval_seconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.scanning;
    this.deps.bus.removeListeners(this);
    for (const s of this.sessions.values()) s.device.close();
    this.sessions.clear();
  }

  /** The open device of a camera, if it is connected. */
  session(id: string): DeviceSession | undefined {
    return this.sessions.get(id);
  }

  connected(id: string): boolean {
    return this.sessions.has(id);
  }

  isReady(id: string): boolean {
    return this.ready.has(id);
  }

  /** One pass: attach devices that are present, detach those that went away, create records for new ones. */
  scan(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.scanOnce()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'camera scan failed'))
        .finally(() => {
          this.scanning = null;
        });
    }
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    await this.loadV4l2WhenNeeded();
    const v4l2Present = this.discoverV4l2();
    if (v4l2Present === null) return;
    for (const info of v4l2Present) {
      if (!this.deps.cameras.find((r) => r.driver === 'v4l2' && r.device === info.path)) await this.deps.insert('v4l2', info.path, info.card || info.path);
    }
    const mode = this.deps.config.simulated;
    const simulatedRecords = () => this.deps.cameras.filter((r) => r.driver === 'simulated');
    if ((mode === 'always' || (mode === 'auto' && v4l2Present.length === 0)) && simulatedRecords().length === 0) {
      await this.deps.insert('simulated', this.deps.simulated.add(), null);
    }
    // Simulated cameras "exist" by configuration: auto-created ones only while no real camera does.
    for (const r of simulatedRecords()) {
      const wanted = mode === 'always' || (mode === 'auto' && (r.origin === 'manual' || v4l2Present.length === 0));
      if (wanted) this.deps.simulated.add(r.device);
      else this.deps.simulated.unplug(r.device);
    }
    const present = new Set([...v4l2Present.map((i) => `v4l2|${i.path}`), ...this.deps.simulated.discover().map((i) => `simulated|${i.path}`)]);
    this.checkConfiguredDevices(v4l2Present);
    for (const rec of this.deps.cameras.all()) {
      const here = present.has(`${rec.driver}|${rec.device}`);
      if (!here && this.sessions.has(rec.id)) await this.detach(rec.id, 'device is gone');
      else if (here && !this.sessions.has(rec.id) && isEnabled(rec)) await this.attach(rec.id);
    }
    this.reportStatus();
  }

  /**
   * Every path in `cameras.devices` that discovery did not find (missing, not a capture device,
   * or no V4L2 driver here) is a problem for health, logged once per path and reason.
   */
  private checkConfiguredDevices(found: readonly DeviceInfo[]): void {
    const problems = new Map<string, string>();
    for (const path of this.deps.config.devices) {
      if (found.some((i) => i.path === path)) continue;
      const why = !existsSync(path) ? 'does not exist' : this.v4l2 ? 'is not a video capture device or cannot be opened' : 'cannot be opened (the V4L2 driver is not available here)';
      problems.set(path, why);
      if (this.deviceProblems.get(path) !== why) this.deps.logger.error({ device: path, option: 'cameras.devices' }, `cameras.devices: ${path} ${why}`);
    }
    this.deviceProblems = problems;
  }

  /** Most installs have no camera node: the driver's FFI runtime is loaded only once one appears. */
  private async loadV4l2WhenNeeded(): Promise<void> {
    if (this.v4l2Tried || !this.deps.loadV4l2) return;
    if (this.deps.v4l2NodesPresent && !this.deps.v4l2NodesPresent()) return;
    this.v4l2Tried = true;
    this.v4l2 = await this.deps.loadV4l2();
  }

  private discoverV4l2(): DeviceInfo[] | null {
    if (!this.v4l2) return [];
    try {
      const wanted = this.deps.config.devices;
      return this.v4l2.discover().filter((i) => i.isCapture && (wanted.length === 0 || wanted.includes(i.path)));
    } catch (err) {
      // Do not mark cameras absent because discovery itself failed; try again next pass.
      this.deps.logger.warn({ err: (err as Error).message }, 'V4L2 discovery failed');
      return null;
    }
  }

  private driverFor(name: CameraDriverName): CameraDriver | null {
    return name === 'simulated' ? this.deps.simulated : this.v4l2;
  }

  private async attach(id: string): Promise<void> {
    await this.deps.serial(id, async () => {
      const rec = this.deps.cameras.get(id);
      const driver = rec && this.driverFor(rec.driver);
      if (!rec || !driver || this.sessions.has(id) || !isEnabled(rec)) return;
      let session: DeviceSession;
      try {
        const device = driver.open(rec.device);
        try {
          session = new DeviceSession(device);
          if (rec.controls.resolution !== null) {
            session.restore(rec.controls, (key, err) => this.deps.logger.warn({ camera: rec.name, key, err: (err as Error).message }, 'could not restore a camera setting'));
          }
          session.restoreLight(rec.light, rec.light_brightness ?? undefined);
          session.restoreDeviceControls(rec.device_controls ?? {}, (key, err) => this.deps.logger.warn({ camera: rec.name, key, err: (err as Error).message }, 'could not restore a device control'));
        } catch (err) {
          device.close();
          throw err;
        }
      } catch (err) {
        const reason = (err as Error).message;
        if (this.lastAttachError.get(id) !== reason) this.deps.logger.warn({ camera: rec.name, device: rec.device, reason }, 'camera present but could not be opened; retrying on the next scan');
        this.lastAttachError.set(id, reason);
        return;
      }
      this.lastAttachError.delete(id);
      this.sessions.set(id, session);
      this.reportStatus();
      const controls = session.read();
      const light = session.readLight() ?? rec.light;
      // A level that is its own switch reads nothing while off: the stored level stays (full, if none yet).
      const lightBrightness = session.mapping.lightLevel ? (session.readLightLevel(rec.light_brightness) ?? rec.light_brightness ?? 100) : null;
      const changes: Record<string, unknown> = { exists: true, ...diffControls(rec.controls, controls) };
      if (light !== rec.light) changes.light = light;
      if (lightBrightness !== (rec.light_brightness ?? null)) changes.light_brightness = lightBrightness;
      const { card, driver: kernelDriver } = session.device.info;
      if (card !== rec.card) changes.card = card;
      this.deps.logger.info({ camera: rec.name, device: rec.device, driver: rec.driver }, 'camera connected');
      this.deps.bus.publish('camera', id, 'connected', { device: rec.device, driver: rec.driver });
      const hasLight = session.mapping.light !== undefined;
      if (hasLight !== rec.has_light) changes.has_light = hasLight;
      const deviceControlList = session.deviceControls();
      await this.deps.commit(rec, { controls, light, light_brightness: lightBrightness, card, kernel_driver: kernelDriver, has_light: hasLight, device_control_list: deviceControlList }, changes);
    });
  }

  /** The device went away (or failed as gone): its session closes and the camera is shown absent until a scan finds it again. */
  async detach(id: string, reason: string): Promise<void> {
    if (!this.sessions.has(id)) return;
    this.close(id);
    const rec = this.deps.cameras.get(id);
    if (!rec) return;
    this.deps.logger.warn({ camera: rec.name, device: rec.device, reason }, 'camera disconnected');
    this.deps.bus.publish('camera', id, 'disconnected', { device: rec.device, reason });
    this.deps.bus.publish('camera', id, 'updated', { changes: { exists: false } });
    this.reportStatus();
  }

  /** Closes a camera's device because it is switched off or deleted; no `disconnected` event: it did not go away. */
  close(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.ready.delete(id);
    try {
      session.device.close();
    } catch {
      // Closing a vanished device can fail; the kernel releases our descriptor either way.
    }
  }

  /** Cameras their owner switched off are listed as off, not counted as missing: that is not a fault. */
  reportStatus(): void {
    if (!this.deps.status) return;
    const all = this.deps.cameras.all();
    const off = all.filter((r) => !isEnabled(r)).map((r) => r.name);
    const on = all.length - off.length;
    const connected = this.sessions.size;
    const offText = off.length ? `switched off: ${off.join(', ')}` : '';
    // A configured device that cannot be used is an error even when another camera (the simulated one) works.
    const opened = (rec: CameraRecord) => !isEnabled(rec) || this.sessions.has(rec.id) || rec.driver !== 'v4l2' || !this.deps.config.devices.includes(rec.device);
    const problems = [
      ...[...this.deviceProblems].map(([path, why]) => `cameras.devices: ${path} ${why}`),
      ...all.filter((r) => !opened(r) && this.lastAttachError.has(r.id)).map((r) => `cameras.devices: ${r.device} cannot be opened: ${this.lastAttachError.get(r.id)}`),
    ];
    if (problems.length) this.deps.status.setComponent('cameras', 'error', [`${connected} of ${on} connected`, ...problems, offText].filter(Boolean).join('; '));
    else if (all.length === 0) this.deps.status.setComponent('cameras', 'disabled', 'no cameras');
    else if (on === 0) this.deps.status.setComponent('cameras', 'ok', offText);
    else this.deps.status.setComponent('cameras', connected > 0 ? 'ok' : 'disconnected', [`${connected} of ${on} connected`, offText].filter(Boolean).join('; '));
  }
}

export const isEnabled = (r: CameraRecord): boolean => r.enabled !== false;

/** The controls that differ, by Rotoclear key: what a change or a reopened device publishes. */
export function diffControls(before: CameraControls, after: CameraControls): Record<string, unknown> {
  return Object.fromEntries(Object.entries(after).filter(([k, v]) => before[k as keyof CameraControls] !== v));
}
