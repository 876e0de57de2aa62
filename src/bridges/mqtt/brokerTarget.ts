// Which broker to use, from `mqtt.url`: `disabled`, `embedded` (in-process aedes), `auto` (ask the
// Supervisor's MQTT service; fall back to the embedded broker with a clear log line), or a URL.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';

export interface RemoteBroker {
  kind: 'remote';
  url: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  rejectUnauthorized: boolean;
  /** For logs: where the URL came from. */
  source: 'config' | 'supervisor';
}

export type BrokerTarget = { kind: 'disabled' } | { kind: 'embedded'; host: string; port: number } | RemoteBroker;

export interface ResolveOptions {
  env: NodeJS.ProcessEnv;
  fetch: typeof globalThis.fetch;
  logger: Logger;
  timeoutMs?: number;
}

const supervisorAnswer = z.object({
  result: z.literal('ok'),
  data: z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535),
    ssl: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
  }),
});

export async function resolveBroker(mqtt: Config['mqtt'], opts: ResolveOptions): Promise<BrokerTarget> {
  if (mqtt.url === 'disabled') return { kind: 'disabled' };
  const embedded = { kind: 'embedded' as const, host: mqtt.embedded_host, port: mqtt.embedded_port };
  if (mqtt.url === 'embedded') return embedded;
  if (mqtt.url === 'auto') {
    try {
      return await askSupervisor(opts);
    } catch (err) {
      opts.logger.warn(
        { reason: (err as Error).message, host: embedded.host, port: embedded.port },
        'MQTT: the Supervisor has no MQTT service for us (install the Mosquitto broker add-on, or set mqtt.url); using the embedded broker, which Home Assistant does not see',
      );
      return embedded;
    }
  }
  return {
    kind: 'remote',
    url: mqtt.url,
    ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
    ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
    ...(mqtt.ca_file ? { ca: readFileSync(mqtt.ca_file) } : {}),
    rejectUnauthorized: mqtt.reject_unauthorized,
    source: 'config',
  };
}

async function askSupervisor(opts: ResolveOptions): Promise<RemoteBroker> {
  const token = opts.env.SUPERVISOR_TOKEN;
  if (!token) throw new Error('SUPERVISOR_TOKEN is not set (not running as an add-on)');
  const base = opts.env.SUPERVISOR_URL ?? 'http://supervisor';
  const res = await opts.fetch(`${base}/services/mqtt`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  if (!res.ok) throw new Error(`GET ${base}/services/mqtt answered ${res.status}`);
  const parsed = supervisorAnswer.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new Error(`GET ${base}/services/mqtt: unexpected answer (${parsed.error.issues.map((i) => i.path.join('.') || 'body').join(', ')})`);
  const { host, port, ssl, username, password } = parsed.data.data;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    kind: 'remote',
    url: `${ssl ? 'mqtts' : 'mqtt'}://${hostPart}:${port}`,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    rejectUnauthorized: true,
    source: 'supervisor',
  };
}

/** URLs for logs and health: credentials removed. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
