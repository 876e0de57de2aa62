// The add-on's own device: connected socket clients per protocol, version, health and storage problems.
import type { StatusService } from '../../../services/system/statusService.js';
import { storeComponent, type StoreName } from '../../../services/system/storageHealth.js';
import type { DeviceTable, EntityRow } from '../entities.js';
import { DEFAULT_BASE_TOPIC } from '../topics.js';

/** The socket protocols whose clients are counted (StatusService.setClients names). */
export const CLIENT_PROTOCOLS = [
  { protocol: 'nestmtx', label: 'NestMTX' },
  { protocol: 'antimony', label: 'Antimony' },
  { protocol: 'rotoclear', label: 'Rotoclear' },
  { protocol: 'altoponix', label: 'Altoponix' },
] as const;

/** One `problem` binary_sensor per store (StorageHealth reports them as health components). */
const STORES: { store: StoreName; label: string }[] = [
  { store: 'data', label: 'Data store' },
  { store: 'media', label: 'Media folder' },
];

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
    entity_category: 'diagnostic',
    state_class: 'measurement',
    state: (s) => String(s.health().clients[protocol] ?? 0),
  }));
  const storageRows: EntityRow<StatusService>[] = STORES.map(({ store, label }) => ({
    key: `${store}_store_problem`,
    component: 'binary_sensor',
    name: `${label} problem`,
    device_class: 'problem',
    entity_category: 'diagnostic',
    enabledByDefault: true,
    // A store nobody has reported on has no known fault.
    state: (s) => (s.health().components[storeComponent(store)]?.state === 'error' ? 'ON' : 'OFF'),
  }));
  return {
    kind: ADDON_KIND,
    domains: ['system'],
    list: () => [status],
    id: () => ADDON_OBJECT_ID,
    device: (s) => ({ name, model: 'Switchboard add-on', sw_version: s.version }),
    rows: [
      ...clientRows,
      ...storageRows,
      { key: 'version', component: 'sensor', name: 'Version', entity_category: 'diagnostic', icon: 'mdi:tag', state: (s) => s.version },
      { key: 'health', component: 'sensor', name: 'Health', entity_category: 'diagnostic', device_class: 'enum', options: () => ({ options: ['ok', 'degraded'] }), state: (s) => s.health().status },
    ],
  };
}
