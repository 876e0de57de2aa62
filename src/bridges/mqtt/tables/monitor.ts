// Altoponix monitors: one HA device each; available while the monitor is connected.
import type { Actor } from '../../../auth/records.js';
import type { MonitorRelay } from '../../../services/monitors/monitorRelay.js';
import type { MonitorsService } from '../../../services/monitors/monitorsService.js';
import type { MonitorView } from '../../../services/monitors/records.js';
import { PUBLIC_EVENTS } from '../../../core/events.js';
import type { DeviceTable } from '../entities.js';
import { parseText } from '../payloads.js';

/** HA's text entity allows at most 255 characters. */
const TEXT_MAX = 255;

/** The Event entity's event types: the monitor's public events. */
export const MONITOR_EVENTS = PUBLIC_EVENTS.monitor;

/** `actor`: who MQTT commands act as (mqtt.command_role), judged by the permission table. */
export function monitorTable(monitors: MonitorsService, relay: MonitorRelay, actor: Actor): DeviceTable<MonitorView> {
  return {
    kind: 'monitor',
    domains: ['monitor'],
    list: () => monitors.all(),
    id: (m) => m.id,
    device: (m) => ({ name: m.name || m.monitor_id, model: 'Altoponix monitor' }),
    available: (m) => m.online,
    rows: [
      { key: 'online', component: 'binary_sensor', name: 'Connection', device_class: 'connectivity', state: (m) => (m.online ? 'ON' : 'OFF') },
      { key: 'last_command', component: 'sensor', name: 'Last command', icon: 'mdi:console-line', state: (m) => m.last_command },
      { key: 'last_result', component: 'sensor', name: 'Last result', icon: 'mdi:check-circle-outline', state: (m) => m.last_result },
      { key: 'last_seen', component: 'sensor', name: 'Last seen', device_class: 'timestamp', entity_category: 'diagnostic', state: (m) => m.last_seen },
      {
        key: 'command',
        component: 'text',
        name: 'Send command',
        icon: 'mdi:send',
        followsDevice: true,
        options: () => ({ min: 1, max: TEXT_MAX }),
        state: (m) => m.last_command?.slice(0, TEXT_MAX) ?? null,
        command: async (m, payload) => {
          await relay.sendCommand(actor, m.id, parseText(payload, TEXT_MAX));
        },
      },
      { key: 'event', component: 'event', name: 'Event', events: MONITOR_EVENTS },
    ],
  };
}
