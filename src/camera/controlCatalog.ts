// Every camera control Switchboard knows, declared once: its stable key, the V4L2 controls behind it,
// its label, icon and unit, the Home Assistant entity it becomes and how its values are scaled. The
// server (mapping, MQTT tables, Rotoclear keys, stream service), the panel and the card all read it
// from here. No Node imports: the panel and card bundles import this file too.

/** The Home Assistant platform a control becomes. */
export type ControlComponent = 'number' | 'switch' | 'select' | 'button' | 'sensor' | 'light';

/**
 * How values travel: `percent` is 0–100 over the device's range, `switch` is on/off over a device
 * value pair, `device` is the device's own values (range, step, menu), `option` is one of a listed set.
 */
export type ControlScale = 'percent' | 'switch' | 'device' | 'option';

export interface ControlEntry {
  /** Stable key: the API key, the MQTT entity key and part of HA's entity id. Never rename a shipped key. */
  readonly key: string;
  readonly label: string;
  readonly icon: string;
  readonly unit?: string;
  readonly component: ControlComponent;
  /** Whether Home Assistant creates the entity enabled. */
  readonly enabledByDefault: boolean;
  /** Standard V4L2 control ids that serve it (linux/v4l2-controls.h), tried in order. */
  readonly ids: readonly number[];
  /** Where V4L2 has no standard id: the device control keys (v4l2-ctl style) that serve it. */
  readonly match?: RegExp;
  readonly scale: ControlScale;
  /** Shown on the Lovelace card. */
  readonly card: boolean;
  /** A Rotoclear /api/v1 key, with the type its document gives it; absent: the document has no such key. */
  readonly rotoclear?: 'integer' | 'string/boolean' | 'boolean';
}

/** Standard V4L2 control ids (linux/v4l2-controls.h). */
export const CID = {
  BRIGHTNESS: 0x00980900,
  CONTRAST: 0x00980901,
  SATURATION: 0x00980902,
  HUE: 0x00980903,
  AUTO_WHITE_BALANCE: 0x0098090c,
  RED_BALANCE: 0x0098090e,
  BLUE_BALANCE: 0x0098090f,
  GAMMA: 0x00980910,
  AUTOGAIN: 0x00980912,
  GAIN: 0x00980913,
  HFLIP: 0x00980914,
  VFLIP: 0x00980915,
  POWER_LINE_FREQUENCY: 0x00980918,
  WHITE_BALANCE_TEMPERATURE: 0x0098091a,
  SHARPNESS: 0x0098091b,
  BACKLIGHT_COMPENSATION: 0x0098091c,
  EXPOSURE_AUTO: 0x009a0901,
  EXPOSURE_ABSOLUTE: 0x009a0902,
  PAN_ABSOLUTE: 0x009a0908,
  TILT_ABSOLUTE: 0x009a0909,
  FOCUS_ABSOLUTE: 0x009a090a,
  FOCUS_AUTO: 0x009a090c,
  ZOOM_ABSOLUTE: 0x009a090d,
  FLASH_LED_MODE: 0x009c0901,
  FLASH_TORCH_INTENSITY: 0x009c0908,
  ANALOGUE_GAIN: 0x009e0903,
} as const;

/** The 0–100 image settings, in the camera view's `controls` (in the Rotoclear document's order; it has no hue). */
export const RANGE_KEYS = ['brightness', 'contrast', 'sharpness', 'saturation', 'hue', 'gain', 'red-gain', 'blue-gain'] as const;
/** The on/off image settings, in the camera view's `controls` (the Rotoclear spelling "supression" is the key). */
export const SWITCH_KEYS = ['auto-exposure', 'auto-white-balance', 'noise-supression'] as const;
/** Capture settings: size, rate and input, in the camera view's `controls`. */
export const CAPTURE_KEYS = ['resolution', 'fps', 'sensor'] as const;
export type RangeKey = (typeof RANGE_KEYS)[number];
export type SwitchKey = (typeof SWITCH_KEYS)[number];
export type ImageKey = RangeKey | SwitchKey;
export type CaptureKey = (typeof CAPTURE_KEYS)[number];

