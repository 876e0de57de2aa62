// The MQTT bridge: Home Assistant discovery, states, availability and commands for every device
// table, plus the event mirror. It holds no domain state: snapshots are evaluated from the services
// whenever a bus event of a table's domains arrives, and only differences are published. This file
// picks the broker and ties the parts together: the connection holding the base topic
// (claimedConnection.ts), the discovery publisher (discoveryPublisher.ts) and commands (commandRouter.ts).
import type { Logger } from 'pino';
import type { Extension } from '../../core/extension.js';
import type { Config } from '../../config/schema.js';
import { BoundedQueue } from '../../core/boundedQueue.js';
import type { Domain, DomainEvent, EventBus } from '../../core/eventBus.js';
import { isOutputEvent, isPublicEvent, PUBLIC_DOMAINS } from '../../core/events.js';
import type { StatusService } from '../../services/system/statusService.js';
import { redact, resolveBroker, type BrokerTarget } from './brokerTarget.js';
import { ClaimedConnection, type ConnectionTiming } from './claimedConnection.js';
import { CommandRouter } from './commandRouter.js';
import type { MqttConnection } from './connection.js';
import { DiscoveryPublisher, type DiscoveryTiming } from './discoveryPublisher.js';
import { EmbeddedBroker, embeddedCredentials, type BrokerCredentials } from './embeddedBroker.js';
import { haEventPayload, type DeviceSource } from './entities.js';
import { DEFAULT_REFUSAL_LIMITS, type RefusalLimits } from './refusals.js';
import { panelUrl, stableClientId } from './instance.js';
import { PublishQueue } from './publishQueue.js';
import { deviceIdOf, Topics } from './topics.js';

/** Mirrored events kept while the broker is away, oldest dropped first. */
const MAX_QUEUED_EVENTS = 1000;

export interface MqttBridgeTiming extends DiscoveryTiming, ConnectionTiming {}

export const DEFAULT_TIMING: MqttBridgeTiming = {
  birthDelayMs: 1000,
  birthJitterMs: 2000,
  sweepWindowMs: 1000,
  claimWindowMs: 1500,
  claimRetryMs: 30_000,
  backoff: { baseMs: 1000, maxMs: 30_000 },
};

/** Where the project lives (the discovery origin's `url`). */
export const PROJECT_URL = 'https://github.com/switchboard-ha/switchboard';

export interface MqttBridgeDeps {
  config: Config['mqtt'];
  /** Keeps the generated client id and the embedded broker's credentials across restarts. */
  dataDir: string;
  bus: EventBus;
  status: StatusService;
  logger: Logger;
  version: string;
  boundPorts: Map<string, number>;
  /** Device tables, built at start so every service wired before then is included. */
  sources: readonly DeviceSource[];
  hubDeviceId: string;
  env: NodeJS.ProcessEnv;
  fetch?: typeof globalThis.fetch;
  timing?: Partial<MqttBridgeTiming>;
  /** How often refused commands are told (default: once a minute per topic, three topics a minute). */
  refusalLimits?: RefusalLimits;
}

export class MqttBridge implements Extension {
  readonly name = 'mqtt';
  readonly topics: Topics;
  private readonly timing: MqttBridgeTiming;
  private readonly log: Logger;
  private readonly queue: PublishQueue;
  private readonly publisher: DiscoveryPublisher;
  private readonly commands: CommandRouter;
  private link: ClaimedConnection | null = null;
  private broker: EmbeddedBroker | null = null;
  private brokerCredentials: (BrokerCredentials & { host: string; port: number }) | null = null;
  private readonly queuedEvents = new BoundedQueue<{ topic: string; payload: string }>(MAX_QUEUED_EVENTS);
  private syncScheduled: { force: boolean } | null = null;
  private stopped = false;
  /** Connected and not yet greeted: the next evaluation claims the base topic first. */
  private freshConnection = false;
  private configurationUrl: () => string | undefined = () => undefined;

