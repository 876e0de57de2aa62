// The monitors module: the records behind the API and NestMTX `request` (list, read, create, update,
// delete) and who may change them. Live state (online, users, pending commands) comes from the relay.
import { z } from 'zod';
import { hashPassword } from '../../auth/passwords.js';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import { conflict, notFound } from '../../core/errors.js';
import { parseInput } from '../../core/validation.js';
import type { Collection } from '../../store/database.js';
import { paginate, type ListQuery, type ListResult, type ModuleService } from '../modules.js';
import type { MonitorRelay } from './monitorRelay.js';
import type { MonitorRecord, MonitorView } from './records.js';
import { insertMonitor, monitorIdSchema } from './registration.js';

const name = z.string().min(1).max(128);
const key = z.string().min(8, 'must be at least 8 characters').max(256);

const createSchema = z.object({ monitor_id: monitorIdSchema, name: name.optional(), key: key.optional() }).strict();
const updateSchema = z.object({ monitor_id: monitorIdSchema.optional(), name: name.optional(), key: key.nullable().optional() }).strict();

/** Admins manage; everyone signed in reads. */
export class MonitorsService implements ModuleService {
  readonly name = 'monitors';

  constructor(
    private readonly records: Collection<MonitorRecord>,
    private readonly bus: EventBus,
    private readonly relay: Pick<MonitorRelay, 'presence' | 'forget'>,
  ) {}

  all(): MonitorView[] {
    return this.records.all().map((r) => this.toView(r));
  }

  get(id: string): MonitorView | undefined {
    const r = this.records.get(id);
    return r && this.toView(r);
  }

  private toView(r: MonitorRecord): MonitorView {
    const presence = this.relay.presence(r.id);
    return {
      id: r.id,
      monitor_id: r.monitor_id,
      name: r.name,
      has_key: r.key_hash !== null,
      online: presence.online,
      last_seen: r.last_seen,
      last_command: r.last_command,
      last_result: r.last_result,
      auto_registered: r.auto_registered,
      users: presence.users,
      pending: presence.pending,
      created_at: r.created_at,
      updated_at: r.updated_at,
    };
  }

  private record(id: string): MonitorRecord {
    const r = this.records.get(id);
    if (!r) throw notFound('Monitor');
    return r;
  }

  async list(_actor: Actor, query: ListQuery): Promise<ListResult<MonitorView>> {
    return paginate(this.all(), query, ['monitor_id', 'name'], ['monitor_id', 'name', 'online', 'last_seen', 'last_command', 'last_result', 'created_at', 'updated_at']);
  }

  async read(_actor: Actor, id: string): Promise<MonitorView> {
    return this.toView(this.record(id));
  }

  async create(actor: Actor, payload: unknown): Promise<MonitorView> {
    authorize(actor, 'monitors.manage', 'Only admins may manage monitors');
    const input = parseInput(createSchema, payload);
    this.assertFreeMonitorId(input.monitor_id);
    const keyHash = input.key === undefined ? null : await hashPassword(input.key);
    const record = await insertMonitor(this.records, this.bus, { monitor_id: input.monitor_id, name: input.name ?? input.monitor_id, keyHash, auto: false });
    return this.toView(record);
  }

  async update(actor: Actor, id: string, payload: unknown): Promise<MonitorView> {
    authorize(actor, 'monitors.manage', 'Only admins may manage monitors');
    const current = this.record(id);
    const input = parseInput(updateSchema, payload);
    if (input.monitor_id !== undefined && input.monitor_id !== current.monitor_id) {
      this.assertFreeMonitorId(input.monitor_id);
      if (this.relay.presence(id).online) throw conflict('Cannot change the monitor_id of an online monitor', [{ path: 'payload.monitor_id', message: 'monitor is online' }]);
    }
    const keyHash = input.key === undefined ? current.key_hash : input.key === null ? null : await hashPassword(input.key);
    const next = await this.records.update(id, (c) => ({
      ...c,
      monitor_id: input.monitor_id ?? c.monitor_id,
      name: input.name ?? c.name,
      key_hash: keyHash,
      updated_at: new Date().toISOString(),
    }));
    if (!next) throw notFound('Monitor');
    this.bus.publish('monitor', id, 'updated', { monitor_id: next.monitor_id, fields: Object.keys(input) });
    return this.toView(next);
  }

  async delete(actor: Actor, id: string): Promise<MonitorView> {
    authorize(actor, 'monitors.manage', 'Only admins may manage monitors');
    const current = this.record(id);
    this.relay.forget(id);
    const view = this.toView(current);
    await this.records.remove(id);
    this.bus.publish('monitor', id, 'deleted', { monitor_id: current.monitor_id });
    return view;
  }

  private assertFreeMonitorId(id: string): void {
    if (this.records.find((r) => r.monitor_id === id)) {
      throw conflict('monitor_id already exists', [{ path: 'payload.monitor_id', message: 'already exists' }]);
    }
  }
}
