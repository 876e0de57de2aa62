// One Altoponix socket: it becomes a monitor (`con`) or a user (`query`) and translates the
// document's events into MonitorRelay calls and their outcomes back into events. It holds no
// domain state beyond "which session is this socket". A user who signed in with a token is a session
// of the registry: it is closed when the token ends, and each command is judged by the role now.
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { Actor } from '../../auth/records.js';
import type { Session, SessionRegistry } from '../../auth/sessions.js';
import { toAppError } from '../../core/errors.js';
import type { MonitorRelay, MonitorSession, UserAttachment } from '../../services/monitors/monitorRelay.js';
import { TokenBucket } from '../../core/tokenBucket.js';
import { EV, REASON, type AltoponixClientEvents, type AltoponixServerEvents } from './wire.js';

/** Time between a `con failed`/`query failed` and closing, so the client receives the failure first. */
export const CLOSE_DELAY_MS = 100;
const RATE_BURST = 20;
const RATE_PER_SECOND = 10;

type AltoponixSocket = Socket<AltoponixClientEvents, AltoponixServerEvents, Record<string, never>, Record<string, never>>;

type Role =
  | { kind: 'none' }
  | { kind: 'connecting' }
  /** `trust`: the registry's session of the key it proved; it ends the connection when that key no longer stands. */
  | { kind: 'monitor'; session: MonitorSession; trust: Session }
  /** `session`: null for the open flow's anonymous user; judged again on every command. */
  | { kind: 'user'; attachment: UserAttachment; session: Session | null }
  | { kind: 'closing' };

export interface ConnectionDeps {
  relay: MonitorRelay;
  sessions: SessionRegistry;
  logger: Logger;
  /** The peer's address, for the key-check throttle. */
  address: string;
}

const asObject = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

export class AltoponixConnection {
  private role: Role = { kind: 'none' };
  private readonly bucket = new TokenBucket(RATE_PER_SECOND, RATE_BURST);

  constructor(
    private readonly socket: AltoponixSocket,
    private readonly deps: ConnectionDeps,
  ) {
    socket.on(EV.con, (data: unknown) => void this.onCon(data));
    socket.on(EV.query, (data: unknown) => this.onQuery(data));
    socket.on(EV.commandSend, (data: unknown) => this.onCommandSend(data));
    socket.on(EV.commandDone, () => this.onMonitorAnswer({ ok: true }));
    socket.on(EV.commandError, (data: unknown) => this.onCommandError(data));
    socket.on('disconnect', () => this.onDisconnect());
  }

  close(): void {
    this.socket.disconnect(true);
  }

  private emit<E extends keyof AltoponixServerEvents>(event: E, ...reply: Parameters<AltoponixServerEvents[E]>): void {
    if (this.socket.connected) this.socket.emit(event, ...reply);
  }

  /** The document: after `con failed`/`query failed` the connection closes. */
  private failAndClose(event: typeof EV.conFailed | typeof EV.queryFailed, reason: string): void {
    this.leaveRole();
    this.role = { kind: 'closing' };
    this.emit(event, { reason });
    setTimeout(() => this.socket.disconnect(true), CLOSE_DELAY_MS);
  }

  private async onCon(data: unknown): Promise<void> {
    if (this.role.kind === 'closing') return;
    if (!this.bucket.take()) return this.failAndClose(EV.conFailed, REASON.tooManyRequests);
    if (this.role.kind === 'user') return this.failAndClose(EV.conFailed, REASON.alreadyUser);
    if (this.role.kind === 'connecting') return this.failAndClose(EV.conFailed, REASON.alreadyConnecting);
    if (this.role.kind === 'monitor') {
      // A repeated `con` for the same id is harmless: confirm it again.
      if (asObject(data)?.monitor_id === this.role.session.monitorId) return this.emit(EV.conOk, { reason: REASON.connectionOk });
      return this.failAndClose(EV.conFailed, REASON.alreadyMonitor);
    }
    this.role = { kind: 'connecting' };
    let session: MonitorSession;
    try {
      session = await this.deps.relay.connectMonitor(data, this.deps.address, {
        deliver: (command) => this.emit(EV.commandDo, { command }),
        close: () => this.close(),
      });
    } catch (err) {
      if (this.role.kind !== 'connecting') return;
      const e = toAppError(err);
      this.deps.logger.info({ socket: this.socket.id, reason: e.message }, 'monitor refused');
      return this.failAndClose(EV.conFailed, e.message);
    }
    // Gone (or refused for a second `con`) while the key was checked.
    if (!this.socket.connected || this.role.kind !== 'connecting') return this.deps.relay.monitorDisconnected(session);
    const trust = this.deps.sessions.openMonitor(
      { recordId: session.recordId, monitorId: session.monitorId, check: () => this.deps.relay.credentialCheck(session) },
      'altoponix-monitor',
      { onEnd: (reason) => this.endMonitor(session, reason) },
    );
    this.role = { kind: 'monitor', session, trust };
    // The key may have changed while it was checked: then the session ends here, before `con ok`.
    if (!trust.current()) return;
    this.emit(EV.conOk, { reason: REASON.connectionOk });
  }

