// The stored shape of a monitor and the view every API returns (the key hash never leaves the service).

export interface MonitorRecord {
  id: string;
  /** The id the device sends in `con`; unique among records. */
  monitor_id: string;
  name: string;
  /** scrypt hash of the monitor's key, or null when the monitor needs none. */
  key_hash: string | null;
  online: boolean;
  last_seen: string | null;
  last_command: string | null;
  /** "done" or "failed: <reason>" for the last settled command. */
  last_result: string | null;
  /** Created by a `con` under open registration rather than by an admin. */
  auto_registered: boolean;
  created_at: string;
  updated_at: string;
}

export interface MonitorView {
  id: string;
  monitor_id: string;
  name: string;
  has_key: boolean;
  online: boolean;
  last_seen: string | null;
  last_command: string | null;
  last_result: string | null;
  auto_registered: boolean;
  /** Users currently attached through `query`. */
  users: number;
  /** Commands waiting for the monitor's answer (the first one is at the monitor). */
  pending: number;
  created_at: string;
  updated_at: string;
}
