// The NestMTX Socket.IO API on the default namespace of http_port: token check at connect,
// `request` events dispatched to the module services, status topics and log lines broadcast to
// every authenticated socket; server log lines only to those the permission table lets read them.
// Translation only: every rule lives in the services; each socket is a session of the registry.
import type { Logger } from 'pino';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Extension } from '../../core/extension.js';
import { can } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { Session, SessionRegistry } from '../../auth/sessions.js';
import { AppError, rateLimited, toAppError, unauthorized } from '../../core/errors.js';
import type { Domain, DomainEvent, EventBus } from '../../core/eventBus.js';
import { toPinoLevel, type LogEntry, type LogHub } from '../../logging/logger.js';
import type { ModuleRegistry } from '../../services/modules.js';
import type { StatusService } from '../../services/system/statusService.js';
import { tokenFromHandshake } from './handshakeToken.js';
import { RESERVED_NAMES, decodeRequest, parseRequest, requestContext, requestIdOf, type RequestContext } from './requestEnvelope.js';
import { TokenBucket } from '../../core/tokenBucket.js';

/** Domains whose events are status topics (docs/protocols/nestmtx.md). */
export const STATUS_DOMAINS: Domain[] = ['camera', 'credentials', 'monitor'];
/** Every socket that passed authentication; broadcasts go here once instead of per socket. */
const ROOM = 'nestmtx:authenticated';
/** Log lines go out once per level scale in use, to the sockets whose user may read server logs. */
const LOG_ROOMS = { document: 'nestmtx:log:document', pino: 'nestmtx:log:pino' } as const;
const LOG_SCALES = ['document', 'pino'] as const;
const UNAUTHORIZED = 'Unauthorized';

/** What a NestMTX client sends: every command is a `request` envelope. */
export interface NestmtxClientEvents {
  request: (raw: unknown) => void;
}
/**
 * What the server sends. Replies go out under the request's own id and status topics under
 * `domain:event` names, so the map is open. The index takes `any` because TypeScript checks the
 * named events against it: with `unknown` no precise signature would fit beside it.
 */
export interface NestmtxServerEvents {
  log: (line: LogEntry) => void;
  failure: (failure: { message: string; details: unknown }) => void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [requestIdOrTopic: string]: (payload: any) => void;
}
export interface NestmtxSocketData {
  actor: Actor;
}
/** Server-to-server events: none (one process, in-memory adapter). */
type NoInterServerEvents = Record<string, never>;
export type NestmtxServer = Server<NestmtxClientEvents, NestmtxServerEvents, NoInterServerEvents, NestmtxSocketData>;
type NestmtxNamespace = Namespace<NestmtxClientEvents, NestmtxServerEvents, NoInterServerEvents, NestmtxSocketData>;
type NestmtxSocket = Socket<NestmtxClientEvents, NestmtxServerEvents, NoInterServerEvents, NestmtxSocketData>;

export interface NestmtxAdapterDeps {
  io: NestmtxServer;
  sessions: SessionRegistry;
  modules: ModuleRegistry;
  bus: EventBus;
  logs: LogHub;
  status: StatusService;
  logger: Logger;
}

export interface NestmtxAdapterOptions {
  /** Sustained requests per second per socket. */
  requestsPerSecond?: number;
  /** Requests a socket may send at once before the rate applies. */
  burst?: number;
  /**
   * `log` levels: the document's table (info = 40) or pino's scale (info = 30), which the original
   * GUI expects. A client may choose its own with `auth.log_levels` (the web panel asks for `document`).
   */
  logLevels?: NestmtxLogLevels;
}

export type NestmtxLogLevels = (typeof LOG_SCALES)[number];
const isLogScale = (v: unknown): v is NestmtxLogLevels => v === 'document' || v === 'pino';
const onScale = (line: LogEntry, scale: NestmtxLogLevels): LogEntry => (scale === 'pino' ? { ...line, level: toPinoLevel(line.level) } : line);

interface SocketSession {
  session: Session;
  bucket: TokenBucket;
  logLevels: NestmtxLogLevels;
}

/** `{error:{message, details, context}}` as the original server answers; context only where a request is known. */
const errorReply = (e: AppError, context?: RequestContext) => ({ error: { message: e.message, details: e.details, ...(context ? { context } : {}) } });

export class NestmtxAdapter implements Extension {
  readonly name = 'nestmtx';
  private readonly pending = new WeakMap<NestmtxSocket, Actor>();
  private stopLogTail: (() => void) | null = null;
  private nsp: NestmtxNamespace | null = null;
  private running = false;
  private readonly rate: number;
  private readonly burst: number;
  private readonly logLevels: NestmtxLogLevels;

  constructor(
    private readonly deps: NestmtxAdapterDeps,
    opts: NestmtxAdapterOptions = {},
  ) {
    // Far above what any UI or automation sends (a closed-loop client manages ~150/s), far below a flood.
    this.rate = opts.requestsPerSecond ?? 500;
    this.burst = opts.burst ?? 200;
    this.logLevels = opts.logLevels ?? 'document';
  }

