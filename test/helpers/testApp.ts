// Starts a whole Switchboard in-process on ephemeral ports with a throw-away data dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { deepMerge } from '../../src/config/load.js';
import { parseConfig } from '../../src/config/load.js';
import type { RefusalLimits } from '../../src/bridges/mqtt/refusals.js';

export const ADMIN = { username: 'admin', password: 'admin-password-1' };

export interface ApiReply {
  status: number;
  body: Record<string, unknown>;
}

export interface TestApp {
  app: App;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  dataDir: string;
  /** Signs in over HTTP and returns the bearer token. */
  login(username?: string, password?: string): Promise<string>;
  /** One JSON request to the HTTP API: `path` from the root ("/api/..."), bearer `token` when given. */
  api(method: string, path: string, token?: string | null, body?: unknown): Promise<ApiReply>;
  /** Creates a user through the HTTP API (as admin) and returns its token. */
  createUser(username: string, role: 'admin' | 'user' | 'viewer', password?: string): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
}

export async function startTestApp(
  overrides: Record<string, unknown> = {},
  opts: { dataDir?: string; keepData?: boolean; /** Receives every log line (JSON) the app writes. */ logOut?: (line: string) => void; /** false: simulated cameras with vivid's exact controls, without the LED flash (a light with levels) they have by default. */ simulatedFlash?: boolean; /** Refused MQTT commands logged more often than once a minute per topic. */ mqttRefusalLimits?: RefusalLimits } = {},
): Promise<TestApp> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const config = parseConfig(
    deepMerge(
      {
        data_dir: dataDir,
        http_host: '127.0.0.1',
        http_port: 0,
        monitor_port: 0,
        admin_username: ADMIN.username,
        admin_password: ADMIN.password,
        log_level: 'debug',
        mqtt: { url: 'disabled' },
        homeassistant: { enabled: false },
        // No idle picture refresh unless a test asks for one: its brief captures would come and go
        // under tests that watch capture processes.
        cameras: { simulated: 'always', devices: [], image_interval_seconds: 0 },
        recording: { media_dir: join(dataDir, 'media') },
      },
      overrides,
    ),
  );
  const app = createApp(config, { logOut: opts.logOut ?? null, simulatedFlash: opts.simulatedFlash !== false, ...(opts.mqttRefusalLimits ? { mqttRefusalLimits: opts.mqttRefusalLimits } : {}) });
  await app.start();
  const port = app.ports().http!;
  const url = `http://127.0.0.1:${port}`;
  const api = async (method: string, path: string, token?: string | null, body?: unknown): Promise<ApiReply> => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
  const login = async (username = ADMIN.username, password = ADMIN.password) => {
    const res = await api('POST', '/api/auth', null, { username, password });
    if (res.status !== 201) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.bearer as string;
  };
  const createUser = async (username: string, role: 'admin' | 'user' | 'viewer', password = 'password-' + username) => {
    const res = await api('POST', '/api/users', await login(), { username, password, role });
    if (res.status !== 201) throw new Error(`create user ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.id as string, token: await login(username, password) };
  };
  return {
    app,
    url,
    port,
    dataDir,
    api,
    login,
    createUser,
    async stop() {
      await app.stop();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the first value an emitter-like source delivers for `event`, or rejects after `ms`. */
export function once<T = unknown>(source: { once(ev: string, fn: (v: T) => void): unknown }, event: string, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for "${event}"`)), ms);
    source.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** The first `event` whose payload satisfies `pred`, or a rejection after `ms`. */
export function eventMatching<T>(source: { on(ev: string, fn: (v: T) => void): unknown; off(ev: string, fn: (v: T) => void): unknown }, event: string, pred: (v: T) => boolean, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, fn);
      reject(new Error(`timed out waiting for ${event}`));
    }, ms);
    const fn = (v: T) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      source.off(event, fn);
      resolve(v);
    };
    source.on(event, fn);
  });
}