  /**
   * The key this monitor connected with no longer stands: at once it gets no more commands and its
   * answers count for nothing; the connection closes.
   */
  private endMonitor(session: MonitorSession, reason: string): void {
    if (this.role.kind !== 'monitor' || this.role.session !== session) return;
    this.role = { kind: 'closing' };
    this.deps.relay.monitorDisconnected(session, reason);
    this.deps.logger.info({ socket: this.socket.id, monitor_id: session.monitorId, reason }, 'monitor connection ended');
    setImmediate(() => this.close());
  }

  private onQuery(data: unknown): void {
    if (this.role.kind === 'closing') return;
    if (!this.bucket.take()) return this.failAndClose(EV.queryFailed, REASON.tooManyRequests);
    if (this.role.kind === 'monitor' || this.role.kind === 'connecting') return this.failAndClose(EV.queryFailed, REASON.alreadyMonitor);
    const payload = asObject(data);
    let actor: Actor | null = null;
    const token = this.presentedToken(payload);
    if (token !== undefined) {
      actor = this.deps.sessions.authenticate(token);
      if (!actor) return this.failAndClose(EV.queryFailed, REASON.unauthorized);
    }
    let attachment: UserAttachment;
    try {
      attachment = this.deps.relay.attachUser(actor, payload?.monitor_id);
    } catch (err) {
      return this.failAndClose(EV.queryFailed, toAppError(err).message);
    }
    // A second `query` moves the user to the other monitor.
    this.leaveRole();
    const session = actor ? this.deps.sessions.open(actor, 'altoponix', { onEnd: () => setImmediate(() => this.close()) }) : null;
    this.role = { kind: 'user', attachment, session };
    this.emit(EV.queryOk, { reason: REASON.queryOk });
  }

  /** `token` in the query payload, else the handshake's `auth.token`, else its `?token=`. */
  private presentedToken(payload: Record<string, unknown> | null): unknown {
    if (payload && payload.token !== undefined) return payload.token;
    const auth = asObject(this.socket.handshake.auth);
    if (auth && auth.token !== undefined) return auth.token;
    return this.socket.handshake.query.token;
  }

  private onCommandSend(data: unknown): void {
    if (this.role.kind === 'closing') return;
    if (!this.bucket.take()) return this.emit(EV.commandFailed, { reason: REASON.tooManyRequests });
    if (this.role.kind !== 'user') return this.emit(EV.commandFailed, { reason: REASON.queryFirst });
    const { attachment, session } = this.role;
    const actor = session ? session.current() : null;
    if (session && !actor) return this.emit(EV.commandFailed, { reason: REASON.unauthorized });
    const payload = asObject(data);
    try {
      this.deps.relay.submitCommand(attachment, actor, payload ? payload.command : undefined, {
        finish: () => this.emit(EV.commandFinish, { reason: REASON.commandFinish }),
        fail: (reason) => this.emit(EV.commandFailed, { reason }),
      });
    } catch (err) {
      return this.emit(EV.commandFailed, { reason: toAppError(err).message });
    }
    // Synchronous with the submit, so it always precedes that command's `command finish`.
    this.emit(EV.commandOk, { reason: REASON.commandOk });
  }

  private onCommandError(data: unknown): void {
    const reason = asObject(data)?.reason;
    this.onMonitorAnswer({ ok: false, reason: typeof reason === 'string' && reason.length > 0 ? reason : REASON.commandError });
  }

  /** Monitor answers are bounded by the commands it was given, so they are not rate limited. */
  private onMonitorAnswer(outcome: { ok: true } | { ok: false; reason: string }): void {
    if (this.role.kind !== 'monitor') {
      this.deps.logger.debug({ socket: this.socket.id }, 'monitor answer from a socket that is not a monitor; ignored');
      return;
    }
    if (!this.deps.relay.commandSettled(this.role.session, outcome)) {
      this.deps.logger.debug({ monitor_id: this.role.session.monitorId }, 'monitor answered with no command pending; ignored');
    }
  }

  private leaveRole(): void {
    if (this.role.kind === 'user') {
      this.role.session?.close();
      this.deps.relay.detachUser(this.role.attachment);
    }
    if (this.role.kind === 'monitor') {
      this.role.trust.close();
      this.deps.relay.monitorDisconnected(this.role.session);
    }
  }

  private onDisconnect(): void {
    this.leaveRole();
    this.role = { kind: 'closing' };
  }
}
