// One open camera device with its control mapping: reads the current settings in Rotoclear
// units, applies a set of changes all-or-nothing (undoing what was applied when a later step
// fails), and restores stored settings when a camera comes back.
import { validationError } from '../core/errors.js';
import type { CameraControls, CameraCapabilities, ControlCapability } from './cameraRecord.js';
import type { ControlsInput } from './cameraSchemas.js';
import { RANGE_KEYS, SWITCH_KEYS, type ImageKey } from './controlCatalog.js';
import { deviceToPercent, mapControls, percentToDevice, type DeviceMapping } from './controlMapping.js';
import { controlName, describeControl, isSimple, readable, resolveValues, type DeviceControlView } from './deviceControls.js';
import { CameraDriverError, type CameraDevice, type ControlInfo, type CurrentFormat, type FormatInfo, type InputInfo } from './driver.js';

/** Integer rates tried to learn which frame rates a device offers when it cannot enumerate them (it answers with what it chose). */
const FPS_PROBES = [5, 10, 15, 20, 25, 30, 40, 50, 60];

const capability = (c: ControlInfo): ControlCapability => ({
  v4l2_key: c.key,
  v4l2_id: c.id,
  type: c.type,
  minimum: c.minimum,
  maximum: c.maximum,
  step: c.step,
  default: c.default,
});

const sizeKey = (w: number, h: number) => `${w}x${h}`;

/** Rates as every client sees them: two decimals (a UVC interval of 333333 × 100 ns is 30 fps, not 30.0003). */
const roundFps = (fps: number) => Math.round(fps * 100) / 100;

export class DeviceSession {
  readonly mapping: DeviceMapping;
  private readonly controls: ControlInfo[];
  private readonly formats: FormatInfo[];
  private readonly inputs: InputInfo[];
  /** Rates learned by probing S_PARM, for devices that do not enumerate frame intervals. */
  private probedFps: number[] = [];
  /** Every simple control with its flags and value, as last read (after opening and after each change). */
  private generic: Record<string, DeviceControlView> = {};
  /** Names changed by re-reads and not yet carried by a change event. */
  private readonly unpublished = new Set<string>();

  constructor(readonly device: CameraDevice) {
    this.controls = device.listControls();
    this.mapping = mapControls(this.controls);
    this.formats = device.listFormats();
    this.inputs = device.listInputs();
    this.refreshRates();
    this.refreshDeviceControls();
    // What the device holds when opened is the starting point, not a change.
    this.unpublished.clear();
  }

  /** Every simple control by stable name (see deviceControls.ts), as last read. */
  deviceControls(): Record<string, DeviceControlView> {
    return this.generic;
  }

  /** The image setting or light that already serves a control, by control id (one entity per control). */
  private servedBy(): Map<number, string> {
    const out = new Map<number, string>(Object.entries(this.mapping.image).map(([key, m]) => [m.control.id, key]));
    if (this.mapping.lightLevel) out.set(this.mapping.lightLevel.control.id, 'light_brightness');
    if (this.mapping.light) out.set(this.mapping.light.control.id, 'light');
    return out;
  }

  /**
   * Re-reads flags and values of every simple control: a write can change others (V4L2_CTRL_FLAG_UPDATE,
   * e.g. automatic gain makes gain inactive). Returns the stable names whose view changed.
   */
  refreshDeviceControls(): string[] {
    const next: Record<string, DeviceControlView> = {};
    const served = this.servedBy();
    for (const c of this.device.listControls().filter(isSimple)) {
      let raw: number | undefined;
      if (readable(c)) {
        try {
          raw = this.device.getControl(c.id);
        } catch (err) {
          // Some controls refuse reads in some states (EACCES, EIO on UVC); a gone device is not one of those.
          if (err instanceof CameraDriverError && err.isGone) throw err;
        }
      }
      next[controlName(c)] = { ...describeControl(c, raw), served_by: served.get(c.id) ?? null };
    }
    const changed = [...new Set([...Object.keys(this.generic), ...Object.keys(next)])].filter((k) => JSON.stringify(this.generic[k]) !== JSON.stringify(next[k]));
    this.generic = next;
    for (const k of changed) this.unpublished.add(k);
    return changed;
  }

  /**
   * The device controls whose value or flags changed since the last call, by name with their value
   * (`pressed` adds buttons, which change nothing to read): what the next change event carries.
   * `servedToo: false` leaves out controls an image setting or the light stands for (that key says it).
   */
  takeDeviceControlChanges(pressed: readonly string[] = [], servedToo = true): Record<string, number | boolean | null> {
    const names = [...new Set([...this.unpublished, ...pressed])].filter((k) => servedToo || !this.generic[k]?.served_by);
    this.unpublished.clear();
    return Object.fromEntries(names.map((k) => [k, this.generic[k]?.value ?? null]));
  }

