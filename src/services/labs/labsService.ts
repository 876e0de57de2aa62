// The labs module and the lab state machine: who may see and command a lab, deploy/destroy and
// single-node actions (one action per lab at a time), log backlogs, schedules and the recovery of
// labs a previous Switchboard process left running. Runtimes do the node work; adapters only
// translate wire messages to these calls and bus events to wire messages.
import type { Logger } from 'pino';
import { z } from 'zod';
import { authorize, can } from '../../auth/permissions.js';
import { SYSTEM_ACTOR, type Actor, type Role } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import { AppError, conflict, forbidden, notFound, validationError } from '../../core/errors.js';
import { isUuid, newId } from '../../core/ids.js';
import { parseInput } from '../../core/validation.js';
import type { Collection } from '../../store/database.js';
import { paginate, type ListQuery, type ListResult, type ModuleService } from '../modules.js';
import { Severity, type StatusMessagesService } from '../statusMessages/statusMessagesService.js';
import { LogRing } from './logRing.js';
import { LabState, isActiveState, toLabView, type LabNodeRecord, type LabRecord, type LabView } from './records.js';
import type { LabHandle, RuntimeNode, RuntimeRegistry } from './runtime.js';
import { Scheduler } from './scheduler.js';
import { parseTopology, type Topology } from './topology.js';
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

interface LiveLab {
  log: LogRing;
  nodeLogs: Map<string, LogRing>;
  /** The action in progress; a second one is refused (5002). */
  busy: 'deploying' | 'destroying' | 'node' | null;
}

const time = z.string().datetime({ offset: true, message: 'must be an RFC 3339 date-time' });
const labName = z.string().trim().min(1).max(128);
const createSchema = z
  .object({ name: labName.optional(), topology: z.string(), startTime: time.nullable().optional(), endTime: time.nullable().optional(), owner: z.string().uuid().optional() })
  .strict();
const updateSchema = z
  .object({ name: labName.optional(), topology: z.string().optional(), startTime: time.nullable().optional(), endTime: time.nullable().optional(), owner: z.string().uuid().optional() })
  .strict();

const STATE_NAME: Record<LabState, string> = { [-2]: 'Scheduled', [-1]: 'Inactive', 0: 'Deploying', 1: 'Running', 2: 'Stopping', 3: 'Failed' };
const LEFT_ACTIVE: readonly LabState[] = [LabState.Deploying, LabState.Running, LabState.Stopping];

export class LabsService implements ModuleService, Extension {
  readonly name = 'labs';
  private readonly live = new Map<string, LiveLab>();
  private readonly scheduler: Scheduler;
  private stopping = false;

  constructor(
    private readonly records: Collection<LabRecord>,
    private readonly bus: EventBus,
    private readonly opts: LabsOptions,
  ) {
    this.scheduler = new Scheduler(opts.now);
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
    this.armSchedule(record);
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
      if (isActiveState(lab.state) || this.live.get(id)?.busy) throw conflict('Destroy the lab before changing its topology');
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
    this.armSchedule(next);
    return toLabView(next);
  }

