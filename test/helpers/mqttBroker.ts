// Real MQTT brokers for tests: a Mosquitto process on a free loopback port (restartable on the
// same port), an MQTT client that records every message and waits for the ones it needs, and the
// setup of such a client on a test app's embedded broker.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { TestApp } from './testApp.js';
import { until } from './wait.js';

export const MOSQUITTO_BIN = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => spawnSync(p, ['-h']).error === undefined) ?? null;

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  await until(`something listening on 127.0.0.1:${port}`, listening, ms);
}

export class Mosquitto {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'switchboard-mosquitto-'));

  private constructor(readonly port: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<Mosquitto> {
    if (!MOSQUITTO_BIN) throw new Error('mosquitto binary not found');
    const m = new Mosquitto(await freePort());
    await m.run();
    return m;
  }

  /** Starts (again) on the same port, without persistence: a restart loses every retained message. */
  async run(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const proc = spawn(MOSQUITTO_BIN!, ['-c', conf], { stdio: 'ignore' });
    this.proc = proc;
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A test peer (plays Home Assistant): records every message on the topics it subscribes to. */
export class Recorder {
  readonly messages: Received[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
      for (const w of [...this.waiters]) w();
    });
  }

  static async connect(url: string, topics: string[] = ['#']): Promise<Recorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, clientId: `test_${Math.random().toString(16).slice(2, 10)}` });
    const r = new Recorder(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return r;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** The last payload seen on `topic`, or undefined. */
  last(topic: string): string | undefined {
    return this.on(topic).at(-1)?.payload;
  }

  /** Waits for a message on `topic` (after `from`, an index into messages) matching `match`. */
  waitFor(topic: string, match: (payload: string, m: Received) => boolean = () => true, opts: { from?: number; ms?: number } = {}): Promise<Received> {
    const from = opts.from ?? 0;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.messages.slice(from).find((m) => m.topic === topic && match(m.payload, m));
        if (hit) {
          cleanup();
          resolve(hit);
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.on(topic).map((m) => m.payload.slice(0, 200));
        reject(new Error(`timed out waiting on ${topic}; seen there: ${JSON.stringify(seen)}`));
      }, opts.ms ?? 8000);
      this.waiters.add(check);
      check();
    });
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * Retained messages a newly connecting client gets for `filter` (what HA sees when it (re)starts).
 * The broker sends them right after the subscription; a marker the client publishes to itself
 * afterwards arrives behind them, so once the marker is back every retained message is in. The
 * marker's topic starts with `$`, which no `#` subscription of another test client matches.
 */
export async function retainedNow(url: string, filter: string): Promise<Map<string, string>> {
  const r = await Recorder.connect(url, []);
  const marker = `$switchboard-test/marker/${randomUUID()}`;
  await r.client.subscribeAsync(filter, { qos: 1 });
  await r.client.subscribeAsync(marker, { qos: 1 });
  await r.publish(marker, 'end');
  await r.waitFor(marker);
  await r.close();
  return new Map(r.messages.filter((m) => m.retain && m.topic !== marker).map((m) => [m.topic, m.payload]));
}

/** The URL of a test app's embedded broker, with the credentials it generated (it takes no others). */
export function embeddedBrokerUrl(t: TestApp): string {
  const login = t.app.context.mqtt.embeddedBroker();
  if (!login) throw new Error('the app runs no embedded broker (mqtt.url: embedded)');
  return `mqtt://${login.username}:${login.password}@127.0.0.1:${t.app.ports().mqtt}`;
}

/** The one MQTT test setup: a recorder playing Home Assistant on a test app's embedded broker. */
export function recorderOnEmbeddedBroker(t: TestApp, topics: string[] = ['#']): Promise<Recorder> {
  return Recorder.connect(embeddedBrokerUrl(t), topics);
}