  /** Checks requested device control values against the device's own range, step and menu (throws a validation error). */
  checkDeviceControls(input: Record<string, unknown>, prefix: string): { control: ControlInfo; value: number }[] {
    return resolveValues(this.device.listControls(), input, prefix);
  }

  /**
   * Writes checked device control values in order; a failure puts back those already written (where
   * they can be read) and rethrows. Flags and values are re-read afterwards either way. Returns the
   * undo of the whole write (the camera service runs it when the store refuses the change).
   */
  applyDeviceControls(values: readonly { control: ControlInfo; value: number }[]): () => void {
    const undo: (() => void)[] = [];
    const undoAll = () => {
      for (const step of [...undo].reverse()) {
        try {
          step();
        } catch {
          // Best effort: the device may be gone; the original error is what the caller needs.
        }
      }
    };
    try {
      for (const { control, value } of values) {
        const prev = readable(control) ? this.device.getControl(control.id) : undefined;
        this.device.setControl(control.id, value);
        if (prev !== undefined) undo.push(() => this.device.setControl(control.id, prev));
      }
    } catch (err) {
      undoAll();
      throw err;
    } finally {
      this.refreshQuietly();
    }
    return () => {
      undoAll();
      this.refreshQuietly();
    };
  }

  /** What the device offers (VIDIOC_ENUM_FMT / ENUM_FRAMESIZES / ENUM_FRAMEINTERVALS), read once when it was opened. */
  formatList(): FormatInfo[] {
    return this.formats;
  }

  /** The current pixel format and frame size (VIDIOC_G_FMT). */
  currentFormat(): CurrentFormat {
    return this.device.getFormat();
  }

  /** Sizes offered in the current pixel format (the current size always among them). */
  resolutions(): string[] {
    const sizes = [...(this.currentFormatInfo()?.sizes ?? [])];
    const { width, height } = this.device.getFormat();
    if (!sizes.some((s) => s.width === width && s.height === height)) sizes.push({ width, height, fps: [] });
    sizes.sort((a, b) => a.width * a.height - b.width * b.height || a.width - b.width);
    return [...new Set(sizes.map((s) => sizeKey(s.width, s.height)))];
  }

  /**
   * The rates the device offers at the current size, as read() reports them (12.5 where it offers
   * 12.5, only 1 and 2 where a large size offers no more); the current rate is always among them,
   * so a published state is always one of the published options.
   */
  get fpsOptions(): number[] {
    const { width, height } = this.device.getFormat();
    const offered = new Set(this.enumeratedFps(width, height) ?? this.probedFps);
    const current = this.device.getFrameRate();
    if (current !== null) offered.add(roundFps(current));
    return [...offered].sort((a, b) => a - b);
  }

  private currentFormatInfo(): FormatInfo | undefined {
    const fourcc = this.device.getFormat().fourcc;
    return this.formats.find((f) => f.fourcc === fourcc) ?? this.formats[0];
  }

  /** The enumerated rates at a size in the current format; null when the device does not enumerate intervals there. */
  private enumeratedFps(width: number, height: number): number[] | null {
    const size = this.currentFormatInfo()?.sizes.find((s) => s.width === width && s.height === height);
    if (!size?.fps.length) return null;
    return [...new Set(size.fps.filter((f) => f > 0).map(roundFps))];
  }

  /** Probes rates only where enumeration gives none: probing changes the device's rate back and forth. */
  private refreshRates(): void {
    const { width, height } = this.device.getFormat();
    this.probedFps = this.enumeratedFps(width, height) === null ? this.probeFps() : [];
  }

  capabilities(): CameraCapabilities {
    const controls: Record<string, ControlCapability> = {};
    for (const [key, m] of Object.entries(this.mapping.image)) controls[key] = capability(m.control);
    return {
      controls,
      light: this.mapping.light ? capability(this.mapping.light.control) : null,
      light_level: this.mapping.lightLevel ? capability(this.mapping.lightLevel.control) : null,
      inputs: this.inputs.map((i) => ({ sensor: i.index + 1, name: i.name, type: i.type })),
      formats: this.formats.map((f) => ({ fourcc: f.fourcc, description: f.description })),
      pixel_format: this.device.getFormat().fourcc,
    };
  }

  read(): CameraControls {
    const out = {} as CameraControls;
    for (const key of RANGE_KEYS) {
      const m = this.mapping.image[key];
      out[key] = m ? deviceToPercent(this.device.getControl(m.control.id), m.control) : null;
    }
    for (const key of SWITCH_KEYS) {
      const m = this.mapping.image[key];
      out[key] = m && m.kind === 'switch' ? m.isOn(this.device.getControl(m.control.id)) : null;
    }
    const format = this.device.getFormat();
    out.resolution = sizeKey(format.width, format.height);
    const fps = this.device.getFrameRate();
    out.fps = fps === null ? null : roundFps(fps);
    out.sensor = this.inputs.length ? this.device.getInput() + 1 : null;
    return out;
  }

