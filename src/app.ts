// Composition root: builds every service and adapter with explicit dependencies, so a test can
// start a whole server on ephemeral ports and stop it again.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Server as SocketIOServer } from 'socket.io';
import { AuthService } from './auth/authService.js';
import type { Config } from './config/schema.js';
import { EventBus } from './core/eventBus.js';
import { createLogging, type LogFormat, type LogHub } from './logging/logger.js';
import { createHttpApi, type HttpApi } from './protocols/http/httpApi.js';
import { ModuleRegistry } from './services/modules.js';
import { HealthModule, StatusService, VersionModule } from './services/system/statusService.js';
import { UsersService } from './services/users/usersService.js';
import { Database } from './store/database.js';

/** One concern over the bus (a protocol adapter, a bridge, a runtime): started in order, stopped in reverse. */
export interface Extension {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppContext {
  config: Config;
  logger: Logger;
  logs: LogHub;
  bus: EventBus;
  db: Database;
  auth: AuthService;
  users: UsersService;
  modules: ModuleRegistry;
  status: StatusService;
  http: { server: Server; api: HttpApi };
  /** The Socket.IO server on http_port: NestMTX on `/`, Antimony on its namespaces. */
  io: SocketIOServer;
  /** Set to the AbortSignal of stop(): long-running work watches it. */
  stopping: AbortSignal;
  /** Ports actually bound, by name (http, monitor, mqtt): extensions record theirs here. */
  boundPorts: Map<string, number>;
}

export interface AppOptions {
  /** null: keep logs in memory only (tests). Default: stdout. */
  logOut?: ((line: string) => void) | null;
  logFormat?: LogFormat;
}

export interface App {
  context: AppContext;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Actual ports after start (useful with port 0), e.g. {http, monitor, mqtt}. */
  ports(): Record<string, number>;
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createApp(config: Config, options: AppOptions = {}): App {
  const { logger, hub: logs } = createLogging({ level: config.log_level, out: options.logOut, format: options.logFormat });
  const bus = new EventBus(logger.child({ service: 'bus' }));
  const db = Database.inDir(config.data_dir, logger.child({ service: 'store' }));
  const status = new StatusService(VERSION, bus);
  const auth = new AuthService(db.collection('users'), db.collection('tokens'), bus, {
    tokenTtlMs: config.token_ttl_hours * 3_600_000,
    logger: logger.child({ service: 'auth' }),
  });
  const users = new UsersService(db.collection('users'), auth, bus, logger.child({ service: 'users' }));
  const modules = new ModuleRegistry();
  modules.register(users);
  modules.register(new HealthModule(status));
  modules.register(new VersionModule(status));

  const api = createHttpApi({ auth, modules, status, logger: logger.child({ service: 'http' }) });
  const server = createServer(api.app);
  const io = new SocketIOServer(server, {
    // Other upgrade paths (/api/v1) share this HTTP server: leave their upgrades alone.
    destroyUpgrade: false,
    maxHttpBufferSize: 1_000_000,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    connectTimeout: 10_000,
  });
  const abort = new AbortController();

  const boundPorts = new Map<string, number>();
  const context: AppContext = { config, logger, logs, bus, db, auth, users, modules, status, http: { server, api }, io, stopping: abort.signal, boundPorts };
  const extensions: Extension[] = [];
  const started: Extension[] = [];

  // --- Domain services and extensions. Each feature adds its own lines here, in dependency order:
  // services first (they register their module with `modules`), then protocol adapters and bridges.

  // --- end of services and extensions

  const listen = (srv: Server, port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        resolve((srv.address() as AddressInfo).port);
      });
    });

  return {
    context,
    ports: () => Object.fromEntries(boundPorts),
    async start() {
      const t0 = Date.now();
      await db.open();
      await users.bootstrap(config.admin_username, config.admin_password);
      for (const ext of extensions) {
        await ext.start();
        started.push(ext);
      }
      const httpPort = await listen(server, config.http_port, config.http_host);
      boundPorts.set('http', httpPort);
      logger.info({ ports: Object.fromEntries(boundPorts), version: VERSION, ms: Date.now() - t0 }, 'switchboard started');
    },
    async stop() {
      abort.abort();
      for (const ext of started.reverse()) {
        try {
          await ext.stop();
        } catch (err) {
          logger.error({ err, extension: ext.name }, 'extension failed to stop');
        }
      }
      started.length = 0;
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        server.closeAllConnections();
      });
      await db.flush();
      logger.info('switchboard stopped');
      logger.flush();
    },
  };
}
