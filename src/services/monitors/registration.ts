// How a monitor record comes to be, shared by the module (an admin creates it) and the relay (open
// registration): the monitor_id rule, and the one insert that announces the new monitor on the bus.
import { z } from 'zod';
import type { EventBus } from '../../core/eventBus.js';
import { newId } from '../../core/ids.js';
import type { Collection } from '../../store/database.js';
import type { MonitorRecord } from './records.js';

const hasControlChars = (v: string): boolean => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export const monitorIdSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((v) => !hasControlChars(v), 'must not contain control characters');

export const isValidMonitorId = (v: unknown): v is string => monitorIdSchema.safeParse(v).success;

export interface NewMonitor {
  monitor_id: string;
  name: string;
  keyHash: string | null;
  /** Registered by the monitor's own `con` under open registration rather than by an admin. */
  auto: boolean;
}

export async function insertMonitor(records: Collection<MonitorRecord>, bus: EventBus, m: NewMonitor): Promise<MonitorRecord> {
  const now = new Date().toISOString();
  const record: MonitorRecord = {
    id: newId(),
    monitor_id: m.monitor_id,
    name: m.name,
    key_hash: m.keyHash,
    online: false,
    last_seen: null,
    last_command: null,
    last_result: null,
    auto_registered: m.auto,
    created_at: now,
    updated_at: now,
  };
  await records.insert(record);
  bus.publish('monitor', record.id, 'created', { monitor_id: m.monitor_id, auto_registered: m.auto });
  return record;
}
