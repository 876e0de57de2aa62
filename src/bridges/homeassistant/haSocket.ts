// Where Home Assistant is and how to open an authenticated socket to it (the custom createSocket
// home-assistant-js-websocket accepts): `ws` instead of a browser WebSocket, the auth phase done
// here, and the same function reused by the library on every reconnect.
import { ERR_CANNOT_CONNECT, ERR_INVALID_AUTH, type ConnectionOptions, type HaWebSocket } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Config } from '../../config/schema.js';

export interface HaTarget {
  url: string;
  token: string;
  via: 'supervisor' | 'standalone';
}

/** Standalone settings win; inside the add-on the Supervisor proxy is used. null: disabled, with why. */
export function resolveTarget(config: Config['homeassistant'], env: NodeJS.ProcessEnv): HaTarget | { disabled: string } {
  if (!config.enabled) return { disabled: 'homeassistant.enabled is false' };
  if (config.url && config.token) return { url: toWebsocketUrl(config.url, '/api/websocket'), token: config.token, via: 'standalone' };
  if (env.SUPERVISOR_TOKEN) {
    // SUPERVISOR_URL lets tests (and unusual setups) point at another Supervisor host.
    return { url: toWebsocketUrl(env.SUPERVISOR_URL ?? 'http://supervisor', '/core/websocket'), token: env.SUPERVISOR_TOKEN, via: 'supervisor' };
  }
  if (config.url || config.token) return { disabled: 'homeassistant.url and homeassistant.token must both be set' };
  return { disabled: 'no homeassistant.url/token and no SUPERVISOR_TOKEN' };
}

/** http(s)://host[:port][/base] → ws(s)://host[:port][/base]<path>; a ws(s):// URL is taken as it is. */
function toWebsocketUrl(base: string, path: string): string {
  const u = new URL(base);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return u.toString();
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  return u.toString();
}

const AUTH_TIMEOUT_MS = 10_000;
const MAX_SETUP_DELAY_MS = 30_000;

/** One attempt: resolves with an authenticated socket, rejects with ERR_INVALID_AUTH or ERR_CANNOT_CONNECT; `failed` hears why. */
function openOnce(target: HaTarget, logger: Logger, failed: (why: string) => void): Promise<HaWebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, { handshakeTimeout: AUTH_TIMEOUT_MS, maxPayload: 64 * 1024 * 1024 });
    let settled = false;
    const fail = (code: number, why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      logger.debug({ url: target.url, why }, 'home assistant connection attempt failed');
      if (code !== ERR_INVALID_AUTH) failed(why);
      ws.removeAllListeners('message');
      ws.terminate();
      reject(code);
    };
    const timer = setTimeout(() => fail(ERR_CANNOT_CONNECT, `no answer within ${AUTH_TIMEOUT_MS / 1000} s`), AUTH_TIMEOUT_MS);
    ws.on('error', (err) => fail(ERR_CANNOT_CONNECT, err.message));
    ws.on('close', () => fail(ERR_CANNOT_CONNECT, 'closed during auth'));
    ws.on('message', (data) => {
      let msg: { type?: string; ha_version?: string; message?: string };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return fail(ERR_CANNOT_CONNECT, 'non-JSON message during auth');
      }
      if (msg.type === 'auth_required') {
        ws.send(JSON.stringify({ type: 'auth', access_token: target.token }));
      } else if (msg.type === 'auth_invalid') {
        fail(ERR_INVALID_AUTH, msg.message ?? 'auth_invalid');
      } else if (msg.type === 'auth_ok') {
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        // A later socket error surfaces as close, which the Connection handles.
        ws.on('error', (err) => logger.debug({ err: err.message }, 'home assistant socket error'));
        const socket = ws as unknown as HaWebSocket;
        socket.haVersion = msg.ha_version ?? '0.0.0';
        // As the library's own createSocket does: let HA batch messages (id 1 is reserved for this).
        ws.send(JSON.stringify({ type: 'supported_features', id: 1, features: { coalesce_messages: 1 } }));
        resolve(socket);
      }
    });
  });
}

/**
 * createSocket for createConnection. options.setupRetry: -1 retries forever (with back-off), 0 once.
 * Invalid auth is never retried. `signal` ends the retrying when the add-on stops; every failed
 * attempt is told to `onAttemptFailed` with why (refused, DNS, no answer, rejected token).
 */
export function haSocketFactory(target: HaTarget, logger: Logger, signal: AbortSignal, onAttemptFailed: (why: string) => void = () => undefined) {
  return async (options: ConnectionOptions): Promise<HaWebSocket> => {
    let left = options.setupRetry;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw ERR_CANNOT_CONNECT;
      try {
        return await openOnce(target, logger, onAttemptFailed);
      } catch (err) {
        if (err === ERR_INVALID_AUTH || left === 0) throw err;
        if (left > 0) left--;
      }
      const delay = Math.min(MAX_SETUP_DELAY_MS, 1000 * 2 ** Math.min(attempt, 5));
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, delay);
        signal.addEventListener('abort', done);
      });
    }
  };
}
