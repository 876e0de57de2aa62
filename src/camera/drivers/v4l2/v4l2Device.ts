// One open /dev/video* node. Every kernel error becomes a CameraDriverError; after close() (or an
// unplug, which the kernel reports as ENODEV) every call fails with an error whose isGone is true.
import koffi from 'koffi';
import {
  CameraDriverError,
  type CameraDevice,
  type ControlFlags,
  type ControlInfo,
  type ControlType,
  type CurrentFormat,
  type DeviceInfo,
  type FormatInfo,
  type FrameSize,
  type InputInfo,
  type MenuItem,
  type SizeInfo,
} from '../../driver.js';
import { closeDevice, ERRNO, errnoError, ioctl, openDevice } from './libc.js';
import { controlKey, decodeAt, decodeStruct, encodeAt, encodeStruct, fourccToString, stringToFourcc, toNumber } from './structs.js';
import {
  CTRL_FLAG,
  CTRL_TYPE,
  FRMIVAL_TYPE,
  FRMSIZE_TYPE,
  INPUT_TYPE,
  V4L2_BUF_TYPE_VIDEO_CAPTURE,
  V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
  V4L2_CAP_DEVICE_CAPS,
  V4L2_CAP_TIMEPERFRAME,
  V4L2_CAP_VIDEO_CAPTURE,
  V4L2_CAP_VIDEO_CAPTURE_MPLANE,
  V4L2_CTRL_FLAG_NEXT_CTRL,
  V4L2_CTRL_WHICH_CUR_VAL,
  V4L2_FMT_FLAG_COMPRESSED,
  VIDIOC,
  v4l2_capability,
  v4l2_control,
  v4l2_ext_control,
  v4l2_ext_controls,
  v4l2_query_ext_ctrl,
  v4l2_fmtdesc,
  v4l2_format,
  v4l2_frmsizeenum,
  v4l2_frmsize_discrete,
  v4l2_frmsize_stepwise,
  v4l2_frmival_stepwise,
  v4l2_frmivalenum,
  v4l2_input,
  v4l2_pix_format,
  v4l2_querymenu,
  v4l2_queryctrl,
  v4l2_streamparm,
  v4l2_captureparm,
  v4l2_fract,
  type IoctlName,
} from './uapi.js';

interface Capability {
  driver: string;
  card: string;
  bus_info: string;
  capabilities: number;
  device_caps: number;
}

interface QueryCtrl {
  id: number;
  type: number;
  name: string;
  minimum: number;
  maximum: number;
  step: number;
  default_value: number;
  flags: number;
}

interface Stepwise {
  min_width: number;
  max_width: number;
  step_width: number;
  min_height: number;
  max_height: number;
  step_height: number;
}

interface Fract {
  numerator: number;
  denominator: number;
}

interface IntervalRange {
  min: Fract;
  max: Fract;
  step: Fract;
}

/** Sizes offered for stepwise/continuous devices, filtered to the device's range and step. */
const COMMON_SIZES: FrameSize[] = [
  [160, 120], [320, 240], [640, 360], [640, 480], [800, 600], [1024, 768],
  [1280, 720], [1280, 960], [1600, 1200], [1920, 1080], [2560, 1440], [3840, 2160],
].map(([width, height]) => ({ width: width as number, height: height as number }));

/** Rates offered for stepwise/continuous frame intervals, filtered to the device's range and step. */
const COMMON_FPS = [5, 10, 15, 20, 24, 25, 30, 50, 60];

/** A frame interval (seconds per frame) as frames per second, to 1/100 (2/25 s is 12.5, 1001/30000 s is 29.97). */
export function intervalToFps(interval: Fract): number | null {
  if (interval.numerator === 0 || interval.denominator === 0) return null;
  return Math.round((interval.denominator / interval.numerator) * 100) / 100;
}

