// How a domain declares its Home Assistant device and entities: as data. One table per domain
// (tables/*.ts); each row is one entity. The bridge evaluates the tables into snapshots and turns
// snapshots into discovery payloads, states and command routes, so adding an entity is one row.
import type { Domain, DomainEvent } from '../../core/eventBus.js';

export type Component = 'binary_sensor' | 'sensor' | 'switch' | 'light' | 'number' | 'select' | 'button' | 'text' | 'camera' | 'event';

export interface EntityRow<T> {
  /** Stable key: part of the unique_id and of the topics. Never rename a shipped key. */
  key: string;
  component: Component;
  /** null: the device's main feature (HA then shows the device name alone). */
  name: string | null;
  device_class?: string;
  entity_category?: 'config' | 'diagnostic';
  /** Diagnostic entities start disabled in HA unless this says otherwise (a problem users must see). */
  enabledByDefault?: boolean;
  icon?: string;
  unit_of_measurement?: string;
  state_class?: 'measurement' | 'total' | 'total_increasing';
  /** More platform options, possibly from the object (select `options`, number `min`/`max`). */
  options?: (obj: T) => Record<string, unknown>;
  /** false when the entity does not apply to this object: it is then removed from discovery. */
  applies?: (obj: T) => boolean;
  /** The retained state payload; undefined: no state topic; null: nothing known yet. */
  state?: (obj: T) => string | null;
  /** Validates the payload and acts through the domain service; throws an AppError on bad input. */
  command?: (obj: T, payload: string) => Promise<void>;
  /** Event entities: these bus events of the object become HA events (payload {event_type, ...details}). */
  events?: readonly string[];
  /** Also unavailable while the device itself is (e.g. a monitor's command text while it is offline). */
  followsDevice?: boolean;
  /** Also unavailable unless another row of the same device (its `key`) has the state "ON" (motion while detection is off). */
  availableWhenOn?: string;
  /** The entity's own availability (its own retained topic), e.g. a control the device marks inactive; omitted: none. */
  available?: (obj: T) => boolean;
  /** camera entities: the latest image (raw JPEG bytes), published retained on the entity's topic. */
  image?: (obj: T) => Buffer | undefined;
  /** Extra details HA shows as the entity's attributes (retained JSON on its attributes topic). */
  attributes?: (obj: T) => Record<string, unknown>;
  /** More state/command topic pairs of this one entity (a light's brightness). */
  facets?: readonly EntityFacet<T>[];
}

/**
 * A second value of one entity with topics of its own: discovery names them `<name>_state_topic`
 * and `<name>_command_topic` (HA's light `brightness_…`); the topics use the key `<row key>_<name>`,
 * which must be no row's key in the same table.
 */
export interface EntityFacet<T> {
  name: string;
  applies?: (obj: T) => boolean;
  state: (obj: T) => string | null;
  command: (obj: T, payload: string) => Promise<void>;
}

/** A facet with the object bound in; `key` is its topic key. */
export interface FacetSnapshot {
  name: string;
  key: string;
  state: string | null;
  command: (payload: string) => Promise<void>;
}

export interface DeviceInfo {
  name: string;
  model: string;
  model_id?: string;
  sw_version?: string;
  /** Entity ids become `<component>.<entityIdPrefix>_<key>` (HA's default_entity_id); omitted: HA names them. */
  entityIdPrefix?: string;
}

export interface DeviceTable<T> {
  /** Device id prefix, e.g. `camera` → device id `camera_<object id>`. */
  kind: string;
  /** Bus domains whose events change this table's objects (their events trigger a re-evaluation). */
  domains: readonly Domain[];
  list(): readonly T[];
  id(obj: T): string;
  device(obj: T): DeviceInfo;
  /** Per-device availability where it means something; omitted: the add-on's availability only. */
  available?(obj: T): boolean;
  rows: readonly EntityRow<T>[];
  /** Rows that differ per object (a camera's own device controls), after `rows`; their keys must not repeat a row's. */
  objectRows?(obj: T): readonly EntityRow<T>[];
  /** Tells the object's domain that a command for it was refused (rate-limited by the bridge). */
  refused?(obj: T, refusal: CommandRefusal): void;
}

