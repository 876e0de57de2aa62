// Builds the MQTT bridge from the app context: one device table per domain whose service exists.
import type { AppContext } from '../../app.js';
import { bindTable, type DeviceSource } from './entities.js';
import { MqttBridge } from './mqttBridge.js';
import { cameraTable } from './tables/camera.js';
import { ADDON_KIND, ADDON_OBJECT_ID, addonTable } from './tables/addon.js';
import { credentialTable } from './tables/credentials.js';
import { monitorTable } from './tables/monitor.js';
import { DEFAULT_BASE_TOPIC, deviceIdOf } from './topics.js';

/** The default base topic keeps HA's plain entity ids; any other one (a second host) prefixes them. */
const instancePrefix = (baseTopic: string): string | undefined => (baseTopic === DEFAULT_BASE_TOPIC ? undefined : baseTopic);

export function createMqttBridge(context: AppContext): MqttBridge {
  const sources = (): DeviceSource[] => {
    const list = [bindTable(addonTable(context.status, context.config.mqtt.base_topic), deviceIdOf)];
    if (context.cameras) {
      const table = cameraTable(context.cameras, { snapshots: context.streams, liveViews: context.liveViews, entityIdPrefix: instancePrefix(context.config.mqtt.base_topic) });
      list.push(bindTable(table, deviceIdOf));
    }
    if (context.credentials) list.push(bindTable(credentialTable(context.credentials), deviceIdOf));
    if (context.monitors) list.push(bindTable(monitorTable(context.monitors), deviceIdOf));
    return list;
  };
  return new MqttBridge({
    config: context.config.mqtt,
    dataDir: context.config.data_dir,
    bus: context.bus,
    status: context.status,
    logger: context.logger.child({ service: 'mqtt' }),
    version: context.status.version,
    boundPorts: context.boundPorts,
    sources,
    hubDeviceId: deviceIdOf(ADDON_KIND, ADDON_OBJECT_ID),
    env: process.env,
  });
}
