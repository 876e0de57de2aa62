// Finds a Switchboard camera's entities in `hass` and sums up its condition. The camera's device
// (hass.devices) holds its entities (hass.entities[…].device_id); which entity is which comes from
// their entity registry entries: every unique_id is `<device's prefix>_<key>`, and it never changes
// when a user renames an entity. Until those entries are read (or where HA refuses them) the
// entity ids the add-on proposes (`<domain>.<device object id>_<key>`) stand in. The card config can
// name any entity instead.
import { CAPTURE_SETTINGS, DEVICE_CONTROLS, IMAGE_SETTINGS, RANGE_KEYS, type RangeKey } from '../../src/camera/controlCatalog.js';
import type { CardConfig, DeviceRegistryEntry, HassEntity, HomeAssistant } from './hass.js';

const BASE_KEYS = {
  image: 'camera',
  ready: 'binary_sensor',
  readers: 'sensor',
  stream: 'switch',
  light: 'light',
  enabled: 'switch',
  recording: 'switch',
  motion: 'binary_sensor',
  motion_detection: 'switch',
  live_view: 'switch',
  snapshot: 'button',
} as const;

/** A camera control the catalog puts on the card as a number (zoom, focus, pan, tilt), where the camera has it. */
type DeviceNumberKey = `${string}_absolute`;

/** The numbers (image settings, then camera controls) and capture selects the catalog puts on the card. */
export const IMAGE_NUMBERS: readonly (RangeKey | DeviceNumberKey)[] = [
  ...RANGE_KEYS.filter((k) => IMAGE_SETTINGS[k].card),
  ...DEVICE_CONTROLS.filter((e) => e.card && e.component === 'number').map((e) => e.key as DeviceNumberKey),
];
export const IMAGE_SELECTS: readonly ('resolution' | 'fps')[] = (['resolution', 'fps'] as const).filter((k) => CAPTURE_SETTINGS[k].card);

export type EntityKey = keyof typeof BASE_KEYS | RangeKey | DeviceNumberKey | 'resolution' | 'fps';
export const ENTITY_KEYS: Readonly<Partial<Record<EntityKey, string>>> = {
  ...BASE_KEYS,
  ...Object.fromEntries(IMAGE_NUMBERS.map((k) => [k, 'number'])),
  ...Object.fromEntries(IMAGE_SELECTS.map((k) => [k, CAPTURE_SETTINGS[k].component])),
};

/** Without these the card has nothing to show: their absence means discovery has not run. */
const ESSENTIAL: EntityKey[] = ['image', 'enabled', 'stream'];

const MANUFACTURER = 'Switchboard';
const UNAVAILABLE = 'unavailable';

export type CameraCondition =
  | { kind: 'no_device' }
  | { kind: 'device_missing' }
  | { kind: 'entities_missing'; missing: EntityKey[] }
  | { kind: 'addon_offline' }
  | { kind: 'camera_gone' }
  | { kind: 'disabled' }
  | { kind: 'ok' };

export interface CameraView {
  device: DeviceRegistryEntry | undefined;
  name: string;
  /** entity id per key (found or configured), whether or not HA has a state for it. */
  ids: Partial<Record<EntityKey, string>>;
  /** Current state per key, only for entities HA has. */
  states: Partial<Record<EntityKey, HassEntity>>;
  condition: CameraCondition;
}

const domainOf = (entityId: string) => entityId.slice(0, entityId.indexOf('.'));

/** Devices the add-on created for cameras: manufacturer Switchboard with a camera entity. */
export function switchboardCameras(hass: HomeAssistant): DeviceRegistryEntry[] {
  const withCamera = new Set(
    Object.values(hass.entities)
      .filter((e) => e.device_id && domainOf(e.entity_id) === 'camera')
      .map((e) => e.device_id!),
  );
  return Object.values(hass.devices)
    .filter((d) => d.manufacturer === MANUFACTURER && withCamera.has(d.id))
    .sort((a, b) => deviceName(a).localeCompare(deviceName(b)));
}

export const deviceName = (d: DeviceRegistryEntry) => d.name_by_user || d.name || d.id;

/** The device's entity ids (what to ask the entity registry about). */
export function deviceEntityIds(hass: HomeAssistant, deviceId: string | undefined): string[] {
  if (!deviceId) return [];
  return Object.values(hass.entities)
    .filter((e) => e.device_id === deviceId)
    .map((e) => e.entity_id)
    .sort();
}

