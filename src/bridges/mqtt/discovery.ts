// Turns a device snapshot into Home Assistant's device-based discovery payload
// (`<prefix>/device/<object_id>/config` with `dev`, `o` and `cmps`) and lists its state topics.
import type { Component, DeviceSnapshot, EntitySnapshot } from './entities.js';
import type { Topics } from './topics.js';

export interface Origin {
  name: string;
  sw: string;
  /** Where users report problems (HA shows it in the MQTT device info). */
  url: string;
}

export type ComponentConfig = Record<string, unknown> & { p: Component };

export interface DeviceConfig {
  dev: Record<string, unknown>;
  o: Origin;
  cmps: Record<string, ComponentConfig>;
}

/** Availability payloads: the bridge's own (and its last will), each device's and entity's. */
export const ONLINE = JSON.stringify({ state: 'online' });
export const OFFLINE = JSON.stringify({ state: 'offline' });

/** `{{ value_json.state }}` reads the {"state":"online"} availability payloads. */
const AVAILABILITY_TEMPLATE = '{{ value_json.state }}';

/** A switch's "ON"/"OFF" state read as availability. */
const ON_MEANS_ONLINE = "{{ 'online' if value == 'ON' else 'offline' }}";

/** The camera platform takes its image on `topic` rather than `state_topic`. */
export const IMAGE_TOPIC_KEY = 'topic';

/** `configurationUrl`: the web panel, linked from every device page in HA. */
export function buildDeviceConfig(device: DeviceSnapshot, topics: Topics, origin: Origin, hubDeviceId: string, configurationUrl?: string): DeviceConfig {
  const ids = topics.objectId(device.deviceId);
  const dev: Record<string, unknown> = {
    identifiers: [ids],
    name: device.info.name,
    manufacturer: 'Switchboard',
    model: device.info.model,
    sw_version: device.info.sw_version ?? origin.sw,
  };
  if (device.info.model_id) dev.model_id = device.info.model_id;
  if (configurationUrl) dev.configuration_url = configurationUrl;
  if (device.deviceId !== hubDeviceId) dev.via_device = topics.objectId(hubDeviceId);
  const cmps: Record<string, ComponentConfig> = {};
  for (const entity of device.entities) cmps[entity.key] = componentConfig(device, entity, topics);
  return { dev, o: origin, cmps };
}

function componentConfig(device: DeviceSnapshot, entity: EntitySnapshot, topics: Topics): ComponentConfig {
  const c: ComponentConfig = { p: entity.component, unique_id: topics.uniqueId(device.deviceId, entity.key), ...entity.config };
  if (entity.image !== undefined) c[IMAGE_TOPIC_KEY] = topics.state(device.deviceId, entity.key);
  else if (entity.state !== undefined || entity.events) c.state_topic = topics.state(device.deviceId, entity.key);
  if (entity.command) c.command_topic = topics.command(device.deviceId, entity.key);
  if (entity.attributes !== undefined) c.json_attributes_topic = topics.attributes(device.deviceId, entity.key);
  for (const f of entity.facets ?? []) {
    c[`${f.name}_state_topic`] = topics.state(device.deviceId, f.key);
    c[`${f.name}_command_topic`] = topics.command(device.deviceId, f.key);
  }
  if (device.info.entityIdPrefix) {
    // default_entity_id is HA ≥ 2025.10's name for it; object_id (without the domain) is what older HA reads.
    c.default_entity_id = `${entity.component}.${device.info.entityIdPrefix}_${entity.key}`;
    c.object_id = `${device.info.entityIdPrefix}_${entity.key}`;
  }
  const availability = [{ topic: topics.bridgeState, value_template: AVAILABILITY_TEMPLATE }];
  if (entity.followsDevice && device.available !== null) {
    availability.push({ topic: topics.availability(device.deviceId), value_template: AVAILABILITY_TEMPLATE });
    c.availability_mode = 'all';
  }
  if (entity.availableWhenOn) {
    // The sibling's own retained state is the availability: no extra topic to keep in step.
    availability.push({ topic: topics.state(device.deviceId, entity.availableWhenOn), value_template: ON_MEANS_ONLINE });
    c.availability_mode = 'all';
  }
  if (entity.available !== undefined) {
    availability.push({ topic: topics.entityAvailability(device.deviceId, entity.key), value_template: AVAILABILITY_TEMPLATE });
    c.availability_mode = 'all';
  }
  c.availability = availability;
  return c;
}

/** The retained topics a device's entities own (state topics of non-event entities and their facets). */
export function retainedStateTopics(device: DeviceSnapshot, topics: Topics): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const e of device.entities) {
    if (e.state !== undefined && !e.events && e.image === undefined) out.set(topics.state(device.deviceId, e.key), e.state);
    if (e.attributes !== undefined) out.set(topics.attributes(device.deviceId, e.key), e.attributes);
    if (e.available !== undefined) out.set(topics.entityAvailability(device.deviceId, e.key), JSON.stringify({ state: e.available ? 'online' : 'offline' }));
    for (const f of e.facets ?? []) out.set(topics.state(device.deviceId, f.key), f.state);
  }
  return out;
}
