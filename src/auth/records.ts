export type Role = 'admin' | 'user' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'user', 'viewer'];

export interface UserRecord {
  id: string;
  username: string;
  role: Role;
  can_login: boolean;
  /** scrypt$N$r$p$salt$hash — never leaves the service. */
  password_hash: string;
  created_at: string;
  updated_at: string;
  /** Set for users signed in through Home Assistant ingress. */
  ha_user_id?: string;
  /** Home Assistant's last answer to "is this user an HA administrator?" (auth/haRoles.ts). */
  ha_admin?: boolean;
}

export interface TokenRecord {
  id: string;
  user_id: string;
  /** sha256 of the bearer token; the token itself is never stored. */
  hash: string;
  created_at: string;
  expires_at: string;
}

/** Who is asking. Every service call carries one; `system` is the add-on itself (MQTT, HA, schedules). */
export interface Actor {
  kind: 'user' | 'system';
  userId: string | null;
  username: string;
  role: Role;
  /** The bearer token's record id, so sockets can be dropped when it is revoked. */
  tokenId?: string;
}

export const SYSTEM_ACTOR: Actor = { kind: 'system', userId: null, username: 'switchboard', role: 'admin' };

// What each role may do is decided in one place: src/auth/permissions.ts.
