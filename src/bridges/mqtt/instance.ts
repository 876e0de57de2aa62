// What makes this Switchboard one instance among several on a broker: its persisted MQTT client id
// (a second client with the same id would make the broker drop the first) and the panel URL its
// devices link to in Home Assistant.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';

const CLIENT_ID_FILE = 'mqtt-client-id';
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The configured client id, else the one stored in `dataDir` (created once, then kept). */
export function stableClientId(configured: string | undefined, dataDir: string, logger: Logger): string {
  if (configured) return configured;
  const file = join(dataDir, CLIENT_ID_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (CLIENT_ID.test(stored)) return stored;
  } catch {
    // First start: no id yet.
  }
  const id = `switchboard_${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, id + '\n', { mode: 0o600 });
  } catch (err) {
    logger.warn({ reason: (err as Error).message }, 'MQTT: could not store the client id; a new one is made at the next start');
  }
  return id;
}

const selfInfo = z.object({ data: z.object({ slug: z.string().regex(/^[A-Za-z0-9_-]+$/), ingress: z.boolean().optional() }) });

/**
 * The web panel as HA links to it: in the add-on its ingress page (`homeassistant://` opens it inside
 * HA's frontend); standalone `http://<host name>:<port>/`, or undefined while the port is unknown.
 */
export async function panelUrl(env: NodeJS.ProcessEnv, fetchFn: typeof globalThis.fetch, httpPort: () => number | undefined, logger: Logger): Promise<() => string | undefined> {
  const token = env.SUPERVISOR_TOKEN;
  if (token) {
    const base = env.SUPERVISOR_URL ?? 'http://supervisor';
    try {
      const res = await fetchFn(`${base}/addons/self/info`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      const parsed = selfInfo.safeParse(await res.json().catch(() => null));
      if (res.ok && parsed.success) {
        const url = `homeassistant://hassio/ingress/${parsed.data.data.slug}`;
        return () => url;
      }
      logger.warn({ status: res.status }, 'Supervisor add-on info unreadable; devices link to the panel by host name');
    } catch (err) {
      logger.warn({ reason: (err as Error).message }, 'Supervisor add-on info unavailable; devices link to the panel by host name');
    }
  }
  const host = hostname();
  return () => {
    const port = httpPort();
    return port ? `http://${host}:${port}/` : undefined;
  };
}
