// Composition root: builds every service and adapter with explicit dependencies, so a test can
// start a whole server on ephemeral ports and stop it again.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Server as SocketIOServer } from 'socket.io';
import { AuthService } from './auth/authService.js';
import { SessionRegistry } from './auth/sessions.js';
import { SignedUrls } from './auth/signedUrls.js';
import type { Config } from './config/schema.js';
import type { Extension } from './core/extension.js';
import { EventBus } from './core/eventBus.js';
import { CardInstaller } from './bridges/homeassistant/cardInstaller.js';
import { HaCoreApi, resolveRestTarget } from './bridges/homeassistant/haCoreApi.js';
import { HomeAssistantBridge } from './bridges/homeassistant/homeAssistantBridge.js';
import { defaultBaseUrl, HaLiveViewEntries } from './bridges/homeassistant/liveViewEntries.js';
import type { RefusalLimits } from './bridges/mqtt/refusals.js';
import { createMqttBridge } from './bridges/mqtt/index.js';
import type { MqttBridge } from './bridges/mqtt/mqttBridge.js';
import { createLogging, type LogFormat, type LogHub } from './logging/logger.js';
import { createHttpApi, type HttpApi } from './protocols/http/httpApi.js';
import { mountStreamRoutes } from './protocols/http/streamRoutes.js';
import { mountLiveViewRoutes } from './protocols/http/liveViewRoutes.js';
import { mountMonitorCommandRoute } from './protocols/http/monitorCommandRoute.js';
import { mountBrokerRoute } from './protocols/http/brokerRoute.js';
import { HttpListener } from './protocols/http/httpListener.js';
import { StreamService } from './camera/streaming/streamService.js';
import { Recordings } from './camera/streaming/recordings.js';
import { MediaFolders } from './camera/streaming/mediaFolders.js';
import { SnapshotFiles } from './camera/streaming/snapshotFiles.js';
import { FfmpegHealth } from './camera/streaming/ffmpegHealth.js';
import { AltoponixServer } from './protocols/altoponix/altoponixServer.js';
import { NestmtxAdapter, type NestmtxClientEvents, type NestmtxServerEvents, type NestmtxSocketData } from './protocols/nestmtx/nestmtxAdapter.js';
import { mountCredentialsCallback } from './protocols/http/credentialsCallbackRoute.js';
import { CredentialsService } from './services/credentials/credentialsService.js';
import { SecretBox } from './services/credentials/secretBox.js';
import { AntimonyAdapter } from './protocols/antimony/antimonyAdapter.js';
import type { AntimonyClientEvents, AntimonyServerEvents, AntimonySocketData } from './protocols/antimony/sockets.js';
import { LabsService } from './services/labs/labsService.js';
import { RuntimeRegistry } from './services/labs/runtime.js';
import { CameraRuntime } from './services/labs/runtimes/cameraRuntime.js';
import { ContainerlabRuntime } from './services/labs/runtimes/containerlabRuntime.js';
import { ExecRuntime } from './services/labs/runtimes/execRuntime.js';
import { ModuleRegistry } from './services/modules.js';
import { StatusMessageSources } from './services/statusMessages/busSources.js';
import { StatusMessagesService } from './services/statusMessages/statusMessagesService.js';
import { MonitorRelay } from './services/monitors/monitorRelay.js';
import { MonitorsService } from './services/monitors/monitorsService.js';
import { HealthModule, StatusService, VersionModule } from './services/system/statusService.js';
import { isStorageFault, StorageHealth } from './services/system/storageHealth.js';
import { UsersService } from './services/users/usersService.js';
import { LiveViewService } from './services/liveViews/liveViewService.js';
import { Database } from './store/database.js';
import { CameraService } from './camera/cameraService.js';
import { loadV4l2Driver, videoNodesPresent } from './camera/driverLoader.js';
import { SimulatedDriver } from './camera/drivers/simulated/simulatedDriver.js';
import { RotoclearServer } from './protocols/rotoclear/rotoclearServer.js';
import { IngressSignIn } from './auth/ingress.js';
import { HaRoles } from './auth/haRoles.js';
import { haUserDirectory } from './bridges/homeassistant/haUsers.js';
import { resolveTarget } from './bridges/homeassistant/haSocket.js';
import { mountIngressRoutes } from './protocols/http/ingressRoutes.js';
import { mountPanel } from './protocols/http/panel.js';

/**
 * One Socket.IO server carries both protocols, so its types are both maps at once; each adapter
 * takes it as its own typed server (an intersection is assignable to each part).
 */
type SwitchboardIo = SocketIOServer<
  NestmtxClientEvents & AntimonyClientEvents,
  NestmtxServerEvents & AntimonyServerEvents,
  Record<string, never>,
  NestmtxSocketData & AntimonySocketData
>;

