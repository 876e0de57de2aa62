// Home Assistant discovery over MQTT: evaluates the device tables and publishes each device's config,
// states, availability, attributes and images when they differ from what the broker holds (the
// caches here), removes devices that are gone, clears stale configs of ours found after connecting,
// and republishes everything when Home Assistant announces itself online.
import type { Logger } from 'pino';
import type { MqttConnection } from './connection.js';
import { buildDeviceConfig, IMAGE_TOPIC_KEY, OFFLINE, ONLINE, retainedStateTopics, type DeviceConfig, type Origin } from './discovery.js';
import type { DeviceSnapshot, DeviceSource } from './entities.js';
import type { PublishQueue } from './publishQueue.js';
import type { Topics } from './topics.js';

export interface DiscoveryTiming {
  /** Wait before republishing after HA's birth message: base + random jitter (HA's docs ask for a delay). */
  birthDelayMs: number;
  birthJitterMs: number;
  /** How long retained discovery configs are collected after connecting, to clear stale ones. */
  sweepWindowMs: number;
}

export interface DiscoveryPublisherDeps {
  topics: Topics;
  origin: Origin;
  hubDeviceId: string;
  /** Device tables, one per domain. */
  sources: readonly DeviceSource[];
  /** The web panel's URL, linked from every device page (known once the HTTP server is bound). */
  configurationUrl: () => string | undefined;
  timing: DiscoveryTiming;
  /** Sweeps and removals run in the bridge's publishing line, never beside a republish. */
  queue: PublishQueue;
  /** The broker connection holding the base topic, if any. */
  connection: () => MqttConnection | null;
  /** Asks the bridge for a full republish (Home Assistant came online). */
  republish: () => void;
  logger: Logger;
}

export class DiscoveryPublisher {
  /** The latest evaluated devices, by device id (commands and event entities are routed by them). */
  private devices = new Map<string, DeviceSnapshot>();
  /** What the broker holds, as far as we know: configs and retained payloads successfully published. */
  private readonly publishedConfigs = new Map<string, DeviceConfig>();
  private readonly retained = new Map<string, string>();
  /** Images are compared by identity: the pipeline makes a new Buffer per snapshot. */
  private readonly images = new Map<string, Buffer>();
  private sweep: { found: Map<string, string> } | null = null;
  private birthTimer: NodeJS.Timeout | null = null;
  private readonly topics: Topics;
  private readonly log: Logger;

  constructor(private readonly deps: DiscoveryPublisherDeps) {
    this.topics = deps.topics;
    this.log = deps.logger;
  }

  device(deviceId: string): DeviceSnapshot | undefined {
    return this.devices.get(deviceId);
  }

  /** Evaluates every device table; one that fails keeps the devices it had. */
  evaluate(): void {
    const next = new Map<string, DeviceSnapshot>();
    for (const source of this.deps.sources) {
      try {
        for (const d of source.snapshot()) next.set(d.deviceId, d);
      } catch (err) {
        this.log.error({ err, kind: source.kind }, 'MQTT: evaluating a device table failed');
        // Keep the devices we had for that table rather than removing them by mistake.
        for (const [id, d] of this.devices) if (d.kind === source.kind) next.set(id, d);
      }
    }
    this.devices = next;
  }

  /**
   * On a fresh connection, once the base topic is ours: forget what the broker held, subscribe to
   * HA's status and our retained configs (plus `alsoSubscribe`, in the same request) and clear the
   * configs of objects that no longer exist once the sweep window is over.
   */
  async begin(conn: MqttConnection, alsoSubscribe: readonly string[]): Promise<void> {
    // The broker may have lost everything (restart without persistence): republish it all.
    this.retained.clear();
    this.images.clear();
    const sweep = { found: new Map<string, string>() };
    this.sweep = sweep;
    await conn.subscribe([this.topics.haStatus, ...alsoSubscribe, this.topics.discoveryFilter]);
    setTimeout(() => this.deps.queue.enqueue(() => this.finishSweep(sweep)), this.deps.timing.sweepWindowMs).unref();
  }

  /** The connection was given up (the base topic is another's): its sweep ends unfinished. */
  dropSweep(): void {
    this.sweep = null;
  }

  /** Removes devices that are gone and publishes what changed (`force`: everything). */
  async publish(conn: MqttConnection, force: boolean): Promise<void> {
    for (const deviceId of [...this.publishedConfigs.keys()]) {
      if (!this.devices.has(deviceId)) await this.clearDevice(deviceId, this.publishedConfigs.get(deviceId) ?? null);
    }
    for (const device of this.devices.values()) await this.publishDevice(conn, device, force);
  }

  /** HA's status and our retained configs; false for any other topic. */
  onMessage(topic: string, payload: Buffer, retained: boolean): boolean {
    if (topic === this.topics.haStatus) {
      if (payload.toString('utf8') === 'online') this.scheduleBirthRepublish();
      return true;
    }
    const stale = this.topics.parseDiscovery(topic);
    if (stale === null) return false;
    // Only retained messages are the broker's memory; our own publishes echo back unretained.
    const text = payload.toString('utf8');
    if (this.sweep && retained && text && text.includes(JSON.stringify(this.topics.bridgeState))) this.sweep.found.set(stale, text);
    return true;
  }

  stop(): void {
    if (this.birthTimer) clearTimeout(this.birthTimer);
  }

  private scheduleBirthRepublish(): void {
    if (this.birthTimer) clearTimeout(this.birthTimer);
    const delay = this.deps.timing.birthDelayMs + Math.round(Math.random() * this.deps.timing.birthJitterMs);
    this.log.info({ delayMs: delay }, 'Home Assistant is online: republishing discovery and states');
    this.birthTimer = setTimeout(() => {
      this.birthTimer = null;
      this.deps.republish();
    }, delay);
  }

