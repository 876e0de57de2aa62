// The control set of the kernel's `vivid` test driver as `v4l2-ctl --list-ctrls` shows it in the
// V4L2 test bed (docs/v4l2-testbed.md), with vivid's menus. Data only: the simulated device serves it.
import type { ControlFlags, ControlInfo, ControlType, MenuItem } from '../../driver.js';

const NO_FLAGS: ControlFlags = {
  disabled: false,
  grabbed: false,
  readOnly: false,
  update: false,
  inactive: false,
  slider: false,
  writeOnly: false,
  volatile: false,
  hasPayload: false,
};

/** One control as a table row (v4l2-ctl's columns). */
export interface Row {
  id: number;
  name: string;
  key: string;
  type: ControlType;
  min?: number;
  max?: number;
  step?: number;
  def?: number;
  /** The value vivid starts with when it differs from the default. */
  value?: number;
  flags?: Partial<ControlFlags>;
  menu?: MenuItem[];
}

export const named = (entries: [number, string][]): MenuItem[] => entries.map(([index, name]) => ({ index, name }));

const TEST_PATTERNS = [
  '75% Colorbar', '100% Colorbar', 'CSC Colorbar', 'Horizontal 100% Colorbar', '100% Color Squares', '100% Black',
  '100% White', '100% Red', '100% Green', '100% Blue', '16x16 Checkers', '2x2 Checkers', '1x1 Checkers',
  '2x2 Red/Green Checkers', '1x1 Red/Green Checkers', 'Alternating Hor Lines', 'Alternating Vert Lines',
  'One Pixel Wide Cross', 'Two Pixels Wide Cross', 'Ten Pixels Wide Cross', 'Gray Ramp', 'Noise',
];

const ROWS: Row[] = [
  { id: 0x00980001, name: 'User Controls', key: 'user_controls', type: 'ctrl_class', flags: { readOnly: true, writeOnly: true } },
  { id: 0x00980900, name: 'Brightness', key: 'brightness', type: 'integer', min: 0, max: 255, step: 1, def: 128, flags: { slider: true } },
  { id: 0x00980901, name: 'Contrast', key: 'contrast', type: 'integer', min: 0, max: 255, step: 1, def: 128, flags: { slider: true } },
  { id: 0x00980902, name: 'Saturation', key: 'saturation', type: 'integer', min: 0, max: 255, step: 1, def: 128, flags: { slider: true } },
  { id: 0x00980903, name: 'Hue', key: 'hue', type: 'integer', min: -128, max: 128, step: 1, def: 0, flags: { slider: true } },
  { id: 0x00980905, name: 'Volume', key: 'volume', type: 'integer', min: 0, max: 255, step: 1, def: 200, flags: { slider: true } },
  { id: 0x00980909, name: 'Mute', key: 'mute', type: 'boolean', min: 0, max: 1, step: 1, def: 0 },
  { id: 0x00980912, name: 'Gain, Automatic', key: 'gain_automatic', type: 'boolean', min: 0, max: 1, step: 1, def: 1, flags: { update: true } },
  { id: 0x00980913, name: 'Gain', key: 'gain', type: 'integer', min: 0, max: 255, step: 1, def: 100, value: 17, flags: { inactive: true, volatile: true } },
  { id: 0x00980914, name: 'Horizontal Flip', key: 'horizontal_flip', type: 'boolean', min: 0, max: 1, step: 1, def: 0 },
  { id: 0x00980915, name: 'Vertical Flip', key: 'vertical_flip', type: 'boolean', min: 0, max: 1, step: 1, def: 0 },
  { id: 0x00980929, name: 'Alpha Component', key: 'alpha_component', type: 'integer', min: 0, max: 255, step: 1, def: 0 },
  { id: 0x0098f900, name: 'Button', key: 'button', type: 'button', min: 0, max: 0, step: 0, def: 0, flags: { writeOnly: true } },
  { id: 0x0098f901, name: 'Boolean', key: 'boolean', type: 'boolean', min: 0, max: 1, step: 1, def: 1 },
  { id: 0x0098f902, name: 'Integer 32 Bits', key: 'integer_32_bits', type: 'integer', min: -2147483648, max: 2147483647, step: 1, def: 0 },
  { id: 0x0098f903, name: 'Integer 64 Bits', key: 'integer_64_bits', type: 'integer64', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, step: 1, def: 0 },
  { id: 0x0098f904, name: 'Menu', key: 'menu', type: 'menu', min: 1, max: 4, step: 1, def: 3, menu: named([[1, 'Menu Item 1'], [3, 'Menu Item 3'], [4, 'Menu Item 4']]) },
  { id: 0x0098f905, name: 'String', key: 'string', type: 'string', min: 2, max: 4, step: 1, def: 0, flags: { hasPayload: true } },
  { id: 0x0098f906, name: 'Bitmask', key: 'bitmask', type: 'bitmask', min: 0, max: 0x80402010, step: 0, def: 0x80002000 },
  {
    id: 0x0098f907, name: 'Integer Menu', key: 'integer_menu', type: 'integer_menu', min: 1, max: 8, step: 1, def: 4,
    menu: [2, 3, 4, 5, 6, 7, 8].map((index) => ({ index, value: [1, 1, 2, 3, 5, 8, 13, 21, 42][index]! })),
  },
  { id: 0x0098f908, name: 'U32 1 Element Array', key: 'u32_1_element_array', type: 'other', min: 16, max: 131072, step: 1, def: 24, flags: { hasPayload: true } },
  { id: 0x0098f909, name: 'U16 8x16 Matrix', key: 'u16_8x16_matrix', type: 'other', min: 16, max: 8192, step: 1, def: 24, flags: { hasPayload: true } },
  { id: 0x0098f90a, name: 'U8 2x3x4x5 Array', key: 'u8_2x3x4x5_array', type: 'other', min: 16, max: 32, step: 1, def: 24, flags: { hasPayload: true } },
  { id: 0x0098f90b, name: 'Area', key: 'area', type: 'other', min: 0, max: 0, step: 0, def: 0, flags: { hasPayload: true } },
  { id: 0x0098f90c, name: 'Read-Only Integer 32 Bits', key: 'read_only_integer_32_bits', type: 'integer', min: 0, max: 255, step: 1, def: 0, flags: { readOnly: true } },
  { id: 0x0098f90d, name: 'U32 Dynamic Array', key: 'u32_dynamic_array', type: 'other', min: 10, max: 90, step: 1, def: 50, flags: { hasPayload: true } },
  { id: 0x0098f90e, name: 'U8 Pixel Array', key: 'u8_pixel_array', type: 'other', min: 0, max: 255, step: 1, def: 128, flags: { hasPayload: true } },
  { id: 0x00a00001, name: 'Digital Video Controls', key: 'digital_video_controls', type: 'ctrl_class', flags: { readOnly: true, writeOnly: true } },
  { id: 0x00a00964, name: 'Power Present', key: 'power_present', type: 'bitmask', min: 0, max: 1, step: 0, def: 1, flags: { readOnly: true } },
  {
    id: 0x00a00965, name: 'Rx RGB Quantization Range', key: 'rx_rgb_quantization_range', type: 'menu', min: 0, max: 2, step: 1, def: 0,
    menu: named([[0, 'Automatic'], [1, 'RGB Limited Range (16-235)'], [2, 'RGB Full Range (0-255)']]),
  },
  { id: 0x00f00001, name: 'Vivid Controls', key: 'vivid_controls', type: 'ctrl_class', flags: { readOnly: true, writeOnly: true } },
  { id: 0x00f0f000, name: 'Test Pattern', key: 'test_pattern', type: 'menu', min: 0, max: 21, step: 1, def: 0, menu: named(TEST_PATTERNS.map((n, i) => [i, n])) },
  { id: 0x00f0f001, name: 'OSD Text Mode', key: 'osd_text_mode', type: 'menu', min: 0, max: 2, step: 1, def: 0, menu: named([[0, 'All'], [1, 'Counters Only'], [2, 'None']]) },
  {
    id: 0x00f0f002, name: 'Horizontal Movement', key: 'horizontal_movement', type: 'menu', min: 0, max: 6, step: 1, def: 3,
    menu: named([[0, 'Move Left Fast'], [1, 'Move Left'], [2, 'Move Left Slow'], [3, 'No Movement'], [4, 'Move Right Slow'], [5, 'Move Right'], [6, 'Move Right Fast']]),
  },
];

