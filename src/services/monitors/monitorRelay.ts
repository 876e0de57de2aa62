// The Altoponix relay's live state machine: which monitor is online, which users are attached, each
// monitor's command queue and timeout, and whether a connected monitor's key still stands.
// Adapters drive it; it answers through the MonitorLink/ReplySink they hand in and through bus events.
import type { Logger } from 'pino';
import { verifyPassword } from '../../auth/passwords.js';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { MonitorEndReason } from '../../auth/sessions.js';
import type { EventBus } from '../../core/eventBus.js';
import type { Extension } from '../../core/extension.js';
import { AppError, conflict, notFound, rateLimited, runtimeError, unauthorized, unavailable, validationError } from '../../core/errors.js';
import type { Collection } from '../../store/database.js';
import { CommandQueue, type CommandOutcome, type QueuedCommand, type ReplySink } from './commandQueue.js';
import { KeyCheckThrottle } from './keyThrottle.js';
import type { MonitorRecord } from './records.js';
import { insertMonitor, isValidMonitorId } from './registration.js';

export const MAX_COMMAND_LENGTH = 1024;
export const MAX_REASON_LENGTH = 1024;
/** Commands one monitor may have waiting; more are refused rather than piling up. */
export const MAX_PENDING_PER_MONITOR = 100;
/** Open registration lets anyone add monitors; this bounds how many records that can create. */
export const MAX_AUTO_REGISTERED = 1000;

export interface MonitorRelayOptions {
  /** true: the Altoponix document's open flow (any monitor_id registers itself, no user token). */
  openRegistration: boolean;
  commandTimeoutMs: number;
  logger?: Logger;
}

/** How the relay reaches a connected monitor (the adapter's socket). */
export interface MonitorLink {
  deliver(command: string): void;
  /** Drop the connection (the monitor was removed). */
  close(): void;
}

/** A connected monitor, as handed back by connectMonitor; stale once the monitor is gone. */
export interface MonitorSession {
  readonly recordId: string;
  readonly monitorId: string;
}

/** A user attached to a monitor through `query`. */
export interface UserAttachment {
  readonly recordId: string;
  readonly monitorId: string;
}

/** What the relay knows of one monitor right now (the module shows it in every view). */
export interface MonitorPresence {
  online: boolean;
  users: number;
  pending: number;
}

interface LiveMonitor {
  session: MonitorSession;
  link: MonitorLink;
  queue: CommandQueue;
}

export class MonitorRelay implements Extension {
  readonly name = 'monitor-relay';
  private readonly live = new Map<string, LiveMonitor>();
  /** monitor_ids being registered by open registration (the insert is async): a second `con` must not slip in. */
  private readonly connecting = new Set<string>();
  private readonly keyChecks = new KeyCheckThrottle();
  private readonly attached = new Map<string, Set<UserAttachment>>();
  /** The key hash each connected monitor proved (null: it needed none), kept inside the relay. */
  private readonly provedKeys = new WeakMap<MonitorSession, string | null>();

  constructor(
    private readonly records: Collection<MonitorRecord>,
    private readonly bus: EventBus,
    private readonly opts: MonitorRelayOptions,
  ) {}

  /** At start nothing is connected, whatever the file says from the last run. */
  async start(): Promise<void> {
    for (const r of this.records.filter((m) => m.online)) {
      await this.records.update(r.id, (c) => ({ ...c, online: false }), { keepOnFault: true });
    }
  }

  /** Fails every pending command and forgets the live state (the adapter closes the sockets). */
  async stop(): Promise<void> {
    for (const live of [...this.live.values()]) this.goOffline(live.session, 'Server stopping');
    this.attached.clear();
  }

  presence(recordId: string): MonitorPresence {
    const live = this.live.get(recordId);
    return { online: live !== undefined, users: this.attached.get(recordId)?.size ?? 0, pending: live?.queue.size ?? 0 };
  }

  /** The monitor's record is being deleted: its pending commands fail, its connection and users go. */
  forget(recordId: string): void {
    const live = this.live.get(recordId);
    if (live) {
      this.goOffline(live.session, 'Monitor removed');
      live.link.close();
    }
    this.attached.delete(recordId);
  }

  // Error messages are the wire reasons the Altoponix adapter sends as {reason}.

