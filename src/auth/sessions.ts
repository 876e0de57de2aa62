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
import type { Logger } from 'pino';
import type { DomainEvent, EventBus } from '../core/eventBus.js';
import type { AuthService } from './authService.js';
import type { Actor } from './records.js';

/** Why a session ended, as adapters may tell their clients. */
export type SessionEndReason = 'Token revoked' | 'Token expired' | 'User removed or disabled';

export interface SessionHooks {
  /** The session is over; close the connection (or downgrade it where the protocol allows). */
  onEnd(reason: SessionEndReason): void;
  /** The user's role (or name) changed; the session continues as this actor. */
  onChange?(actor: Actor): void;
}

export interface Session {
  /** What kind of connection this is (for logs and counts), e.g. 'nestmtx', 'rotoclear'. */
  readonly kind: string;
  readonly tokenId: string;
  readonly userId: string;
  /** The actor as last judged. */
  readonly actor: Actor;
  /** Judges the session again now: its actor, or null when it has ended (then `onEnd` has run). */
  current(): Actor | null;
  /** Forgets the session without calling `onEnd` (the connection closed by itself). */
  close(): void;
}

export interface SessionRegistryOptions {
  logger?: Logger;
  /** How often every session is judged again, as a safety net beside the expiry timers. */
  sweepMs?: number;
  now?: () => number;
}

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

class OpenSession implements Session {
  actor: Actor;
  timer: NodeJS.Timeout | null = null;
  open = true;

  constructor(
    private readonly registry: SessionRegistry,
    readonly kind: string,
    actor: Actor & { tokenId: string; userId: string },
    readonly hooks: SessionHooks,
  ) {
    this.actor = actor;
  }

  get tokenId(): string {
    return this.actor.tokenId!;
  }

  get userId(): string {
    return this.actor.userId!;
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
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly auth: AuthService,
    private readonly bus: EventBus,
    private readonly opts: SessionRegistryOptions = {},
  ) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => this.onAccountEvent(e), ['auth', 'user']);
    this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepMs ?? 60_000);
    this.sweepTimer.unref();
  }

  /** Ends nothing: adapters close their own connections when they stop. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
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

  /** Tracks a long-lived connection of an authenticated actor (one that came from a token). */
  open(actor: Actor, kind: string, hooks: SessionHooks): Session {
    if (actor.tokenId === undefined || actor.userId === null) throw new Error('a session needs an actor signed in with a token');
    const session = new OpenSession(this, kind, { ...actor, tokenId: actor.tokenId, userId: actor.userId }, hooks);
    this.sessions.add(session);
    this.armExpiry(session);
    return session;
  }

  /** Open sessions, optionally of one kind (status counts, tests). */
  count(kind?: string): number {
    let n = 0;
    for (const s of this.sessions) if (kind === undefined || s.kind === kind) n += 1;
    return n;
  }

  /** Judges every open session again (the periodic safety net; also what expiry timers do). */
  sweep(): void {
    for (const s of [...this.sessions]) this.judge(s);
  }

  /** @internal The session's actor now; ends the session (calling onEnd) when its token no longer stands. */
  judge(session: OpenSession): Actor | null {
    if (!session.open) return null;
    const actor = this.auth.actorOfTokenId(session.tokenId);
    if (!actor) {
      this.end(session, this.reasonFor(session.tokenId));
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

  private armExpiry(session: OpenSession): void {
    const expiry = this.auth.tokenExpiry(session.tokenId);
    if (expiry === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, expiry - (this.opts.now?.() ?? Date.now())) + 5);
    session.timer = setTimeout(() => {
      session.timer = null;
      if (this.judge(session)) this.armExpiry(session);
    }, delay);
    session.timer.unref();
  }

  private onAccountEvent(e: DomainEvent): void {
    if (e.domain === 'auth' && e.event === 'tokensRevoked') {
      const ids = new Set(e.details.tokenIds);
      for (const s of [...this.sessions]) if (ids.has(s.tokenId)) this.judge(s);
    } else if (e.domain === 'user' && e.entity !== null) {
      for (const s of [...this.sessions]) if (s.userId === e.entity) this.judge(s);
    }
  }
}