/** The common rates whose interval lies in a stepwise (or, with `continuous`, any-step) interval range. */
export function stepwiseFps(range: IntervalRange, continuous: boolean): number[] {
  const seconds = (f: Fract) => (f.denominator === 0 ? Number.NaN : f.numerator / f.denominator);
  const min = seconds(range.min);
  const max = seconds(range.max);
  const step = seconds(range.step);
  if (!(min > 0) || !(max >= min)) return [];
  return COMMON_FPS.filter((fps) => {
    const interval = 1 / fps;
    if (interval < min - 1e-9 || interval > max + 1e-9) return false;
    if (continuous || !(step > 0)) return true;
    const steps = (interval - min) / step;
    return Math.abs(steps - Math.round(steps)) < 1e-6;
  });
}

const CONTROL_TYPES: Record<number, ControlType> = {
  [CTRL_TYPE.INTEGER]: 'integer',
  [CTRL_TYPE.BOOLEAN]: 'boolean',
  [CTRL_TYPE.MENU]: 'menu',
  [CTRL_TYPE.BUTTON]: 'button',
  [CTRL_TYPE.INTEGER64]: 'integer64',
  [CTRL_TYPE.CTRL_CLASS]: 'ctrl_class',
  [CTRL_TYPE.STRING]: 'string',
  [CTRL_TYPE.BITMASK]: 'bitmask',
  [CTRL_TYPE.INTEGER_MENU]: 'integer_menu',
};

/** The capture-relevant capability bits: device_caps when the driver reports them, else the whole device's. */
export function captureBufferType(cap: { capabilities: number; device_caps: number }): number | null {
  const caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
  if (caps & V4L2_CAP_VIDEO_CAPTURE) return V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) return V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
  return null;
}

/** Opens `path`, runs QUERYCAP and closes again: what discovery needs without keeping the node open. */
export function queryDevice(path: string): DeviceInfo {
  const fd = openDevice(path);
  try {
    return deviceInfo(path, queryCapability(fd, path));
  } finally {
    closeDevice(fd);
  }
}

function queryCapability(fd: number, path: string): Capability {
  const buffer = encodeStruct(v4l2_capability, {});
  const errno = ioctl(fd, VIDIOC.QUERYCAP, buffer);
  if (errno !== 0) throw errnoError(errno, 'VIDIOC_QUERYCAP', path);
  return decodeStruct<Capability>(buffer, v4l2_capability);
}

function deviceInfo(path: string, cap: Capability): DeviceInfo {
  return { path, driver: cap.driver, card: cap.card, busInfo: cap.bus_info, isCapture: captureBufferType(cap) !== null };
}

function controlFlags(flags: number): ControlFlags {
  return {
    disabled: (flags & CTRL_FLAG.DISABLED) !== 0,
    grabbed: (flags & CTRL_FLAG.GRABBED) !== 0,
    readOnly: (flags & CTRL_FLAG.READ_ONLY) !== 0,
    update: (flags & CTRL_FLAG.UPDATE) !== 0,
    inactive: (flags & CTRL_FLAG.INACTIVE) !== 0,
    slider: (flags & CTRL_FLAG.SLIDER) !== 0,
    writeOnly: (flags & CTRL_FLAG.WRITE_ONLY) !== 0,
    volatile: (flags & CTRL_FLAG.VOLATILE) !== 0,
    hasPayload: (flags & CTRL_FLAG.HAS_PAYLOAD) !== 0,
  };
}

function inputType(type: number): InputInfo['type'] {
  if (type === INPUT_TYPE.TUNER) return 'tuner';
  if (type === INPUT_TYPE.CAMERA) return 'camera';
  if (type === INPUT_TYPE.TOUCH) return 'touch';
  return 'other';
}

export class V4l2Device implements CameraDevice {
  readonly info: DeviceInfo;
  private fd: number;
  private readonly bufferType: number;

