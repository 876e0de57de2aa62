// The Home Assistant websocket bridge: every public domain event (news, core/events.ts) becomes a
// `switchboard_event` on HA's bus, problems needing a person become persistent notifications, and bound camera lights follow
// their HA light entities. Connecting happens in the background and never holds up start-up;
// home-assistant-js-websocket reconnects and re-subscribes by itself.
import { callService, createConnection, ERR_INVALID_AUTH, subscribeEntities, type Connection } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import type { Extension } from '../../core/extension.js';
import type { Config } from '../../config/schema.js';
import { unavailable } from '../../core/errors.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import { isOutputEvent, isPublicEvent, PUBLIC_DOMAINS } from '../../core/events.js';
import type { StatusService } from '../../services/system/statusService.js';
import type { CardInstaller } from './cardInstaller.js';
import { haSocketFactory, resolveTarget, type HaTarget } from './haSocket.js';
import { LightBinding, type LightCameras } from './lightBinding.js';
import { Notifications, type NotificationSources } from './notifications.js';

export const HA_EVENT_TYPE = 'switchboard_event';
const COMPONENT = 'homeassistant';

export interface HomeAssistantBridgeDeps {
  config: Config['homeassistant'];
  env: NodeJS.ProcessEnv;
  bus: EventBus;
  status: StatusService;
  logger: Logger;
  sources: NotificationSources;
  /** The cameras whose lights may be bound to HA light entities (tests of the bridge alone omit it). */
  cameras?: LightCameras;
  /** Installs the dashboard card on every connection (homeassistant.card). */
  card?: CardInstaller;
  /** How often to ping HA; a ping unanswered by the next one means a dead link (default 30 s). */
  pingIntervalMs?: number;
}

export class HomeAssistantBridge implements Extension {
  readonly name = 'homeassistant';
  private conn: Connection | null = null;
  private readonly abort = new AbortController();
  private notifications: Notifications | null = null;
  private lights: LightBinding | null = null;
  private connecting: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  /** Events not fired on HA's bus while it was away (they are news, not state: dropped, not queued). */
  private missedEvents = 0;

  constructor(private readonly deps: HomeAssistantBridgeDeps) {}

  async start(): Promise<void> {
    const target = resolveTarget(this.deps.config, this.deps.env);
    if ('disabled' in target) {
      this.deps.status.setComponent(COMPONENT, 'disabled', target.disabled);
      return;
    }
    this.deps.status.setComponent(COMPONENT, 'connecting', `${target.via}: ${target.url}`);
    if (this.deps.config.notifications) {
      this.notifications = new Notifications((service, data) => this.call('persistent_notification', service, data), this.deps.sources);
    }
    const cameras = this.deps.cameras;
    if (cameras) this.lights = new LightBinding(cameras, (service, entityId, data) => this.call('light', service, data, { entity_id: entityId }), this.deps.logger);
    // `system` only for notifications (storage faults); those events are not fired on HA's bus.
    this.deps.bus.subscribe(this, (e) => this.onBusEvent(e), [...PUBLIC_DOMAINS, 'system']);
    this.connecting = this.connect(target);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.deps.bus.removeListeners(this);
    this.conn?.close();
    await this.connecting;
    this.conn?.close();
    this.conn = null;
  }

  private async connect(target: HaTarget): Promise<void> {
    let conn: Connection;
    try {
      conn = await createConnection({ createSocket: haSocketFactory(target, this.deps.logger, this.abort.signal, (why) => this.attemptFailed(target, why)), setupRetry: -1 });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const invalid = err === ERR_INVALID_AUTH;
      this.deps.status.setComponent(COMPONENT, 'error', invalid ? `Home Assistant rejected the access token (${target.via === 'standalone' ? 'homeassistant.token' : 'SUPERVISOR_TOKEN'})` : 'cannot connect');
      this.deps.logger.error({ url: target.url }, invalid ? 'Home Assistant rejected the access token; the bridge stays off until restart' : 'cannot connect to Home Assistant');
      return;
    }
    if (this.abort.signal.aborted) return conn.close();
    this.conn = conn;
    conn.addEventListener('ready', () => this.onReady(target));
    conn.addEventListener('disconnected', () => {
      this.deps.status.setComponent(COMPONENT, 'disconnected', 'reconnecting');
      this.deps.logger.warn('lost the Home Assistant connection; reconnecting');
    });
    conn.addEventListener('reconnect-error', () => {
      this.deps.status.setComponent(COMPONENT, 'error', `Home Assistant rejected the access token (${target.via === 'standalone' ? 'homeassistant.token' : 'SUPERVISOR_TOKEN'})`);
      this.deps.logger.error('Home Assistant rejected the access token on reconnect; the bridge stays off until restart');
    });
    // The library re-subscribes on every reconnect; the first state arrives on subscription.
    // Not unsubscribed at stop: closing the connection ends it (an unsubscribe would only arm the
    // library's 5 s teardown timer).
    if (this.lights) {
      const lights = this.lights;
      subscribeEntities(conn, (entities) => {
        if (!this.abort.signal.aborted) lights.onEntities(entities);
      });
    }
    this.heartbeat = setInterval(() => this.ping(), this.deps.pingIntervalMs ?? 30_000);
    this.heartbeat.unref();
    this.onReady(target);
  }

