// The panel's connections, all to public APIs under the base path: HTTP (`/api/...`), the NestMTX
// Socket.IO API (`/socket.io`, default namespace: requests, status topics, logs), Antimony
// namespaces on the same Socket.IO server, and the Rotoclear state WebSocket (`/api/v1`).
import { io, type Socket } from 'socket.io-client';
import type { Domain, DomainEvent } from '../../src/core/eventBus.js';
import type { LogEntry } from '../../src/logging/logger.js';
import type { PublicUser } from '../../src/services/users/usersService.js';
import type { Boot } from './boot.js';
import { PanelError, replyError } from './errors.js';

export type LinkState = 'connecting' | 'connected' | 'disconnected';

const REQUEST_TIMEOUT_MS = 20_000;
let sequence = 0;
/** crypto.randomUUID needs a secure context; the direct port is often plain http on a LAN address. */
const requestId = () => `panel-${Date.now().toString(36)}-${(sequence += 1)}-${Math.random().toString(36).slice(2, 8)}`;

export class Backend {
  readonly socket: Socket;
  readonly state: RotoclearState;
  private readonly listeners = new Set<(s: LinkState) => void>();
  linkState: LinkState = 'connecting';

  constructor(
    readonly boot: Boot,
    readonly token: string,
    readonly user: PublicUser,
    onSessionLost: (reason: string) => void,
  ) {
    // log_levels: the logs page reads the document's numbers whatever nestmtx.log_levels says.
    this.socket = io(location.origin, { path: `${boot.base}/socket.io`, auth: { token, log_levels: 'document' }, reconnectionDelayMax: 10_000 });
    this.socket.on('connect', () => this.setLink('connected'));
    this.socket.on('disconnect', (reason) => {
      this.setLink('disconnected');
      // The server dropped us (e.g. the token was revoked): socket.io does not retry that by itself.
      // Retrying either works or ends in "Unauthorized", which asks for a new sign-in.
      if (reason === 'io server disconnect') setTimeout(() => this.socket.connect(), 1000);
    });
    this.socket.on('connect_error', (err: Error) => {
      // The NestMTX API refuses a bad token with exactly "Unauthorized": retrying cannot help.
      if (err.message === 'Unauthorized') onSessionLost('Your session has expired. Please sign in again.');
      else this.setLink('disconnected');
    });
    this.state = new RotoclearState(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${boot.base}/api/v1`, token);
  }

  /** A URL under the base path, e.g. url('/api/health'). */
  url(path: string): string {
    return `${this.boot.base}${path}`;
  }

  onLink(fn: (s: LinkState) => void): () => void {
    this.listeners.add(fn);
    fn(this.linkState);
    return () => this.listeners.delete(fn);
  }

  private setLink(s: LinkState): void {
    this.linkState = s;
    for (const fn of this.listeners) fn(s);
  }

  async http<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.url(path), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data: unknown = await res.json().catch(() => null);
    if (!res.ok) throw replyError(data, res.status) ?? new PanelError(`The server answered ${res.status} ${res.statusText}`, [], res.status);
    return data as T;
  }

  /** A NestMTX `request`; resolves with the reply or rejects with its {error}. */
  request<T>(module: string, command: 'list' | 'read' | 'create' | 'update' | 'delete', entity?: string, payload?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = requestId();
      const timer = setTimeout(() => {
        this.socket.off(id);
        reject(new PanelError('timeout'));
      }, REQUEST_TIMEOUT_MS);
      this.socket.once(id, (reply: unknown) => {
        clearTimeout(timer);
        const err = replyError(reply);
        if (err) reject(err);
        else resolve(reply as T);
      });
      this.socket.emit('request', { command, module, requestId: id, ...(entity === undefined ? {} : { entity }), ...(payload === undefined ? {} : { payload }) });
    });
  }

  /** Every item of a module's list. */
  async listAll<T>(module: string): Promise<T[]> {
    const page = await this.request<{ items: T[] }>(module, 'list', undefined, { itemsPerPage: -1 });
    return page.items;
  }

  /** Status topic `<domain>:*`, whose payload is the bus event itself; returns the unsubscribe function. */
  onStatus<D extends Domain>(domain: D, fn: (e: DomainEvent<D>) => void): () => void {
    const event = `${domain}:*`;
    this.socket.on(event, fn);
    return () => this.socket.off(event, fn);
  }

  onLog(fn: (line: LogEntry) => void): () => void {
    this.socket.on('log', fn);
    return () => this.socket.off('log', fn);
  }

  /**
   * An Antimony namespace on the same Socket.IO server. `ownConnection` keeps it off the shared
   * connection: the server ends lab log namespaces by closing their whole connection.
   */
  namespace(name: string, ownConnection = false): Socket {
    return io(`${location.origin}${name}`, { path: `${this.boot.base}/socket.io`, auth: { token: this.token }, reconnectionDelayMax: 10_000, forceNew: ownConnection });
  }

  close(): void {
    this.socket.close();
    this.state.close();
  }
}

/**
 * The Rotoclear `/api/v1` state socket: the camera state as key → value, kept current from the
 * server's broadcasts (changes made by any client, HTTP, MQTT or Home Assistant).
 */
export class RotoclearState {
  readonly values = new Map<string, unknown>();
  linkState: LinkState = 'connecting';
  private ws: WebSocket | null = null;
  private closed = false;
  private retryMs = 1000;
  private readonly listeners = new Set<(changed: Record<string, unknown>) => void>();
  private readonly errorListeners = new Set<(message: string) => void>();
  private readonly linkListeners = new Set<(s: LinkState) => void>();

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 1000;
      ws.send(JSON.stringify({ token: this.token }));
    };
    ws.onmessage = (ev) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
      const m = msg as Record<string, unknown>;
      if ('authenticated' in m) {
        this.setLink(m.authenticated === true ? 'connected' : 'disconnected');
        if (m.authenticated !== true) for (const fn of this.errorListeners) fn(`Camera state: ${String(m.error ?? 'not signed in')}`);
        return;
      }
      if ('error' in m) {
        const text = [m.key, m.message ?? m.error].filter((x) => typeof x === 'string').join(': ');
        for (const fn of this.errorListeners) fn(text);
        return;
      }
      const changed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(m)) {
        if (k === 'info') continue;
        this.values.set(k, v);
        changed[k] = v;
      }
      for (const fn of this.listeners) fn(changed);
    };
    ws.onclose = () => {
      this.setLink('disconnected');
      if (this.closed) return;
      setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15_000);
    };
  }

  private setLink(s: LinkState): void {
    this.linkState = s;
    for (const fn of this.linkListeners) fn(s);
  }

  onLink(fn: (s: LinkState) => void): () => void {
    this.linkListeners.add(fn);
    fn(this.linkState);
    return () => this.linkListeners.delete(fn);
  }

  onChange(fn: (changed: Record<string, unknown>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onError(fn: (message: string) => void): () => void {
    this.errorListeners.add(fn);
    return () => this.errorListeners.delete(fn);
  }

  /** Sends a state change; false when the socket is not open. */
  set(values: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(values));
    return true;
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }
}