  readLight(): boolean | null {
    const l = this.mapping.light;
    return l ? l.isOn(this.device.getControl(l.control.id)) : null;
  }

  /**
   * The light's level (1–100) as the device holds it; null without levels, or while a level that is
   * its own switch is off. `stored` is kept when it is what the device holds (coarse controls would
   * otherwise turn a chosen 70 into 71).
   */
  readLightLevel(stored?: number | null): number | null {
    const level = this.mapping.lightLevel;
    if (!level) return null;
    const value = this.device.getControl(level.control.id);
    if (this.levelIsSwitch && value <= level.control.minimum) return null;
    if (stored != null && this.levelValue(stored) === value) return stored;
    // 0 means off to every client (HA's brightness 0): a light that is on is at least 1.
    return Math.max(1, deviceToPercent(value, level.control));
  }

  /** The device value of a level; where the level is the switch, never its minimum (that is off). */
  private levelValue(percent: number): number {
    const c = this.mapping.lightLevel!.control;
    if (!this.levelIsSwitch) return percentToDevice(percent, c);
    const step = c.step > 0 ? c.step : 1;
    return Math.min(c.maximum, Math.max(c.minimum + step, percentToDevice(percent, c)));
  }

  /**
   * Switches the light and, where it has levels, sets how bright it shines (`level`, 1–100) — both
   * or neither: a failed switch puts the level back.
   */
  setLight(on: boolean, level?: number): void {
    try {
      this.switchLight(on, level);
    } finally {
      this.refreshQuietly();
    }
  }

  private switchLight(on: boolean, level?: number): void {
    const l = this.mapping.light;
    if (!l) return;
    const lv = this.mapping.lightLevel;
    if (lv && this.levelIsSwitch) {
      this.device.setControl(l.control.id, on ? this.levelValue(level ?? 100) : l.off);
      return;
    }
    if (!lv || level === undefined) {
      this.device.setControl(l.control.id, on ? l.on : l.off);
      return;
    }
    const before = this.device.getControl(lv.control.id);
    this.device.setControl(lv.control.id, this.levelValue(level));
    try {
      this.device.setControl(l.control.id, on ? l.on : l.off);
    } catch (err) {
      try {
        this.device.setControl(lv.control.id, before);
      } catch {
        // Best effort: the device may be gone; the original error is what the caller needs.
      }
      throw err;
    }
  }

  /** Puts a stored light back on a reopened device: on at its level, or (off) only the level, where that is a control of its own. */
  restoreLight(on: boolean, level: number | undefined): void {
    if (on) return this.setLight(true, level);
    const lv = this.mapping.lightLevel;
    if (lv && level !== undefined && !this.levelIsSwitch) this.device.setControl(lv.control.id, this.levelValue(level));
  }

  private get levelIsSwitch(): boolean {
    return this.mapping.lightLevel !== undefined && this.mapping.lightLevel.control.id === this.mapping.light?.control.id;
  }

  /** Checks requested changes against what this device offers; throws one validation error listing each problem. */
  check(values: ControlsInput, prefix: string): void {
    const problems: { path: string; message: string }[] = [];
    for (const key of [...RANGE_KEYS, ...SWITCH_KEYS] as ImageKey[]) {
      if (values[key] !== undefined && !this.mapping.image[key]) problems.push({ path: `${prefix}.${key}`, message: 'This camera has no such control' });
    }
    if (values.resolution !== undefined && !this.resolutions().includes(values.resolution)) {
      problems.push({ path: `${prefix}.resolution`, message: `Resolution not offered; choose one of ${this.resolutions().join(', ')}` });
    }
    if (values.fps !== undefined) {
      const [width, height] = values.resolution?.split('x').map(Number) ?? [this.device.getFormat().width, this.device.getFormat().height];
      // A size that is not offered is reported above; rates are only checked where the device lists them.
      const offered = this.enumeratedFps(width!, height!) ?? (values.resolution === undefined && this.probedFps.length ? this.probedFps : null);
      if (offered && !offered.some((f) => Math.abs(f - values.fps!) < 0.01)) {
        problems.push({ path: `${prefix}.fps`, message: `This camera does not offer ${values.fps} fps at ${sizeKey(width!, height!)}; choose one of ${offered.join(', ')}` });
      }
    }
    if (values.sensor !== undefined && values.sensor > this.inputs.length) {
      problems.push({ path: `${prefix}.sensor`, message: this.inputs.length ? `Value must be between 1 and ${this.inputs.length}` : 'This camera has no inputs to choose from' });
    }
    if (problems.length) throw validationError('Invalid camera settings', problems);
  }

