// The add-on's own device: connected socket clients per protocol, version and health.
import type { StatusService } from '../../../services/system/statusService.js';
import type { DeviceTable, EntityRow } from '../entities.js';
import { DEFAULT_BASE_TOPIC } from '../topics.js';

/** The socket protocols whose clients are counted (StatusService.setClients names). */
export const CLIENT_PROTOCOLS = [
  { protocol: 'nestmtx', label: 'NestMTX' },
  { protocol: 'antimony', label: 'Antimony' },
  { protocol: 'rotoclear', label: 'Rotoclear' },
  { protocol: 'altoponix', label: 'Altoponix' },
] as const;

export const ADDON_KIND = 'addon';
export const ADDON_OBJECT_ID = 'switchboard';

/** The table has one object: the status service itself. */
/** `baseTopic` names the instance: a second Switchboard on the same broker shows as its own device. */
export function addonTable(status: StatusService, baseTopic = DEFAULT_BASE_TOPIC): DeviceTable<StatusService> {
  const name = baseTopic === DEFAULT_BASE_TOPIC ? 'Switchboard' : `Switchboard (${baseTopic})`;
  const clientRows: EntityRow<StatusService>[] = CLIENT_PROTOCOLS.map(({ protocol, label }) => ({
    key: `clients_${protocol}`,
    component: 'sensor',
    name: `${label} clients`,
    icon: 'mdi:lan-connect',
    state_class: 'measurement',
    state: (s) => String(s.health().clients[protocol] ?? 0),
  }));
  return {
    kind: ADDON_KIND,
    domains: ['system'],
    list: () => [status],
    id: () => ADDON_OBJECT_ID,
    device: (s) => ({ name, model: 'Switchboard add-on', sw_version: s.version }),
    rows: [
      ...clientRows,
      { key: 'version', component: 'sensor', name: 'Version', entity_category: 'diagnostic', icon: 'mdi:tag', state: (s) => s.version },
      { key: 'health', component: 'sensor', name: 'Health', entity_category: 'diagnostic', device_class: 'enum', options: () => ({ options: ['ok', 'degraded'] }), state: (s) => s.health().status },
    ],
  };
}