  /** Opens the node; fails (and closes it again) when it is not a video capture device. */
  constructor(readonly path: string) {
    this.fd = openDevice(path);
    try {
      const cap = queryCapability(this.fd, path);
      this.info = deviceInfo(path, cap);
      const bufferType = captureBufferType(cap);
      if (bufferType === null) {
        throw new CameraDriverError('EINVAL', 'open', path, `${path} (${cap.card}) is not a video capture device`);
      }
      this.bufferType = bufferType;
    } catch (error) {
      closeDevice(this.fd);
      this.fd = -1;
      throw error;
    }
  }

  listControls(): ControlInfo[] {
    const controls: ControlInfo[] = [];
    let id = 0;
    for (;;) {
      const buffer = encodeStruct(v4l2_queryctrl, { id: (id | V4L2_CTRL_FLAG_NEXT_CTRL) >>> 0 });
      const errno = this.tryIoctl('QUERYCTRL', buffer);
      // EINVAL ends the enumeration: no control after `id`.
      if (errno === ERRNO.EINVAL) break;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_QUERYCTRL', this.path);
      const qc = decodeStruct<QueryCtrl>(buffer, v4l2_queryctrl);
      // Ids only grow with NEXT_CTRL; a driver that repeats one would otherwise loop forever.
      if (qc.id <= id) break;
      id = qc.id;
      if (qc.type === CTRL_TYPE.CTRL_CLASS || qc.flags & CTRL_FLAG.DISABLED) continue;
      const control: ControlInfo = {
        id: qc.id,
        name: qc.name,
        key: controlKey(qc.name),
        type: CONTROL_TYPES[qc.type] ?? 'other',
        minimum: qc.minimum,
        maximum: qc.maximum,
        step: qc.step,
        default: qc.default_value,
        flags: controlFlags(qc.flags),
      };
      if (qc.type === CTRL_TYPE.MENU || qc.type === CTRL_TYPE.INTEGER_MENU) {
        control.menu = this.menuItems(qc);
      }
      // QUERYCTRL reports 0 for 64-bit ranges; QUERY_EXT_CTRL has the real ones.
      if (qc.type === CTRL_TYPE.INTEGER64) Object.assign(control, this.range64(qc.id));
      controls.push(control);
    }
    return controls;
  }

  private menuItems(qc: QueryCtrl): MenuItem[] {
    const items: MenuItem[] = [];
    for (let index = qc.minimum; index <= qc.maximum; index++) {
      const buffer = encodeStruct(v4l2_querymenu, { id: qc.id, index });
      const errno = this.tryIoctl('QUERYMENU', buffer);
      // Menus may have holes: the kernel answers EINVAL for indexes the driver skips.
      if (errno === ERRNO.EINVAL) continue;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_QUERYMENU', this.path);
      if (qc.type === CTRL_TYPE.MENU) {
        items.push({ index, name: decodeAt<string>(buffer, v4l2_querymenu, 'u', koffi.array('char', 32)) });
      } else {
        items.push({ index, value: toNumber(decodeAt<number | bigint>(buffer, v4l2_querymenu, 'u', 'int64_t')) });
      }
    }
    return items;
  }

  getControl(id: number): number {
    const buffer = encodeStruct(v4l2_control, { id });
    const errno = this.tryIoctl('G_CTRL', buffer);
    if (errno === 0) return decodeStruct<{ value: number }>(buffer, v4l2_control).value;
    // G_CTRL only carries 32 bits: the kernel refuses 64-bit controls, which need G_EXT_CTRLS.
    if (errno === ERRNO.EINVAL && this.isInteger64(id)) return this.extControl('G_EXT_CTRLS', id);
    throw errnoError(errno, 'VIDIOC_G_CTRL', this.path);
  }

