// The Altoponix relay endpoint: its own HTTP server and Socket.IO server on `monitor_port`
// (default namespace), as the original backend served it on port 5000.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Server as SocketIOServer } from 'socket.io';
import type { Extension } from '../../core/extension.js';
import { listenOn } from '../../core/listen.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import type { MonitorRelay } from '../../services/monitors/monitorRelay.js';
import type { StatusService } from '../../services/system/statusService.js';
import { AltoponixConnection } from './connection.js';
import type { AltoponixClientEvents, AltoponixServerEvents } from './wire.js';

export interface AltoponixServerDeps {
  relay: MonitorRelay;
  sessions: SessionRegistry;
  status: StatusService;
  logger: Logger;
  host: string;
  port: number;
  /** Called with the port actually bound (port 0 picks a free one). */
  onListening(port: number): void;
}

/** Commands are at most 1 KiB; anything far larger is not an Altoponix message. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** Altoponix sockets keep their state in their AltoponixConnection, none in `socket.data`. */
type AltoponixIo = SocketIOServer<AltoponixClientEvents, AltoponixServerEvents, Record<string, never>, Record<string, never>>;

export class AltoponixServer implements Extension {
  readonly name = 'altoponix';
  private server: Server | null = null;
  private io: AltoponixIo | null = null;
  private readonly connections = new Set<AltoponixConnection>();

  constructor(private readonly deps: AltoponixServerDeps) {}

  async start(): Promise<void> {
    const { deps } = this;
    const server = createServer();
    const io: AltoponixIo = new SocketIOServer(server, {
      serveClient: false,
      maxHttpBufferSize: MAX_MESSAGE_BYTES,
      // Browser clients of the original app connect cross-origin; auth is a token, never a cookie.
      cors: { origin: '*' },
      pingInterval: 25_000,
      pingTimeout: 20_000,
      connectTimeout: 10_000,
    });
    io.on('connection', (socket) => {
      const conn = new AltoponixConnection(socket, { relay: deps.relay, sessions: deps.sessions, logger: deps.logger, address: socket.handshake.address });
      this.connections.add(conn);
      this.countClients();
      socket.on('disconnect', () => {
        this.connections.delete(conn);
        this.countClients();
      });
    });
    const port = await listenOn(server, deps.port, deps.host, 'monitor_port');
    this.server = server;
    this.io = io;
    this.countClients();
    deps.onListening(port);
    deps.logger.info({ port }, 'altoponix relay listening');
  }

  async stop(): Promise<void> {
    const { io, server } = this;
    this.io = null;
    this.server = null;
    if (!io || !server) return;
    await new Promise<void>((resolve) => {
      io.close(() => resolve());
      server.closeAllConnections();
    });
    this.connections.clear();
    this.deps.status.setClients('altoponix', 0);
  }

  private countClients(): void {
    this.deps.status.setClients('altoponix', this.connections.size);
  }
}
