// A camera's own device controls as Home Assistant entities: one per simple control that no image
// setting or light already serves. Integers become numbers, booleans switches, menus and integer
// menus selects, buttons buttons, read-only controls sensors. Names, icons and units come from the
// catalog for the controls it knows (enabled by default); the others are config entities HA creates
// disabled. A control the device marks inactive is unavailable. Writes go through the camera
// service's update with `device_controls`, which checks them against the device.
import type { Actor } from '../../../auth/records.js';
import type { CameraView } from '../../../camera/cameraRecord.js';
import type { CameraService } from '../../../camera/cameraService.js';
import type { ImageKey } from '../../../camera/controlCatalog.js';
import type { DeviceControlView } from '../../../camera/deviceControls.js';
import type { Component, EntityRow } from '../entities.js';
import { parseInteger, parseOption, parsePress, parseSwitch } from '../payloads.js';

const onOff = (v: boolean) => (v ? 'ON' : 'OFF');

function componentOf(d: DeviceControlView): Component {
  if (d.read_only) return 'sensor';
  switch (d.type) {
    case 'boolean':
      return 'switch';
    case 'menu':
    case 'integer_menu':
      return 'select';
    case 'button':
      return 'button';
    default:
      return 'number';
  }
}

const optionLabel = (d: DeviceControlView): string | null => d.options?.find((o) => o.value === d.value)?.label ?? null;

function stateOf(d: DeviceControlView): string | null {
  if (d.value === null) return null;
  if (typeof d.value === 'boolean') return onOff(d.value);
  if (d.options) return optionLabel(d);
  return String(d.value);
}

/** An image setting's entity is unavailable while the device marks its control inactive (gain under automatic gain). */
export function imageControlAvailable(c: CameraView, key: ImageKey): boolean {
  return !Object.values(c.device_controls).some((d) => d.served_by === key && d.inactive);
}

/** The entity key of a device control: its stable name, unless a row of the camera table already has it. */
const entityKey = (name: string, reserved: ReadonlySet<string>) => (reserved.has(name) ? `control_${name}` : name);

export function deviceControlRows(cameras: CameraService, actor: Actor, cam: CameraView, reserved: ReadonlySet<string>): EntityRow<CameraView>[] {
  const rows: EntityRow<CameraView>[] = [];
  for (const [name, seen] of Object.entries(cam.device_controls)) {
    if (seen.served_by) continue;
    // Each row reads the control from the camera it is evaluated with (the latest view), not from `seen`.
    const current = (c: CameraView) => c.device_controls[name] ?? seen;
    const component = componentOf(seen);
    const set = (c: CameraView, value: number | boolean | string) => cameras.update(actor, c.id, { device_controls: { [name]: value } }).then(() => undefined);
    rows.push({
      key: entityKey(name, reserved),
      component,
      name: seen.label,
      icon: seen.icon,
      ...(seen.known ? {} : { entity_category: 'config' as const }),
      ...(seen.unit && (component === 'number' || component === 'sensor') ? { unit_of_measurement: seen.unit } : {}),
      followsDevice: true,
      available: (c) => !current(c).inactive,
      options: (c) => {
        const d = current(c);
        const out: Record<string, unknown> = seen.known ? {} : { enabled_by_default: false };
        if (component === 'number') Object.assign(out, { min: d.min, max: d.max, step: d.step > 0 ? d.step : 1 });
        if (component === 'select') out.options = (d.options ?? []).map((o) => o.label);
        return out;
      },
      ...(component === 'button' ? {} : { state: (c: CameraView) => stateOf(current(c)) }),
      ...(component === 'sensor'
        ? {}
        : {
            command: async (c: CameraView, payload: string) => {
              const d = current(c);
              if (component === 'switch') return set(c, parseSwitch(payload, c.device_controls[name]?.value === true));
              if (component === 'button') {
                parsePress(payload);
                return set(c, true);
              }
              if (component === 'select') return set(c, parseOption(payload, (d.options ?? []).map((o) => o.label)));
              return set(c, parseInteger(payload, d.min, d.max));
            },
          }),
    });
  }
  return rows;
}
