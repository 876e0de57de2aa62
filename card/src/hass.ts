// The part of the frontend's `hass` object (home-assistant/frontend src/types.ts HomeAssistant)
// the card reads. Declared here, not imported: the frontend is not a package.
import type { Connection, HassEntities, HassEntity } from 'home-assistant-js-websocket';

export type { HassEntity };

/** src/data/entity/entity_registry.ts EntityRegistryDisplayEntry (what hass.entities holds). */
export interface EntityRegistryDisplayEntry {
  entity_id: string;
  name?: string;
  device_id?: string;
  hidden?: boolean;
  platform?: string;
}

/** src/data/device/device_registry.ts DeviceRegistryEntry (fields the card reads). */
export interface DeviceRegistryEntry {
  id: string;
  name: string | null;
  name_by_user: string | null;
  manufacturer: string | null;
  model: string | null;
  disabled_by: string | null;
}

export interface ServiceTarget {
  entity_id?: string | string[];
}

export interface HomeAssistant {
  states: HassEntities;
  entities: Record<string, EntityRegistryDisplayEntry>;
  devices: Record<string, DeviceRegistryEntry>;
  themes: { darkMode: boolean; theme: string };
  connection: Connection;
  language?: string;
  callService(domain: string, service: string, serviceData?: Record<string, unknown>, target?: ServiceTarget): Promise<unknown>;
  hassUrl(path?: string): string;
}

export interface CardConfig {
  type: string;
  device_id?: string;
  name?: string;
  /** Per-entity overrides, e.g. {light: 'light.garage_lamp'}. */
  entities?: Partial<Record<string, string>>;
}
