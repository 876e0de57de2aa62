// Lab schedules and crash recovery: the timers that deploy a lab at its start time and destroy it
// at its end, and, at start-up, the clean-up of labs a previous Switchboard process left running.
import type { Logger } from 'pino';
import type { EventBus } from '../../core/eventBus.js';
import { AppError } from '../../core/errors.js';
import type { Collection } from '../../store/database.js';
import { Severity } from '../statusMessages/statusMessagesService.js';
import { restingState, type LabRunner } from './labRunner.js';
import { LabState, isActiveState, type LabRecord } from './records.js';
import type { RuntimeRegistry } from './runtime.js';
import { Scheduler } from './scheduler.js';
import { parseTopology, type Topology } from './topology.js';

export interface LabScheduleDeps {
  records: Collection<LabRecord>;
  bus: EventBus;
  runner: LabRunner;
  runtimes: RuntimeRegistry;
  /** Deploy and destroy as the system, through the labs module's own checks. */
  deploy: (id: string) => Promise<void>;
  destroy: (id: string) => Promise<void>;
  logger?: Logger;
  now: () => number;
}

const STATE_NAME: Record<LabState, string> = { [-2]: 'Scheduled', [-1]: 'Inactive', 0: 'Deploying', 1: 'Running', 2: 'Stopping', 3: 'Failed' };
const LEFT_ACTIVE: readonly LabState[] = [LabState.Deploying, LabState.Running, LabState.Stopping];

export class LabSchedule {
  private readonly scheduler: Scheduler;

  constructor(private readonly deps: LabScheduleDeps) {
    this.scheduler = new Scheduler(deps.now);
  }

  /** (Re)arms the start and end timers of a lab from its record. */
  arm(lab: LabRecord): void {
    const startKey = `${lab.id}:start`;
    const endKey = `${lab.id}:end`;
    this.scheduler.cancel(startKey);
    this.scheduler.cancel(endKey);
    if (this.deps.runner.stopping) return;
    const now = this.deps.now();
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

  /** A deleted lab's timers. */
  cancel(id: string): void {
    this.scheduler.cancel(`${id}:start`);
    this.scheduler.cancel(`${id}:end`);
  }

  cancelAll(): void {
    this.scheduler.cancelAll();
  }

  private async scheduledStart(id: string, startTime: string): Promise<void> {
    const { records, runner } = this.deps;
    const lab = records.get(id);
    if (!lab || lab.startTime !== startTime) return;
    await records.update(id, (cur) => ({ ...cur, scheduledRun: startTime }));
    // Already deployed by hand before its start: leave it running rather than redeploying.
    if (lab.state === LabState.Running || runner.stopping) return;
    runner.log(id, null, `scheduled start (${startTime})`);
    try {
      await this.deps.deploy(id);
    } catch (err) {
      // deploy has logged and reported the failure; a busy lab is already being handled.
      this.deps.logger?.warn({ lab: id, err: err instanceof AppError ? err.message : err }, 'scheduled deploy did not run');
    }
  }

  private async scheduledEnd(id: string, endTime: string): Promise<void> {
    const { records, runner } = this.deps;
    const lab = records.get(id);
    if (!lab || lab.endTime !== endTime || runner.stopping) return;
    if (runner.busy(id)) {
      // Wait for the action in progress (e.g. a deploy), then end the lab.
      this.scheduler.at(`${id}:end`, this.deps.now() + 1000, () => void this.scheduledEnd(id, endTime));
      return;
    }
    if (!isActiveState(lab.state)) return;
    runner.log(id, null, `scheduled end (${endTime})`);
    try {
      await this.deps.destroy(id);
    } catch (err) {
      this.deps.logger?.warn({ lab: id, err: err instanceof AppError ? err.message : err }, 'scheduled destroy failed');
    }
  }

  /**
   * Recovery: a lab a previous process left Deploying, Running or Stopping (after a crash or a
   * normal stop) has no live nodes any more. Whatever that process left behind is cleaned up
   * (recorded exec processes killed, containerlab labs destroyed), the nodes go Inactive and the
   * lab Inactive (Failed stays Failed), with a lab log line and a status message; nothing is
   * redeployed behind the owner's back. A scheduled lab whose window is still open is deployed
   * again by its schedule. Then every schedule is armed.
   */
  async recover(): Promise<void> {
    const { records, runner, bus, now } = this.deps;
    const recovered: string[] = [];
    for (const lab of records.all()) {
      const leftActive = LEFT_ACTIVE.includes(lab.state);
      if (!leftActive && lab.nodes.every((n) => n.state === LabState.Inactive && n.pid === undefined)) continue;
      let topology: Topology | null = null;
      try {
        topology = parseTopology(lab.topology, 'topology');
      } catch {
        topology = null;
      }
      for (const g of this.deps.runtimes.group(lab.nodes, (n) => n.kind)) {
        try {
          await g.runtime.recover(lab.id, topology, g.nodes);
        } catch (err) {
          this.deps.logger?.error({ err, lab: lab.id, runtime: g.runtime.name }, 'recovering lab nodes failed');
        }
      }
      const at = now();
      const windowOpen = lab.startTime !== null && Date.parse(lab.startTime) <= at && (lab.endTime === null || Date.parse(lab.endTime) > at);
      const state = leftActive ? restingState(lab.startTime, at) : lab.state;
      await records.update(lab.id, (cur) => ({
        ...cur,
        state,
        nodes: cur.nodes.map(({ pid: _p, pidStart: _s, ...n }) => ({ ...n, state: LabState.Inactive })),
        ...(leftActive && windowOpen ? { scheduledRun: null } : {}),
        updated_at: new Date(at).toISOString(),
      }));
      if (leftActive) {
        const text = `Switchboard restarted while lab ${lab.name} was ${STATE_NAME[lab.state]}; its nodes were stopped${windowOpen ? ' and its schedule deploys it again' : '; deploy it again to resume'}`;
        runner.log(lab.id, null, text);
        runner.message(lab, Severity.Warning, `Lab ${lab.name} was stopped by a restart`, text);
      }
      recovered.push(lab.id);
    }
    // A schedule whose whole window passed while Switchboard was down will not run any more.
    for (const lab of records.all()) {
      if (lab.state !== LabState.Scheduled || lab.startTime === null || Date.parse(lab.startTime) > now()) continue;
      if (lab.endTime !== null && Date.parse(lab.endTime) <= now()) {
        await records.update(lab.id, (cur) => ({ ...cur, state: LabState.Inactive, updated_at: new Date(now()).toISOString() }));
        runner.message(lab, Severity.Warning, `Lab ${lab.name} missed its schedule`, `Lab ${lab.name} (${lab.id}) was scheduled from ${lab.startTime} to ${lab.endTime} while Switchboard was not running`);
        recovered.push(lab.id);
      }
    }
    if (recovered.length === 1) bus.publish('lab', recovered[0]!, 'updated', { owner: records.get(recovered[0]!)?.owner ?? null, changes: { recovered: true } });
    else if (recovered.length > 1) bus.publish('lab', null, 'updated', { labIds: recovered });
    for (const lab of records.all()) this.arm(lab);
  }
}
