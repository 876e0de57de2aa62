// The shape of db.json and its migrations. Each collection's record type belongs to the service
// that owns it; this file only lists them.
import type { Logger } from 'pino';
import type { TokenRecord, UserRecord } from '../auth/records.js';
import type { CameraRecord } from '../camera/cameraRecord.js';
import type { LiveViewRecord } from '../services/liveViews/records.js';
import type { LabRecord } from '../services/labs/records.js';
import type { CredentialRecord } from '../services/credentials/records.js';
import type { MonitorRecord } from '../services/monitors/records.js';

export interface DbData {
  version: number;
  users: UserRecord[];
  tokens: TokenRecord[];
  cameras: CameraRecord[];
  credentials: CredentialRecord[];
  monitors: MonitorRecord[];
  labs: LabRecord[];
  /** Generic Camera entries in Home Assistant, one per camera (services/liveViews). */
  live_views: LiveViewRecord[];
}

export const SCHEMA_VERSION = 1;

export function emptyData(): DbData {
  return { version: SCHEMA_VERSION, users: [], tokens: [], cameras: [], credentials: [], monitors: [], labs: [], live_views: [] };
}

/** Brings a loaded file up to SCHEMA_VERSION. Add a step per version bump; never edit an old one. */
const MIGRATIONS: Record<number, (data: Record<string, unknown>) => void> = {
  // 1 is the first version: nothing to migrate yet.
};

export function migrate(loaded: unknown, logger?: Logger): { data: DbData; changed: boolean } {
  const base = emptyData();
  if (typeof loaded !== 'object' || loaded === null) return { data: base, changed: true };
  const data = { ...base, ...(loaded as Record<string, unknown>) } as unknown as DbData & Record<string, unknown>;
  let changed = false;
  if (typeof data.version !== 'number') {
    data.version = SCHEMA_VERSION;
    changed = true;
  }
  if (data.version > SCHEMA_VERSION) {
    throw new Error(`db.json has schema version ${data.version}, newer than this release (${SCHEMA_VERSION}); refusing to run an older release on it`);
  }
  while (data.version < SCHEMA_VERSION) {
    const step = MIGRATIONS[data.version + 1];
    step?.(data);
    data.version += 1;
    changed = true;
    logger?.info({ version: data.version }, 'database migrated');
  }
  for (const key of Object.keys(base) as (keyof DbData)[]) {
    if (key !== 'version' && !Array.isArray(data[key])) {
      (data as unknown as Record<string, unknown[]>)[key] = [];
      changed = true;
    }
  }
  return { data, changed };
}