/** A refused command as the bridge reports it: the entity key, why, and how many since the last report. */
export interface CommandRefusal {
  command: string;
  reason: string;
  count: number;
}

/** One entity of one object, with the object bound in. */
export interface EntitySnapshot {
  key: string;
  component: Component;
  /** Platform options without topics, availability or device (the discovery builder adds those). */
  config: Record<string, unknown>;
  /** undefined: no state topic. */
  state: string | null | undefined;
  command?: (payload: string) => Promise<void>;
  events?: readonly string[];
  followsDevice: boolean;
  /** The key of the sibling entity whose "ON" state this entity's availability needs. */
  availableWhenOn?: string;
  /** The entity's own availability; undefined: it has none. */
  available?: boolean;
  /** camera entities only: the latest image, or null when there is none yet. */
  image?: Buffer | null;
  /** JSON for the attributes topic; undefined: the entity has none. */
  attributes?: string;
  facets?: FacetSnapshot[];
}

export interface DeviceSnapshot {
  /** `<kind>_<object id>`, topic-safe. */
  deviceId: string;
  kind: string;
  objectId: string;
  info: DeviceInfo;
  /** null: the device has no availability of its own. */
  available: boolean | null;
  entities: EntitySnapshot[];
  refused?: (refusal: CommandRefusal) => void;
}

/** A table with its object type erased, so the bridge can hold tables of different domains. */
export interface DeviceSource {
  kind: string;
  domains: readonly Domain[];
  snapshot(): DeviceSnapshot[];
}

export function bindTable<T>(table: DeviceTable<T>, toDeviceId: (kind: string, objectId: string) => string): DeviceSource {
  const snapshotOf = (obj: T): DeviceSnapshot => {
    const objectId = table.id(obj);
    const entities: EntitySnapshot[] = [];
    for (const row of [...table.rows, ...(table.objectRows?.(obj) ?? [])]) {
      if (row.applies && !row.applies(obj)) continue;
      const config: Record<string, unknown> = { name: row.name };
      if (row.device_class) config.device_class = row.device_class;
      if (row.entity_category) config.entity_category = row.entity_category;
      // Diagnostics are details most users never look at: HA creates them disabled.
      if (row.entity_category === 'diagnostic' && row.enabledByDefault !== true) config.enabled_by_default = false;
      if (row.icon) config.icon = row.icon;
      if (row.unit_of_measurement) config.unit_of_measurement = row.unit_of_measurement;
      if (row.state_class) config.state_class = row.state_class;
      if (row.events) config.event_types = [...row.events];
      Object.assign(config, row.options?.(obj));
      const command = row.command;
      const facets = row.facets
        ?.filter((f) => !f.applies || f.applies(obj))
        .map((f): FacetSnapshot => ({ name: f.name, key: `${row.key}_${f.name}`, state: f.state(obj), command: (payload) => f.command(obj, payload) }));
      entities.push({
        key: row.key,
        component: row.component,
        config,
        state: row.state ? row.state(obj) : undefined,
        ...(command ? { command: (payload: string) => command(obj, payload) } : {}),
        ...(row.events ? { events: row.events } : {}),
        followsDevice: row.followsDevice === true,
        ...(row.availableWhenOn ? { availableWhenOn: row.availableWhenOn } : {}),
        ...(row.available ? { available: row.available(obj) } : {}),
        ...(row.image ? { image: row.image(obj) ?? null } : {}),
        ...(row.attributes ? { attributes: JSON.stringify(row.attributes(obj)) } : {}),
        ...(facets?.length ? { facets } : {}),
      });
    }
    return {
      deviceId: toDeviceId(table.kind, objectId),
      kind: table.kind,
      objectId,
      info: table.device(obj),
      available: table.available ? table.available(obj) : null,
      entities,
      ...(table.refused ? { refused: (refusal: CommandRefusal) => table.refused!(obj, refusal) } : {}),
    };
  };
  return { kind: table.kind, domains: table.domains, snapshot: () => table.list().map(snapshotOf) };
}

/** The HA event payload for a bus event on an event entity: `event_type` plus the event's details. */
export function haEventPayload(event: DomainEvent): string {
  return JSON.stringify({ ...event.details, event_type: event.event, at: event.at });
}