export interface AppContext {
  config: Config;
  logger: Logger;
  logs: LogHub;
  bus: EventBus;
  db: Database;
  auth: AuthService;
  /** Every open connection's session; adapters get their actor here. */
  sessions: SessionRegistry;
  users: UsersService;
  modules: ModuleRegistry;
  status: StatusService;
  /** Which stores (data, media) can be written; writers report faults into it. */
  storage: StorageHealth;
  http: { server: Server; api: HttpApi };
  mqtt: MqttBridge;
  /** The Home Assistant websocket bridge (tests send a command behind others to know they were answered). */
  homeassistant: HomeAssistantBridge;
  credentials: CredentialsService;
  monitors: MonitorsService;
  /** The Altoponix relay's live state: who is online, attached users, pending commands. */
  monitorRelay: MonitorRelay;
  statusMessages: StatusMessagesService;
  labs: LabsService;
  cameras: CameraService;
  streams: StreamService;
  recordings: Recordings;
  liveViews: LiveViewService;
  /** The simulated camera driver (tests pull and replug its devices). */
  simulatedCameras: SimulatedDriver;
  /** The Socket.IO server on http_port: NestMTX on `/`, Antimony on its namespaces. */
  io: SwitchboardIo;
  /** Set to the AbortSignal of stop(): long-running work watches it. */
  stopping: AbortSignal;
  /** Ports actually bound, by name (http, monitor, mqtt): extensions record theirs here. */
  boundPorts: Map<string, number>;
}

export interface AppOptions {
  /** null: keep logs in memory only (tests). Default: stdout. */
  logOut?: ((line: string) => void) | null;
  logFormat?: LogFormat;
  /** How often refused MQTT commands are logged (tests that count refusals shorten the window). */
  mqttRefusalLimits?: RefusalLimits;
  /**
   * Simulated cameras get an LED flash with torch levels, so the demo has a light (vivid has none).
   * Default true; false gives vivid's exact control set (for comparing with the kernel's driver).
   */
  simulatedFlash?: boolean;
}

export interface App {
  context: AppContext;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Actual ports after start (useful with port 0), e.g. {http, monitor, mqtt}. */
  ports(): Record<string, number>;
}

/** Where a generated first admin password is written (owner-only), in data_dir. */
export const ADMIN_PASSWORD_FILE = 'admin-password.txt';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The camera card bundle built by `npm run build:card` (same relative place from src/ and dist/). */
const CARD_BUNDLE = fileURLToPath(new URL('../card/dist/switchboard-camera-card.js', import.meta.url));
/** The web panel built by `npm run build:web`; resolved here because the server bundle (dist/main.js) keeps only this file's place. */
const PANEL_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));

