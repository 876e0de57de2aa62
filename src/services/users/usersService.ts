// The users module: accounts, roles and passwords. Every rule about users lives here.
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuthService } from '../../auth/authService.js';
import { generatePassword, hashPassword, verifyPassword } from '../../auth/passwords.js';
import { authorize, can } from '../../auth/permissions.js';
import { ROLES, type Actor, type Role, type UserRecord } from '../../auth/records.js';
import { findByUsername, usernameKey } from '../../auth/usernames.js';
import type { EventBus } from '../../core/eventBus.js';
import { conflict, forbidden, notFound, validationError } from '../../core/errors.js';
import { newId, newSecret } from '../../core/ids.js';
import { parseInput } from '../../core/validation.js';
import type { Collection } from '../../store/database.js';
import { paginate, type ListQuery, type ListResult, type ModuleService } from '../modules.js';

export interface PublicUser {
  id: string;
  username: string;
  role: Role;
  can_login: boolean;
  created_at: string;
  updated_at: string;
}

const USERNAME_MAX = 64;
const username = z
  .string()
  .min(1)
  .max(USERNAME_MAX)
  .regex(/^[A-Za-z0-9_.@-]+$/, 'may contain letters, digits, _ . @ -');
const password = z.string().min(8, 'must be at least 8 characters').max(256);
const role = z.enum(ROLES as [Role, ...Role[]]);

const createSchema = z.object({ username, password, role: role.default('user'), can_login: z.boolean().default(true) }).strict();
const adminUpdateSchema = z
  .object({ username: username.optional(), password: password.optional(), current_password: z.string().max(256).optional(), role: role.optional(), can_login: z.boolean().optional() })
  .strict();
const selfUpdateSchema = z.object({ password, current_password: z.string().min(1, 'required to change your own password').max(256) }).strict();

export const toPublicUser = (u: UserRecord): PublicUser => ({
  id: u.id,
  username: u.username,
  role: u.role,
  can_login: u.can_login,
  created_at: u.created_at,
  updated_at: u.updated_at,
});

export class UsersService implements ModuleService {
  readonly name = 'users';

  constructor(
    private readonly users: Collection<UserRecord>,
    private readonly auth: AuthService,
    private readonly bus: EventBus,
    private readonly logger?: Logger,
  ) {}

  /**
   * First start: create the admin. Without a configured password a random one is generated and
   * written to `passwordFile` (owner-only) — never logged: log lines reach the log ring and its
   * subscribers. Returns the generated password so the operator can be shown it once on stdout.
   */
  async bootstrap(adminUsername: string, adminPassword: string | undefined, passwordFile: string): Promise<string | null> {
    if (this.users.all().length > 0) return null;
    const pw = adminPassword ?? generatePassword();
    await this.insert(adminUsername, pw, 'admin', true);
    if (adminPassword) {
      this.logger?.info({ username: adminUsername }, 'created the admin user');
      return null;
    }
    await writeFile(passwordFile, `${pw}\n`, { mode: 0o600 });
    this.logger?.warn({ username: adminUsername, file: passwordFile }, 'created the admin user with a generated password; it is in the file named here (delete the file after changing the password)');
    return pw;
  }

  /**
   * The user for a Home Assistant user on its first ingress visit: role `user`, `_2`, `_3`, …
   * appended while the name is taken. Nobody knows its password: it signs in through Home Assistant
   * until an admin sets one.
   */
  async createForHomeAssistant(name: string, haUserId: string): Promise<UserRecord> {
    let candidate = name;
    for (let i = 2; findByUsername(this.users, candidate); i += 1) {
      const suffix = `_${i}`;
      candidate = name.slice(0, USERNAME_MAX - suffix.length) + suffix;
    }
    const record = await this.insert(candidate, newSecret(24), 'user', true, haUserId);
    this.logger?.info({ username: candidate, ha_user_id: haUserId }, 'created a user for a Home Assistant user');
    return record;
  }

  /** The user mapped to a Home Assistant user, if it has visited before. */
  findByHomeAssistantId(haUserId: string): UserRecord | undefined {
    return this.users.find((u) => u.ha_user_id === haUserId);
  }

  /** Every user mapped to a Home Assistant user. */
  homeAssistantUsers(): UserRecord[] {
    return this.users.filter((u) => u.ha_user_id !== undefined);
  }