  /**
   * An attempt to reach HA failed (refused, DNS, no answer, rejected token): health says why at
   * once, while the retries go on; the log has it once per reason, not once per retry.
   */
  private attemptFailed(target: HaTarget, why: string): void {
    if (this.abort.signal.aborted) return;
    const where = target.via === 'standalone' ? `${target.url} (homeassistant.url)` : `${target.url} (the Supervisor proxy)`;
    const detail = `cannot reach Home Assistant at ${where}: ${why}; retrying`;
    if (this.deps.status.health().components[COMPONENT]?.detail !== detail) this.deps.logger.warn({ url: target.url, why }, 'cannot reach Home Assistant; retrying');
    this.deps.status.setComponent(COMPONENT, 'error', detail);
  }

  /**
   * A half-open TCP link (HA host gone without a FIN) never closes by itself: when a ping is still
   * unanswered at the next beat, drop the socket and let the library reconnect.
   */
  private ping(): void {
    const conn = this.conn;
    if (!conn?.connected) return;
    if (this.awaitingPong) {
      this.awaitingPong = false;
      this.deps.logger.warn('Home Assistant did not answer a ping; reconnecting');
      conn.reconnect(true);
      return;
    }
    this.awaitingPong = true;
    const done = () => {
      this.awaitingPong = false;
    };
    conn.ping().then(done, done);
  }

  private onReady(target: HaTarget): void {
    const missed = this.missedEvents;
    this.missedEvents = 0;
    const note = missed ? `; ${missed} events not fired while it was away` : '';
    this.deps.status.setComponent(COMPONENT, 'ok', `${target.via}: ${target.url} (HA ${this.conn?.haVersion ?? '?'})${note}`);
    this.deps.logger.info({ url: target.url, ha_version: this.conn?.haVersion }, 'connected to Home Assistant');
    if (missed) this.deps.logger.warn({ missed }, 'events that happened while Home Assistant was away were not fired on its bus');
    void this.notifications?.sync();
    const conn = this.conn;
    if (conn && this.deps.card) {
      void this.deps.card.install(
        (msg) => conn.sendMessagePromise(msg),
        (service, data) => this.call('persistent_notification', service, data),
      );
    }
  }

  /** Events not fired since HA went away (reset when it is back). */
  get eventsMissed(): number {
    return this.missedEvents;
  }

  private onBusEvent(e: DomainEvent): void {
    if (isOutputEvent(e)) return;
    this.notifications?.onEvent(e);
    this.lights?.onEvent(e);
    // HA's recorder keeps every event: only news goes there, never telemetry (images, readers).
    if (!isPublicEvent(e)) return;
    const conn = this.conn;
    // Events are news, not state: while HA is away they are dropped, not queued.
    if (!conn?.connected) {
      this.missedEvents++;
      return;
    }
    conn
      .sendMessagePromise({ type: 'fire_event', event_type: HA_EVENT_TYPE, event_data: { domain: e.domain, entity: e.entity, event: e.event, details: e.details, at: e.at } })
      .catch((err: unknown) => this.deps.logger.debug({ err, event: e.event }, 'could not fire the event in Home Assistant'));
  }

  /** One websocket command for other Home Assistant parts (e.g. the entity registry); throws while HA is away. */
  async command<T>(message: { type: string; [key: string]: unknown }): Promise<T> {
    const conn = this.conn;
    if (!conn?.connected) throw unavailable('Home Assistant is not connected');
    return conn.sendMessagePromise<T>(message);
  }

  /** A service call; resolves false (logged) when not connected or HA refused it. */
  private async call(domain: string, service: string, data: Record<string, unknown>, target?: { entity_id: string }): Promise<boolean> {
    const conn = this.conn;
    if (!conn?.connected) return false;
    try {
      await callService(conn, domain, service, data, target);
      return true;
    } catch (err) {
      this.deps.logger.warn({ domain, service, err }, 'Home Assistant service call failed');
      return false;
    }
  }
}
