// The labs module: who may see, change and command a lab, and its records (list, create, update,
// delete). Commands are judged here and carried out by the runner (labRunner.ts); schedules and the
// recovery of labs a previous process left running live in labSchedule.ts. Adapters only translate
// wire messages to these calls and bus events to wire messages.
import type { Logger } from 'pino';
import { z } from 'zod';
import { authorize, can } from '../../auth/permissions.js';
import { SYSTEM_ACTOR, type Actor, type Role } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import { conflict, forbidden, notFound, validationError } from '../../core/errors.js';
import { isUuid, newId } from '../../core/ids.js';
import { parseInput } from '../../core/validation.js';
import type { Collection } from '../../store/database.js';
import { paginate, type ListQuery, type ListResult, type ModuleService } from '../modules.js';
import type { StatusMessagesService } from '../statusMessages/statusMessagesService.js';
import { LabRunner, nodeOf, restingState } from './labRunner.js';
import { LabSchedule } from './labSchedule.js';
import { LabState, isActiveState, toLabView, type LabRecord, type LabView } from './records.js';
import type { RuntimeRegistry } from './runtime.js';
import { parseTopology } from './topology.js';
import type { Extension } from '../../core/extension.js';

/** Lab commands as numbered on /lab-commands. */
export const LabCommand = { Deploy: 0, Destroy: 1, StopNode: 2, StartNode: 3 } as const;
export type LabCommand = (typeof LabCommand)[keyof typeof LabCommand];

export interface LabsOptions {
  runtimes: RuntimeRegistry;
  messages: StatusMessagesService;
  /** Does a user with this id exist (owner checks)? */
  userExists: (id: string) => boolean;
  /** The role a user has now (a scheduled deploy acts for the lab's owner), undefined when gone. */
  roleOf: (id: string) => Role | undefined;
  logger?: Logger;
  /** Lines kept per lab log and per node log. */
  backlog?: number;
  now?: () => number;
}

const time = z.string().datetime({ offset: true, message: 'must be an RFC 3339 date-time' });
const labName = z.string().trim().min(1).max(128);
const createSchema = z
  .object({ name: labName.optional(), topology: z.string(), startTime: time.nullable().optional(), endTime: time.nullable().optional(), owner: z.string().uuid().optional() })
  .strict();
const updateSchema = z
  .object({ name: labName.optional(), topology: z.string().optional(), startTime: time.nullable().optional(), endTime: time.nullable().optional(), owner: z.string().uuid().optional() })
  .strict();

export class LabsService implements ModuleService, Extension {
  readonly name = 'labs';
  private readonly runner: LabRunner;
  private readonly schedule: LabSchedule;