/** Where a browser on this machine reaches the panel: a wildcard listen address means every interface. */
function panelAddress(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

export function createApp(config: Config, options: AppOptions = {}): App {
  const { logger, hub: logs } = createLogging({ level: config.log_level, out: options.logOut, format: options.logFormat });
  const bus = new EventBus(logger.child({ service: 'bus' }));
  const db = Database.inDir(config.data_dir, logger.child({ service: 'store' }));
  const status = new StatusService(VERSION, bus);
  const storage = new StorageHealth(bus, status, logger.child({ service: 'storage' }));
  db.watch({ written: () => storage.written('data'), failed: (err) => storage.fault('data', err), isFault: isStorageFault });
  // While the data store is failing, try writing what is held in memory; success clears the fault.
  storage.onRecoveryProbe('data', () => db.persist());
  const auth = new AuthService(db.collection('users'), db.collection('tokens'), bus, {
    tokenTtlMs: config.token_ttl_hours * 3_600_000,
    trustedProxies: config.trusted_proxies,
    logger: logger.child({ service: 'auth' }),
  });
  const sessions = new SessionRegistry(auth, bus, new SignedUrls({ dataDir: config.data_dir, logger: logger.child({ service: 'signed-urls' }) }), { logger: logger.child({ service: 'sessions' }) });
  const users = new UsersService(db.collection('users'), auth, bus, logger.child({ service: 'users' }));
  const modules = new ModuleRegistry();
  modules.register(users);
  modules.register(new HealthModule(status));
  modules.register(new VersionModule(status));

  const api = createHttpApi({ auth, sessions, modules, status, logger: logger.child({ service: 'http' }) });
  const server = createServer(api.app);
  const io: SwitchboardIo = new SocketIOServer(server, {
    // Other upgrade paths (/api/v1) share this HTTP server: leave their upgrades alone.
    destroyUpgrade: false,
    maxHttpBufferSize: 1_000_000,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    connectTimeout: 10_000,
  });
  // engine.io leaves foreign upgrades alone (destroyUpgrade: false) so /api/v1 can take its own;
  // any other upgrade path would hang open, so refuse it here.
  server.on('upgrade', (req, socket) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/socket.io/') || path === '/api/v1') return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  const abort = new AbortController();

  const boundPorts = new Map<string, number>();
  const extensions: Extension[] = [];
  const started: Extension[] = [];

  // --- Domain services and extensions. Each feature adds its own lines here, in dependency order:
  // services first (they register their module with `modules`), then protocol adapters and bridges.

  // Status messages first, so events other services publish while starting become messages too.
  const statusMessages = new StatusMessagesService(bus, logger.child({ service: 'status-messages' }));
  extensions.push(new StatusMessageSources(bus, statusMessages));

  const monitorRecords = db.collection('monitors');
  const monitorRelay = new MonitorRelay(monitorRecords, bus, {
    openRegistration: config.monitors.open_registration,
    commandTimeoutMs: config.monitors.command_timeout_seconds * 1000,
    logger: logger.child({ service: 'monitors' }),
  });
  const monitors = new MonitorsService(monitorRecords, bus, monitorRelay);
  modules.register(monitors);
  mountMonitorCommandRoute(api.routes, { sessions, relay: monitorRelay });
  extensions.push(monitorRelay);
  extensions.push(
    new AltoponixServer({
      relay: monitorRelay, sessions, status,
      logger: logger.child({ service: 'altoponix' }),
      host: config.http_host,
      port: config.monitor_port,
      onListening: (port) => boundPorts.set('monitor', port),
    }),
  );

  // Cameras before everything that demands or controls them (credentials, labs, bridges).
  const ffmpeg = new FfmpegHealth(config.cameras.ffmpeg_path, status, logger.child({ service: 'ffmpeg' }));
  extensions.push(ffmpeg);
  const simulated = new SimulatedDriver({ flash: options.simulatedFlash !== false });
  const cameras = new CameraService({
    cameras: db.collection('cameras'),
    bus,
    config: config.cameras,
    status,
    logger: logger.child({ service: 'cameras' }),
    simulated,
    loadV4l2: () => loadV4l2Driver(logger.child({ service: 'cameras' })),
    v4l2NodesPresent: () => videoNodesPresent(config.cameras.devices),
    assertMediaWritable: () => storage.assertWritable('media'),
    assertCaptureWorks: () => ffmpeg.assertUsable(),
  });
  modules.register(cameras);
  extensions.push(cameras);
  // One map of camera → media folder for recordings and saved snapshots.
  const mediaFolders = new MediaFolders(config.recording.media_dir, logger.child({ service: 'recordings' }));
  const snapshotFiles = new SnapshotFiles(mediaFolders, config.recording.snapshot_keep, logger.child({ service: 'streams' }));
  const streams = new StreamService(cameras, bus, config, logger.child({ service: 'streams' }), snapshotFiles, ffmpeg);
  mountStreamRoutes(api.routes, { sessions, streams, bus });
  extensions.push(streams);
  const recordings = new Recordings(cameras, streams, bus, config, storage, logger.child({ service: 'recordings' }), mediaFolders, ffmpeg);
  extensions.push(recordings);
  extensions.push(new RotoclearServer({ server, cameras, auth, sessions, bus, status, logger: logger.child({ service: 'rotoclear' }) }));

  const credentials = new CredentialsService({
    collection: db.collection('credentials'),
    bus,
    box: SecretBox.inDir(config.data_dir),
    logger: logger.child({ service: 'credentials' }),
  });
  modules.register(credentials);
  mountCredentialsCallback(api.routes, credentials);
  extensions.push(credentials);

  extensions.push(new NestmtxAdapter({ io, sessions, modules, bus, logs, status, logger: logger.child({ service: 'nestmtx' }) }, { logLevels: config.nestmtx.log_levels }));

  // Labs after the cameras: a scheduled lab may deploy (and demand a camera) right after start.
  const labs = new LabsService(db.collection('labs'), bus, {
    runtimes: new RuntimeRegistry([
      new CameraRuntime(cameras),
      new ExecRuntime({ allowed: config.labs.allow_exec }),
      new ContainerlabRuntime({ labsDir: join(config.data_dir, 'labs') }),
    ]),
    messages: statusMessages,
    userExists: (id) => db.collection('users').get(id) !== undefined,
    roleOf: (id) => db.collection('users').get(id)?.role,
    logger: logger.child({ service: 'labs' }),
  });
  modules.register(labs);
  extensions.push(labs);
  extensions.push(new AntimonyAdapter({ io, sessions, bus, labs, status, logger: logger.child({ service: 'antimony' }) }));

  const haBridge = new HomeAssistantBridge({
      config: config.homeassistant,
      env: process.env,
      bus,
      status,
      logger: logger.child({ service: 'homeassistant' }),
      sources: { credentials: () => credentials.all(), monitors: () => monitors.all(), cameras: () => cameras.all(), failingStores: () => storage.failing() },
      cameras,
      card: config.homeassistant.card
        ? new CardInstaller({ configDir: config.homeassistant.config_dir, bundlePath: CARD_BUNDLE, version: VERSION, status, logger: logger.child({ service: 'card' }) })
        : undefined,
  });
  extensions.push(haBridge);
  // Home Assistant administrators are admins here (asked over the HA bridge's websocket).
  const haRoles = new HaRoles({
    directory: 'disabled' in resolveTarget(config.homeassistant, process.env) ? null : haUserDirectory((message) => haBridge.command(message)),
    accounts: users,
    bus,
    logger: logger.child({ service: 'ha-roles' }),
  });
  extensions.push(haRoles);

  // HTTP listens once every service and adapter behind its routes has started, and before the
  // extensions that hand out its address.
  extensions.push(new HttpListener({ server, host: config.http_host, port: config.http_port, onListening: (port) => boundPorts.set('http', port), logger: logger.child({ service: 'http' }) }));

  // Live view entries in HA: after the HA bridge, whose websocket reads the entity registry.
  const haRest = config.homeassistant.enabled ? resolveRestTarget(config.homeassistant, process.env) : null;
  const liveViewEntries = haRest
    ? new HaLiveViewEntries({
        api: new HaCoreApi(haRest),
        signedPaths: (id) => ({ stream: sessions.signLiveUrl(streams.livePath(id)), still: sessions.signLiveUrl(streams.livePath(id, 'snapshot.jpg')) }),
        baseUrl: defaultBaseUrl(() => boundPorts.get('http')),
        haCommand: (message) => haBridge.command(message),
        logger: logger.child({ service: 'live-views' }),
      })
    : null;
  const liveViews = new LiveViewService({
    config: config.homeassistant,
    records: db.collection('live_views'),
    bus,
    entries: liveViewEntries,
    cameras,
    haConnected: () => status.health().components.homeassistant?.state === 'ok',
    logger: logger.child({ service: 'live-views' }),
  });
  mountLiveViewRoutes(api.routes, { sessions, liveViews });
  extensions.push(liveViews);

  // The MQTT bridge last: it starts after every service and stops first (publishing "offline").
  const mqttBridge = createMqttBridge({ config: config.mqtt, dataDir: config.data_dir, bus, status, logger: logger.child({ service: 'mqtt' }), cameras, streams, liveViews, credentials, monitors, monitorRelay, boundPorts, ...(options.mqttRefusalLimits ? { refusalLimits: options.mqttRefusalLimits } : {}) });
  extensions.push(mqttBridge);
  mountBrokerRoute(api.routes, { sessions, embeddedBroker: () => mqttBridge.embeddedBroker() });

  // Home Assistant ingress sign-in, then the web panel: mounted last so it never shadows an /api route.
  const ingress = new IngressSignIn({ users, auth, trustedProxies: config.ingress_trusted_proxies, roles: haRoles });
  mountIngressRoutes(api.routes, ingress);
  mountPanel(api.routes, { dir: PANEL_DIR, ingress, version: VERSION, ports: () => Object.fromEntries(boundPorts), logger: logger.child({ service: 'panel' }) });

  // --- end of services and extensions

  const context: AppContext = {
    config, logger, logs, bus, db, auth, sessions, users, storage, simulatedCameras: simulated, modules, status, http: { server, api }, io, stopping: abort.signal, boundPorts,
    mqtt: mqttBridge, homeassistant: haBridge, credentials, monitors, monitorRelay, statusMessages, labs, cameras, streams, recordings, liveViews,
  };

  return {
    context,
    ports: () => Object.fromEntries(boundPorts),
    async start() {
      const t0 = Date.now();
      await db.open();
      storage.track('data');
      storage.track('media');
      const generated = await users.bootstrap(config.admin_username, config.admin_password, join(config.data_dir, ADMIN_PASSWORD_FILE));
      // Shown once to the operator, straight to stdout: never through the logger, its ring or its streams.
      if (generated && options.logOut !== null) process.stdout.write(`switchboard: the admin user "${config.admin_username}" was created with the password ${generated} (also in ${join(config.data_dir, ADMIN_PASSWORD_FILE)}); sign in to the web panel and change it on its Users page\n`);
      sessions.start();
      for (const ext of extensions) {
        await ext.start();
        started.push(ext);
      }
      logger.info({ ports: Object.fromEntries(boundPorts), version: VERSION, ms: Date.now() - t0 }, 'switchboard started');
      const panelUrl = panelAddress(config.http_host, boundPorts.get('http') ?? config.http_port);
      logger.info({ url: panelUrl }, `the web panel is at ${panelUrl}${process.env.SUPERVISOR_TOKEN ? ' (and in Home Assistant’s sidebar)' : ''}`);
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
      sessions.stop();
      storage.stop();
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
