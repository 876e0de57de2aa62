// The MQTT bridge: Home Assistant discovery, states, availability and commands for every device
// table, plus the event mirror. It holds no domain state: snapshots are evaluated from the
// services whenever a bus event of a table's domains arrives, and only differences are published.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Extension } from '../../core/extension.js';
import type { Config } from '../../config/schema.js';
import { BoundedQueue } from '../../core/boundedQueue.js';
import { toAppError } from '../../core/errors.js';
import type { Domain, DomainEvent, EventBus } from '../../core/eventBus.js';
import { isOutputEvent, isPublicEvent, PUBLIC_DOMAINS } from '../../core/events.js';
import type { StatusService } from '../../services/system/statusService.js';
import { resolveBroker, type BrokerTarget } from './brokerTarget.js';
import { MqttConnection } from './connection.js';
import { buildDeviceConfig, IMAGE_TOPIC_KEY, retainedStateTopics, type DeviceConfig, type Origin } from './discovery.js';
import { EmbeddedBroker, embeddedCredentials, type BrokerCredentials } from './embeddedBroker.js';
import { haEventPayload, type DeviceSnapshot, type DeviceSource } from './entities.js';
import { DEFAULT_REFUSAL_LIMITS, RefusalLimiter, type RefusalLimits } from './refusals.js';
import { panelUrl, stableClientId } from './instance.js';
import { InstanceClaim, type Claim } from './instanceClaim.js';
import { deviceIdOf, Topics } from './topics.js';

const ONLINE = JSON.stringify({ state: 'online' });
const OFFLINE = JSON.stringify({ state: 'offline' });
/** Command payloads are short words or numbers; anything bigger is refused unread. */
const MAX_COMMAND_BYTES = 4096;
/** Mirrored events kept while the broker is away, oldest dropped first. */
const MAX_QUEUED_EVENTS = 1000;

export interface MqttBridgeTiming {
  /** Wait before republishing after HA's birth message: base + random jitter (HA's docs ask for a delay). */
  birthDelayMs: number;
  birthJitterMs: number;
  /** How long retained discovery configs are collected after connecting, to clear stale ones. */
  sweepWindowMs: number;
  /** How long the holder of a claimed base topic has to answer before its claim is taken as stale. */
  claimWindowMs: number;
  /** After yielding the base topic to another Switchboard: how long until it is checked again. */
  claimRetryMs: number;
  backoff: { baseMs: number; maxMs: number };
}

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

/** What the log says about a refused command (the payload itself is never logged). */
interface RefusalDetails {
  meta: { topic: string; bytes: number; origin: string; role: string };
  message: string;
  reason: string;
  level: 'warn' | 'error';
  kind?: string;
  details?: unknown;
  err?: unknown;
  deviceId?: string;
  key?: string;
}

