// The in-process broker for standalone use (`mqtt.url: embedded`): aedes on a plain TCP listener.
// It requires credentials: one user, generated on first start and kept (owner-only) in
// `<data_dir>/mqtt-embedded.json`, so `mosquitto_sub -u … -P …` works with what the panel shows admins.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { Aedes } from 'aedes';
import { newSecret } from '../../core/ids.js';
import { listenOn } from '../../core/listen.js';

export interface BrokerCredentials {
  username: string;
  password: string;
}

export const EMBEDDED_CREDENTIALS_FILE = 'mqtt-embedded.json';
/** CONNACK return code 4 (MQTT 3.1.1): bad user name or password. */
const BAD_USERNAME_OR_PASSWORD = 4;

/** The embedded broker's credentials: read from the data directory, generated there on first start. */
export function embeddedCredentials(dataDir: string): BrokerCredentials {
  const file = join(dataDir, EMBEDDED_CREDENTIALS_FILE);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<BrokerCredentials>;
    if (typeof parsed.username === 'string' && typeof parsed.password === 'string' && parsed.password.length >= 16) {
      return { username: parsed.username, password: parsed.password };
    }
  }
  const created = { username: 'switchboard', password: newSecret(24) };
  writeFileSync(file, JSON.stringify(created, null, 2) + '\n', { mode: 0o600 });
  return created;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export class EmbeddedBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number, credentials: BrokerCredentials): Promise<EmbeddedBroker> {
    // Loaded only in embedded mode: an add-on using the Supervisor's broker never pays for aedes.
    const { Aedes: Broker } = await import('aedes');
    const aedes = await Broker.createBroker({
      authenticate: (_client, username, password, done) => {
        const ok = username !== undefined && password !== undefined && sameText(username, credentials.username) && sameText(password.toString('utf8'), credentials.password);
        if (ok) return done(null, true);
        done(Object.assign(new Error('Bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }), false);
      },
    });
    const server = createServer(aedes.handle);
    const bound = await listenOn(server, port, host, 'mqtt.embedded_port');
    return new EmbeddedBroker(aedes, server, bound);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