const image = (key: ImageKey, label: string, icon: string, ids: number[], card: boolean, rotoclear: ControlEntry['rotoclear'], match?: RegExp): ControlEntry => {
  const isSwitch = (SWITCH_KEYS as readonly string[]).includes(key);
  return { key, label, icon, component: isSwitch ? 'switch' : 'number', enabledByDefault: true, ids, scale: isSwitch ? 'switch' : 'percent', card, ...(rotoclear ? { rotoclear } : {}), ...(match ? { match } : {}) };
};

export const IMAGE_SETTINGS: Readonly<Record<ImageKey, ControlEntry>> = {
  brightness: image('brightness', 'Brightness', 'mdi:brightness-6', [CID.BRIGHTNESS], true, 'integer'),
  contrast: image('contrast', 'Contrast', 'mdi:contrast-box', [CID.CONTRAST], true, 'integer'),
  sharpness: image('sharpness', 'Sharpness', 'mdi:image-filter-center-focus', [CID.SHARPNESS], true, 'integer'),
  saturation: image('saturation', 'Saturation', 'mdi:palette', [CID.SATURATION], true, 'integer'),
  hue: image('hue', 'Hue', 'mdi:palette-swatch', [CID.HUE], true, undefined),
  gain: image('gain', 'Gain', 'mdi:tune-vertical', [CID.GAIN, CID.ANALOGUE_GAIN], true, 'integer'),
  'red-gain': image('red-gain', 'Red gain', 'mdi:alpha-r-circle-outline', [CID.RED_BALANCE], false, 'integer'),
  'blue-gain': image('blue-gain', 'Blue gain', 'mdi:alpha-b-circle-outline', [CID.BLUE_BALANCE], false, 'integer'),
  // Exposure: the auto-exposure menu where there is one, else automatic gain (mapping decides).
  'auto-exposure': image('auto-exposure', 'Auto exposure', 'mdi:camera-iris', [CID.EXPOSURE_AUTO, CID.AUTOGAIN], false, 'string/boolean'),
  'auto-white-balance': image('auto-white-balance', 'Auto white balance', 'mdi:white-balance-auto', [CID.AUTO_WHITE_BALANCE], false, 'string/boolean'),
  // V4L2 has no standard noise-reduction control: vendor controls by name.
  'noise-supression': image('noise-supression', 'Noise suppression', 'mdi:blur', [], false, 'boolean', /(^|_)noise_(reduction|suppression)($|_)/),
};

/** The image settings the simulated camera draws into its test picture (with its light). */
export const PICTURE_KEYS = ['brightness', 'contrast', 'saturation', 'hue'] as const satisfies readonly RangeKey[];

export const CAPTURE_SETTINGS: Readonly<Record<CaptureKey, ControlEntry>> = {
  resolution: { key: 'resolution', label: 'Resolution', icon: 'mdi:image-size-select-large', component: 'select', enabledByDefault: true, ids: [], scale: 'option', card: true },
  fps: { key: 'fps', label: 'Frame rate', icon: 'mdi:filmstrip', unit: 'fps', component: 'select', enabledByDefault: true, ids: [], scale: 'option', card: true },
  sensor: { key: 'sensor', label: 'Sensor input', icon: 'mdi:video-input-component', component: 'select', enabledByDefault: true, ids: [], scale: 'option', card: false },
};

/**
 * The camera's light: the flash LED mode's torch, or a vendor control named like a light ("LED1
 * Mode", "Light", "Lamp Brightness", "Torch"). Its level is the torch intensity or the vendor level.
 */
export const LIGHT: ControlEntry = {
  key: 'light',
  label: 'Light',
  icon: 'mdi:lightbulb',
  component: 'light',
  enabledByDefault: true,
  ids: [CID.FLASH_LED_MODE, CID.FLASH_TORCH_INTENSITY],
  match: /(^|_)(light|led\d*|lamp|torch)(_|$)/,
  scale: 'switch',
  card: true,
};

