// What a camera driver offers. Two implementations: `v4l2` (real ioctls on /dev/video*) and
// `simulated` (the control set of the kernel's vivid driver, for machines without a camera).
// Calls are synchronous: V4L2 control ioctls return in microseconds to milliseconds.

export type ControlType =
  | 'integer' | 'boolean' | 'menu' | 'button' | 'integer64' | 'ctrl_class' | 'string' | 'bitmask' | 'integer_menu' | 'other';

export interface ControlFlags {
  disabled: boolean;
  grabbed: boolean;
  readOnly: boolean;
  update: boolean;
  inactive: boolean;
  slider: boolean;
  writeOnly: boolean;
  volatile: boolean;
  hasPayload: boolean;
}

export interface MenuItem {
  index: number;
  /** Menu controls: the item's name. */
  name?: string;
  /** Integer-menu controls: the item's value. */
  value?: number;
}

export interface ControlInfo {
  /** V4L2 control id, e.g. 0x00980900 for brightness. */
  id: number;
  /** The kernel's name, e.g. "Gain, Automatic". */
  name: string;
  /** v4l2-ctl style key, e.g. "brightness", "gain_automatic". */
  key: string;
  type: ControlType;
  minimum: number;
  maximum: number;
  step: number;
  default: number;
  flags: ControlFlags;
  menu?: MenuItem[];
}

export interface FrameSize {
  width: number;
  height: number;
}

/** A frame size a format offers, with the frame rates the device offers at it. */
export interface SizeInfo extends FrameSize {
  /** Frames per second, ascending (12.5 for an interval of 2/25); empty when the device cannot enumerate them. */
  fps: number[];
}

export interface FormatInfo {
  /** FourCC, e.g. "YUYV", "MJPG". */
  fourcc: string;
  description: string;
  /** True for compressed formats (MJPEG, H.264): V4L2_FMT_FLAG_COMPRESSED. */
  compressed: boolean;
  /** Discrete sizes; for stepwise/continuous devices a representative list of common sizes within range. */
  sizes: SizeInfo[];
}

export interface CurrentFormat extends FrameSize {
  fourcc: string;
}

export interface InputInfo {
  index: number;
  name: string;
  type: 'tuner' | 'camera' | 'touch' | 'other';
}

export interface DeviceInfo {
  /** e.g. /dev/video0 */
  path: string;
  driver: string;
  card: string;
  busInfo: string;
  /** True for video capture devices (single- or multi-planar). */
  isCapture: boolean;
}

export interface CameraDevice {
  readonly info: DeviceInfo;
  listControls(): ControlInfo[];
  getControl(id: number): number;
  /** Range checks belong to the caller: V4L2 drivers may clamp silently instead of failing. */
  setControl(id: number, value: number): void;
  listFormats(): FormatInfo[];
  getFormat(): CurrentFormat;
  /** Returns what the driver actually chose (it may adjust the request). */
  setFormat(format: Partial<CurrentFormat> & FrameSize): CurrentFormat;
  /** Frames per second, or null when the device does not report it. */
  getFrameRate(): number | null;
  setFrameRate(fps: number): number | null;
  listInputs(): InputInfo[];
  getInput(): number;
  setInput(index: number): void;
  close(): void;
}

export interface CameraDriver {
  readonly name: 'v4l2' | 'simulated';
  /** Capture devices present now. */
  discover(): DeviceInfo[];
  open(path: string): CameraDevice;
}

export type DriverErrorCode = 'EINVAL' | 'EBUSY' | 'ERANGE' | 'ENODEV' | 'ENOENT' | 'EACCES' | 'EPERM' | 'EIO' | 'ENOTTY' | 'EAGAIN' | 'EUNKNOWN';

/** A failed driver call: `code` is the errno name, `op` the ioctl or operation that failed. */
export class CameraDriverError extends Error {
  constructor(
    readonly code: DriverErrorCode,
    readonly op: string,
    readonly path: string,
    message?: string,
  ) {
    super(message ?? `${op} on ${path} failed: ${code}`);
    this.name = 'CameraDriverError';
  }

  /** The device is gone (unplugged): the service marks the camera absent and rescans. */
  get isGone(): boolean {
    return this.code === 'ENODEV' || this.code === 'ENOENT';
  }
}