export class MqttBridge implements Extension {
  readonly name = 'mqtt';
  readonly topics: Topics;
  private readonly origin: Origin;
  private readonly timing: MqttBridgeTiming;
  private readonly log: Logger;
  private broker: EmbeddedBroker | null = null;
  private brokerCredentials: (BrokerCredentials & { host: string; port: number }) | null = null;
  private conn: MqttConnection | null = null;
  private claim: InstanceClaim | null = null;
  private openConnection: (() => MqttConnection) | null = null;
  private claimRetry: NodeJS.Timeout | null = null;
  /** The latest evaluated devices, by device id (routes commands and event entities). */
  private devices = new Map<string, DeviceSnapshot>();
  /** What the broker holds, as far as we know: configs and retained payloads successfully published. */
  private readonly publishedConfigs = new Map<string, DeviceConfig>();
  private readonly retained = new Map<string, string>();
  /** Images are compared by identity: the pipeline makes a new Buffer per snapshot. */
  private readonly images = new Map<string, Buffer>();
  private readonly queuedEvents = new BoundedQueue<{ topic: string; payload: string }>(MAX_QUEUED_EVENTS);
  private syncChain: Promise<void> = Promise.resolve();
  private syncScheduled: { force: boolean } | null = null;
  private birthTimer: NodeJS.Timeout | null = null;
  private sweep: { found: Map<string, string> } | null = null;
  private stopped = false;
  private freshConnection = false;
  private connectedUrl = '';
  private configurationUrl: () => string | undefined = () => undefined;
  private readonly refusals: RefusalLimiter<RefusalDetails>;
  private refusalTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: MqttBridgeDeps) {
    this.topics = new Topics(deps.config.base_topic, deps.config.discovery_prefix, deps.config.ha_status_topic);
    this.origin = { name: 'Switchboard', sw: deps.version, url: PROJECT_URL };
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.log = deps.logger;
    this.refusals = new RefusalLimiter(deps.refusalLimits ?? DEFAULT_REFUSAL_LIMITS);
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
    this.refusalTimer = setInterval(() => this.flushRefusals(), (this.deps.refusalLimits ?? DEFAULT_REFUSAL_LIMITS).windowMs);
    this.refusalTimer.unref();
    // mqtt.js is CommonJS: its exports object is the default export both under Node and in the
    // server bundle (named exports of a CommonJS chunk exist only under Node).
    const { connect } = (await import('mqtt')).default;
    const login = target.kind === 'remote' ? target : this.brokerCredentials;
    const clientId = stableClientId(this.deps.config.client_id, this.deps.dataDir, this.log);
    this.claim = new InstanceClaim(this.topics.base, { id: clientId, host: hostname() }, this.timing.claimWindowMs);
    this.openConnection = () => new MqttConnection({
      url,
      connect,
      clientId,
      ...(login?.username !== undefined ? { username: login.username } : {}),
      ...(login?.password !== undefined ? { password: login.password } : {}),
      ...(target.kind === 'remote' && target.ca ? { ca: target.ca } : {}),
      rejectUnauthorized: target.kind === 'remote' ? target.rejectUnauthorized : true,
      will: { topic: this.topics.bridgeState, payload: OFFLINE },
      backoff: this.timing.backoff,
      logger: this.log,
      onConnect: () => this.onConnect(redact(url)),
      onDisconnect: (reason) => {
        this.deps.status.setComponent('mqtt', 'disconnected', reason);
        this.log.warn({ reason }, 'MQTT broker connection lost; reconnecting with back-off');
      },
      onMessage: (topic, payload, retained) => void this.onMessage(topic, payload, retained),
    });
    this.conn = this.openConnection();
    // Connecting happens in the background: the add-on works without its broker.
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.refusalTimer) clearInterval(this.refusalTimer);
    if (this.birthTimer) clearTimeout(this.birthTimer);
    if (this.claimRetry) clearTimeout(this.claimRetry);
    this.claimRetry = null;
    this.deps.bus.removeListeners(this);
    await this.syncChain;
    await this.conn?.close({ topic: this.topics.bridgeState, payload: OFFLINE });
    this.conn = null;
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

  private onConnect(url: string): void {
    // Healthy once the base topic is ours (at once when this process held it before).
    this.connectedUrl = url;
    this.deps.status.setComponent('mqtt', this.claim?.reasserts ? 'ok' : 'connecting', url);
    this.log.info({ url }, 'MQTT connected');
    this.freshConnection = true;
    this.requestSync(true);
  }

  /**
   * First thing after (re)connecting, inside the sync chain so nothing is published before "online".
   * False when another live Switchboard holds the base topic (then this one has left the broker).
   */
  private async greet(conn: MqttConnection): Promise<boolean> {
    const holder = await this.claim!.acquire(conn);
    if (holder) {
      await this.leaveTakenTopic(holder);
      return false;
    }
    this.deps.status.setComponent('mqtt', 'ok', this.connectedUrl);
    const replaced = this.claim!.replaced;
    if (replaced && this.claim!.reasserted) this.log.warn({ clientId: replaced.id, host: replaced.host }, 'MQTT: a foreign claim of this base topic was left while we were away; ours is published again');
    else if (replaced) this.log.info({ clientId: replaced.id, host: replaced.host }, 'MQTT: the Switchboard that last used this base topic no longer answers; taking it over');
    // The broker may have lost everything (restart without persistence): republish it all.
    this.retained.clear();
    this.images.clear();
    await conn.publish(this.topics.bridgeState, ONLINE, { retain: true, qos: 1 });
    const sweep = { found: new Map<string, string>() };
    this.sweep = sweep;
    await conn.subscribe([this.topics.haStatus, this.topics.commandFilter, this.topics.discoveryFilter]);
    setTimeout(() => this.enqueue(() => this.finishSweep(sweep)), this.timing.sweepWindowMs).unref();
    return true;
  }

  /**
   * Another Switchboard uses our base topic: publish nothing more, leave without the last will, say
   * why, and check again later (a holder that stopped answering, or never was one, loses the topic).
   */
  private async leaveTakenTopic(holder: Claim): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.sweep = null;
    const retryS = Math.round(this.timing.claimRetryMs / 1000);
    const reason = `base topic "${this.topics.base}" is used by another Switchboard (client id ${holder.id}${holder.host ? ` on ${holder.host}` : ''}); give each its own mqtt.base_topic (checked again every ${retryS} s)`;
    this.log.error({ baseTopic: this.topics.base, otherClientId: holder.id, otherHost: holder.host, retryS }, 'MQTT bridge stopped: another Switchboard uses the same mqtt.base_topic on this broker; give each its own');
    await conn?.close();
    this.deps.status.setComponent('mqtt', 'error', reason);
    if (this.stopped || !this.openConnection) return;
    const open = this.openConnection;
    this.claimRetry = setTimeout(() => {
      this.claimRetry = null;
      if (this.stopped || this.conn) return;
      this.conn = open();
    }, this.timing.claimRetryMs);
    this.claimRetry.unref();
  }

  /** Clears retained discovery configs of ours whose object no longer exists (deleted while we were away). */
  private async finishSweep(sweep: { found: Map<string, string> }): Promise<void> {
    const conn = this.conn;
    if (this.sweep !== sweep || !conn) return;
    this.sweep = null;
    await conn.unsubscribe([this.topics.discoveryFilter]);
    for (const [deviceId, payload] of sweep.found) {
      if (this.devices.has(deviceId)) continue;
      this.log.info({ device: deviceId }, 'MQTT: clearing the discovery config of an object that no longer exists');
      await this.clearDevice(deviceId, parseConfig(payload));
    }
  }

  private async onMessage(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const conn = this.conn;
    const claim = conn && this.claim ? this.claim.onMessage(conn, topic, payload, retained) : 'not-mine';
    if (claim !== 'not-mine') {
      if (claim === 'handled') return;
      if ('yield' in claim) this.enqueue(() => this.leaveTakenTopic(claim.yield));
      else this.log.warn({ baseTopic: this.topics.base, otherClientId: claim.contested.id, otherHost: claim.contested.host }, 'MQTT: something else claims this base topic; keeping it (our claim is published again)');
      return;
    }
    if (topic === this.topics.haStatus) {
      if (payload.toString('utf8') === 'online') this.scheduleBirthRepublish();
      return;
    }
    const stale = this.topics.parseDiscovery(topic);
    if (stale !== null) {
      // Only retained messages are the broker's memory; our own publishes echo back unretained.
      const text = payload.toString('utf8');
      if (this.sweep && retained && text && text.includes(JSON.stringify(this.topics.bridgeState))) this.sweep.found.set(stale, text);
      return;
    }
    const cmd = this.topics.parseCommand(topic);
    if (cmd) await this.onCommand(topic, cmd.deviceId, cmd.key, payload, retained);
  }

  private scheduleBirthRepublish(): void {
    if (this.birthTimer) clearTimeout(this.birthTimer);
    const delay = this.timing.birthDelayMs + Math.round(Math.random() * this.timing.birthJitterMs);
    this.log.info({ delayMs: delay }, 'Home Assistant is online: republishing discovery and states');
    this.birthTimer = setTimeout(() => {
      this.birthTimer = null;
      this.requestSync(true);
    }, delay);
  }

  private async onCommand(topic: string, deviceId: string, key: string, payload: Buffer, retained: boolean): Promise<void> {
    // Payloads are never logged: a monitor command may carry anything.
    const meta = { topic, bytes: payload.length, origin: 'mqtt', role: this.deps.config.command_role };
    if (retained) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: retained commands would replay on every reconnect', reason: 'retained commands are ignored', deviceId, key });
    const entities = this.devices.get(deviceId)?.entities ?? [];
    const entity = entities.find((e) => e.key === key) ?? entities.flatMap((e) => e.facets ?? []).find((f) => f.key === key);
    if (!entity?.command) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: no such command entity', reason: 'no such command', deviceId, key });
    if (payload.length > MAX_COMMAND_BYTES) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: payload too large', reason: 'payload too large', deviceId, key });
    try {
      await entity.command(payload.toString('utf8'));
    } catch (err) {
      // Refused: nothing changed, so no state evaluation (a flood of bad commands costs no more than a parse each).
      const e = toAppError(err);
      const internal = e.kind === 'runtime' && e.message === 'Internal error';
      const why = e.details?.length ? `${e.message}: ${e.details.map((d) => d.message).join('; ')}` : e.message;
      return this.refuse(
        internal
          ? { meta, level: 'error', message: 'MQTT command failed', reason: e.message, err, deviceId, key }
          : { meta, level: 'warn', message: 'MQTT command rejected', reason: why, kind: e.kind, details: e.details, deviceId, key },
      );
    }
    // Debug: valid commands can come as fast as anyone publishes; what they changed is on the bus.
    this.log.debug(meta, 'MQTT command done');
    // States the command touched without a bus event (e.g. our own demand switch) are caught here.
    this.requestSync(false);
  }

  /** A refused command: told (log line, `commandRefused` on its device) at most once a window per topic, with a count. */
  private refuse(refusal: RefusalDetails): void {
    const report = this.refusals.note(refusal.meta.topic, refusal);
    if (report) this.tellRefusal(report.last, report.count);
  }

  private tellRefusal(r: RefusalDetails, count: number): void {
    const line = { ...r.meta, count, reason: r.reason, ...(r.kind ? { kind: r.kind } : {}), ...(r.details ? { details: r.details } : {}), ...(r.err ? { err: r.err } : {}) };
    const note = count > 1 ? ' (refused commands on this topic are logged at most once a minute; count: refused since the last line)' : '';
    if (r.level === 'error') this.log.error(line, r.message + note);
    else this.log.warn(line, r.message + note);
    const device = r.deviceId ? this.devices.get(r.deviceId) : undefined;
    device?.refused?.({ command: r.key ?? '', reason: r.reason, count });
  }

  /** Once a window: topics refused again while quiet are told with their count; the rest in one line. */
  private flushRefusals(): void {
    const { reports, untold } = this.refusals.flush();
    for (const r of reports) this.tellRefusal(r.last, r.count);
    if (untold > 0) this.log.warn({ count: untold }, 'MQTT commands refused on more topics than are logged one by one');
  }

  private onBusEvent(e: DomainEvent): void {
    if (this.stopped) return;
    if (isOutputEvent(e)) return;
    // Only news leaves the process (core/events.ts PUBLIC_EVENTS); the rest shows as entity states.
    if (isPublicEvent(e)) this.publishEvent(this.topics.eventMirror(e.domain, e.entity, e.event), JSON.stringify(e), true);
    if (e.entity !== null) {
      for (const source of this.deps.sources) {
        if (!source.domains.includes(e.domain)) continue;
        const device = this.devices.get(deviceIdOf(source.kind, e.entity));
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
    const conn = this.conn;
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
    this.enqueue(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.syncScheduled = null;
      await this.sync(request.force);
    });
  }

  /** Runs publishing work one job at a time, so a removal never interleaves with a republish. */
  private enqueue(job: () => Promise<void>): void {
    this.syncChain = this.syncChain.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (err) {
        this.log.error({ err }, 'MQTT publishing failed');
      }
    });
  }

  private snapshot(): Map<string, DeviceSnapshot> {
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
    return next;
  }

  private async sync(force: boolean): Promise<void> {
    const next = this.snapshot();
    this.devices = next;
    const conn = this.conn;
    if (!conn?.connected) return;
    const greeting = this.freshConnection;
    if (greeting) {
      this.freshConnection = false;
      if (!(await this.greet(conn))) return;
    }
    for (const deviceId of [...this.publishedConfigs.keys()]) {
      if (!next.has(deviceId)) await this.clearDevice(deviceId, this.publishedConfigs.get(deviceId) ?? null);
    }
    for (const device of next.values()) await this.publishDevice(conn, device, force || greeting);
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

  private async publishDevice(conn: MqttConnection, device: DeviceSnapshot, force: boolean): Promise<void> {
    const topic = this.topics.discovery(device.deviceId);
    const config = buildDeviceConfig(device, this.topics, this.origin, this.deps.hubDeviceId, this.configurationUrl());
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
    const conn = this.conn;
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

/** URLs for logs and health: credentials removed. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