  /** Clears retained discovery configs of ours whose object no longer exists (deleted while we were away). */
  private async finishSweep(sweep: { found: Map<string, string> }): Promise<void> {
    const conn = this.deps.connection();
    if (this.sweep !== sweep || !conn) return;
    this.sweep = null;
    await conn.unsubscribe([this.topics.discoveryFilter]);
    for (const [deviceId, payload] of sweep.found) {
      if (this.devices.has(deviceId)) continue;
      this.log.info({ device: deviceId }, 'MQTT: clearing the discovery config of an object that no longer exists');
      await this.clearDevice(deviceId, parseConfig(payload));
    }
  }

  private async publishDevice(conn: MqttConnection, device: DeviceSnapshot, force: boolean): Promise<void> {
    const topic = this.topics.discovery(device.deviceId);
    const config = buildDeviceConfig(device, this.topics, this.deps.origin, this.deps.hubDeviceId, this.deps.configurationUrl());
    const prev = this.publishedConfigs.get(device.deviceId);
    if (force || !prev || JSON.stringify(prev) !== JSON.stringify(config)) {
      const gone = prev ? Object.keys(prev.cmps).filter((k) => !(k in config.cmps)) : [];
      if (gone.length && prev) {
        // HA removes one component only when it first sees it reduced to its platform.
        const reduced = { ...config, cmps: { ...config.cmps, ...Object.fromEntries(gone.map((k) => [k, { p: prev.cmps[k]!.p }])) } };
        if (!(await conn.publish(topic, JSON.stringify(reduced), { retain: true, qos: 1 }))) return;
        for (const k of gone) await this.clearTopics(conn, stateTopicsOf(prev.cmps[k]!));
      }
      if (!(await conn.publish(topic, JSON.stringify(config), { retain: true, qos: 1 }))) return;
      // A component that stays but lost a state topic (a light without levels now) leaves no stale state behind.
      for (const [k, c] of Object.entries(prev?.cmps ?? {})) {
        const kept = config.cmps[k];
        if (kept) await this.clearTopics(conn, stateTopicsOf(c).filter((t) => !stateTopicsOf(kept).includes(t)));
      }
      this.publishedConfigs.set(device.deviceId, config);
    }
    if (device.available !== null) await this.publishRetained(conn, this.topics.availability(device.deviceId), device.available ? ONLINE : OFFLINE, force);
    for (const [stateTopic, state] of retainedStateTopics(device, this.topics)) {
      if (state !== null) await this.publishRetained(conn, stateTopic, state, force);
    }
    for (const entity of device.entities) {
      const topic = this.topics.state(device.deviceId, entity.key);
      if (!entity.image || (!force && this.images.get(topic) === entity.image)) continue;
      if (await conn.publish(topic, entity.image, { retain: true, qos: 1 })) this.images.set(topic, entity.image);
    }
  }

  private async publishRetained(conn: MqttConnection, topic: string, payload: string, force: boolean): Promise<void> {
    if (!force && this.retained.get(topic) === payload) return;
    if (await conn.publish(topic, payload, { retain: true, qos: 1 })) this.retained.set(topic, payload);
  }

  /** Removes a whole device: empty retained config, and its retained states and availability cleared. */
  private async clearDevice(deviceId: string, config: DeviceConfig | null): Promise<void> {
    const conn = this.deps.connection();
    if (!conn) return;
    if (!(await conn.publish(this.topics.discovery(deviceId), '', { retain: true, qos: 1 }))) return;
    this.publishedConfigs.delete(deviceId);
    const topics = Object.values(config?.cmps ?? {}).flatMap(stateTopicsOf);
    topics.push(this.topics.availability(deviceId));
    await this.clearTopics(conn, topics);
  }

  private async clearTopics(conn: MqttConnection, topics: string[]): Promise<void> {
    for (const t of topics) {
      // Only our own topics: a stale payload from elsewhere must not make us clear foreign topics.
      if (!t.startsWith(this.topics.base + '/') || t === this.topics.bridgeState) continue;
      await conn.publish(t, '', { retain: true, qos: 1 });
      this.retained.delete(t);
      this.images.delete(t);
    }
  }
}

function stateTopicsOf(component: unknown): string[] {
  if (!component || typeof component !== 'object') return [];
  const c = component as Record<string, unknown>;
  const topic = c.p === 'camera' ? c[IMAGE_TOPIC_KEY] : c.p === 'event' ? undefined : c.state_topic;
  const facetTopics = Object.entries(c).filter(([k]) => k.endsWith('_state_topic')).map(([, v]) => v);
  // An entity's own availability (`<base>/<device>/<key>/availability`), never the device's (`<base>/<device>/availability`).
  const entityTopics = [c.state_topic, c.command_topic].filter((t): t is string => typeof t === 'string').map((t) => t.replace(/\/(state|set)$/, '/availability'));
  const own = Array.isArray(c.availability) ? (c.availability as { topic?: unknown }[]).map((a) => a.topic).filter((t) => typeof t === 'string' && entityTopics.includes(t)) : [];
  return [topic, c.json_attributes_topic, ...facetTopics, ...own].filter((t): t is string => typeof t === 'string');
}

function parseConfig(text: string): DeviceConfig | null {
  try {
    const parsed = JSON.parse(text) as unknown;
    const cmps = parsed && typeof parsed === 'object' ? (parsed as { cmps?: unknown }).cmps : null;
    return cmps && typeof cmps === 'object' ? (parsed as DeviceConfig) : null;
  } catch {
    return null;
  }
}