  async delete(actor: Actor, id: string): Promise<{ id: string }> {
    const lab = this.controlled(actor, id);
    if (this.live.get(id)?.busy) throw conflict('An action on this lab is in progress');
    if (isActiveState(lab.state)) await this.destroy(actor, id);
    this.scheduler.cancel(`${id}:start`);
    this.scheduler.cancel(`${id}:end`);
    await this.records.remove(id);
    this.live.delete(id);
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

  /** The state of a lab that is not deployed: Scheduled while its start is ahead, else Inactive. */
  private restingState(startTime: string | null): LabState {
    return startTime !== null && Date.parse(startTime) > this.now() ? LabState.Scheduled : LabState.Inactive;
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

  private liveOf(id: string): LiveLab {
    let live = this.live.get(id);
    if (!live) {
      live = { log: new LogRing(this.opts.backlog), nodeLogs: new Map(), busy: null };
      this.live.set(id, live);
    }
    return live;
  }

  /** Claims the lab for one action; the check and the claim happen before any await. */
  private claim(id: string, action: NonNullable<LiveLab['busy']>): LiveLab {
    const live = this.liveOf(id);
    if (live.busy === 'deploying') throw conflict('The lab is already being deployed');
    if (live.busy) throw conflict('Another action on this lab is in progress');
    if (this.stopping) throw conflict('Switchboard is shutting down');
    live.busy = action;
    return live;
  }

  /** (Re)deploys every node. Throws a runtime error (after cleaning up) when a node fails to start. */
  async deploy(actor: Actor, id: string): Promise<void> {
    const lab = this.controlled(actor, id);
    this.authorizeExec(actor, parseTopology(lab.topology, 'topology'), lab.owner);
    // A deploy starts things that write (containerlab's lab folder): refused while the store is failing.
    this.records.assertWritable();
    const live = this.claim(id, 'deploying');
    try {
      const topology = parseTopology(lab.topology, 'topology');
      if (isActiveState(lab.state)) await this.stopNodes(lab, topology, topology.nodes, 'redeploying');
      live.log.clear();
      live.nodeLogs.clear();
      for (const n of topology.nodes) live.nodeLogs.set(n.name, new LogRing(this.opts.backlog));
      await this.setState(id, LabState.Deploying, (n) => ({ ...n, state: LabState.Deploying }));
      this.log(id, null, `deploying lab ${lab.name} (${topology.nodes.length} node${topology.nodes.length === 1 ? '' : 's'}) for ${actor.username}`);
      this.message(lab, Severity.Info, `Deploying lab ${lab.name}`);
      const started: RuntimeNode[] = [];
      try {
        for (const group of this.opts.runtimes.group(topology.nodes, (n) => n.spec.kind)) {
          try {
            await group.runtime.start(this.handle(id, topology), group.nodes);
          } catch (err) {
            // A group may have started some of its nodes before failing: stop them all.
            started.push(...group.nodes);
            throw err;
          }
          started.push(...group.nodes);
          const names = new Set(group.nodes.map((n) => n.name));
          await this.setNodes(id, (n) => (names.has(n.name) && n.state === LabState.Deploying ? { ...n, state: LabState.Running } : n));
        }
      } catch (err) {
        const reason = err instanceof AppError ? err.message : 'internal error';
        this.log(id, null, `deploy failed: ${reason}`);
        await this.stopNodes(lab, topology, started, 'deploy failed');
        await this.setState(id, LabState.Failed, (n) => ({ ...n, state: n.state === LabState.Deploying ? LabState.Failed : LabState.Inactive }));
        this.message(lab, Severity.Error, `Lab ${lab.name} failed to deploy`, `Lab ${lab.name} (${id}) failed to deploy: ${reason}`);
        throw err;
      }
      await this.setState(id, LabState.Running);
      this.log(id, null, `lab ${lab.name} is running`);
      this.message(lab, Severity.Success, `Lab ${lab.name} deployed`);
    } finally {
      live.busy = null;
    }
  }

  /** Stops every node; the lab goes Inactive (or Scheduled while its start is ahead). */
  async destroy(actor: Actor, id: string): Promise<void> {
    const lab = this.controlled(actor, id);
    if (!isActiveState(lab.state)) return;
    const live = this.claim(id, 'destroying');
    try {
      const topology = parseTopology(lab.topology, 'topology');
      await this.setState(id, LabState.Stopping);
      this.log(id, null, `destroying lab ${lab.name} for ${actor.username}`);
      await this.stopNodes(lab, topology, topology.nodes, 'destroyed');
      // Logged before the state change: log streams close once the lab is inactive.
      this.log(id, null, `lab ${lab.name} destroyed`);
      const current = this.records.get(id);
      await this.setState(id, this.restingState(current?.startTime ?? null), (n) => ({ ...n, state: LabState.Inactive }));
      this.message(lab, Severity.Success, `Lab ${lab.name} destroyed`);
    } finally {
      live.busy = null;
    }
  }

  private nodeOf(lab: LabRecord, topology: Topology, node: string): RuntimeNode {
    if (typeof node !== 'string' || !node) throw validationError('Invalid request', [{ path: 'node', message: 'required for this command' }]);
    const found = topology.nodes.find((n) => n.name === node);
    if (!found) throw notFound(`Node ${node} of lab ${lab.name}`);
    return found;
  }

  async stopNode(actor: Actor, id: string, nodeName: string): Promise<void> {
    const lab = this.controlled(actor, id);
    const topology = parseTopology(lab.topology, 'topology');
    const node = this.nodeOf(lab, topology, nodeName);
    this.authorizeExec(actor, { nodes: [node] }, lab.owner);
    if (lab.state !== LabState.Running) throw validationError(`Lab ${lab.name} is not running`);
    if (lab.nodes.find((n) => n.name === node.name)?.state !== LabState.Running) return;
    const live = this.claim(id, 'node');
    try {
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Stopping } : n));
      this.log(id, null, `stopping node ${node.name} for ${actor.username}`);
      await this.runtimeFor(node).stop(this.handle(id, topology), [node]);
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Inactive } : n));
      this.log(id, null, `node ${node.name} stopped`);
    } finally {
      live.busy = null;
    }
  }

  async startNode(actor: Actor, id: string, nodeName: string): Promise<void> {
    const lab = this.controlled(actor, id);
    const topology = parseTopology(lab.topology, 'topology');
    const node = this.nodeOf(lab, topology, nodeName);
    if (lab.state !== LabState.Running) throw validationError(`Lab ${lab.name} is not running`);
    if (lab.nodes.find((n) => n.name === node.name)?.state === LabState.Running) return;
    const live = this.claim(id, 'node');
    try {
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Deploying } : n));
      this.log(id, null, `starting node ${node.name} for ${actor.username}`);
      if (!live.nodeLogs.has(node.name)) live.nodeLogs.set(node.name, new LogRing(this.opts.backlog));
      try {
        await this.runtimeFor(node).start(this.handle(id, topology), [node]);
      } catch (err) {
        await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Failed } : n));
        this.log(id, null, `node ${node.name} failed to start: ${err instanceof AppError ? err.message : 'internal error'}`);
        throw err;
      }
      await this.setNodes(id, (n) => (n.name === node.name && n.state === LabState.Deploying ? { ...n, state: LabState.Running } : n));
      this.log(id, null, `node ${node.name} started`);
    } finally {
      live.busy = null;
    }
  }

  private runtimeFor(node: RuntimeNode) {
    return this.opts.runtimes.group([node], (n) => n.spec.kind)[0]!.runtime;
  }

  private async stopNodes(lab: LabRecord, topology: Topology, nodes: RuntimeNode[], why: string): Promise<void> {
    const groups = this.opts.runtimes.group(nodes, (n) => n.spec.kind).reverse();
    for (const g of groups) {
      try {
        await g.runtime.stop(this.handle(lab.id, topology), g.nodes);
      } catch (err) {
        this.log(lab.id, null, `stopping ${g.runtime.name} nodes (${why}) failed: ${(err as Error).message}`);
      }
    }
  }

  // --- state, logs, messages

  private async setState(id: string, state: LabState, nodes?: (n: LabNodeRecord) => LabNodeRecord): Promise<void> {
    // Runtime state is live state: on a full store it is kept in memory and written on recovery.
    const next = await this.records.update(id, (cur) => ({ ...cur, state, nodes: nodes ? cur.nodes.map(nodes) : cur.nodes, updated_at: new Date(this.now()).toISOString() }), { keepOnFault: true });
    if (next) this.bus.publish('lab', id, 'state', { owner: next.owner, state, nodes: next.nodes.map((n) => ({ name: n.name, state: n.state })) });
  }

  private async setNodes(id: string, change: (n: LabNodeRecord) => LabNodeRecord): Promise<void> {
    const before = this.records.get(id);
    if (!before) return;
    const next = await this.records.update(id, (cur) => ({ ...cur, nodes: cur.nodes.map(change), updated_at: new Date(this.now()).toISOString() }), { keepOnFault: true });
    if (!next) return;
    for (const n of next.nodes) {
      const old = before.nodes.find((o) => o.name === n.name);
      if (old?.state !== n.state) this.bus.publish('lab', id, 'nodeState', { owner: next.owner, node: n.name, state: n.state });
    }
  }

  private log(id: string, node: string | null, line: string): void {
    const live = this.liveOf(id);
    const ring = node === null ? live.log : live.nodeLogs.get(node) ?? live.nodeLogs.set(node, new LogRing(this.opts.backlog)).get(node)!;
    const text = ring.push(node === null ? `${new Date(this.now()).toISOString()} ${line}` : line);
    this.bus.publish('lab', id, 'log', { owner: this.records.get(id)?.owner ?? '', node, line: text });
  }

  private message(lab: LabRecord, severity: Severity, content: string, logContent?: string): void {
    this.opts.messages.publish({ source: `lab ${lab.name}`, content, logContent: logContent ?? `${content} (${lab.id})`, severity, audience: { kind: 'user', userId: lab.owner } });
  }

  private handle(id: string, topology: Topology): LabHandle {
    return {
      labId: id,
      topology,
      log: (node, line) => this.log(id, node, line),
      nodeExited: (node, reason, failed) => {
        this.onNodeExited(id, node, reason, failed).catch((err: unknown) => this.opts.logger?.error({ err, lab: id, node }, 'recording a node exit failed'));
      },
      nodeProcess: (node, pid, pidStart) => {
        this.records
          .update(id, (cur) => ({
            ...cur,
            nodes: cur.nodes.map((n) => {
              if (n.name !== node) return n;
              const { pid: _p, pidStart: _s, ...rest } = n;
              return pid === null ? rest : { ...rest, pid, ...(pidStart ? { pidStart } : {}) };
            }),
          }))
          .catch((err: unknown) => this.opts.logger?.error({ err, lab: id, node }, 'recording a node process failed'));
      },
    };
  }

  private async onNodeExited(id: string, node: string, reason: string, failed: boolean): Promise<void> {
    const lab = this.records.get(id);
    if (!lab) return;
    this.log(id, null, `node ${node} ${reason}`);
    await this.setNodes(id, (n) => (n.name === node ? { ...n, state: failed ? LabState.Failed : LabState.Inactive } : n));
    this.message(lab, failed ? Severity.Error : Severity.Info, `Node ${node} of lab ${lab.name} ${failed ? 'failed' : 'ended'}`, `Node ${node} of lab ${lab.name} (${id}) ${reason}`);
  }

  /** Backlog of the lab log (node undefined) or of one node's log. */
  backlog(id: string, node?: string): string[] {
    const live = this.live.get(id);
    if (!live) return [];
    return (node === undefined ? live.log : live.nodeLogs.get(node))?.snapshot() ?? [];
  }

  // --- schedules

  private armSchedule(lab: LabRecord): void {
    const startKey = `${lab.id}:start`;
    const endKey = `${lab.id}:end`;
    this.scheduler.cancel(startKey);
    this.scheduler.cancel(endKey);
    if (this.stopping) return;
    const now = this.now();
    const end = lab.endTime === null ? null : Date.parse(lab.endTime);
    if (lab.startTime !== null) {
      const start = Date.parse(lab.startTime);
      // A start missed while Switchboard was down still runs, if its window is open.
      if (start > now || (lab.scheduledRun !== lab.startTime && (end === null || end > now))) {
        this.scheduler.at(startKey, start, () => void this.scheduledStart(lab.id, lab.startTime!));
      }
    }
    if (end !== null) this.scheduler.at(endKey, end, () => void this.scheduledEnd(lab.id, lab.endTime!));
  }

  private async scheduledStart(id: string, startTime: string): Promise<void> {
    const lab = this.records.get(id);
    if (!lab || lab.startTime !== startTime) return;
    await this.records.update(id, (cur) => ({ ...cur, scheduledRun: startTime }));
    // Already deployed by hand before its start: leave it running rather than redeploying.
    if (lab.state === LabState.Running || this.stopping) return;
    this.log(id, null, `scheduled start (${startTime})`);
    try {
      await this.deploy(SYSTEM_ACTOR, id);
    } catch (err) {
      // deploy has logged and reported the failure; a busy lab is already being handled.
      this.opts.logger?.warn({ lab: id, err: err instanceof AppError ? err.message : err }, 'scheduled deploy did not run');
    }
  }

  private async scheduledEnd(id: string, endTime: string): Promise<void> {
    const lab = this.records.get(id);
    if (!lab || lab.endTime !== endTime || this.stopping) return;
    if (this.live.get(id)?.busy) {
      // Wait for the action in progress (e.g. a deploy), then end the lab.
      this.scheduler.at(`${id}:end`, this.now() + 1000, () => void this.scheduledEnd(id, endTime));
      return;
    }
    if (!isActiveState(lab.state)) return;
    this.log(id, null, `scheduled end (${endTime})`);
    try {
      await this.destroy(SYSTEM_ACTOR, id);
    } catch (err) {
      this.opts.logger?.warn({ lab: id, err: err instanceof AppError ? err.message : err }, 'scheduled destroy failed');
    }
  }

  // --- lifecycle

  /**
   * Recovery: a lab a previous process left Deploying, Running or Stopping (after a crash or a
   * normal stop) has no live nodes any more. Whatever that process left behind is cleaned up
   * (recorded exec processes killed, containerlab labs destroyed), the nodes go Inactive and the
   * lab Inactive (Failed stays Failed), with a lab log line and a status message; nothing is
   * redeployed behind the owner's back. A scheduled lab whose window is still open is deployed
   * again by its schedule. Then every schedule is armed.
   */
  async start(): Promise<void> {
    this.stopping = false;
    const recovered: string[] = [];
    for (const lab of this.records.all()) {
      const leftActive = LEFT_ACTIVE.includes(lab.state);
      if (!leftActive && lab.nodes.every((n) => n.state === LabState.Inactive && n.pid === undefined)) continue;
      let topology: Topology | null = null;
      try {
        topology = parseTopology(lab.topology, 'topology');
      } catch {
        topology = null;
      }
      for (const g of this.opts.runtimes.group(lab.nodes, (n) => n.kind)) {
        try {
          await g.runtime.recover(lab.id, topology, g.nodes);
        } catch (err) {
          this.opts.logger?.error({ err, lab: lab.id, runtime: g.runtime.name }, 'recovering lab nodes failed');
        }
      }
      const now = this.now();
      const windowOpen = lab.startTime !== null && Date.parse(lab.startTime) <= now && (lab.endTime === null || Date.parse(lab.endTime) > now);
      const state = leftActive ? this.restingState(lab.startTime) : lab.state;
      await this.records.update(lab.id, (cur) => ({
        ...cur,
        state,
        nodes: cur.nodes.map(({ pid: _p, pidStart: _s, ...n }) => ({ ...n, state: LabState.Inactive })),
        ...(leftActive && windowOpen ? { scheduledRun: null } : {}),
        updated_at: new Date(now).toISOString(),
      }));
      if (leftActive) {
        const text = `Switchboard restarted while lab ${lab.name} was ${STATE_NAME[lab.state]}; its nodes were stopped${windowOpen ? ' and its schedule deploys it again' : '; deploy it again to resume'}`;
        this.log(lab.id, null, text);
        this.message(lab, Severity.Warning, `Lab ${lab.name} was stopped by a restart`, text);
      }
      recovered.push(lab.id);
    }
    // A schedule whose whole window passed while Switchboard was down will not run any more.
    for (const lab of this.records.all()) {
      if (lab.state !== LabState.Scheduled || lab.startTime === null || Date.parse(lab.startTime) > this.now()) continue;
      if (lab.endTime !== null && Date.parse(lab.endTime) <= this.now()) {
        await this.records.update(lab.id, (cur) => ({ ...cur, state: LabState.Inactive, updated_at: new Date(this.now()).toISOString() }));
        this.message(lab, Severity.Warning, `Lab ${lab.name} missed its schedule`, `Lab ${lab.name} (${lab.id}) was scheduled from ${lab.startTime} to ${lab.endTime} while Switchboard was not running`);
        recovered.push(lab.id);
      }
    }
    if (recovered.length === 1) this.bus.publish('lab', recovered[0]!, 'updated', { owner: this.records.get(recovered[0]!)?.owner ?? null, changes: { recovered: true } });
    else if (recovered.length > 1) this.bus.publish('lab', null, 'updated', { labIds: recovered });
    for (const lab of this.records.all()) this.armSchedule(lab);
  }

  /** Shutdown: no more schedules, and every node process ends with us (recovery at next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.scheduler.cancelAll();
    await this.opts.runtimes.shutdown();
  }
}