  constructor(private readonly deps: MqttBridgeDeps) {
    this.topics = new Topics(deps.config.base_topic, deps.config.discovery_prefix, deps.config.ha_status_topic);
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.log = deps.logger;
    this.queue = new PublishQueue(this.log);
    this.publisher = new DiscoveryPublisher({
      topics: this.topics,
      origin: { name: 'Switchboard', sw: deps.version, url: PROJECT_URL },
      hubDeviceId: deps.hubDeviceId,
      sources: deps.sources,
      configurationUrl: () => this.configurationUrl(),
      timing: this.timing,
      queue: this.queue,
      connection: () => this.link?.current ?? null,
      republish: () => this.requestSync(true),
      logger: this.log,
    });
    this.commands = new CommandRouter({
      logger: this.log,
      role: deps.config.command_role,
      device: (deviceId) => this.publisher.device(deviceId),
      changed: () => this.requestSync(false),
      limits: deps.refusalLimits ?? DEFAULT_REFUSAL_LIMITS,
    });
  }

  async start(): Promise<void> {
    const target = await resolveBroker(this.deps.config, { env: this.deps.env, fetch: this.deps.fetch ?? globalThis.fetch, logger: this.log });
    if (target.kind === 'disabled') {
      this.deps.status.setComponent('mqtt', 'disabled');
      this.log.info('MQTT bridge disabled (mqtt.url: disabled)');
      return;
    }
    this.configurationUrl = await panelUrl(this.deps.env, this.deps.fetch ?? globalThis.fetch, () => this.deps.boundPorts.get('http'), this.log);
    let url: string;
    try {
      url = await this.brokerUrl(target);
    } catch (err) {
      // A taken port must not stop the add-on: everything but MQTT keeps working.
      const reason = (err as Error).message;
      this.deps.status.setComponent('mqtt', 'error', reason);
      this.log.error({ reason }, 'MQTT bridge not started: the embedded broker could not listen');
      return;
    }
    this.deps.status.setComponent('mqtt', 'connecting', redact(url));
    const domains = new Set<Domain>([...PUBLIC_DOMAINS, ...this.deps.sources.flatMap((s) => s.domains)]);
    this.deps.bus.subscribe(this, (e) => this.onBusEvent(e), [...domains]);
    this.commands.start();
    // mqtt.js is CommonJS: its exports object is the default export both under Node and in the
    // server bundle (named exports of a CommonJS chunk exist only under Node).
    const { connect } = (await import('mqtt')).default;
    const login = target.kind === 'remote' ? target : this.brokerCredentials;
    this.link = new ClaimedConnection({
      client: {
        url,
        connect,
        clientId: stableClientId(this.deps.config.client_id, this.deps.dataDir, this.log),
        ...(login?.username !== undefined ? { username: login.username } : {}),
        ...(login?.password !== undefined ? { password: login.password } : {}),
        ...(target.kind === 'remote' && target.ca ? { ca: target.ca } : {}),
        rejectUnauthorized: target.kind === 'remote' ? target.rejectUnauthorized : true,
      },
      topics: this.topics,
      status: this.deps.status,
      logger: this.log,
      timing: this.timing,
      queue: this.queue,
      onConnect: () => {
        this.freshConnection = true;
        this.requestSync(true);
      },
      onMessage: (topic, payload, retained) => void this.onMessage(topic, payload, retained),
      onLeave: () => this.publisher.dropSweep(),
    });
    this.link.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.commands.stop();
    this.publisher.stop();
    this.link?.stop();
    this.deps.bus.removeListeners(this);
    await this.queue.stop();
    await this.link?.close();
    this.link = null;
    await this.broker?.stop();
    this.broker = null;
    this.brokerCredentials = null;
  }

