// Builds the MQTT bridge from the app context: one device table per domain whose service exists.
import type { AppContext } from '../../app.js';
import type { Actor } from '../../auth/records.js';
import { bindTable, type DeviceSource } from './entities.js';
import { MqttBridge } from './mqttBridge.js';
import { cameraTable } from './tables/camera.js';
import { ADDON_KIND, ADDON_OBJECT_ID, addonTable } from './tables/addon.js';
import { credentialTable } from './tables/credentials.js';
import { monitorTable } from './tables/monitor.js';
import { deviceIdOf } from './topics.js';

export function createMqttBridge(context: AppContext): MqttBridge {
  // MQTT commands act as a least-privilege actor through the same permission table as every client.
  const actor: Actor = { kind: 'system', userId: null, username: 'mqtt', role: context.config.mqtt.command_role };
  const sources = (): DeviceSource[] => {
    const list = [bindTable(addonTable(context.status), deviceIdOf)];
    if (context.cameras) list.push(bindTable(cameraTable(context.cameras, actor, context.streams), deviceIdOf));
    if (context.credentials) list.push(bindTable(credentialTable(context.credentials), deviceIdOf));
    if (context.monitors) list.push(bindTable(monitorTable(context.monitors, actor), deviceIdOf));
    return list;
  };
  return new MqttBridge({
    config: context.config.mqtt,
    bus: context.bus,
    status: context.status,
    logger: context.logger.child({ service: 'mqtt' }),
    version: context.status.version,
    boundPorts: context.boundPorts,
    sources,
    hubDeviceId: deviceIdOf(ADDON_KIND, ADDON_OBJECT_ID),
    env: process.env,
    dataDir: context.config.data_dir,
  });
}
