// One mqtt.js client with the bridge's last will and an exponential reconnect back-off. mqtt.js
// only knows a fixed reconnect period, so automatic reconnects are off and this class schedules
// them. Publishing while disconnected is a no-op: the bridge republishes everything on connect.
import type { IClientOptions, MqttClient, connect } from 'mqtt';
import type { Logger } from 'pino';

export interface ConnectionOptions {
  url: string;
  /** mqtt.js's connect, imported by the caller only when MQTT is used (it is 15+ MB resident). */
  connect: typeof connect;
  clientId: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  rejectUnauthorized: boolean;
  will: { topic: string; payload: string };
  backoff: { baseMs: number; maxMs: number };
  logger: Logger;
  onConnect(): void;
  onDisconnect(reason: string): void;
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
}

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

export class MqttConnection {
  private readonly client: MqttClient;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private wasConnected = false;
  /** Rejecters of operations in flight: mqtt.js keeps QoS 1 callbacks pending across a lost connection. */
  private readonly inFlight = new Set<(err: Error) => void>();

  constructor(private readonly opts: ConnectionOptions) {
    const options: IClientOptions = {
      clientId: opts.clientId,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0,
      resubscribe: false,
      // Messages are never queued while offline: state is republished from the services on connect.
      queueQoSZero: false,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for each of the 65 536 packet ids and
      // topic lengths: about 6 MB of heap kept for the process's life (the embedded broker shares
      // the same module) to save an allocation per packet at our few packets a second.
      writeCache: false,
      rejectUnauthorized: opts.rejectUnauthorized,
      will: { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), qos: 1, retain: true },
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
    };
    this.client = opts.connect(opts.url, options);
    this.client.on('connect', () => {
      this.attempts = 0;
      this.wasConnected = true;
      opts.onConnect();
    });
    this.client.on('message', (topic, payload, packet) => opts.onMessage(topic, payload, packet.retain));
    // Errors (refused, auth failures) are followed by 'close'; log them without the URL's credentials.
    this.client.on('error', (err) => opts.logger.warn({ reason: err.message }, 'MQTT connection error'));
    this.client.on('close', () => this.onClose());
  }

  get connected(): boolean {
    return this.client.connected;
  }

  private onClose(): void {
    for (const reject of this.inFlight) reject(new Error('connection closed'));
    this.inFlight.clear();
    if (this.closing) return;
    if (this.wasConnected) {
      this.wasConnected = false;
      this.opts.onDisconnect('connection closed');
    }
    if (this.retryTimer) return;
    const delay = Math.min(this.opts.backoff.maxMs, this.opts.backoff.baseMs * 2 ** this.attempts);
    this.attempts += 1;
    this.opts.logger.debug({ delayMs: delay, attempt: this.attempts }, 'MQTT reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closing) this.client.reconnect();
    }, delay);
  }

  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<boolean> {
    if (!this.client.connected) return false;
    try {
      await this.track(this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false }));
      return true;
    } catch (err) {
      this.opts.logger.debug({ topic, reason: (err as Error).message }, 'MQTT publish failed');
      return false;
    }
  }

  async subscribe(topics: string[]): Promise<void> {
    if (!this.client.connected) return;
    try {
      await this.track(this.client.subscribeAsync(topics, { qos: 1 }));
    } catch (err) {
      this.opts.logger.warn({ topics, reason: (err as Error).message }, 'MQTT subscribe failed');
    }
  }

  async unsubscribe(topics: string[]): Promise<void> {
    if (!this.client.connected) return;
    await this.track(this.client.unsubscribeAsync(topics)).catch(() => undefined);
  }

  /** Settles with `op`, or rejects as soon as the connection closes. */
  private track<T>(op: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      op.then(resolve, reject).finally(() => this.inFlight.delete(reject));
    });
  }

  /** Publishes `final` (the "offline" state) and disconnects cleanly; a clean disconnect suppresses the will. */
  async close(final?: { topic: string; payload: string }): Promise<void> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (final && this.client.connected) await this.publish(final.topic, final.payload, { retain: true, qos: 1 });
    // A graceful end waits for every in-flight packet; one the broker never acknowledges (it was
    // restarted meanwhile) would hold the stop forever, so it gets a few seconds, then is forced.
    if (this.client.connected) {
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        this.client.endAsync(false).then(() => true, () => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 3000))),
      ]);
      clearTimeout(timer);
      if (graceful) return;
      this.opts.logger.warn('MQTT: the broker did not acknowledge everything in flight; closing anyway');
    }
    await this.client.endAsync(true).catch(() => undefined);
  }
}