  /**
   * Applies the changes in a safe order (input, size, rate, auto switches, values). When any step
   * fails, the steps already applied are undone and the error is rethrown.
   */
  apply(values: ControlsInput, prefix: string): void {
    const undo: (() => void)[] = [];
    const dev = this.device;
    try {
      if (values.sensor !== undefined || values.resolution !== undefined || values.fps !== undefined) {
        // Input, size and rate depend on each other (a new size may lower the rate): undo them together, last.
        const input = this.inputs.length ? dev.getInput() : null;
        const format = dev.getFormat();
        const rate = dev.getFrameRate();
        undo.push(() => {
          if (input !== null && dev.getInput() !== input) dev.setInput(input);
          dev.setFormat(format);
          if (rate !== null) dev.setFrameRate(rate);
        });
      }
      if (values.sensor !== undefined) dev.setInput(values.sensor - 1);
      if (values.resolution !== undefined) {
        const [width, height] = values.resolution.split('x').map(Number) as [number, number];
        const got = dev.setFormat({ fourcc: dev.getFormat().fourcc, width, height });
        if (got.width !== width || got.height !== height) {
          throw validationError('Invalid camera settings', [{ path: `${prefix}.resolution`, message: `The device chose ${sizeKey(got.width, got.height)} instead` }]);
        }
      }
      if (values.resolution !== undefined || values.sensor !== undefined) this.refreshRates();
      if (values.fps !== undefined) {
        const got = dev.setFrameRate(values.fps);
        if (got === null || Math.abs(got - values.fps) > 0.01) {
          const offered = this.fpsOptions.length ? `; offered: ${this.fpsOptions.join(', ')}` : '';
          throw validationError('Invalid camera settings', [{ path: `${prefix}.fps`, message: `This camera does not offer ${values.fps} fps at ${sizeKey(dev.getFormat().width, dev.getFormat().height)}${offered}` }]);
        }
      }
      for (const key of [...SWITCH_KEYS, ...RANGE_KEYS] as ImageKey[]) {
        const v = values[key];
        const m = this.mapping.image[key];
        if (v === undefined || !m) continue;
        const prev = dev.getControl(m.control.id);
        const next = m.kind === 'switch' ? (v ? m.on : m.off) : percentToDevice(v as number, m.control);
        dev.setControl(m.control.id, next);
        undo.push(() => dev.setControl(m.control.id, prev));
      }
    } catch (err) {
      for (const step of undo.reverse()) {
        try {
          step();
        } catch {
          // Best effort: the device may be gone; the original error is what the caller needs.
        }
      }
      if (values.resolution !== undefined || values.sensor !== undefined) {
        try {
          this.refreshRates();
        } catch {
          // The device is failing; the original error says why.
        }
      }
      throw err;
    } finally {
      // An image setting is a device control too (automatic gain makes gain inactive).
      this.refreshQuietly();
    }
  }

  private refreshQuietly(): void {
    try {
      this.refreshDeviceControls();
    } catch {
      // A failing device: the change's own error (or the next read) says why.
    }
  }

  /** Puts stored settings back (a replugged camera forgets them); each setting on its own, best effort. */
  restore(stored: CameraControls, onError: (key: string, err: unknown) => void): void {
    const order = ['sensor', 'resolution', 'fps', ...SWITCH_KEYS, ...RANGE_KEYS] as const;
    for (const key of order) {
      const value = stored[key];
      if (value === null) continue;
      try {
        const one = { [key]: value } as ControlsInput;
        this.check(one, 'controls');
        this.apply(one, 'controls');
      } catch (err) {
        onError(key, err);
      }
    }
    this.refreshRates();
  }

  /** Puts stored device control values back, each on its own, best effort (a control the device no longer offers is skipped). */
  restoreDeviceControls(stored: Record<string, number>, onError: (key: string, err: unknown) => void): void {
    for (const [name, value] of Object.entries(stored)) {
      try {
        this.applyDeviceControls(this.checkDeviceControls({ [name]: value }, 'device_controls'));
      } catch (err) {
        onError(name, err);
      }
    }
  }

  /** Which integer frame rates the device accepts at the current size; the current rate is put back. */
  private probeFps(): number[] {
    const current = this.device.getFrameRate();
    if (current === null) return [];
    const offered = new Set<number>();
    try {
      for (const want of FPS_PROBES) {
        const got = this.device.setFrameRate(want);
        if (got !== null && Number.isInteger(got) && got >= 5 && got <= 60) offered.add(got);
      }
    } catch {
      // Some devices refuse S_PARM while streaming: offer what is set now.
      return Number.isInteger(current) ? [current] : [];
    } finally {
      try {
        this.device.setFrameRate(current);
      } catch {
        // The device keeps whatever rate it had; read() reports it.
      }
    }
    return [...offered].sort((a, b) => a - b);
  }
}
