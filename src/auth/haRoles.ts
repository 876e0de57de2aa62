// Home Assistant administrators are Switchboard admins. For every user who signs in through
// ingress (mapped by `ha_user_id`), Home Assistant's own user list (websocket `config/auth/list`)
// says whether that person is an HA administrator (owner, or in the `system-admin` group). The
// answer is cached for `maxAgeMs` and asked again at a sign-in once it is older, at every
// (re)connection to Home Assistant and every `maxAgeMs` while running, so a promotion or demotion
// in HA reaches open sessions too: the users service changes the role and the session registry
// re-judges every open session of that user.
//
// The role follows HA when HA's answer changes (HA admin → `admin`, not an HA admin → `user`); a
// role set by a Switchboard admin in between stays until HA's answer changes again. When HA cannot
// be asked (not connected, or the token may not read users) every user keeps the last role it had;
// a new ingress user starts as `user` until HA answers.
import type { Logger } from 'pino';
import type { DomainEvent, EventBus } from '../core/eventBus.js';
import type { UserRecord } from './records.js';

/** One user of `config/auth/list` (home-assistant core components/config/auth.py `_user_info`). */
export interface HaUserInfo {
  id: string;
  name: string | null;
  username: string | null;
  is_owner: boolean;
  is_active: boolean;
  system_generated: boolean;
  group_ids: string[];
}

/** HA's administrators' group (homeassistant/auth/const.py GROUP_ID_ADMIN). */
export const HA_ADMIN_GROUP = 'system-admin';

export const isHaAdmin = (u: HaUserInfo): boolean => u.is_active && (u.is_owner || u.group_ids.includes(HA_ADMIN_GROUP));

/** The accounts side (UsersService): it owns what a changed HA answer does to a user. */
export interface HaRoleAccounts {
  /** Every user mapped to a Home Assistant user. */
  homeAssistantUsers(): UserRecord[];
  /** Applies HA's answer; changes the role only when the answer differs from the last one seen. */
  followHomeAssistant(user: UserRecord, haAdmin: boolean): Promise<UserRecord>;
}

export interface HaRolesDeps {
  /** Home Assistant's user list; throws when HA cannot be asked. null: no Home Assistant. */
  directory: (() => Promise<HaUserInfo[]>) | null;
  accounts: HaRoleAccounts;
  bus: EventBus;
  logger: Logger;
  /** How old an answer may be before a sign-in asks again (default 5 minutes). */
  maxAgeMs?: number;
  now?: () => number;
}

export const HA_ROLES_MAX_AGE_MS = 5 * 60_000;
/** After HA could not be asked, sign-ins wait this long before asking again (a burst asks once). */
const RETRY_AFTER_FAILURE_MS = 10_000;

export class HaRoles {
  readonly name = 'ha-roles';
  private admins = new Map<string, boolean>();
  private fetchedAt = -Infinity;
  private failedAt = -Infinity;
  private inflight: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Logged once per outage, not once per sign-in. */
  private failing = false;

  constructor(private readonly deps: HaRolesDeps) {}

  private get maxAgeMs(): number {
    return this.deps.maxAgeMs ?? HA_ROLES_MAX_AGE_MS;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async start(): Promise<void> {
    if (!this.deps.directory) return;
    this.deps.bus.subscribe(this, (e) => this.onEvent(e), ['system']);
    this.timer = setInterval(() => void this.refreshAll(), this.maxAgeMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.deps.bus.removeListeners(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inflight;
  }

  /** At an ingress sign-in: the user with the role HA's answer gives (asked again when stale). */
  async atSignIn(user: UserRecord): Promise<UserRecord> {
    if (!this.deps.directory || user.ha_user_id === undefined) return user;
    const now = this.now();
    if (now - this.fetchedAt >= this.maxAgeMs && now - this.failedAt >= RETRY_AFTER_FAILURE_MS) await this.fetch();
    const admin = this.admins.get(user.ha_user_id);
    return admin === undefined ? user : this.deps.accounts.followHomeAssistant(user, admin);
  }

  /** Asks HA now and applies its answer to every user mapped to an HA user. */
  async refreshAll(): Promise<void> {
    if (!(await this.fetch())) return;
    for (const user of this.deps.accounts.homeAssistantUsers()) {
      const admin = this.admins.get(user.ha_user_id!);
      if (admin === undefined) continue;
      try {
        await this.deps.accounts.followHomeAssistant(user, admin);
      } catch (err) {
        this.deps.logger.warn({ username: user.username, err: err instanceof Error ? err.message : String(err) }, 'could not apply the Home Assistant role');
      }
    }
  }

  private onEvent(e: DomainEvent): void {
    if (e.domain === 'system' && e.event === 'component' && e.entity === 'homeassistant' && e.details.state === 'ok') void this.refreshAll();
  }

  /** One question at a time; false when HA could not be asked (the last answer stays). */
  private fetch(): Promise<boolean> {
    this.inflight ??= this.ask().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async ask(): Promise<boolean> {
    try {
      const users = await this.deps.directory!();
      this.admins = new Map(users.filter((u) => !u.system_generated).map((u) => [u.id, isHaAdmin(u)]));
      this.fetchedAt = this.now();
      if (this.failing) this.deps.logger.info('Home Assistant answers who its administrators are again');
      this.failing = false;
      return true;
    } catch (err) {
      this.failedAt = this.now();
      if (!this.failing) this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot ask Home Assistant who its administrators are; ingress users keep their last role');
      this.failing = true;
      return false;
    }
  }
}