export const LIGHT_LEVEL_LABEL = 'Light level';

const device = (key: string, label: string, icon: string, id: number, component: ControlComponent, unit?: string, card = false): ControlEntry => ({
  key, label, icon, component, enabledByDefault: true, ids: [id], scale: 'device', card, ...(unit ? { unit } : {}),
});

/**
 * Camera controls with a standard V4L2 id that Switchboard names: in `device_controls` under this key,
 * and as Home Assistant entities enabled by default. Every other simple control a device offers
 * appears too, under its own name, as a config entity HA creates disabled.
 */
export const DEVICE_CONTROLS: readonly ControlEntry[] = [
  device('auto_exposure', 'Exposure mode', 'mdi:camera-iris', CID.EXPOSURE_AUTO, 'select'),
  device('exposure_time_absolute', 'Exposure time', 'mdi:timer-outline', CID.EXPOSURE_ABSOLUTE, 'number', '100 µs'),
  device('focus_automatic_continuous', 'Autofocus', 'mdi:image-filter-center-focus-weak', CID.FOCUS_AUTO, 'switch'),
  // The card shows these four (numbers on the device's own range) beside the image settings.
  device('focus_absolute', 'Focus', 'mdi:image-filter-center-focus', CID.FOCUS_ABSOLUTE, 'number', undefined, true),
  device('zoom_absolute', 'Zoom', 'mdi:magnify-plus-outline', CID.ZOOM_ABSOLUTE, 'number', undefined, true),
  device('pan_absolute', 'Pan', 'mdi:pan-horizontal', CID.PAN_ABSOLUTE, 'number', 'arcsec', true),
  device('tilt_absolute', 'Tilt', 'mdi:pan-vertical', CID.TILT_ABSOLUTE, 'number', 'arcsec', true),
  device('white_balance_automatic', 'White balance, automatic', 'mdi:white-balance-auto', CID.AUTO_WHITE_BALANCE, 'switch'),
  device('white_balance_temperature', 'White balance temperature', 'mdi:thermometer', CID.WHITE_BALANCE_TEMPERATURE, 'number', 'K'),
  device('power_line_frequency', 'Power line frequency', 'mdi:sine-wave', CID.POWER_LINE_FREQUENCY, 'select'),
  device('backlight_compensation', 'Backlight compensation', 'mdi:weather-sunny-alert', CID.BACKLIGHT_COMPENSATION, 'number'),
  device('gamma', 'Gamma', 'mdi:gamma', CID.GAMMA, 'number'),
  device('horizontal_flip', 'Flip horizontally', 'mdi:flip-horizontal', CID.HFLIP, 'switch'),
  device('vertical_flip', 'Flip vertically', 'mdi:flip-vertical', CID.VFLIP, 'switch'),
];

const BY_ID = new Map(DEVICE_CONTROLS.map((e) => [e.ids[0]!, e]));

/** The known entry of a device control, by V4L2 id. */
export const knownDeviceControl = (id: number): ControlEntry | undefined => BY_ID.get(id);

/** Every entry: what DOCS lists and the label test walks. */
export const CATALOG: readonly ControlEntry[] = [...Object.values(IMAGE_SETTINGS), ...Object.values(CAPTURE_SETTINGS), LIGHT, ...DEVICE_CONTROLS];

/** Icons of device controls the catalog does not name, by type. */
export const GENERIC_ICONS: Readonly<Record<'integer' | 'boolean' | 'menu' | 'integer_menu' | 'button', string>> = {
  integer: 'mdi:tune-variant',
  boolean: 'mdi:toggle-switch-outline',
  menu: 'mdi:format-list-bulleted',
  integer_menu: 'mdi:format-list-numbered',
  button: 'mdi:gesture-tap-button',
};

/** A label for any key the catalog knows (image, capture, light, camera controls), or undefined. */
export function labelOf(key: string): string | undefined {
  if (key === 'light_brightness') return LIGHT_LEVEL_LABEL;
  return CATALOG.find((e) => e.key === key)?.label;
}