/** Rows as the controls a device lists. */
export const controlsOf = (rows: readonly Row[]): ControlInfo[] => rows.map((r) => ({
  id: r.id,
  name: r.name,
  key: r.key,
  type: r.type,
  minimum: r.min ?? 0,
  maximum: r.max ?? 0,
  step: r.step ?? 0,
  default: r.def ?? 0,
  flags: { ...NO_FLAGS, ...r.flags },
  ...(r.menu ? { menu: r.menu } : {}),
}));

/** The values a device's controls start with. */
export const initialValuesOf = (rows: readonly Row[]): [number, number][] => rows.map((r) => [r.id, r.value ?? r.def ?? 0]);

export const VIVID_CONTROLS: readonly ControlInfo[] = controlsOf(ROWS);

/** Values vivid starts with (gain reads 17 while automatic gain is on). */
export const VIVID_INITIAL_VALUES: ReadonlyMap<number, number> = new Map(initialValuesOf(ROWS));

/** vivid's webcam input: discrete sizes, each offering fewer frame intervals the larger it is. */
export const VIVID_WEBCAM_SIZES = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
  { width: 3840, height: 2160 },
] as const;

/** Frame rates of vivid's webcam intervals (1/1 … 1/60 s); size i offers the first 2 * (6 - i). */
export const VIVID_WEBCAM_FPS = [1, 2, 4, 5, 10, 12.5, 15, 25, 30, 40, 50, 60] as const;

export const VIVID_FORMATS = [
  { fourcc: 'YUYV', description: 'YUYV 4:2:2' },
  { fourcc: 'UYVY', description: 'UYVY 4:2:2' },
  { fourcc: 'NV12', description: 'Y/UV 4:2:0' },
  { fourcc: 'RGB3', description: '24-bit RGB 8-8-8' },
  { fourcc: 'GREY', description: '8-bit Greyscale' },
] as const;

export const VIVID_INPUTS = [
  { index: 0, name: 'Webcam 0', type: 'camera' },
  { index: 1, name: 'TV 1', type: 'tuner' },
  { index: 2, name: 'S-Video 2', type: 'camera' },
  { index: 3, name: 'HDMI 3', type: 'camera' },
] as const;
