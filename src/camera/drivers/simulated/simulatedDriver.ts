// A camera driver without hardware: devices with vivid's controls, formats, webcam sizes and frame
// intervals, and inputs, keeping their state in memory like the kernel keeps a device's state.
// Devices can be added and removed (unplugged) at run time, so hot-plug paths run without a camera.
import {
  CameraDriverError,
  type CameraDevice,
  type CameraDriver,
  type ControlInfo,
  type CurrentFormat,
  type DeviceInfo,
  type FormatInfo,
  type FrameSize,
  type InputInfo,
} from '../../driver.js';
import { FLASH_CONTROLS, FLASH_INITIAL_VALUES } from './flashControls.js';
import { VIVID_CONTROLS, VIVID_FORMATS, VIVID_INITIAL_VALUES, VIVID_INPUTS, VIVID_WEBCAM_FPS, VIVID_WEBCAM_SIZES } from './vividControls.js';

export const SIMULATED_PREFIX = 'simulated:';

/** The state a device keeps between opens (what the kernel driver would hold). */
interface SimulatedState {
  info: DeviceInfo;
  controls: readonly ControlInfo[];
  values: Map<number, number>;
  format: CurrentFormat;
  fps: number;
  input: number;
  present: boolean;
  /** Bumped on every plug-in: handles opened before an unplug stay dead, like a real fd. */
  generation: number;
}

const sizeIndex = (w: number, h: number) => VIVID_WEBCAM_SIZES.findIndex((s) => s.width === w && s.height === h);

/** Frame rates vivid offers at a size: larger sizes offer fewer (the first 2 * (sizes - index)). */
export function simulatedFrameRates(size: FrameSize): number[] {
  const i = sizeIndex(size.width, size.height);
  return VIVID_WEBCAM_FPS.slice(0, 2 * (VIVID_WEBCAM_SIZES.length - Math.max(0, i)));
}

const nearest = <T>(items: readonly T[], distance: (t: T) => number): T =>
  items.reduce((best, t) => (distance(t) < distance(best) ? t : best), items[0]!);

class SimulatedDevice implements CameraDevice {
  private closed = false;
  private readonly generation: number;

  constructor(private readonly state: SimulatedState) {
    this.generation = state.generation;
  }

  get info(): DeviceInfo {
    return this.state.info;
  }

  private check(op: string): void {
    if (this.closed) throw new CameraDriverError('EINVAL', op, this.state.info.path, `${op} on a closed device`);
    if (!this.state.present || this.state.generation !== this.generation) throw new CameraDriverError('ENODEV', op, this.state.info.path);
  }

  private control(op: string, id: number): ControlInfo {
    this.check(op);
    const c = this.state.controls.find((x) => x.id === id);
    if (!c) throw new CameraDriverError('EINVAL', op, this.state.info.path, `${op}: no control 0x${id.toString(16)}`);
    // G/S_CTRL cannot carry payload or 64-bit controls; class entries are not values.
    if (c.flags.hasPayload || c.type === 'integer64' || c.type === 'ctrl_class') throw new CameraDriverError('EINVAL', op, this.state.info.path, `${op}: ${c.key} needs the extended control API`);
    return c;
  }

  listControls(): ControlInfo[] {
    this.check('VIDIOC_QUERYCTRL');
    const autoGain = this.state.values.get(0x00980912) === 1;
    // Like vivid, gain is inactive while automatic gain is on.
    return this.state.controls.map((c) => (c.id === 0x00980913 ? { ...c, flags: { ...c.flags, inactive: autoGain } } : c));
  }

  getControl(id: number): number {
    const c = this.control('VIDIOC_G_CTRL', id);
    if (c.flags.writeOnly) throw new CameraDriverError('EACCES', 'VIDIOC_G_CTRL', this.state.info.path, `${c.key} is write-only`);
    return this.state.values.get(id) ?? c.default;
  }

  setControl(id: number, value: number): void {
    const c = this.control('VIDIOC_S_CTRL', id);
    if (c.flags.readOnly) throw new CameraDriverError('EACCES', 'VIDIOC_S_CTRL', this.state.info.path, `${c.key} is read-only`);
    if (!Number.isFinite(value)) throw new CameraDriverError('EINVAL', 'VIDIOC_S_CTRL', this.state.info.path);
    if (c.type === 'button') return;
    if (c.type === 'menu' || c.type === 'integer_menu') {
      if (!c.menu?.some((m) => m.index === value)) throw new CameraDriverError('EINVAL', 'VIDIOC_S_CTRL', this.state.info.path, `${c.key}: no menu item ${value}`);
      this.state.values.set(id, value);
      return;
    }
    if (c.type === 'bitmask') {
      if ((value & ~c.maximum) !== 0) throw new CameraDriverError('ERANGE', 'VIDIOC_S_CTRL', this.state.info.path, `${c.key}: bits outside the mask`);
      this.state.values.set(id, value);
      return;
    }
    // The kernel's control framework rounds integers to the step and clamps them to the range.
    const step = c.step || 1;
    const stepped = c.minimum + Math.round((value - c.minimum) / step) * step;
    this.state.values.set(id, Math.min(c.maximum, Math.max(c.minimum, stepped)));
  }