  constructor(
    private readonly records: Collection<LabRecord>,
    private readonly bus: EventBus,
    private readonly opts: LabsOptions,
  ) {
    const now = () => this.now();
    this.runner = new LabRunner(records, bus, { runtimes: opts.runtimes, messages: opts.messages, logger: opts.logger, backlog: opts.backlog, now });
    this.schedule = new LabSchedule({
      records,
      bus,
      runner: this.runner,
      runtimes: opts.runtimes,
      deploy: (id) => this.deploy(SYSTEM_ACTOR, id),
      destroy: (id) => this.destroy(SYSTEM_ACTOR, id),
      logger: opts.logger,
      now,
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  // --- access

  /** Owners and admins see a lab (its record, updates and logs). */
  canSee(actor: Actor, lab: Pick<LabRecord, 'owner'>): boolean {
    return can(actor.role, 'labs.manageAll') || (actor.userId !== null && actor.userId === lab.owner);
  }

  /** Owners (with the user role) and admins change and command a lab. */
  canControl(actor: Actor, lab: Pick<LabRecord, 'owner'>): boolean {
    return can(actor.role, 'labs.manageAll') || (can(actor.role, 'labs.own') && actor.userId === lab.owner);
  }

  /** The lab record, if there is one (no access check: callers check canSee). */
  lab(id: string): LabRecord | undefined {
    return isUuid(id) ? this.records.get(id) : undefined;
  }

  /** The lab, or notFound for a non-UUID or unknown id. */
  get(id: string): LabRecord {
    const lab = isUuid(id) ? this.records.get(id) : undefined;
    if (!lab) throw notFound('Lab');
    return lab;
  }

  private visible(actor: Actor, id: string): LabRecord {
    const lab = this.get(id);
    if (!this.canSee(actor, lab)) throw forbidden('You have no access to this lab');
    return lab;
  }

  private controlled(actor: Actor, id: string): LabRecord {
    const lab = this.get(id);
    if (!this.canControl(actor, lab)) throw forbidden('You have no access to this lab');
    return lab;
  }

  // --- module

  async list(actor: Actor, query: ListQuery): Promise<ListResult<LabView>> {
    const rows = this.records.filter((l) => this.canSee(actor, l)).map(toLabView);
    return paginate(rows, query, ['name'], ['name', 'state', 'owner', 'startTime', 'endTime', 'created_at', 'updated_at']);
  }

  async read(actor: Actor, id: string): Promise<LabView> {
    return toLabView(this.visible(actor, id));
  }

  async create(actor: Actor, payload: unknown): Promise<LabView> {
    authorize(actor, 'labs.own', 'Viewers may not create labs');
    const input = parseInput(createSchema, payload);
    const topology = parseTopology(input.topology);
    this.authorizeExec(actor, topology);
    const owner = this.ownerFor(actor, input.owner);
    const schedule = this.checkSchedule(input.startTime ?? null, input.endTime ?? null, true, true);
    const now = new Date(this.now()).toISOString();
    const record: LabRecord = {
      id: newId(),
      name: input.name ?? topology.name,
      owner,
      topology: input.topology,
      state: this.restingState(schedule.startTime),
      nodes: topology.nodes.map((n) => ({ name: n.name, kind: n.spec.kind, state: LabState.Inactive })),
      startTime: schedule.startTime,
      endTime: schedule.endTime,
      scheduledRun: null,
      created_at: now,
      updated_at: now,
    };
    await this.records.insert(record);
    this.bus.publish('lab', record.id, 'created', { owner, name: record.name });
    this.schedule.arm(record);
    return toLabView(record);
  }

  async update(actor: Actor, id: string, payload: unknown): Promise<LabView> {
    const lab = this.controlled(actor, id);
    const input = parseInput(updateSchema, payload);
    const changes: Partial<LabRecord> = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.owner !== undefined && input.owner !== lab.owner) changes.owner = this.ownerFor(actor, input.owner);
    if (input.topology !== undefined && input.topology !== lab.topology) {
      const topology = parseTopology(input.topology);
      this.authorizeExec(actor, topology);
      if (isActiveState(lab.state) || this.runner.busy(id)) throw conflict('Destroy the lab before changing its topology');
      changes.topology = input.topology;
      changes.nodes = topology.nodes.map((n) => ({ name: n.name, kind: n.spec.kind, state: LabState.Inactive }));
    }
    if (input.startTime !== undefined || input.endTime !== undefined) {
      const startTime = input.startTime === undefined ? lab.startTime : input.startTime;
      const endTime = input.endTime === undefined ? lab.endTime : input.endTime;
      const schedule = this.checkSchedule(startTime, endTime, startTime !== lab.startTime, endTime !== lab.endTime);
      changes.startTime = schedule.startTime;
      changes.endTime = schedule.endTime;
      if (changes.startTime !== lab.startTime) changes.scheduledRun = null;
      if (!isActiveState(lab.state)) changes.state = this.restingState(schedule.startTime);
    }
    const next = await this.records.update(id, (cur) => ({ ...cur, ...changes, updated_at: new Date(this.now()).toISOString() }));
    if (!next) throw notFound('Lab');
    const { nodes: _nodes, ...summary } = changes;
    this.bus.publish('lab', id, 'updated', { owner: next.owner, previousOwner: lab.owner, changes: { ...summary, ...(changes.nodes ? { nodes: true } : {}) } });
    this.schedule.arm(next);
    return toLabView(next);
  }

  async delete(actor: Actor, id: string): Promise<{ id: string }> {
    const lab = this.controlled(actor, id);
    if (this.runner.busy(id)) throw conflict('An action on this lab is in progress');
    if (isActiveState(lab.state)) await this.destroy(actor, id);
    this.schedule.cancel(id);
    await this.records.remove(id);
    this.runner.forget(id);
    this.bus.publish('lab', id, 'deleted', { owner: lab.owner });
    return { id };
  }

  /**
   * `exec` nodes run programs as the add-on's user: only admins create, change, deploy or start
   * them. A scheduled deploy (the system) acts for the lab's owner, judged by the owner's role now.
   */
  private authorizeExec(actor: Actor, topology: { nodes: readonly { spec: { kind: string } }[] }, owner?: string): void {
    if (!topology.nodes.some((n) => n.spec.kind === 'exec')) return;
    const message = 'Only admins may run labs with exec nodes';
    if (actor.kind === 'system' && owner !== undefined) {
      const role = this.opts.roleOf(owner);
      authorize({ ...actor, role: role ?? 'viewer' }, 'labs.exec', message);
      return;
    }
    authorize(actor, 'labs.exec', message);
  }

  private ownerFor(actor: Actor, requested: string | undefined): string {
    if (requested !== undefined && requested !== actor.userId) {
      authorize(actor, 'labs.manageAll', 'Only admins may give a lab to another user');
      if (!this.opts.userExists(requested)) throw validationError('Validation failed', [{ path: 'payload.owner', message: 'no such user' }]);
      return requested;
    }
    if (!actor.userId) throw validationError('Validation failed', [{ path: 'payload.owner', message: 'required' }]);
    return actor.userId;
  }

  /** Times that changed must lie in the future; the end must follow the start. */
  private checkSchedule(startTime: string | null, endTime: string | null, startChanged: boolean, endChanged: boolean): { startTime: string | null; endTime: string | null } {
    const problems = [];
    const now = this.now();
    const start = startTime === null ? null : Date.parse(startTime);
    const end = endTime === null ? null : Date.parse(endTime);
    if (start !== null && startChanged && start <= now) problems.push({ path: 'payload.startTime', message: 'must be in the future' });
    if (end !== null && endChanged && end <= now) problems.push({ path: 'payload.endTime', message: 'must be in the future' });
    if (start !== null && end !== null && end <= start) problems.push({ path: 'payload.endTime', message: 'must be after startTime' });
    if (problems.length) throw validationError('Invalid schedule', problems);
    return {
      startTime: start === null ? null : new Date(start).toISOString(),
      endTime: end === null ? null : new Date(end).toISOString(),
    };
  }

  private restingState(startTime: string | null): LabState {
    return restingState(startTime, this.now());
  }

  // --- commands

  /** One entry for /lab-commands (and any other adapter). Resolves to null on success. */
  async command(actor: Actor, labId: string, command: LabCommand, node?: string): Promise<null> {
    switch (command) {
      case LabCommand.Deploy:
        await this.deploy(actor, labId);
        return null;
      case LabCommand.Destroy:
        await this.destroy(actor, labId);
        return null;
      case LabCommand.StopNode:
        await this.stopNode(actor, labId, node ?? '');
        return null;
      case LabCommand.StartNode:
        await this.startNode(actor, labId, node ?? '');
        return null;
    }
  }

  /** (Re)deploys every node. Throws a runtime error (after cleaning up) when a node fails to start. */
  async deploy(actor: Actor, id: string): Promise<void> {
    const lab = this.controlled(actor, id);
    this.authorizeExec(actor, parseTopology(lab.topology, 'topology'), lab.owner);
    await this.runner.deploy(actor.username, lab);
  }

  /** Stops every node; the lab goes Inactive (or Scheduled while its start is ahead). */
  async destroy(actor: Actor, id: string): Promise<void> {
    await this.runner.destroy(actor.username, this.controlled(actor, id));
  }

  async stopNode(actor: Actor, id: string, nodeName: string): Promise<void> {
    const lab = this.controlled(actor, id);
    const topology = parseTopology(lab.topology, 'topology');
    const node = nodeOf(lab, topology, nodeName);
    this.authorizeExec(actor, { nodes: [node] }, lab.owner);
    await this.runner.stopNode(actor.username, lab, topology, node);
  }

  async startNode(actor: Actor, id: string, nodeName: string): Promise<void> {
    const lab = this.controlled(actor, id);
    const topology = parseTopology(lab.topology, 'topology');
    const node = nodeOf(lab, topology, nodeName);
    await this.runner.startNode(actor.username, lab, topology, node);
  }

  /** Backlog of the lab log (node undefined) or of one node's log. */
  backlog(id: string, node?: string): string[] {
    return this.runner.backlog(id, node);
  }

  // --- lifecycle

  /** Cleans up what a previous process left running, then arms every schedule (labSchedule.ts). */
  async start(): Promise<void> {
    this.runner.stopping = false;
    await this.schedule.recover();
  }

  /** Shutdown: no more schedules, and every node process ends with us (recovery at next start). */
  async stop(): Promise<void> {
    this.runner.stopping = true;
    this.schedule.cancelAll();
    await this.opts.runtimes.shutdown();
  }
}