  /**
   * A monitor's `con` from `address`. Throws AppError whose message is the `con failed` reason.
   * Only a monitor that proved its key claims the id: attempts still being checked claim nothing,
   * so a flood of wrong keys never makes the right one fail with "already registered".
   */
  async connectMonitor(payload: unknown, address: string, link: MonitorLink): Promise<MonitorSession> {
    const input = (typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {}) as Record<string, unknown>;
    const id = input.monitor_id;
    if (!isValidMonitorId(id)) throw validationError('Invalid monitor_id');
    if (this.connecting.has(id) || this.liveByMonitorId(id)) throw conflict('monitor_id already registered');
    let record = this.records.find((r) => r.monitor_id === id);
    if (!record) {
      if (!this.opts.openRegistration) throw new AppError('not_found', 'Unknown monitor');
      if (this.records.filter((r) => r.auto_registered).length >= MAX_AUTO_REGISTERED) throw rateLimited('Too many monitors');
      this.connecting.add(id);
      try {
        record = await insertMonitor(this.records, this.bus, { monitor_id: id, name: id, keyHash: null, auto: true });
      } finally {
        this.connecting.delete(id);
      }
    }
    if (record.key_hash !== null) {
      if (!this.keyChecks.begin(id, address)) throw rateLimited('Too many attempts');
      const given = input.key;
      if (typeof given !== 'string' || given.length > 256 || !(await verifyPassword(given, record.key_hash))) {
        this.keyChecks.failed(id, address);
        this.opts.logger?.warn({ monitor_id: id, address }, 'monitor presented a wrong key');
        throw unauthorized('Invalid key');
      }
      this.keyChecks.succeeded(id, address);
    }
    // From here on nothing awaits: the check and the claim of the id are one step.
    if (this.connecting.has(id) || this.liveByMonitorId(id)) throw conflict('monitor_id already registered');
    // The record may have been deleted or renamed while the key was checked.
    const current = this.records.get(record.id);
    if (!current || current.monitor_id !== id) throw new AppError('not_found', 'Unknown monitor');
    const session: MonitorSession = { recordId: current.id, monitorId: id };
    this.provedKeys.set(session, record.key_hash);
    const queue = new CommandQueue(
      (command) => link.deliver(command),
      this.opts.commandTimeoutMs,
      (cmd, outcome) => this.settled(session, cmd, outcome),
    );
    this.live.set(current.id, { session, link, queue });
    this.touch(current.id, { online: true });
    this.opts.logger?.info({ monitor_id: id }, 'monitor online');
    this.bus.publish('monitor', current.id, 'online', { monitor_id: id });
    return session;
  }

  /** The monitor answered `command done` (ok) or `command error` {reason}. False: it had no command. */
  commandSettled(session: MonitorSession, outcome: CommandOutcome): boolean {
    const live = this.current(session);
    if (!live) return false;
    const settledOutcome: CommandOutcome = outcome.ok ? outcome : { ok: false, reason: outcome.reason.slice(0, MAX_REASON_LENGTH) };
    if (!live.queue.settleCurrent(settledOutcome)) return false;
    this.touch(session.recordId, {});
    return true;
  }

  /**
   * Whether the key a connected monitor proved is still its record's key (the session registry asks):
   * null while it is, else why the connection no longer stands.
   */
  credentialCheck(session: MonitorSession): MonitorEndReason | null {
    const record = this.records.get(session.recordId);
    if (!record || record.monitor_id !== session.monitorId) return 'Monitor removed';
    return record.key_hash === this.provedKeys.get(session) ? null : 'Monitor key changed';
  }

  /** The monitor's connection is gone (or was ended): its pending commands fail and it goes offline. */
  monitorDisconnected(session: MonitorSession, reason = 'Monitor disconnected'): void {
    if (this.current(session)) this.goOffline(session, reason);
  }

  private goOffline(session: MonitorSession, reason: string): void {
    const live = this.live.get(session.recordId)!;
    this.live.delete(session.recordId);
    live.queue.failAll(reason);
    this.touch(session.recordId, { online: false });
    this.opts.logger?.info({ monitor_id: session.monitorId, reason }, 'monitor offline');
    this.bus.publish('monitor', session.recordId, 'offline', { monitor_id: session.monitorId, name: this.records.get(session.recordId)?.name ?? session.monitorId, reason });
  }

  /**
   * A user's `query`: attach to a registered monitor (online or not: commands then say "Monitor
   * offline"). `actor` is null when the user presented no token, which only open registration allows.
   */
  attachUser(actor: Actor | null, monitorIdInput: unknown): UserAttachment {
    if (!actor && !this.opts.openRegistration) throw unauthorized('Unauthorized');
    if (!isValidMonitorId(monitorIdInput)) throw validationError('Invalid monitor_id');
    const record = this.records.find((r) => r.monitor_id === monitorIdInput);
    if (!record) throw new AppError('not_found', 'Unknown monitor');
    const attachment: UserAttachment = { recordId: record.id, monitorId: record.monitor_id };
    let set = this.attached.get(record.id);
    if (!set) this.attached.set(record.id, (set = new Set()));
    set.add(attachment);
    return attachment;
  }