/**
 * entity id → key, from the registry entries of one device's entities (config/entity_registry/
 * get_entries): the camera entity's unique_id ends in `_image`, and what comes before is the
 * prefix every other entity of the device shares.
 */
export function keysFromRegistry(entries: Record<string, { unique_id?: unknown } | null>): Map<string, EntityKey> {
  const keys = new Map<string, EntityKey>();
  const uid = (entityId: string) => {
    const u = entries[entityId]?.unique_id;
    return typeof u === 'string' ? u : null;
  };
  const image = Object.keys(entries).find((e) => domainOf(e) === 'camera' && uid(e)?.endsWith('_image'));
  if (!image) return keys;
  const prefix = uid(image)!.slice(0, -'image'.length);
  for (const entityId of Object.keys(entries)) {
    const u = uid(entityId);
    if (!u?.startsWith(prefix)) continue;
    const key = u.slice(prefix.length);
    if (key in ENTITY_KEYS && ENTITY_KEYS[key as EntityKey] === domainOf(entityId)) keys.set(entityId, key as EntityKey);
  }
  return keys;
}

/** `keys`: the device's entities by registry (keysFromRegistry); without it, the proposed entity ids. */
export function cameraView(hass: HomeAssistant, config: CardConfig, keys?: ReadonlyMap<string, EntityKey>): CameraView {
  const device = config.device_id ? hass.devices[config.device_id] : undefined;
  const ids: Partial<Record<EntityKey, string>> = {};
  if (device) {
    const own = Object.values(hass.entities).filter((e) => e.device_id === device.id);
    if (keys && keys.size) {
      for (const e of own) {
        const key = keys.get(e.entity_id);
        if (key) ids[key] = e.entity_id;
      }
    } else {
      for (const [key, domain] of Object.entries(ENTITY_KEYS) as [EntityKey, string][]) {
        const found = own.find((e) => domainOf(e.entity_id) === domain && e.entity_id.endsWith(`_${key}`));
        if (found) ids[key] = found.entity_id;
      }
    }
  }
  for (const [key, entityId] of Object.entries(config.entities ?? {})) {
    if (key in ENTITY_KEYS && entityId) ids[key as EntityKey] = entityId;
  }
  const states: Partial<Record<EntityKey, HassEntity>> = {};
  for (const [key, entityId] of Object.entries(ids) as [EntityKey, string][]) {
    const s = hass.states[entityId];
    if (s) states[key] = s;
  }
  const name = config.name || (device ? deviceName(device) : states.image?.attributes.friendly_name) || 'Camera';
  return { device, name: String(name), ids, states, condition: condition(hass, config, device, states) };
}

function condition(hass: HomeAssistant, config: CardConfig, device: DeviceRegistryEntry | undefined, states: CameraView['states']): CameraCondition {
  if (!config.device_id && !config.entities?.image) return { kind: 'no_device' };
  if (config.device_id && !device) return { kind: 'device_missing' };
  const missing = ESSENTIAL.filter((k) => !states[k]);
  if (missing.length) return { kind: 'entities_missing', missing };
  const present = Object.values(states).filter((s): s is HassEntity => s !== undefined);
  if (present.every((s) => s.state === UNAVAILABLE)) return addonOnline(hass) ? { kind: 'camera_gone' } : { kind: 'addon_offline' };
  if (states.enabled?.state === 'off') return { kind: 'disabled' };
  return { kind: 'ok' };
}

/** Entities of the add-on's own device (model "Switchboard add-on"): they tell whether it is online. */
function addonEntityIds(hass: HomeAssistant): string[] {
  const addon = Object.values(hass.devices).find((d) => d.manufacturer === MANUFACTURER && d.model === 'Switchboard add-on');
  if (!addon) return [];
  return Object.values(hass.entities)
    .filter((e) => e.device_id === addon.id)
    .map((e) => e.entity_id);
}

const addonOnline = (hass: HomeAssistant) => addonEntityIds(hass).some((id) => hass.states[id] !== undefined && hass.states[id]!.state !== UNAVAILABLE);

/** Every entity whose state the card shows or reasons about (a change to any of them redraws it). */
export function watchedEntityIds(hass: HomeAssistant, view: CameraView): string[] {
  const live = view.states.image?.attributes.live_entity;
  return [...Object.values(view.ids).filter((id): id is string => id !== undefined), ...(typeof live === 'string' ? [live] : []), ...addonEntityIds(hass)];
}

export const isUsable = (s: HassEntity | undefined): s is HassEntity => s !== undefined && s.state !== UNAVAILABLE && s.state !== 'unknown';