  private async brokerUrl(target: Exclude<BrokerTarget, { kind: 'disabled' }>): Promise<string> {
    if (target.kind === 'remote') {
      this.log.info({ url: redact(target.url), source: target.source }, 'MQTT broker selected');
      return target.url;
    }
    const credentials = embeddedCredentials(this.deps.dataDir);
    this.broker = await EmbeddedBroker.start(target.host, target.port, credentials);
    this.brokerCredentials = { ...credentials, host: target.host, port: this.broker.port };
    this.deps.boundPorts.set('mqtt', this.broker.port);
    this.log.info({ host: target.host, port: this.broker.port }, 'embedded MQTT broker listening');
    const host = target.host === '0.0.0.0' || target.host === '::' ? '127.0.0.1' : target.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.broker.port}`;
  }

  /** Where and how to reach the embedded broker (for admins), or null when it is not running. */
  embeddedBroker(): (BrokerCredentials & { host: string; port: number }) | null {
    return this.brokerCredentials;
  }

  /** Messages past the claim: HA's status and retained configs go to the publisher, commands to their entity. */
  private async onMessage(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    if (this.publisher.onMessage(topic, payload, retained)) return;
    const cmd = this.topics.parseCommand(topic);
    if (cmd) await this.commands.handle(topic, cmd.deviceId, cmd.key, payload, retained);
  }

  private onBusEvent(e: DomainEvent): void {
    if (this.stopped) return;
    if (isOutputEvent(e)) return;
    // Only news leaves the process (core/events.ts PUBLIC_EVENTS); the rest shows as entity states.
    if (isPublicEvent(e)) this.publishEvent(this.topics.eventMirror(e.domain, e.entity, e.event), JSON.stringify(e), true);
    if (e.entity !== null) {
      for (const source of this.deps.sources) {
        if (!source.domains.includes(e.domain)) continue;
        const device = this.publisher.device(deviceIdOf(source.kind, e.entity));
        for (const entity of device?.entities ?? []) {
          // HA ignores retained event messages and stale ones would fire automations late: never queued.
          if (entity.events?.includes(e.event)) this.publishEvent(this.topics.state(device!.deviceId, entity.key), haEventPayload(e), false);
        }
      }
    }
    // A refusal changes nothing: no state evaluation for it.
    if (e.event === 'commandRefused') return;
    if (this.deps.sources.some((s) => s.domains.includes(e.domain))) this.requestSync(false);
  }

  private publishEvent(topic: string, payload: string, queueWhileAway: boolean): void {
    const conn = this.link?.current;
    if (conn?.connected) {
      void conn.publish(topic, payload);
    } else if (queueWhileAway && conn) {
      this.queuedEvents.push({ topic, payload });
    }
  }

  /** Coalesces bursts of bus events into one evaluation; evaluations never overlap. */
  private requestSync(force: boolean): void {
    if (this.syncScheduled) {
      this.syncScheduled.force ||= force;
      return;
    }
    const request = { force };
    this.syncScheduled = request;
    this.queue.enqueue(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.syncScheduled = null;
      await this.sync(request.force);
    });
  }

  private async sync(force: boolean): Promise<void> {
    this.publisher.evaluate();
    const link = this.link;
    const conn = link?.current;
    if (!link || !conn?.connected) return;
    const greeting = this.freshConnection;
    if (greeting) {
      this.freshConnection = false;
      if (!(await link.acquireBaseTopic(conn))) return;
      await this.publisher.begin(conn, [this.topics.commandFilter]);
    }
    await this.publisher.publish(conn, force || greeting);
    if (greeting) await this.deliverQueued(conn);
  }

  /** Events held while the broker was away, oldest first; how many did not fit is logged and shown in health. */
  private async deliverQueued(conn: MqttConnection): Promise<void> {
    const { items, dropped } = this.queuedEvents.drain();
    for (const e of items) await conn.publish(e.topic, e.payload);
    if (dropped > 0) {
      this.log.warn({ delivered: items.length, dropped }, 'MQTT: events mirrored while the broker was away were delivered; the oldest did not fit the queue and were dropped');
      const current = this.deps.status.health().components.mqtt;
      this.deps.status.setComponent('mqtt', 'ok', `${current?.detail ?? ''}; ${dropped} events dropped while the broker was away`.replace(/^; /, ''));
    } else if (items.length) {
      this.log.info({ delivered: items.length }, 'MQTT: events held while the broker was away were delivered');
    }
  }

  /** Events held for the broker now, and dropped since they were last delivered (diagnostics, tests). */
  queueStats(): { queued: number; dropped: number; capacity: number } {
    return { queued: this.queuedEvents.size, dropped: this.queuedEvents.dropped, capacity: this.queuedEvents.capacity };
  }
}