  setControl(id: number, value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new CameraDriverError('ERANGE', 'VIDIOC_S_CTRL', this.path, `value ${value} is not an integer`);
    }
    const fits32 = value >= -0x80000000 && value <= 0x7fffffff;
    const errno = fits32 ? this.tryIoctl('S_CTRL', encodeStruct(v4l2_control, { id, value })) : ERRNO.EINVAL;
    if (errno === 0) return;
    if (errno === ERRNO.EINVAL && this.isInteger64(id)) {
      this.extControl('S_EXT_CTRLS', id, value);
      return;
    }
    if (!fits32) throw new CameraDriverError('ERANGE', 'VIDIOC_S_CTRL', this.path, `value ${value} does not fit a 32-bit control`);
    throw errnoError(errno, 'VIDIOC_S_CTRL', this.path);
  }

  private isInteger64(id: number): boolean {
    const buffer = encodeStruct(v4l2_queryctrl, { id });
    return this.tryIoctl('QUERYCTRL', buffer) === 0 && decodeStruct<QueryCtrl>(buffer, v4l2_queryctrl).type === CTRL_TYPE.INTEGER64;
  }

  private range64(id: number): Pick<ControlInfo, 'minimum' | 'maximum' | 'step' | 'default'> {
    const buffer = encodeStruct(v4l2_query_ext_ctrl, { id });
    this.call('QUERY_EXT_CTRL', buffer);
    const q = decodeStruct<{ minimum: number | bigint; maximum: number | bigint; step: number | bigint; default_value: number | bigint }>(buffer, v4l2_query_ext_ctrl);
    return { minimum: toNumber(q.minimum), maximum: toNumber(q.maximum), step: toNumber(q.step), default: toNumber(q.default_value) };
  }

  /** One control through G/S_EXT_CTRLS: the array of v4l2_ext_control lives in native memory the ioctl argument points to. */
  private extControl(name: 'G_EXT_CTRLS' | 'S_EXT_CTRLS', id: number, value?: number): number {
    const control = koffi.alloc(v4l2_ext_control, 1);
    const valueOffset = koffi.offsetof(v4l2_ext_control, 'u');
    try {
      koffi.encode(control, v4l2_ext_control, { id });
      if (value !== undefined) koffi.encode(control, valueOffset, 'int64_t', BigInt(value));
      this.call(name, encodeStruct(v4l2_ext_controls, { which: V4L2_CTRL_WHICH_CUR_VAL, count: 1, controls: control }));
      return toNumber(koffi.decode(control, valueOffset, 'int64_t') as number | bigint);
    } finally {
      koffi.free(control);
    }
  }

  listFormats(): FormatInfo[] {
    const formats: FormatInfo[] = [];
    for (let index = 0; ; index++) {
      const buffer = encodeStruct(v4l2_fmtdesc, { index, type: this.bufferType });
      const errno = this.tryIoctl('ENUM_FMT', buffer);
      if (errno === ERRNO.EINVAL) break;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_ENUM_FMT', this.path);
      const desc = decodeStruct<{ pixelformat: number; description: string; flags: number }>(buffer, v4l2_fmtdesc);
      const sizes = this.frameSizes(desc.pixelformat).map((size) => ({ ...size, fps: this.frameRates(desc.pixelformat, size) }));
      formats.push({ fourcc: fourccToString(desc.pixelformat), description: desc.description, compressed: (desc.flags & V4L2_FMT_FLAG_COMPRESSED) !== 0, sizes });
    }
    return formats;
  }

  /** VIDIOC_ENUM_FRAMEINTERVALS at one size, as ascending frames per second. */
  private frameRates(pixelFormat: number, size: FrameSize): SizeInfo['fps'] {
    const rates = new Set<number>();
    for (let index = 0; ; index++) {
      const buffer = encodeStruct(v4l2_frmivalenum, { index, pixel_format: pixelFormat, width: size.width, height: size.height });
      const errno = this.tryIoctl('ENUM_FRAMEINTERVALS', buffer);
      // EINVAL ends the list; ENOTTY means the driver cannot enumerate intervals (the service probes instead).
      if (errno === ERRNO.EINVAL || errno === ERRNO.ENOTTY) break;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_ENUM_FRAMEINTERVALS', this.path);
      const type = decodeStruct<{ type: number }>(buffer, v4l2_frmivalenum).type;
      if (type === FRMIVAL_TYPE.DISCRETE) {
        const fps = intervalToFps(decodeAt<Fract>(buffer, v4l2_frmivalenum, 'u', v4l2_fract));
        if (fps !== null) rates.add(fps);
        continue;
      }
      // Continuous or stepwise: one answer describes the whole range.
      for (const fps of stepwiseFps(decodeAt<IntervalRange>(buffer, v4l2_frmivalenum, 'u', v4l2_frmival_stepwise), type === FRMIVAL_TYPE.CONTINUOUS)) rates.add(fps);
      break;
    }
    return [...rates].sort((a, b) => a - b);
  }

  private frameSizes(pixelFormat: number): FrameSize[] {
    const sizes: FrameSize[] = [];
    for (let index = 0; ; index++) {
      const buffer = encodeStruct(v4l2_frmsizeenum, { index, pixel_format: pixelFormat });
      const errno = this.tryIoctl('ENUM_FRAMESIZES', buffer);
      // EINVAL ends the list; ENOTTY means the driver cannot enumerate sizes at all.
      if (errno === ERRNO.EINVAL || errno === ERRNO.ENOTTY) break;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_ENUM_FRAMESIZES', this.path);
      const type = decodeStruct<{ type: number }>(buffer, v4l2_frmsizeenum).type;
      if (type === FRMSIZE_TYPE.DISCRETE) {
        sizes.push(decodeAt<FrameSize>(buffer, v4l2_frmsizeenum, 'u', v4l2_frmsize_discrete));
        continue;
      }
      // Continuous or stepwise: one answer describes the whole range.
      const range = decodeAt<Stepwise>(buffer, v4l2_frmsizeenum, 'u', v4l2_frmsize_stepwise);
      return COMMON_SIZES.filter((size) =>
        size.width >= range.min_width && size.width <= range.max_width && size.height >= range.min_height && size.height <= range.max_height &&
        (size.width - range.min_width) % Math.max(range.step_width, 1) === 0 && (size.height - range.min_height) % Math.max(range.step_height, 1) === 0,
      );
    }
    return sizes;
  }

  getFormat(): CurrentFormat {
    const buffer = encodeStruct(v4l2_format, { type: this.bufferType });
    this.call('G_FMT', buffer);
    return this.decodeFormat(buffer);
  }

  setFormat(format: Partial<CurrentFormat> & FrameSize): CurrentFormat {
    if (![format.width, format.height].every((n) => Number.isInteger(n) && n > 0 && n <= 0xffff)) {
      throw new CameraDriverError('EINVAL', 'VIDIOC_S_FMT', this.path, `invalid frame size ${format.width}x${format.height}`);
    }
    // Start from the current format so fields we do not set (field order, colorspace) stay valid.
    const buffer = encodeStruct(v4l2_format, { type: this.bufferType });
    this.call('G_FMT', buffer);
    encodeAt(buffer, v4l2_format, 'fmt', 'uint32_t', format.width, koffi.offsetof(v4l2_pix_format, 'width'));
    encodeAt(buffer, v4l2_format, 'fmt', 'uint32_t', format.height, koffi.offsetof(v4l2_pix_format, 'height'));
    if (format.fourcc !== undefined) {
      encodeAt(buffer, v4l2_format, 'fmt', 'uint32_t', stringToFourcc(format.fourcc), koffi.offsetof(v4l2_pix_format, 'pixelformat'));
    }
    this.call('S_FMT', buffer);
    return this.decodeFormat(buffer);
  }

  private decodeFormat(buffer: Buffer): CurrentFormat {
    const pix = decodeAt<{ width: number; height: number; pixelformat: number }>(buffer, v4l2_format, 'fmt', v4l2_pix_format);
    return { width: pix.width, height: pix.height, fourcc: fourccToString(pix.pixelformat) };
  }

  getFrameRate(): number | null {
    const parm = this.readParm();
    return parm === null ? null : parm.fps;
  }

  setFrameRate(fps: number): number | null {
    if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) {
      throw new CameraDriverError('EINVAL', 'VIDIOC_S_PARM', this.path, `invalid frame rate ${fps}`);
    }
    const current = this.readParm();
    if (current === null || !current.settable) return current === null ? null : current.fps;
    // A millisecond-precision interval keeps fractional rates such as 29.97 expressible.
    const buffer = encodeStruct(v4l2_streamparm, { type: this.bufferType });
    encodeAt(buffer, v4l2_streamparm, 'parm', v4l2_fract, { numerator: 1000, denominator: Math.round(fps * 1000) }, koffi.offsetof(v4l2_captureparm, 'timeperframe'));
    this.call('S_PARM', buffer);
    return this.parmFps(buffer);
  }

  /** null when the driver has no G_PARM at all. */
  private readParm(): { fps: number | null; settable: boolean } | null {
    const buffer = encodeStruct(v4l2_streamparm, { type: this.bufferType });
    const errno = this.tryIoctl('G_PARM', buffer);
    if (errno === ERRNO.ENOTTY || errno === ERRNO.EINVAL) return null;
    if (errno !== 0) throw errnoError(errno, 'VIDIOC_G_PARM', this.path);
    const capability = decodeAt<number>(buffer, v4l2_streamparm, 'parm', 'uint32_t', koffi.offsetof(v4l2_captureparm, 'capability'));
    return { fps: this.parmFps(buffer), settable: (capability & V4L2_CAP_TIMEPERFRAME) !== 0 };
  }

  private parmFps(buffer: Buffer): number | null {
    const interval = decodeAt<Fract>(buffer, v4l2_streamparm, 'parm', v4l2_fract, koffi.offsetof(v4l2_captureparm, 'timeperframe'));
    if (interval.numerator === 0 || interval.denominator === 0) return null;
    return interval.denominator / interval.numerator;
  }

  listInputs(): InputInfo[] {
    const inputs: InputInfo[] = [];
    for (let index = 0; ; index++) {
      const buffer = encodeStruct(v4l2_input, { index });
      const errno = this.tryIoctl('ENUMINPUT', buffer);
      // EINVAL ends the list; ENOTTY: a device without selectable inputs.
      if (errno === ERRNO.EINVAL || errno === ERRNO.ENOTTY) break;
      if (errno !== 0) throw errnoError(errno, 'VIDIOC_ENUMINPUT', this.path);
      const input = decodeStruct<{ index: number; name: string; type: number }>(buffer, v4l2_input);
      inputs.push({ index: input.index, name: input.name, type: inputType(input.type) });
    }
    return inputs;
  }

  getInput(): number {
    const buffer = Buffer.alloc(4);
    this.call('G_INPUT', buffer);
    return buffer.readInt32LE(0);
  }

  setInput(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) {
      throw new CameraDriverError('EINVAL', 'VIDIOC_S_INPUT', this.path, `invalid input index ${index}`);
    }
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(index, 0);
    this.call('S_INPUT', buffer);
  }

  close(): void {
    if (this.fd < 0) return;
    closeDevice(this.fd);
    this.fd = -1;
  }

  /** Runs the ioctl; returns its errno (0 on success). A closed device throws ENODEV. */
  private tryIoctl(name: IoctlName, buffer: Buffer): number {
    if (this.fd < 0) throw new CameraDriverError('ENODEV', `VIDIOC_${name}`, this.path, `${this.path} is closed`);
    return ioctl(this.fd, VIDIOC[name], buffer);
  }

  private call(name: IoctlName, buffer: Buffer): void {
    const errno = this.tryIoctl(name, buffer);
    if (errno !== 0) throw errnoError(errno, `VIDIOC_${name}`, this.path);
  }
}