  listFormats(): FormatInfo[] {
    this.check('VIDIOC_ENUM_FMT');
    // vivid offers every webcam size and the same intervals in each of its (uncompressed) formats.
    return VIVID_FORMATS.map((f) => ({ ...f, compressed: false, sizes: VIVID_WEBCAM_SIZES.map((s) => ({ ...s, fps: simulatedFrameRates(s) })) }));
  }

  getFormat(): CurrentFormat {
    this.check('VIDIOC_G_FMT');
    return { ...this.state.format };
  }

  setFormat(format: Partial<CurrentFormat> & FrameSize): CurrentFormat {
    this.check('VIDIOC_S_FMT');
    // Like vivid: an unknown pixel format falls back to the first one, the size to the nearest offered.
    const fourcc = VIVID_FORMATS.some((f) => f.fourcc === format.fourcc) ? format.fourcc! : format.fourcc === undefined ? this.state.format.fourcc : VIVID_FORMATS[0].fourcc;
    const size = nearest(VIVID_WEBCAM_SIZES, (s) => Math.abs(s.width - format.width) + Math.abs(s.height - format.height));
    this.state.format = { fourcc, width: size.width, height: size.height };
    const rates = simulatedFrameRates(size);
    if (!rates.includes(this.state.fps)) this.state.fps = rates[rates.length - 1]!;
    return { ...this.state.format };
  }

  getFrameRate(): number | null {
    this.check('VIDIOC_G_PARM');
    return this.state.fps;
  }

  setFrameRate(fps: number): number | null {
    this.check('VIDIOC_S_PARM');
    if (!(fps > 0)) throw new CameraDriverError('EINVAL', 'VIDIOC_S_PARM', this.state.info.path);
    this.state.fps = nearest(simulatedFrameRates(this.state.format), (r) => Math.abs(r - fps));
    return this.state.fps;
  }

  listInputs(): InputInfo[] {
    this.check('VIDIOC_ENUMINPUT');
    return VIVID_INPUTS.map((i) => ({ ...i }));
  }

  getInput(): number {
    this.check('VIDIOC_G_INPUT');
    return this.state.input;
  }

  setInput(index: number): void {
    this.check('VIDIOC_S_INPUT');
    if (!Number.isInteger(index) || index < 0 || index >= VIVID_INPUTS.length) throw new CameraDriverError('EINVAL', 'VIDIOC_S_INPUT', this.state.info.path);
    this.state.input = index;
  }

  close(): void {
    this.closed = true;
  }
}

export interface SimulatedDriverOptions {
  /** Devices also get an LED flash's controls (a torch with intensity levels): vivid has none. */
  flash?: boolean;
}

export class SimulatedDriver implements CameraDriver {
  readonly name = 'simulated' as const;
  private readonly devices = new Map<string, SimulatedState>();
  private readonly pulled = new Set<string>();
  private readonly controls: readonly ControlInfo[];
  private readonly initialValues: readonly [number, number][];

  constructor(options: SimulatedDriverOptions = {}) {
    this.controls = options.flash ? [...VIVID_CONTROLS, ...FLASH_CONTROLS] : VIVID_CONTROLS;
    this.initialValues = options.flash ? [...VIVID_INITIAL_VALUES, ...FLASH_INITIAL_VALUES] : [...VIVID_INITIAL_VALUES];
  }

  /** Creates (plugs in) a simulated device; without a path the next free `simulated:N`. Returns its path. */
  add(path?: string): string {
    // A pulled cable stays pulled: the camera service's rescan must not plug it back in.
    if (path && this.pulled.has(path)) return path;
    let p = path;
    for (let n = 0; !p; n++) if (!this.devices.has(`${SIMULATED_PREFIX}${n}`)) p = `${SIMULATED_PREFIX}${n}`;
    const existing = this.devices.get(p);
    if (existing?.present) return p;
    // A device plugged in (again) starts from the driver's defaults, as a re-probed kernel device does.
    this.devices.set(p, {
      info: { path: p, driver: 'vivid', card: p.startsWith(SIMULATED_PREFIX) ? `Simulated camera ${p.slice(SIMULATED_PREFIX.length)}` : `Simulated camera (${p})`, busInfo: `platform:${p}`, isCapture: true },
      controls: this.controls,
      values: new Map(this.initialValues),
      format: { fourcc: 'YUYV', width: 640, height: 360 },
      fps: 30,
      input: 0,
      present: true,
      generation: (existing?.generation ?? 0) + 1,
    });
    return p;
  }

  /** Simulates pulling the cable: unplugged, and it stays so (across rescans) until plugBack. */
  pull(path: string): void {
    this.pulled.add(path);
    this.unplug(path);
  }

  /** Puts a pulled device back; the next rescan finds it as a replugged device. */
  plugBack(path: string): void {
    this.pulled.delete(path);
    this.add(path);
  }

  /** Unplugs a device: open handles fail with ENODEV until it is plugged in again and reopened. */
  unplug(path: string): void {
    const s = this.devices.get(path);
    if (s) s.present = false;
  }

  /** Forgets a device entirely (its camera was deleted). */
  remove(path: string): void {
    this.devices.delete(path);
  }

  discover(): DeviceInfo[] {
    return [...this.devices.values()].filter((s) => s.present).map((s) => ({ ...s.info }));
  }

  open(path: string): CameraDevice {
    const s = this.devices.get(path);
    if (!s || !s.present) throw new CameraDriverError('ENOENT', 'open', path);
    return new SimulatedDevice(s);
  }
}