  /**
   * Home Assistant says whether this user is an HA administrator. When that answer differs from the
   * last one seen, the role follows it (admin, or `user`); a role an admin set in between stays
   * until HA's answer changes. The `updated` event makes the session registry re-judge open sessions.
   */
  async followHomeAssistant(user: UserRecord, haAdmin: boolean): Promise<UserRecord> {
    const current = this.users.get(user.id);
    if (!current || current.ha_admin === haAdmin) return current ?? user;
    let role: Role = haAdmin ? 'admin' : 'user';
    if (current.role === 'admin' && role !== 'admin' && current.can_login && this.adminCount() <= 1) {
      this.logger?.warn({ username: current.username }, 'Home Assistant no longer lists this user as an administrator, but it is the last Switchboard admin: it stays admin');
      role = 'admin';
    }
    const next: UserRecord = { ...current, ha_admin: haAdmin, role, updated_at: new Date().toISOString() };
    await this.users.update(current.id, () => next);
    if (role !== current.role) {
      this.logger?.info({ username: current.username, from: current.role, to: role }, 'role follows Home Assistant');
      this.bus.publish('user', current.id, 'updated', { fields: ['role'] });
    }
    return next;
  }

  private async insert(name: string, pw: string, r: Role, canLogin: boolean, haUserId?: string): Promise<UserRecord> {
    const now = new Date().toISOString();
    const record: UserRecord = { id: newId(), username: name, role: r, can_login: canLogin, password_hash: await hashPassword(pw), created_at: now, updated_at: now };
    if (haUserId !== undefined) record.ha_user_id = haUserId;
    await this.users.insert(record);
    this.bus.publish('user', record.id, 'created', haUserId === undefined ? { username: name, role: r } : { username: name, role: r, ha_user_id: haUserId });
    return record;
  }

  private get(id: string): UserRecord {
    const u = this.users.get(id);
    if (!u) throw notFound('User');
    return u;
  }

  private adminCount(): number {
    return this.users.filter((u) => u.role === 'admin' && u.can_login).length;
  }

  async list(actor: Actor, query: ListQuery): Promise<ListResult<PublicUser>> {
    authorize(actor, 'users.manage', 'Only admins may list users');
    return paginate(this.users.all().map(toPublicUser), query, ['username', 'role'], ['username', 'role', 'can_login', 'created_at', 'updated_at']);
  }

  async read(actor: Actor, id: string): Promise<PublicUser> {
    if (!can(actor.role, 'users.manage') && actor.userId !== id) throw forbidden('You may only read your own user');
    return toPublicUser(this.get(id));
  }

  async create(actor: Actor, payload: unknown): Promise<PublicUser> {
    authorize(actor, 'users.manage', 'Only admins may create users');
    const input = parseInput(createSchema, payload);
    if (findByUsername(this.users, input.username)) {
      throw conflict('Username already exists', [{ path: 'payload.username', message: 'already exists' }]);
    }
    return toPublicUser(await this.insert(input.username, input.password, input.role, input.can_login));
  }

  async update(actor: Actor, id: string, payload: unknown): Promise<PublicUser> {
    const isAdmin = can(actor.role, 'users.manage');
    if (!isAdmin && actor.userId !== id) throw forbidden('You may only change your own password');
    const current = this.get(id);
    const input = isAdmin ? parseInput(adminUpdateSchema, payload) : parseInput(selfUpdateSchema, payload);
    // A current password, when given (always by non-admins; by anyone changing their own), must match.
    if (input.password !== undefined && (!isAdmin || input.current_password !== undefined)) {
      if (!(await verifyPassword(input.current_password ?? '', current.password_hash))) {
        throw validationError('Validation failed', [{ path: 'payload.current_password', message: 'does not match' }]);
      }
    }
    if ('username' in input && input.username && usernameKey(input.username) !== usernameKey(current.username)) {
      if (findByUsername(this.users, input.username)) {
        throw conflict('Username already exists', [{ path: 'payload.username', message: 'already exists' }]);
      }
    }
    const next: UserRecord = { ...current, updated_at: new Date().toISOString() };
    if ('username' in input && input.username) next.username = input.username;
    if ('role' in input && input.role) next.role = input.role;
    if ('can_login' in input && input.can_login !== undefined) next.can_login = input.can_login;
    const wasActiveAdmin = current.role === 'admin' && current.can_login;
    const isActiveAdmin = next.role === 'admin' && next.can_login;
    if (wasActiveAdmin && !isActiveAdmin && this.adminCount() <= 1) throw conflict('Cannot demote or disable the last admin');
    if (input.password !== undefined) next.password_hash = await hashPassword(input.password);
    await this.users.update(id, () => next);
    if (input.password !== undefined || !next.can_login) await this.auth.revokeUserTokens(id);
    this.bus.publish('user', id, 'updated', { fields: Object.keys(input).filter((k) => k !== 'password' && k !== 'current_password') });
    return toPublicUser(next);
  }

  async delete(actor: Actor, id: string): Promise<PublicUser> {
    authorize(actor, 'users.manage', 'Only admins may delete users');
    const current = this.get(id);
    if (current.role === 'admin' && current.can_login && this.adminCount() <= 1) throw conflict('Cannot delete the last admin');
    await this.users.remove(id);
    await this.auth.revokeUserTokens(id);
    this.bus.publish('user', id, 'deleted', { username: current.username });
    return toPublicUser(current);
  }
}
