// Commands from Home Assistant: a message on a command topic runs its entity's command, or is
// refused (retained, unknown, too large, or rejected by the service). Refusals are told in bounded
// numbers (refusals.ts): a log line and `commandRefused` on the device, never the payload.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { toAppError } from '../../core/errors.js';
import type { DeviceSnapshot } from './entities.js';
import { RefusalLimiter, type RefusalLimits } from './refusals.js';

/** Command payloads are short words or numbers; anything bigger is refused unread. */
const MAX_COMMAND_BYTES = 4096;

export interface CommandRouterDeps {
  logger: Logger;
  /** The role MQTT commands act as (for the log lines). */
  role: Config['mqtt']['command_role'];
  /** The latest evaluated device with this id. */
  device: (deviceId: string) => DeviceSnapshot | undefined;
  /** A command ran: states it touched without a bus event are evaluated again. */
  changed: () => void;
  limits: RefusalLimits;
}

/** What the log says about a refused command (the payload itself is never logged). */
interface RefusalDetails {
  meta: { topic: string; bytes: number; origin: string; role: string };
  message: string;
  reason: string;
  level: 'warn' | 'error';
  kind?: string;
  details?: unknown;
  err?: unknown;
  deviceId?: string;
  key?: string;
}

export class CommandRouter {
  private readonly refusals: RefusalLimiter<RefusalDetails>;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: CommandRouterDeps) {
    this.log = deps.logger;
    this.refusals = new RefusalLimiter(deps.limits);
  }

  /** Topics refused again while quiet are told once a window, with their count. */
  start(): void {
    this.timer = setInterval(() => this.flushRefusals(), this.deps.limits.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async handle(topic: string, deviceId: string, key: string, payload: Buffer, retained: boolean): Promise<void> {
    // Payloads are never logged: a monitor command may carry anything.
    const meta = { topic, bytes: payload.length, origin: 'mqtt', role: this.deps.role };
    if (retained) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: retained commands would replay on every reconnect', reason: 'retained commands are ignored', deviceId, key });
    const entities = this.deps.device(deviceId)?.entities ?? [];
    const entity = entities.find((e) => e.key === key) ?? entities.flatMap((e) => e.facets ?? []).find((f) => f.key === key);
    if (!entity?.command) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: no such command entity', reason: 'no such command', deviceId, key });
    if (payload.length > MAX_COMMAND_BYTES) return this.refuse({ meta, level: 'warn', message: 'MQTT command ignored: payload too large', reason: 'payload too large', deviceId, key });
    try {
      await entity.command(payload.toString('utf8'));
    } catch (err) {
      // Refused: nothing changed, so no state evaluation (a flood of bad commands costs no more than a parse each).
      const e = toAppError(err);
      const internal = e.kind === 'runtime' && e.message === 'Internal error';
      const why = e.details?.length ? `${e.message}: ${e.details.map((d) => d.message).join('; ')}` : e.message;
      return this.refuse(
        internal
          ? { meta, level: 'error', message: 'MQTT command failed', reason: e.message, err, deviceId, key }
          : { meta, level: 'warn', message: 'MQTT command rejected', reason: why, kind: e.kind, details: e.details, deviceId, key },
      );
    }
    // Debug: valid commands can come as fast as anyone publishes; what they changed is on the bus.
    this.log.debug(meta, 'MQTT command done');
    this.deps.changed();
  }

  /** A refused command: told (log line, `commandRefused` on its device) at most once a window per topic, with a count. */
  private refuse(refusal: RefusalDetails): void {
    const report = this.refusals.note(refusal.meta.topic, refusal);
    if (report) this.tellRefusal(report.last, report.count);
  }

  private tellRefusal(r: RefusalDetails, count: number): void {
    const line = { ...r.meta, count, reason: r.reason, ...(r.kind ? { kind: r.kind } : {}), ...(r.details ? { details: r.details } : {}), ...(r.err ? { err: r.err } : {}) };
    const note = count > 1 ? ' (refused commands on this topic are logged at most once a minute; count: refused since the last line)' : '';
    if (r.level === 'error') this.log.error(line, r.message + note);
    else this.log.warn(line, r.message + note);
    const device = r.deviceId ? this.deps.device(r.deviceId) : undefined;
    device?.refused?.({ command: r.key ?? '', reason: r.reason, count });
  }

  /** Once a window: topics refused again while quiet are told with their count; the rest in one line. */
  private flushRefusals(): void {
    const { reports, untold } = this.refusals.flush();
    for (const r of reports) this.tellRefusal(r.last, r.count);
    if (untold > 0) this.log.warn({ count: untold }, 'MQTT commands refused on more topics than are logged one by one');
  }
}
