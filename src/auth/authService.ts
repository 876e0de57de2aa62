// Sign-in and bearer tokens. Tokens are opaque random strings; only their sha256 is stored.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventBus } from '../core/eventBus.js';
import { rateLimited, validationError } from '../core/errors.js';
import { newId, newSecret } from '../core/ids.js';
import type { Collection } from '../store/database.js';
import { ForwardedAddress } from './forwardedAddress.js';
import { LoginThrottle } from './loginThrottle.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { Actor, Role, TokenRecord, UserRecord } from './records.js';
import { findByUsername } from './usernames.js';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  user: UserRecord;
  tokenId: string;
}

/** Token changes are kept in memory on a storage fault: sign-in and sign-out must not depend on free space. */
const KEEP = { keepOnFault: true } as const;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Parsed expiry per token record (records are replaced, never changed): judged on every request. */
const expiries = new WeakMap<TokenRecord, number>();
function expiryOf(record: TokenRecord): number {
  let at = expiries.get(record);
  if (at === undefined) {
    at = Date.parse(record.expires_at);
    expiries.set(record, at);
  }
  return at;
}

/** Unknown usernames are checked against this hash, so they take as long as known ones. */
let dummyHash: Promise<string> | null = null;
const dummy = (): Promise<string> => (dummyHash ??= hashPassword(newSecret(16)));

export class AuthService {
  readonly throttle: LoginThrottle;
  private readonly forwarded: ForwardedAddress;

  constructor(
    private readonly users: Collection<UserRecord>,
    private readonly tokens: Collection<TokenRecord>,
    private readonly bus: EventBus,
    private readonly opts: { tokenTtlMs: number; logger?: Logger; now?: () => number; throttle?: LoginThrottle; trustedProxies?: readonly string[] },
  ) {
    this.throttle = opts.throttle ?? new LoginThrottle();
    this.forwarded = new ForwardedAddress(opts.trustedProxies ?? [], opts.logger);
  }

  /** The address a login attempt is throttled by: the peer's, or the client's behind a trusted proxy. */
  loginAddress(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    return this.forwarded.clientOf(peer, forwardedFor);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Checks a username/password; throws 'Invalid user credentials' (422→400 in HTTP) or 429. */
  async login(username: unknown, password: unknown, address: string): Promise<IssuedToken> {
    if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
      throw validationError('Invalid user credentials');
    }
    const wait = this.throttle.retryAfter(username, address);
    if (wait > 0) throw rateLimited('Too many failed logins; try again later', [{ path: '', message: `retry after ${wait} s` }], wait);
    const user = findByUsername(this.users, username);
    // Always one hash, whether or not the user exists: the time must not tell.
    const matches = await verifyPassword(password, user?.password_hash ?? (await dummy()));
    const ok = user !== undefined && user.can_login && matches;
    if (!ok || !user) {
      this.throttle.fail(username, address);
      this.opts.logger?.warn({ username, address }, 'failed login');
      throw validationError('Invalid user credentials');
    }
    this.throttle.succeed(username, address);
    return this.issue(user);
  }

  async issue(user: UserRecord): Promise<IssuedToken> {
    const token = newSecret(32);
    const expiresAt = new Date(this.now() + this.opts.tokenTtlMs);
    const record: TokenRecord = { id: newId(), user_id: user.id, hash: sha256(token), created_at: new Date(this.now()).toISOString(), expires_at: expiresAt.toISOString() };
    // Sign-in works while the data store is full: the token lives in memory and is written when the
    // store recovers (a restart before then forgets it; the user signs in again).
    await this.tokens.insert(record, KEEP);
    await this.pruneExpired();
    return { token, expiresAt, user, tokenId: record.id };
  }

  /** The actor behind a bearer token, or null when it is unknown, expired or its user is gone. */
  authenticate(token: unknown): Actor | null {
    if (typeof token !== 'string' || token.length < 16 || token.length > 512) return null;
    const hash = sha256(token);
    const record = this.tokens.find((t) => t.hash === hash);
    return record ? this.actorOfTokenId(record.id) : null;
  }

  /** The actor a token (by record id) stands for now, or null when it is revoked, expired or its user is gone or disabled. */
  actorOfTokenId(tokenId: string): Actor | null {
    const record = this.tokens.get(tokenId);
    if (!record || expiryOf(record) <= this.now()) return null;
    const user = this.users.get(record.user_id);
    if (!user || !user.can_login) return null;
    return { kind: 'user', userId: user.id, username: user.username, role: user.role, tokenId: record.id };
  }

  /** The role a user holds now, or null when the user is gone or may not sign in (disabled). */
  roleOfUser(userId: string): Role | null {
    const user = this.users.get(userId);
    return user && user.can_login ? user.role : null;
  }

  /** When the token expires (ms since the epoch), or null when it is gone. */
  tokenExpiry(tokenId: string): number | null {
    const record = this.tokens.get(tokenId);
    return record ? expiryOf(record) : null;
  }

  async revokeUserTokens(userId: string, exceptTokenId?: string): Promise<void> {
    const revoked = this.tokens.filter((t) => t.user_id === userId && t.id !== exceptTokenId).map((t) => t.id);
    if (!revoked.length) return;
    await this.tokens.removeWhere((t) => revoked.includes(t.id), KEEP);
    this.bus.publish('auth', userId, 'tokensRevoked', { tokenIds: revoked });
  }

  async revokeToken(tokenId: string): Promise<void> {
    const t = this.tokens.get(tokenId);
    if (!t) return;
    await this.tokens.remove(tokenId, KEEP);
    this.bus.publish('auth', t.user_id, 'tokensRevoked', { tokenIds: [tokenId] });
  }

  private async pruneExpired(): Promise<void> {
    const now = this.now();
    if (this.tokens.all().some((t) => Date.parse(t.expires_at) <= now)) {
      await this.tokens.removeWhere((t) => Date.parse(t.expires_at) <= now, KEEP);
    }
  }
}
