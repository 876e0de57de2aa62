// OAuth credentials: one HA device each, so a dashboard or automation sees when one needs re-authentication.
import type { CredentialsService } from '../../../services/credentials/credentialsService.js';
import type { CredentialView } from '../../../services/credentials/records.js';
import { PUBLIC_EVENTS } from '../../../core/events.js';
import type { DeviceTable } from '../entities.js';

/** HA refuses sensor states longer than 255 characters. */
const STATE_MAX = 255;

export const CREDENTIAL_STATUSES = ['authorized', 'needs_reauth', 'unauthorized'] as const;
/** The Event entity's event types: the credential's public events (its problems). */
export const CREDENTIAL_EVENTS = PUBLIC_EVENTS.credentials;

const statusOf = (c: CredentialView): (typeof CREDENTIAL_STATUSES)[number] => (c.needs_reauth ? 'needs_reauth' : c.authorized ? 'authorized' : 'unauthorized');

export function credentialTable(credentials: CredentialsService): DeviceTable<CredentialView> {
  return {
    kind: 'credential',
    domains: ['credentials'],
    list: () => credentials.all(),
    id: (c) => c.id,
    device: (c) => ({ name: c.description, model: `OAuth credential (${c.provider})` }),
    rows: [
      { key: 'needs_reauth', component: 'binary_sensor', name: 'Re-authentication needed', device_class: 'problem', state: (c) => (c.needs_reauth ? 'ON' : 'OFF') },
      { key: 'status', component: 'sensor', name: 'Status', device_class: 'enum', options: () => ({ options: [...CREDENTIAL_STATUSES] }), state: statusOf },
      { key: 'expires_at', component: 'sensor', name: 'Token expires', device_class: 'timestamp', entity_category: 'diagnostic', state: (c) => c.expires_at },
      { key: 'last_error', component: 'sensor', name: 'Last error', icon: 'mdi:alert-circle-outline', entity_category: 'diagnostic', state: (c) => (c.last_error ?? 'none').slice(0, STATE_MAX) },
      { key: 'event', component: 'event', name: 'Event', events: CREDENTIAL_EVENTS },
    ],
  };
}
