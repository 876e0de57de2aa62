// The session registry: every adapter gets its actor here, and every open connection (a socket of
// any protocol, an MJPEG stream in progress, a request on a signed URL) is a session of the token
// that opened it. When that token is revoked or expires, or its user is deleted, disabled or gets
// another role, every open session of that user is judged again at once: the adapter's `onEnd`
// closes it (or, where the protocol document allows, downgrades it: Rotoclear goes back to
// anonymous), `onChange` hands it the actor with the new role. `current()` judges again on every
// use, so the next request is always decided by the role the user has now.
//
// How an adapter or a new route uses it (see also src/auth/permissions.ts):
//   const actor = sessions.authenticate(token);             // one request: the actor, or null
//   const s = sessions.open(actor, 'live-h264', { onEnd: () => res.destroy() });  // long-lived
//   res.on('close', () => s.close());
//   ... later: const now = s.current(); if (!now) return;    // refused: the session is over
// URLs that carry their own credential (signed for a token, or live-view URLs for Home Assistant)
// are judged here too (`authenticateRequest`); a live-view stream is a session that ends when the
// live key is rotated (`revokeLiveUrls`), when its URL expires, and, for a URL an admin asked for,
// when that admin is deleted, disabled or no longer an admin. A monitor's connection is a session of the key it proved:
// it ends as soon as that key is changed or removed, or the monitor is deleted (`openMonitor`).
import type { Logger } from 'pino';
import type { DomainEvent, EventBus } from '../core/eventBus.js';
import type { AuthService } from './authService.js';
import { bearerFrom } from './bearer.js';
import { authorize, can } from './permissions.js';
import type { Actor } from './records.js';
import { forbidden } from '../core/errors.js';
import type { SignedUrls } from './signedUrls.js';

/** What a live-view URL (made for Home Assistant with the persistent live key) speaks as: it may only view. */
export const LIVE_VIEW_ACTOR: Readonly<Actor> = Object.freeze({ kind: 'system', userId: null, username: 'live-view', role: 'viewer' });

/** What a stream request carries: its path, query and Authorization header. */
export interface UrlRequest {
  path: string;
  query: Record<string, unknown>;
  authorization?: string | undefined;
}

/** Why a session ended, as adapters may tell their clients. */
export type SessionEndReason = 'Token revoked' | 'Token expired' | 'User removed or disabled' | 'Live URLs revoked' | 'Live URL expired' | 'Live URL issuer is no longer an admin' | MonitorEndReason;

/** Why a monitor's connection no longer stands. */
export type MonitorEndReason = 'Monitor key changed' | 'Monitor removed';

/** A monitor connection as the registry judges it: which record, and whether the key it proved still stands. */
export interface MonitorCredential {
  recordId: string;
  monitorId: string;
  /** Null while the key the monitor proved is still the record's key; else why it is not. */
  check(): MonitorEndReason | null;
}

export interface SessionHooks {
  /** The session is over; close the connection (or downgrade it where the protocol allows). */
  onEnd(reason: SessionEndReason): void;
  /** The user's role (or name) changed; the session continues as this actor. */
  onChange?(actor: Actor): void;
}

export interface Session {
  /** What kind of connection this is (for logs and counts), e.g. 'nestmtx', 'rotoclear'. */
  readonly kind: string;
  /** The actor as last judged. */
  readonly actor: Actor;
  /** Judges the session again now: its actor, or null when it has ended (then `onEnd` has run). */
  current(): Actor | null;
  /** Forgets the session without calling `onEnd` (the connection closed by itself). */
  close(): void;
}

export interface SessionRegistryOptions {
  logger?: Logger;
  /** How often every session is judged again; expiries due before the next sweep get their own timer then. */
  sweepMs?: number;
  now?: () => number;
}


/** What keeps a session open: a bearer token of a user, or the live key as it was when the stream began. */
type Credential =
  | { type: 'token'; tokenId: string; userId: string }
  /** `by`: the admin the URL was made for (null: the add-on's own); `exp` in ms since the epoch. */
  | { type: 'live-url'; generation: number; by: string | null; exp: number }
  | ({ type: 'monitor' } & MonitorCredential);

class OpenSession implements Session {
  timer: NodeJS.Timeout | null = null;
  open = true;

  constructor(
    private readonly registry: SessionRegistry,
    readonly kind: string,
    public actor: Actor,
    readonly credential: Credential,
    readonly hooks: SessionHooks,
  ) {}

  get tokenId(): string | null {
    return this.credential.type === 'token' ? this.credential.tokenId : null;
  }

  /** The user whose account decides this session: the token's, or the admin a live-view URL was made for. */
  get userId(): string | null {
    if (this.credential.type === 'token') return this.credential.userId;
    return this.credential.type === 'live-url' ? this.credential.by : null;
  }

  current(): Actor | null {
    return this.open ? this.registry.judge(this) : null;
  }

