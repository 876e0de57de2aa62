// Builds the MQTT bridge: one device table per domain, over the services that own them.
import type { Logger } from 'pino';
import type { CameraService } from '../../camera/cameraService.js';
import type { StreamService } from '../../camera/streaming/streamService.js';
import type { Config } from '../../config/schema.js';
import type { EventBus } from '../../core/eventBus.js';
import type { CredentialsService } from '../../services/credentials/credentialsService.js';
import type { MonitorRelay } from '../../services/monitors/monitorRelay.js';
import type { MonitorsService } from '../../services/monitors/monitorsService.js';
import type { StatusService } from '../../services/system/statusService.js';
import type { Actor } from '../../auth/records.js';
import { bindTable, type DeviceSource } from './entities.js';
import { MqttBridge } from './mqttBridge.js';
import type { RefusalLimits } from './refusals.js';
import { cameraTable, type LiveEntitySource } from './tables/camera.js';
import { ADDON_KIND, ADDON_OBJECT_ID, addonTable } from './tables/addon.js';
import { credentialTable } from './tables/credentials.js';
import { monitorTable } from './tables/monitor.js';
import { DEFAULT_BASE_TOPIC, deviceIdOf } from './topics.js';

/** The default base topic keeps HA's plain entity ids; any other one (a second host) prefixes them. */
const instancePrefix = (baseTopic: string): string | undefined => (baseTopic === DEFAULT_BASE_TOPIC ? undefined : baseTopic);

/** The services the bridge translates, as the composition root hands them over (mqttBridge.ts takes the assembled tables). */
export interface MqttBridgeServices {
  config: Config['mqtt'];
  dataDir: string;
  bus: EventBus;
  status: StatusService;
  logger: Logger;
  cameras: CameraService;
  streams: StreamService;
  liveViews: LiveEntitySource;
  credentials: CredentialsService;
  monitors: MonitorsService;
  monitorRelay: MonitorRelay;
  /** Ports actually bound, by name: the embedded broker records its own. */
  boundPorts: Map<string, number>;
  /** How often refused commands are logged (tests shorten the window); default once a minute per topic. */
  refusalLimits?: RefusalLimits;
}

export function createMqttBridge(deps: MqttBridgeServices): MqttBridge {
  // MQTT commands act as a least-privilege actor through the same permission table as every client.
  const actor: Actor = { kind: 'system', userId: null, username: 'mqtt', role: deps.config.command_role };
  const cameras = cameraTable(deps.cameras, actor, {
    snapshots: deps.streams,
    liveViews: deps.liveViews,
    entityIdPrefix: instancePrefix(deps.config.base_topic),
    refused: (cameraId, r) => deps.bus.publish('camera', cameraId, 'commandRefused', { ...r, origin: 'mqtt' }),
  });
  const sources: DeviceSource[] = [
    bindTable(addonTable(deps.status, deps.config.base_topic), deviceIdOf),
    bindTable(cameras, deviceIdOf),
    bindTable(credentialTable(deps.credentials), deviceIdOf),
    bindTable(monitorTable(deps.monitors, deps.monitorRelay, actor), deviceIdOf),
  ];
  return new MqttBridge({
    config: deps.config,
    dataDir: deps.dataDir,
    bus: deps.bus,
    status: deps.status,
    logger: deps.logger,
    version: deps.status.version,
    boundPorts: deps.boundPorts,
    sources,
    hubDeviceId: deviceIdOf(ADDON_KIND, ADDON_OBJECT_ID),
    env: process.env,
    ...(deps.refusalLimits ? { refusalLimits: deps.refusalLimits } : {}),
  });
}
