// How the image settings (the Rotoclear keys, plus hue, which the Rotoclear table lacks) map onto
// a device's V4L2 controls, and the 0–100 scaling between them. Matching is by standard control id
// first (what the kernel guarantees), then by name for the few settings V4L2 has no standard id
// for (noise reduction, lights on vendor controls).
import { CID, IMAGE_SETTINGS, LIGHT, RANGE_KEYS, type ImageKey } from './controlCatalog.js';
import type { ControlInfo } from './driver.js';

// Tests and older importers name the ids here; the catalog holds them.
export { CID } from './controlCatalog.js';

/** V4L2_EXPOSURE_AUTO menu values. */
export const EXPOSURE = { AUTO: 0, MANUAL: 1, SHUTTER_PRIORITY: 2, APERTURE_PRIORITY: 3 } as const;
/** V4L2_FLASH_LED_MODE menu values. */
const FLASH_LED = { NONE: 0, TORCH: 2 } as const;
/** The V4L2 flash control class (V4L2_CTRL_CLASS_FLASH >> 16). */
const FLASH_CLASS = 0x009c;

/** A 0–100 setting on an integer control. */
export interface RangeMapping {
  kind: 'range';
  control: ControlInfo;
}

/** An on/off setting: the device values that mean on and off, and how to read one back. */
export interface SwitchMapping {
  kind: 'switch';
  control: ControlInfo;
  on: number;
  off: number;
  isOn(value: number): boolean;
}

export type ControlMapping = RangeMapping | SwitchMapping;

export interface DeviceMapping {
  image: Partial<Record<ImageKey, ControlMapping>>;
  /** A V4L2 light control, when the camera has one (otherwise the light is stored state or an HA entity). */
  light?: SwitchMapping;
  /**
   * How bright the light shines (0–100), where it has levels: the torch intensity beside the flash
   * LED mode, or an integer vendor control. When it is the same control as `light`, its minimum is off.
   */
  lightLevel?: RangeMapping;
}

/** A vendor control of a light (see the catalog's light entry). */
const LIGHT_KEY = LIGHT.match!;
/**
 * Which integer light controls are its level: the bare name ("Light") or one saying so ("LED1
 * Brightness"). Others are not (UVC's "LED1 Frequency" is how fast it blinks).
 */
const LIGHT_LEVEL_KEY = /^(light|led\d*|lamp|torch)$|(^|_)(brightness|intensity|level)(_|$)/;

const usable = (c: ControlInfo) => !c.flags.disabled && !c.flags.readOnly && !c.flags.hasPayload;
const isIntegerLike = (c: ControlInfo) => c.type === 'integer' && c.maximum > c.minimum;

const booleanSwitch = (control: ControlInfo): SwitchMapping => ({ kind: 'switch', control, on: 1, off: 0, isOn: (v) => v !== 0 });

function exposureSwitch(control: ControlInfo): SwitchMapping | undefined {
  const items = new Set((control.menu ?? []).map((m) => m.index));
  if (!items.has(EXPOSURE.MANUAL)) return undefined;
  // Full auto where offered; UVC webcams usually only offer manual and aperture priority.
  const on = items.has(EXPOSURE.AUTO) ? EXPOSURE.AUTO : items.has(EXPOSURE.APERTURE_PRIORITY) ? EXPOSURE.APERTURE_PRIORITY : items.has(EXPOSURE.SHUTTER_PRIORITY) ? EXPOSURE.SHUTTER_PRIORITY : undefined;
  if (on === undefined) return undefined;
  return { kind: 'switch', control, on, off: EXPOSURE.MANUAL, isOn: (v) => v !== EXPOSURE.MANUAL };
}

/** Finds which of a device's controls serve each image setting. */
export function mapControls(controls: readonly ControlInfo[]): DeviceMapping {
  const byId = new Map(controls.filter(usable).map((c) => [c.id, c]));
  const image: DeviceMapping['image'] = {};
  for (const key of RANGE_KEYS) {
    const c = IMAGE_SETTINGS[key].ids.map((id) => byId.get(id)).find((x) => x !== undefined && isIntegerLike(x));
    if (c) image[key] = { kind: 'range', control: c };
  }
  const exposure = byId.get(CID.EXPOSURE_AUTO);
  const autogain = byId.get(CID.AUTOGAIN);
  const ae = exposure?.type === 'menu' ? exposureSwitch(exposure) : undefined;
  if (ae) image['auto-exposure'] = ae;
  else if (autogain?.type === 'boolean') image['auto-exposure'] = booleanSwitch(autogain);
  const awb = byId.get(CID.AUTO_WHITE_BALANCE);
  if (awb?.type === 'boolean') image['auto-white-balance'] = booleanSwitch(awb);
  const noise = controls.find((c) => usable(c) && c.type === 'boolean' && IMAGE_SETTINGS['noise-supression'].match!.test(c.key));
  if (noise) image['noise-supression'] = booleanSwitch(noise);

  const mapping: DeviceMapping = { image };
  const flash = byId.get(CID.FLASH_LED_MODE);
  if (flash?.type === 'menu' && flash.menu?.some((m) => m.index === FLASH_LED.TORCH)) {
    mapping.light = { kind: 'switch', control: flash, on: FLASH_LED.TORCH, off: FLASH_LED.NONE, isOn: (v) => v === FLASH_LED.TORCH };
    const torch = byId.get(CID.FLASH_TORCH_INTENSITY);
    if (torch && isIntegerLike(torch)) mapping.lightLevel = { kind: 'range', control: torch };
  } else {
    // A flash whose LED mode has no torch cannot shine steadily: its controls are no light.
    const vendorLight = (c: ControlInfo) => usable(c) && c.id >>> 16 !== FLASH_CLASS && LIGHT_KEY.test(c.key);
    const led = controls.find((c) => vendorLight(c) && c.type === 'boolean');
    const level = controls.find((c) => vendorLight(c) && isIntegerLike(c) && LIGHT_LEVEL_KEY.test(c.key));
    if (led) mapping.light = booleanSwitch(led);
    if (level) {
      mapping.lightLevel = { kind: 'range', control: level };
      // Without a switch of its own, the level control is the switch: its minimum is off.
      mapping.light ??= { kind: 'switch', control: level, on: level.maximum, off: level.minimum, isOn: (v) => v > level.minimum };
    }
  }
  return mapping;
}

/** 0–100 to the control's range, on its step. 0 and 100 are exactly the minimum and maximum. */
export function percentToDevice(percent: number, c: Pick<ControlInfo, 'minimum' | 'maximum' | 'step'>): number {
  if (c.maximum <= c.minimum || percent <= 0) return c.minimum;
  if (percent >= 100) return c.maximum;
  const step = c.step > 0 ? c.step : 1;
  const raw = (percent / 100) * (c.maximum - c.minimum);
  return Math.min(c.maximum, c.minimum + Math.round(raw / step) * step);
}

/** A device value back to 0–100 (rounded); the minimum is 0 and the maximum 100. */
export function deviceToPercent(value: number, c: Pick<ControlInfo, 'minimum' | 'maximum'>): number {
  if (c.maximum <= c.minimum) return 0;
  const p = Math.round(((value - c.minimum) / (c.maximum - c.minimum)) * 100);
  return Math.min(100, Math.max(0, p));
}
