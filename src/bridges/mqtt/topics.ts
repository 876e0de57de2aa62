// Every MQTT topic the bridge uses, derived from `base_topic` and `discovery_prefix` in one place.
// Layout (zigbee2mqtt's):
//   <base>/bridge/state                     retained {"state":"online"|"offline"}, also the last will
//   <base>/bridge/instance                  retained {"id","host"}: who holds the base topic (instanceClaim.ts)
//   <base>/<device>/availability            retained {"state":"online"|"offline"}
//   <base>/<device>/<entity>/availability   retained {"state":"online"|"offline"}, entities with their own
//   <base>/<device>/<entity>/state          retained state (event entities: not retained)
//   <base>/<device>/<entity>/set            commands
//   <base>/<device>/<entity>/attributes     retained JSON attributes
//   <base>/events/<domain>/<entity>/<event> the event mirror (not retained)
//   <prefix>/device/<device>/config         retained device-based discovery

export const DEFAULT_BASE_TOPIC = 'switchboard';

/** MQTT topic levels and discovery object ids may only hold [A-Za-z0-9_-]. */
export const topicSegment = (value: string): string => value.replace(/[^A-Za-z0-9_-]/g, '_') || '_';

/** A device's id inside topics and unique_ids: `<kind>_<object id>`, topic-safe. */
export const deviceIdOf = (kind: string, objectId: string): string => topicSegment(`${kind}_${objectId}`);

export class Topics {
  /** Prefix of every discovery object id and unique_id, so two instances (two base topics) never collide. */
  readonly idPrefix: string;

  constructor(
    readonly base: string,
    readonly discoveryPrefix: string,
    /** Home Assistant's birth/will topic (HA's MQTT option "birth message topic"). */
    readonly haStatus: string = `${discoveryPrefix}/status`,
  ) {
    this.idPrefix = topicSegment(base);
  }

  get bridgeState(): string {
    return `${this.base}/bridge/state`;
  }

  get commandFilter(): string {
    return `${this.base}/+/+/set`;
  }

  get discoveryFilter(): string {
    return `${this.discoveryPrefix}/device/+/config`;
  }

  /** `camera_<id>` → `switchboard_camera_<id>`: the discovery object id and device identifier. */
  objectId(deviceId: string): string {
    return `${this.idPrefix}_${deviceId}`;
  }

  uniqueId(deviceId: string, key: string): string {
    return `${this.objectId(deviceId)}_${key}`;
  }

  discovery(deviceId: string): string {
    return `${this.discoveryPrefix}/device/${this.objectId(deviceId)}/config`;
  }

  availability(deviceId: string): string {
    return `${this.base}/${deviceId}/availability`;
  }

  /** An entity's own availability (e.g. a camera control the device marks inactive). */
  entityAvailability(deviceId: string, key: string): string {
    return `${this.base}/${deviceId}/${key}/availability`;
  }

  state(deviceId: string, key: string): string {
    return `${this.base}/${deviceId}/${key}/state`;
  }

  /** Retained JSON attributes of an entity. */
  attributes(deviceId: string, key: string): string {
    return `${this.base}/${deviceId}/${key}/attributes`;
  }

  command(deviceId: string, key: string): string {
    return `${this.base}/${deviceId}/${key}/set`;
  }

  eventMirror(domain: string, entity: string | null, event: string): string {
    return `${this.base}/events/${topicSegment(domain)}/${entity === null ? '_' : topicSegment(entity)}/${topicSegment(event)}`;
  }

  /** `<base>/<device>/<key>/set` → {deviceId, key}; null for anything else. */
  parseCommand(topic: string): { deviceId: string; key: string } | null {
    if (!topic.startsWith(this.base + '/')) return null;
    const parts = topic.slice(this.base.length + 1).split('/');
    if (parts.length !== 3 || parts[2] !== 'set') return null;
    return { deviceId: parts[0]!, key: parts[1]! };
  }

  /** `<prefix>/device/<objectId>/config` → the device id when the object is ours, else null. */
  parseDiscovery(topic: string): string | null {
    const head = `${this.discoveryPrefix}/device/`;
    if (!topic.startsWith(head) || !topic.endsWith('/config')) return null;
    const objectId = topic.slice(head.length, -'/config'.length);
    return objectId.startsWith(this.idPrefix + '_') ? objectId.slice(this.idPrefix.length + 1) : null;
  }
}
