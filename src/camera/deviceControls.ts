// Every simple control a device offers (integer, boolean, menu, integer menu, button), under a
// stable name: the catalog's key for controls it knows, else the v4l2-ctl style key of the
// control's own name. Describes them for the camera view and checks requested values against the
// device's own range, step and menu, before anything reaches the device.
import { validationError } from '../core/errors.js';
import { GENERIC_ICONS, knownDeviceControl } from './controlCatalog.js';
import type { ControlInfo } from './driver.js';

export type DeviceControlType = 'integer' | 'boolean' | 'menu' | 'integer_menu' | 'button';

export interface DeviceControlOption {
  /** The V4L2 value (the menu index). */
  value: number;
  /** The menu item's name, or an integer menu item's number as text. */
  label: string;
}

export interface DeviceControlView {
  /** V4L2 control id. */
  id: number;
  /** The catalog's label, else the kernel's name. */
  label: string;
  icon: string;
  unit: string | null;
  type: DeviceControlType;
  /** Integers and menus: the device value; booleans: true/false; buttons and write-only controls: null. */
  value: number | boolean | null;
  min: number;
  max: number;
  step: number;
  default: number;
  options?: DeviceControlOption[];
  /** The driver marks it inactive now (e.g. gain while automatic gain is on): writes may have no effect. */
  inactive: boolean;
  read_only: boolean;
  /** Named by the catalog (HA enables its entity by default). */
  known: boolean;
  /** The image setting (`controls` key) or `light`/`light_brightness` that already acts on this control; null: none. */
  served_by?: string | null;
}

const SIMPLE = new Set<string>(['integer', 'boolean', 'menu', 'integer_menu', 'button']);

/** Simple controls only: classes, 64-bit, strings, bitmasks and payload (array, area) controls are left out. */
export const isSimple = (c: ControlInfo): boolean => SIMPLE.has(c.type) && !c.flags.hasPayload && !c.flags.disabled;

/** The stable name a device control is listed under. */
export const controlName = (c: ControlInfo): string => knownDeviceControl(c.id)?.key ?? c.key;

export const optionsOf = (c: ControlInfo): DeviceControlOption[] =>
  (c.menu ?? []).map((m) => ({ value: m.index, label: c.type === 'integer_menu' ? String(m.value ?? m.index) : (m.name ?? String(m.index)) }));

/** The view of one control; `raw` is its value (undefined where it cannot be read). */
export function describeControl(c: ControlInfo, raw: number | undefined): DeviceControlView {
  const known = knownDeviceControl(c.id);
  const type = c.type as DeviceControlType;
  const value = raw === undefined || type === 'button' ? null : type === 'boolean' ? raw !== 0 : raw;
  return {
    id: c.id,
    label: known?.label ?? c.name,
    icon: known?.icon ?? GENERIC_ICONS[type],
    unit: known?.unit ?? null,
    type,
    value,
    min: c.minimum,
    max: c.maximum,
    step: c.step,
    default: c.default,
    ...(type === 'menu' || type === 'integer_menu' ? { options: optionsOf(c) } : {}),
    inactive: c.flags.inactive,
    read_only: c.flags.readOnly,
    known: known !== undefined,
  };
}

/** Whether a control's value can be read (write-only controls and buttons cannot). */
export const readable = (c: ControlInfo): boolean => c.type !== 'button' && !c.flags.writeOnly;

/**
 * The device values for requested changes, keyed by control; one validation error lists every
 * problem. Accepted: integers on the control's step within its range; booleans (or 0/1); a menu
 * item's value or its label; `true` presses a button.
 */
export function resolveValues(controls: readonly ControlInfo[], input: Record<string, unknown>, prefix: string): { control: ControlInfo; value: number }[] {
  const byName = new Map(controls.filter(isSimple).map((c) => [controlName(c), c]));
  const problems: { path: string; message: string }[] = [];
  const out: { control: ControlInfo; value: number }[] = [];
  for (const [name, wanted] of Object.entries(input)) {
    const path = `${prefix}.${name}`;
    const c = byName.get(name);
    if (!c) {
      problems.push({ path, message: 'This camera has no such control' });
      continue;
    }
    if (c.flags.readOnly) {
      problems.push({ path, message: 'This control is read-only' });
      continue;
    }
    const value = deviceValue(c, wanted);
    if (typeof value === 'string') problems.push({ path, message: value });
    else out.push({ control: c, value });
  }
  if (problems.length) throw validationError('Invalid device controls', problems);
  return out;
}

/** The device value, or a message saying what a valid value is. */
function deviceValue(c: ControlInfo, v: unknown): number | string {
  switch (c.type) {
    case 'button':
      return v === true ? 0 : 'Value must be true (presses the button)';
    case 'boolean':
      if (typeof v === 'boolean') return v ? 1 : 0;
      return v === 0 || v === 1 ? v : 'Value must be true or false';
    case 'menu':
    case 'integer_menu': {
      const options = optionsOf(c);
      const hit = options.find((o) => o.value === v || o.label === v);
      return hit ? hit.value : `Value must be one of ${options.map((o) => JSON.stringify(o.label)).join(', ')} (or its number ${options.map((o) => o.value).join(', ')})`;
    }
    default: {
      if (typeof v !== 'number' || !Number.isInteger(v)) return `Value must be an integer between ${c.minimum} and ${c.maximum}`;
      if (v < c.minimum || v > c.maximum) return `Value must be between ${c.minimum} and ${c.maximum}`;
      const step = c.step > 0 ? c.step : 1;
      if ((v - c.minimum) % step !== 0) return `Value must be ${c.minimum} plus a multiple of ${step}`;
      return v;
    }
  }
}