  detachUser(attachment: UserAttachment): void {
    const set = this.attached.get(attachment.recordId);
    set?.delete(attachment);
    if (set?.size === 0) this.attached.delete(attachment.recordId);
  }

  /**
   * A user's `command send`. `actor` is looked up afresh for each command (a role may have changed
   * since `query`). Throws AppError (the `command failed` reason); the outcome goes to `sink`.
   */
  submitCommand(attachment: UserAttachment, actor: Actor | null, command: unknown, sink: ReplySink): void {
    if (!actor && !this.opts.openRegistration) throw unauthorized('Unauthorized');
    if (actor) authorize(actor, 'monitors.command', 'Unauthorized');
    if (!this.attached.get(attachment.recordId)?.has(attachment)) throw new AppError('not_found', 'Unknown monitor');
    this.enqueue(attachment.recordId, command, actor?.username ?? 'anonymous', sink);
  }

  /**
   * The add-on's own path (HTTP route, MQTT text entity): the same queue, timeout and events as a
   * user's command. Resolves when the monitor reports `command done`.
   */
  sendCommand(actor: Actor, id: string, command: string): Promise<{ status: 'done' }> {
    return new Promise((resolve, reject) => {
      try {
        authorize(actor, 'monitors.command', 'Only users may send commands to monitors');
        if (!this.records.get(id)) throw notFound('Monitor');
        this.enqueue(id, command, actor.username, {
          finish: () => resolve({ status: 'done' }),
          fail: (reason) => reject(runtimeError(`Command failed: ${reason}`, [{ path: 'command', message: reason }])),
        });
      } catch (err) {
        reject(err);
      }
    });
  }

  private enqueue(recordId: string, command: unknown, by: string, sink: ReplySink): void {
    if (typeof command !== 'string' || command.length === 0) throw validationError('Invalid command');
    if (command.length > MAX_COMMAND_LENGTH) throw validationError('Command too long', [{ path: 'command', message: `at most ${MAX_COMMAND_LENGTH} characters` }]);
    const record = this.records.get(recordId);
    if (!record) throw new AppError('not_found', 'Unknown monitor');
    const live = this.live.get(recordId);
    if (!live) throw unavailable('Monitor offline');
    if (live.queue.size >= MAX_PENDING_PER_MONITOR) throw rateLimited('Too many pending commands');
    this.touch(recordId, { last_command: command }, false);
    this.bus.publish('monitor', recordId, 'command', { monitor_id: record.monitor_id, command, by });
    live.queue.push({ command, by, sink });
  }

  private settled(session: MonitorSession, cmd: QueuedCommand, outcome: CommandOutcome): void {
    const details = { monitor_id: session.monitorId, command: cmd.command, by: cmd.by };
    if (outcome.ok) {
      this.touch(session.recordId, { last_result: 'done' }, false);
      this.bus.publish('monitor', session.recordId, 'commandDone', details);
      cmd.sink.finish();
    } else {
      this.touch(session.recordId, { last_result: `failed: ${outcome.reason}` }, false);
      this.bus.publish('monitor', session.recordId, 'commandFailed', { ...details, reason: outcome.reason });
      cmd.sink.fail(outcome.reason);
    }
  }

  private current(session: MonitorSession): LiveMonitor | undefined {
    const live = this.live.get(session.recordId);
    return live?.session === session ? live : undefined;
  }

  private liveByMonitorId(id: string): LiveMonitor | undefined {
    for (const live of this.live.values()) if (live.session.monitorId === id) return live;
    return undefined;
  }

  /**
   * Records what happened (`seen`: the monitor itself was heard from). The in-memory change is
   * immediate (readers see it at once); the write to disk follows, ordered with every other write.
   */
  private touch(recordId: string, change: Partial<Pick<MonitorRecord, 'online' | 'last_command' | 'last_result'>>, seen = true): void {
    const now = new Date().toISOString();
    this.records
      // Presence is live state: a full store keeps it in memory until it can be written.
      .update(recordId, (c) => ({ ...c, ...change, ...(seen ? { last_seen: now } : {}) }), { keepOnFault: true })
      .catch((err: unknown) => this.opts.logger?.error({ err, recordId }, 'could not store monitor state'));
  }
}
