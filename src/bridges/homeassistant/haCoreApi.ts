// Home Assistant core's REST API: in the add-on through the Supervisor proxy
// (`http://supervisor/core/api/…` with SUPERVISOR_TOKEN, which passes HA's admin checks), outside
// it at `homeassistant.url` with a long-lived token. Only GET, POST and DELETE: the proxy has no others.
import type { Config } from '../../config/schema.js';
import { unavailable } from '../../core/errors.js';

export interface HaRestTarget {
  /** e.g. http://supervisor/core/api */
  base: string;
  token: string;
}

/** Same choice as the websocket bridge: standalone settings win, else the Supervisor. */
export function resolveRestTarget(config: Config['homeassistant'], env: NodeJS.ProcessEnv): HaRestTarget | null {
  if (config.url && config.token) return { base: `${config.url.replace(/\/+$/, '')}/api`, token: config.token };
  if (env.SUPERVISOR_TOKEN) return { base: `${(env.SUPERVISOR_URL ?? 'http://supervisor').replace(/\/+$/, '')}/core/api`, token: env.SUPERVISOR_TOKEN };
  return null;
}

export interface HaReply {
  status: number;
  body: unknown;
}

export class HaCoreApi {
  constructor(
    private readonly target: HaRestTarget,
    private readonly fetchFn: typeof globalThis.fetch = globalThis.fetch,
    private readonly timeoutMs = 30_000,
  ) {}

  /** One request; a network failure becomes an `unavailable` error, any HTTP status is returned. */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<HaReply> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.target.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw unavailable(`Home Assistant is not reachable (${(err as Error).message})`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // HA answers some errors (401, 404 from aiohttp) as plain text; keep it as the body.
    }
    return { status: res.status, body: parsed };
  }
}