  async start(): Promise<void> {
    const { io, bus, logs } = this.deps;
    const nsp = io.of('/');
    this.nsp = nsp;
    this.running = true;
    nsp.use((socket, next) => this.authenticate(socket, next));
    nsp.on('connection', this.onConnection);
    bus.subscribe(this, (e) => this.broadcastStatus(e), STATUS_DOMAINS);
    this.stopLogTail = logs.subscribe((line) => {
      for (const scale of LOG_SCALES) {
        if (nsp.adapter.rooms.get(LOG_ROOMS[scale])?.size) nsp.to(LOG_ROOMS[scale]).emit('log', onScale(line, scale));
      }
    });
    this.deps.status.setClients('nestmtx', 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.deps.bus.removeListeners(this);
    this.stopLogTail?.();
    this.stopLogTail = null;
    if (this.nsp) {
      this.nsp.off('connection', this.onConnection);
      this.nsp.disconnectSockets();
    }
    this.deps.status.setClients('nestmtx', 0);
  }

  private authenticate(socket: NestmtxSocket, next: (err?: Error) => void): void {
    const token = tokenFromHandshake(socket.handshake);
    const actor = this.running && token ? this.deps.sessions.authenticate(token) : null;
    if (!actor) return next(new Error(UNAUTHORIZED));
    this.pending.set(socket, actor);
    next();
  }

  private readonly onConnection = (socket: NestmtxSocket): void => {
    const actor = this.pending.get(socket);
    this.pending.delete(socket);
    if (!actor) {
      socket.disconnect();
      return;
    }
    const session = this.deps.sessions.open(actor, 'nestmtx', {
      // A tick later, so a request that found the session over is answered before the socket goes.
      onEnd: () => setImmediate(() => socket.disconnect()),
      onChange: (next) => {
        socket.data.actor = next;
        this.followLogs(socket, state, next);
      },
    });
    socket.data.actor = actor;
    const wanted: unknown = socket.handshake.auth?.log_levels;
    const state: SocketSession = { session, bucket: new TokenBucket(this.rate, this.burst), logLevels: isLogScale(wanted) ? wanted : this.logLevels };
    // Replay then join in the same tick: no line is missed or sent twice.
    this.followLogs(socket, state, actor, true);
    void socket.join(ROOM);
    socket.on('request', (raw: unknown) => void this.onRequest(socket, state, raw));
    socket.on('disconnect', (reason) => {
      session.close();
      this.reportClients();
      this.deps.logger.debug({ username: session.actor.username, reason }, 'socket.io client disconnected');
    });
    this.reportClients();
    this.deps.logger.debug({ username: actor.username, address: socket.handshake.address }, 'socket.io client connected');
  };

  /** Server logs go only to sockets whose user may read them (with the replay when they first may). */
  private followLogs(socket: NestmtxSocket, state: SocketSession, actor: Actor, atConnect = false): void {
    const room = LOG_ROOMS[state.logLevels];
    const may = can(actor.role, 'logs.read');
    const follows = socket.rooms.has(room);
    if (may && !follows) {
      if (atConnect) for (const line of this.deps.logs.recent()) socket.emit('log', onScale(line, state.logLevels));
      void socket.join(room);
    } else if (!may && follows) {
      void socket.leave(room);
    }
  }

  private async onRequest(socket: NestmtxSocket, state: SocketSession, input: unknown): Promise<void> {
    try {
      const raw = decodeRequest(input);
      if (!state.bucket.take()) {
        const e = rateLimited('Too many requests', [{ path: '', message: `at most ${this.rate} requests per second` }]);
        const id = requestIdOf(raw);
        if ('requestId' in id) socket.emit(id.requestId, errorReply(e, requestContext(raw, id.requestId)));
        else socket.emit('failure', { message: e.message, details: e.details });
        return;
      }
      const parsed = parseRequest(raw);
      if (parsed.kind === 'failure') {
        socket.emit('failure', { message: 'Invalid Request', details: parsed.details });
        return;
      }
      if (parsed.kind === 'invalid') {
        socket.emit(parsed.requestId, errorReply(parsed.error, parsed.context));
        return;
      }
      // Judged on use as well as on account events, so an expired token never acts.
      const actor = state.session.current();
      if (!actor) {
        socket.emit(parsed.requestId, errorReply(unauthorized(UNAUTHORIZED), requestContext(raw, parsed.requestId)));
        socket.disconnect();
        return;
      }
      let reply: unknown;
      try {
        reply = (await this.deps.modules.dispatch(actor, parsed.request)) ?? null;
      } catch (err) {
        if (!(err instanceof AppError)) this.deps.logger.error({ err, module: String(parsed.request.module), command: String(parsed.request.command) }, 'request failed');
        reply = errorReply(toAppError(err), requestContext(raw, parsed.requestId));
      }
      socket.emit(parsed.requestId, reply);
    } catch (err) {
      // Never let one bad request become an unhandled rejection.
      this.deps.logger.error({ err }, 'could not answer a socket.io request');
    }
  }

  private broadcastStatus(e: DomainEvent): void {
    if (!this.nsp || this.clientCount() === 0) return;
    const payload = { domain: e.domain, entity: e.entity, event: e.event, details: e.details, at: e.at };
    const room = this.nsp.to(ROOM);
    room.emit(`${e.domain}:${e.event}`, payload);
    room.emit(`${e.domain}:*`, payload);
    room.emit('nestmtx:*', payload);
    // The original server also emits the bare event name; Socket.IO refuses its reserved names.
    if (!RESERVED_NAMES.has(e.event)) room.emit(e.event, payload);
  }

  private clientCount(): number {
    return this.nsp?.adapter.rooms.get(ROOM)?.size ?? 0;
  }

  private reportClients(): void {
    this.deps.status.setClients('nestmtx', this.clientCount());
  }
}
