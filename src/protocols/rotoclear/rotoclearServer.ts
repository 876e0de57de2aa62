// The Rotoclear state WebSocket on `/api/v1` of the shared HTTP server (plain `ws`, no Socket.IO).
// It holds connections and the Rotoclear-only view (viewState.ts); camera state lives in the camera
// service. Every camera event (from this socket, HTTP, NestMTX, MQTT, hot-plug) and every view
// change leads to one diff of the key table against what clients were last sent, serialized once
// and sent to every client that may read it — the sender of a change included, after its own
// `{..., info}` confirmation, as the document's sequence shows.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuthService } from '../../auth/authService.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import type { CameraService } from '../../camera/cameraService.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import type { StatusService } from '../../services/system/statusService.js';
import { RotoclearClient, type ClientLimits } from './connection.js';
import { KEYS, readState } from './keys.js';
import { RotoclearView } from './viewState.js';
import type { Extension } from '../../core/extension.js';

export const ROTOCLEAR_PATH = '/api/v1';

export interface RotoclearOptions {
  maxMessageBytes?: number;
  messagesPerSecond?: number;
  heartbeatMs?: number;
}

export interface RotoclearDeps {
  server: Server;
  cameras: CameraService;
  auth: AuthService;
  sessions: SessionRegistry;
  bus: EventBus;
  status: StatusService;
  logger: Logger;
}

/** Frames above this are refused by `ws` itself (closing 1009); below it, the soft limit answers with an error. */
const HARD_MAX_PAYLOAD = 1024 * 1024;
/** Longest a broadcast waits for in-flight messages to send their replies first. */
const MAX_BROADCAST_DELAY_MS = 100;

export class RotoclearServer implements Extension {
  readonly name = 'rotoclear';
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<RotoclearClient>();
  private readonly limits: ClientLimits;
  private readonly heartbeatMs: number;
  private readonly view: RotoclearView;
  private last: Record<string, unknown> = {};
  private snapPending = false;
  private inFlight = 0;
  private flushPending = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: RotoclearDeps,
    options: RotoclearOptions = {},
  ) {
    this.limits = { maxMessageBytes: options.maxMessageBytes ?? 64 * 1024, messagesPerSecond: options.messagesPerSecond ?? 100 };
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.view = new RotoclearView(deps.cameras, () => this.scheduleFlush());
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(HARD_MAX_PAYLOAD, this.limits.maxMessageBytes * 2), clientTracking: false });
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return;
    }
    if (path !== ROTOCLEAR_PATH) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  };

  async start(): Promise<void> {
    this.last = readState(this.view, true);
    this.deps.bus.subscribe(this, (e) => this.onCameraEvent(e), ['camera']);
    this.deps.server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
    this.deps.status.setClients('rotoclear', 0);
  }

  async stop(): Promise<void> {
    this.deps.server.off('upgrade', this.onUpgrade);
    this.deps.bus.removeListeners(this);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.deps.status.setClients('rotoclear', 0);
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const address = this.deps.auth.loginAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const client = new RotoclearClient(ws, {
      view: this.view,
      auth: this.deps.auth,
      sessions: this.deps.sessions,
      logger: this.deps.logger,
      limits: this.limits,
      address,
      begin: () => {
        this.inFlight += 1;
      },
      end: () => {
        this.inFlight -= 1;
        if (this.inFlight === 0 && this.flushPending) this.flush();
      },
    });
    this.clients.add(client);
    this.deps.status.setClients('rotoclear', this.clients.size);
    ws.on('message', (data, isBinary) => client.onMessage(data, isBinary));
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('error', (err) => this.deps.logger.debug({ address, err: err.message }, 'rotoclear socket error'));
    ws.on('close', () => {
      client.closed();
      this.clients.delete(client);
      this.deps.status.setClients('rotoclear', this.clients.size);
    });
    client.send(readState(this.view, false));
  }

  /** Drops clients that did not answer the previous ping. */
  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.deps.logger.debug('rotoclear client missed a heartbeat; dropping it');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private onCameraEvent(e: DomainEvent<'camera'>): void {
    if (e.event === 'updated' && e.details.changes.snap === true) this.snapPending = true;
    this.scheduleFlush();
  }

  /** After a change: at once, or once the messages being handled have sent their replies. */
  private scheduleFlush(): void {
    if (this.inFlight > 0) {
      this.flushPending = true;
      this.flushTimer ??= setTimeout(() => this.flush(), MAX_BROADCAST_DELAY_MS);
    } else {
      this.flushImmediate ??= setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushTimer = null;
    this.flushImmediate = null;
    this.flushPending = false;
    const next = readState(this.view, true);
    const changed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(next)) if (!Object.is(v, this.last[k])) changed[k] = v;
    if (this.snapPending) changed.snap = true;
    this.snapPending = false;
    this.last = next;
    if (!Object.keys(changed).length) return;
    const full = JSON.stringify(changed);
    const publicPart = Object.fromEntries(Object.entries(changed).filter(([k]) => KEYS.get(k)?.public));
    const forAnonymous = Object.keys(publicPart).length ? JSON.stringify(publicPart) : null;
    for (const c of this.clients) {
      if (c.signedIn) c.sendRaw(full);
      else if (forAnonymous) c.sendRaw(forAnonymous);
    }
  }
}
