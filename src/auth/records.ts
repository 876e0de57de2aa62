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

const RANK: Record<Role, number> = { viewer: 0, user: 1, admin: 2 };

/** viewer reads; user also controls (settings, demand, commands, own labs); admin also manages. */
export const hasRole = (actor: Actor, needed: Role): boolean => RANK[actor.role] >= RANK[needed];
