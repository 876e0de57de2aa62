// The bridge's broker connection and its hold on the base topic: one client at a time with the
// bridge's last will, reconnected with back-off; after each connect the base topic is claimed
// (instanceClaim.ts) before anything is published, left to a live other Switchboard and checked
// again later. The `mqtt` health component follows it.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { StatusService } from '../../services/system/statusService.js';
import { redact } from './brokerTarget.js';
import { MqttConnection, type ConnectionOptions } from './connection.js';
import { OFFLINE, ONLINE } from './discovery.js';
import { InstanceClaim, type Claim } from './instanceClaim.js';
import type { PublishQueue } from './publishQueue.js';
import type { Topics } from './topics.js';

export interface ConnectionTiming {
  /** How long the holder of a claimed base topic has to answer before its claim is taken as stale. */
  claimWindowMs: number;
  /** After yielding the base topic to another Switchboard: how long until it is checked again. */
  claimRetryMs: number;
  backoff: { baseMs: number; maxMs: number };
}

/** Where and as whom to connect. */
export type ClientOptions = Pick<ConnectionOptions, 'url' | 'connect' | 'clientId' | 'username' | 'password' | 'ca' | 'rejectUnauthorized'>;

export interface ClaimedConnectionDeps {
  client: ClientOptions;
  topics: Topics;
  status: StatusService;
  logger: Logger;
  timing: ConnectionTiming;
  /** Leaving the base topic waits its turn behind publishing work in progress. */
  queue: PublishQueue;
  /** Connected (again); `acquireBaseTopic` must come before anything is published. */
  onConnect(): void;
  /** Every message but those of the claim. */
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  /** The base topic was left to another Switchboard: work begun for this connection is dropped. */
  onLeave(): void;
}

export class ClaimedConnection {
  private conn: MqttConnection | null = null;
  private readonly claim: InstanceClaim;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The broker's URL as logs and health show it. */
  private readonly shownUrl: string;
  private readonly topics: Topics;
  private readonly log: Logger;

  constructor(private readonly deps: ClaimedConnectionDeps) {
    this.topics = deps.topics;
    this.log = deps.logger;
    this.shownUrl = redact(deps.client.url);
    this.claim = new InstanceClaim(this.topics.base, { id: deps.client.clientId, host: hostname() }, deps.timing.claimWindowMs);
  }

  /** The live connection, null while the base topic is left to another Switchboard or after close. */
  get current(): MqttConnection | null {
    return this.conn;
  }

  /** Starts connecting in the background: the add-on works without its broker. */
  open(): void {
    this.conn = new MqttConnection({
      ...this.deps.client,
      will: { topic: this.topics.bridgeState, payload: OFFLINE },
      backoff: this.deps.timing.backoff,
      logger: this.log,
      onConnect: () => this.onConnect(),
      onDisconnect: (reason) => {
        this.deps.status.setComponent('mqtt', 'disconnected', reason);
        this.log.warn({ reason }, 'MQTT broker connection lost; reconnecting with back-off');
      },
      onMessage: (topic, payload, retained) => this.onMessage(topic, payload, retained),
    });
  }

  /**
   * First thing after (re)connecting, in the publishing line so nothing is published before "online".
   * False when another live Switchboard holds the base topic (then this one has left the broker).
   */
  async acquireBaseTopic(conn: MqttConnection): Promise<boolean> {
    const holder = await this.claim.acquire(conn);
    if (holder) {
      await this.leave(holder);
      return false;
    }
    this.deps.status.setComponent('mqtt', 'ok', this.shownUrl);
    const replaced = this.claim.replaced;
    if (replaced && this.claim.reasserted) this.log.warn({ clientId: replaced.id, host: replaced.host }, 'MQTT: a foreign claim of this base topic was left while we were away; ours is published again');
    else if (replaced) this.log.info({ clientId: replaced.id, host: replaced.host }, 'MQTT: the Switchboard that last used this base topic no longer answers; taking it over');
    await conn.publish(this.topics.bridgeState, ONLINE, { retain: true, qos: 1 });
    return true;
  }

  /** No new connection from now on (publishing work in progress may still finish before `close`). */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  /** Says "offline" and disconnects cleanly (which keeps the broker from sending the last will). */
  async close(): Promise<void> {
    this.stop();
    await this.conn?.close({ topic: this.topics.bridgeState, payload: OFFLINE });
    this.conn = null;
  }

  private onConnect(): void {
    // Healthy once the base topic is ours (at once when this process held it before).
    this.deps.status.setComponent('mqtt', this.claim.reasserts ? 'ok' : 'connecting', this.shownUrl);
    this.log.info({ url: this.shownUrl }, 'MQTT connected');
    this.deps.onConnect();
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const conn = this.conn;
    const verdict = conn ? this.claim.onMessage(conn, topic, payload, retained) : 'not-mine';
    if (verdict === 'not-mine') return this.deps.onMessage(topic, payload, retained);
    if (verdict === 'handled') return;
    if ('yield' in verdict) this.deps.queue.enqueue(() => this.leave(verdict.yield));
    else this.log.warn({ baseTopic: this.topics.base, otherClientId: verdict.contested.id, otherHost: verdict.contested.host }, 'MQTT: something else claims this base topic; keeping it (our claim is published again)');
  }

  /**
   * Another Switchboard uses our base topic: publish nothing more, leave without the last will, say
   * why, and check again later (a holder that stopped answering, or never was one, loses the topic).
   */
  private async leave(holder: Claim): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.deps.onLeave();
    const retryS = Math.round(this.deps.timing.claimRetryMs / 1000);
    const reason = `base topic "${this.topics.base}" is used by another Switchboard (client id ${holder.id}${holder.host ? ` on ${holder.host}` : ''}); give each its own mqtt.base_topic (checked again every ${retryS} s)`;
    this.log.error({ baseTopic: this.topics.base, otherClientId: holder.id, otherHost: holder.host, retryS }, 'MQTT bridge stopped: another Switchboard uses the same mqtt.base_topic on this broker; give each its own');
    await conn?.close();
    this.deps.status.setComponent('mqtt', 'error', reason);
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.stopped || this.conn) return;
      this.open();
    }, this.deps.timing.claimRetryMs);
    this.retry.unref();
  }
}
