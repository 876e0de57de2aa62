// The stored camera record and the view every API returns. Control values are in Rotoclear units
// (0–100, booleans, "WxH", fps, 1-based input), null where the device has no such control.
import type { RangeKey, SwitchKey } from './controlCatalog.js';
import type { Reader } from './demand.js';
import type { DeviceControlView } from './deviceControls.js';
import type { CurrentFormat, FormatInfo } from './driver.js';

export type CameraDriverName = 'v4l2' | 'simulated';
export type RecordState = 'on' | 'off' | 'pause';
export type Slot = 1 | 2;

export type CameraControls = Record<RangeKey, number | null> &
  Record<SwitchKey, boolean | null> & {
    resolution: string | null;
    fps: number | null;
    /** 1-based V4L2 input. */
    sensor: number | null;
  };

export interface CameraRecord {
  id: string;
  name: string;
  driver: CameraDriverName;
  /** /dev/videoN, or simulated:N */
  device: string;
  /** discovered: found by the scan (or auto-created simulated); manual: created through the API. */
  origin: 'discovered' | 'manual';
  /** false: the camera is switched off (device closed, demands and changes refused). Absent in records written before it existed: enabled. */
  enabled?: boolean;
  /** What the device calls itself (V4L2 card name) and its kernel driver, kept from the last time it was open. */
  card?: string | null;
  kernel_driver?: string | null;
  slot: Slot | null;
  light: boolean;
  /**
   * How bright the light shines when on (1–100), where its control has levels; null or absent
   * (records from before it existed) where it has none. Kept while the light is off.
   */
  light_brightness?: number | null;
  /** A Home Assistant light entity that is the camera's light (switched by the HA bridge). */
  light_entity: string | null;
  /** Last values read from the device; restored when the camera comes back. */
  controls: CameraControls;
  /** Device control values set through `device_controls`, by stable name; restored when the camera comes back. */
  device_controls?: Record<string, number>;
  /** The device's simple controls as listed when it was last opened: shown (unavailable) while it is closed, across restarts. */
  device_control_list?: Record<string, DeviceControlView>;
  /** Whether the device has a light control, as of the last time it was open (absent: not known yet). */
  has_light?: boolean;
  record: RecordState;
  jpeg_quality: number;
  /** Motion detection on this camera's capture; absent in records from before it existed. */
  motion?: boolean;
  /** This camera's motion sensitivity; absent or null: the add-on's `cameras.motion_threshold` / `motion_min_area_percent`. */
  motion_threshold?: number | null;
  motion_min_area_percent?: number | null;
  last_snap_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ControlCapability {
  v4l2_key: string;
  v4l2_id: number;
  type: string;
  minimum: number;
  maximum: number;
  step: number;
  default: number;
}

export interface CameraCapabilities {
  /** The V4L2 control behind each Rotoclear key, with its real range. */
  controls: Record<string, ControlCapability>;
  light: ControlCapability | null;
  /** The control that sets how bright the light shines, where it has levels (may be `light` itself). */
  light_level: ControlCapability | null;
  inputs: { sensor: number; name: string; type: string }[];
  formats: { fourcc: string; description: string }[];
  pixel_format: string | null;
}

export interface CameraView {
  id: string;
  name: string;
  slot: Slot | null;
  driver: CameraDriverName;
  device: string;
  origin: 'discovered' | 'manual';
  enabled: boolean;
  /** The V4L2 card name (the device's model), null until it was first opened. */
  card: string | null;
  kernel_driver: string | null;
  exists: boolean;
  light: boolean;
  /** 1–100: how bright the light shines when on; null when the camera's light has no levels. */
  light_brightness: number | null;
  light_entity: string | null;
  /** The camera has a light: a light control on the device (as last seen) or a Home Assistant light entity. */
  has_light: boolean;
  controls: CameraControls;
  /** Every simple control the device offers, by stable name ({} while absent). */
  device_controls: Record<string, DeviceControlView>;
  resolutions: string[];
  fps_options: number[];
  /** Every pixel format the device offers, each size in it and the frame rates at each size; [] while absent. */
  formats: FormatInfo[];
  /** The pixel format and size the device is set to now (e.g. fourcc "MJPG" allows passthrough); null while absent. */
  format: CurrentFormat | null;
  capabilities: CameraCapabilities;
  record: RecordState;
  jpeg_quality: number;
  motion: boolean;
  /** How much a pixel must change (1–255) and what share of the picture (percent) for motion; the add-on's defaults unless set for this camera. */
  motion_threshold: number;
  motion_min_area_percent: number;
  last_snap_at: string | null;
  demanded: boolean;
  readers: number;
  reader_list: Reader[];
  ready: boolean;
  created_at: string;
  updated_at: string;
}

export const EMPTY_CONTROLS: CameraControls = {
  brightness: null,
  contrast: null,
  saturation: null,
  hue: null,
  sharpness: null,
  gain: null,
  'red-gain': null,
  'blue-gain': null,
  'auto-exposure': null,
  'auto-white-balance': null,
  'noise-supression': null,
  resolution: null,
  fps: null,
  sensor: null,
};

export const NO_CAPABILITIES: CameraCapabilities = { controls: {}, light: null, light_level: null, inputs: [], formats: [], pixel_format: null };