  close(): void {
    this.registry.forget(this);
  }
}

export class SessionRegistry {
  private readonly sessions = new Set<OpenSession>();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** What each live-view actor handed out by `authenticateRequest` was signed for. */
  private readonly liveGrants = new WeakMap<Actor, { by: string | null; exp: number; generation: number }>();

  constructor(
    private readonly auth: AuthService,
    private readonly bus: EventBus,
    private readonly urls: SignedUrls,
    private readonly opts: SessionRegistryOptions = {},
  ) {}

  start(): void {
    this.bus.subscribe(this, (e) => this.onAccountEvent(e), ['auth', 'user', 'monitor']);
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs);
    this.sweepTimer.unref();
  }

  /** Ends nothing: adapters close their own connections when they stop. */
  stop(): void {
    this.bus.removeListeners(this);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const s of this.sessions) this.forget(s);
  }

  /** The actor behind a bearer token for one request, or null. */
  authenticate(token: unknown): Actor | null {
    return this.auth.authenticate(token);
  }

  /** The actor a token record stands for now (signed URLs carry the record id, not the token). */
  actorOfTokenId(tokenId: string): Actor | null {
    return this.auth.actorOfTokenId(tokenId);
  }

  /**
   * The actor a stream request speaks for, or null: a token-bound signed URL, a live-view URL
   * (only where `liveUrl` says the route serves them), a bearer header or `?token=`.
   */
  authenticateRequest(req: UrlRequest, opts: { liveUrl?: boolean } = {}): Actor | null {
    const { exp, tid, sig, token } = req.query;
    if (sig !== undefined) {
      if (tid === undefined) return opts.liveUrl ? this.liveActor(req.path, exp, req.query.by, sig) : null;
      const tokenId = this.urls.tokenIdOf(req.path, exp, tid, sig);
      return tokenId === null ? null : this.auth.actorOfTokenId(tokenId);
    }
    return this.auth.authenticate(bearerFrom(req.authorization) ?? (typeof token === 'string' ? token : undefined));
  }

  /**
   * A URL for `path` that authenticates itself for `ttlSeconds` as `actor`'s token: it dies with
   * that token and its user, and acts with the user's role at the time it is used.
   */
  signUrl(actor: Actor, path: string, ttlSeconds: number): string {
    authorize(actor, 'streams.view');
    if (actor.tokenId === undefined) throw forbidden('Signed URLs are made with a signed-in token');
    return this.urls.signForToken(path, actor.tokenId, ttlSeconds);
  }

  /**
   * A live-view URL for Home Assistant. With `issuer` (an admin asking through the API) it speaks
   * for that admin and stops working once they are no longer one; without, it is the add-on's own
   * (the live-view entries it keeps in Home Assistant and re-signs).
   */
  signLiveUrl(path: string, issuer?: Actor): string {
    if (!issuer) return this.urls.signLive(path, null);
    authorize(issuer, 'streams.liveUrls');
    if (issuer.userId === null) throw forbidden('Live URLs are made by a signed-in admin');
    return this.urls.signLive(path, issuer.userId);
  }

  private liveActor(path: string, exp: unknown, by: unknown, sig: unknown): Actor | null {
    const grant = this.urls.verifyLive(path, exp, by, sig);
    if (!grant || (grant.by !== null && !this.mayIssueLiveUrls(grant.by))) return null;
    const actor: Actor = Object.freeze({ ...LIVE_VIEW_ACTOR });
    this.liveGrants.set(actor, { ...grant, generation: this.urls.liveKeyGeneration });
    return actor;
  }

  private mayIssueLiveUrls(userId: string): boolean {
    const role = this.auth.roleOfUser(userId);
    return role !== null && can(role, 'streams.liveUrls');
  }

  /** Revokes every live-view URL handed out so far and ends the streams open on them. */
  revokeLiveUrls(): void {
    this.urls.rotateLiveKey();
    for (const s of [...this.sessions]) if (s.credential.type === 'live-url') this.judge(s);
    this.bus.publish('auth', null, 'liveUrlsRevoked', {});
  }

  /** Tracks a long-lived connection of an actor signed in with a token, or on a live-view URL. */
  open(actor: Actor, kind: string, hooks: SessionHooks): Session {
    let credential: Credential;
    const grant = this.liveGrants.get(actor);
    if (grant) credential = { type: 'live-url', ...grant };
    else if (actor.tokenId !== undefined && actor.userId !== null) credential = { type: 'token', tokenId: actor.tokenId, userId: actor.userId };
    else throw new Error('a session needs an actor signed in with a token or a live-view URL');
    const session = new OpenSession(this, kind, actor, credential, hooks);
    this.sessions.add(session);
    this.armExpiry(session);
    return session;
  }

  /**
   * Tracks a monitor's connection: judged again whenever its monitor changes (and at every sweep),
   * it ends as soon as the key it connected with is no longer the monitor's key.
   */
  openMonitor(credential: MonitorCredential, kind: string, hooks: SessionHooks): Session {
    const actor: Actor = { kind: 'system', userId: null, username: `monitor ${credential.monitorId}`, role: 'viewer' };
    const session = new OpenSession(this, kind, actor, { type: 'monitor', ...credential }, hooks);
    this.sessions.add(session);
    return session;
  }

  /** Open sessions, optionally of one kind (status counts, tests). */
  count(kind?: string): number {
    let n = 0;
    for (const s of this.sessions) if (kind === undefined || s.kind === kind) n += 1;
    return n;
  }

  /** Judges every open session again (the periodic safety net), and times the expiries due before the next sweep. */
  sweep(): void {
    for (const s of [...this.sessions]) if (this.judge(s)) this.armExpiry(s);
  }

  private get sweepMs(): number {
    return this.opts.sweepMs ?? 60_000;
  }

  /** @internal The session's actor now; ends the session (calling onEnd) when its token no longer stands. */
  judge(session: OpenSession): Actor | null {
    if (!session.open) return null;
    const { credential } = session;
    if (credential.type === 'live-url') {
      let ended: SessionEndReason | null = null;
      if (credential.generation !== this.urls.liveKeyGeneration) ended = 'Live URLs revoked';
      else if (credential.exp <= (this.opts.now?.() ?? Date.now())) ended = 'Live URL expired';
      else if (credential.by !== null && !this.mayIssueLiveUrls(credential.by)) ended = 'Live URL issuer is no longer an admin';
      if (ended === null) return session.actor;
      this.end(session, ended);
      return null;
    }
    if (credential.type === 'monitor') {
      const ended = credential.check();
      if (ended === null) return session.actor;
      this.end(session, ended);
      return null;
    }
    const actor = this.auth.actorOfTokenId(credential.tokenId);
    if (!actor) {
      this.end(session, this.reasonFor(credential.tokenId));
      return null;
    }
    if (actor.role !== session.actor.role || actor.username !== session.actor.username) {
      const before = session.actor.role;
      session.actor = actor;
      this.opts.logger?.info({ kind: session.kind, username: actor.username, from: before, to: actor.role }, 'session re-judged with a new role');
      try {
        session.hooks.onChange?.(actor);
      } catch (err) {
        this.opts.logger?.error({ err, kind: session.kind }, 'session change handler failed');
      }
    }
    return actor;
  }

  /** @internal */
  forget(session: OpenSession): void {
    session.open = false;
    if (session.timer) clearTimeout(session.timer);
    session.timer = null;
    this.sessions.delete(session);
  }

  private end(session: OpenSession, reason: SessionEndReason): void {
    this.forget(session);
    this.opts.logger?.info({ kind: session.kind, username: session.actor.username, reason }, 'session ended');
    try {
      session.hooks.onEnd(reason);
    } catch (err) {
      this.opts.logger?.error({ err, kind: session.kind }, 'session end handler failed');
    }
  }

  private reasonFor(tokenId: string): SessionEndReason {
    const expiry = this.auth.tokenExpiry(tokenId);
    if (expiry === null) return 'Token revoked';
    if (expiry <= (this.opts.now?.() ?? Date.now())) return 'Token expired';
    return 'User removed or disabled';
  }

  /**
   * A precise timer for a session whose token expires before the next sweep; later expiries wait
   * for the sweep that comes before them. (Node keeps the list of an unref'd timer's length until
   * that length has passed, even once the timer is cleared: a week-long timer per session left one
   * such list behind for every connection ever made.)
   */
  private armExpiry(session: OpenSession): void {
    if (session.timer) return;
    const { credential } = session;
    const expiry = credential.type === 'token' ? this.auth.tokenExpiry(credential.tokenId) : credential.type === 'live-url' ? credential.exp : null;
    if (expiry === null) return;
    const delay = Math.max(0, expiry - (this.opts.now?.() ?? Date.now())) + 5;
    if (delay > this.sweepMs) return;
    session.timer = setTimeout(() => {
      session.timer = null;
      this.judge(session);
    }, delay);
    session.timer.unref();
  }


  private onAccountEvent(e: DomainEvent): void {
    if (e.domain === 'auth' && e.event === 'tokensRevoked') {
      const ids = new Set(e.details.tokenIds);
      for (const s of [...this.sessions]) if (s.tokenId !== null && ids.has(s.tokenId)) this.judge(s);
    } else if (e.domain === 'user' && e.entity !== null) {
      for (const s of [...this.sessions]) if (s.userId === e.entity) this.judge(s);
    } else if (e.domain === 'monitor' && (e.event === 'updated' || e.event === 'deleted') && e.entity !== null) {
      for (const s of [...this.sessions]) if (s.credential.type === 'monitor' && s.credential.recordId === e.entity) this.judge(s);
    }
  }
}
