// The lab runner: deploy, destroy and single-node actions on labs the caller has already judged
// (see labsService.ts), one action per lab at a time, with the lab and node logs and the state
// events they publish. Runtimes do the node work.
import type { Logger } from 'pino';
import type { EventBus } from '../../core/eventBus.js';
import { AppError, conflict, notFound, validationError } from '../../core/errors.js';
import type { Collection } from '../../store/database.js';
import { Severity, type StatusMessagesService } from '../statusMessages/statusMessagesService.js';
import { LogRing } from './logRing.js';
import { LabState, isActiveState, type LabNodeRecord, type LabRecord } from './records.js';
import type { LabHandle, RuntimeNode, RuntimeRegistry } from './runtime.js';
import { parseTopology, type Topology } from './topology.js';

export interface LabRunnerOptions {
  runtimes: RuntimeRegistry;
  messages: StatusMessagesService;
  logger?: Logger;
  /** Lines kept per lab log and per node log. */
  backlog?: number;
  now: () => number;
}

interface LiveLab {
  log: LogRing;
  nodeLogs: Map<string, LogRing>;
  /** The action in progress; a second one is refused (5002). */
  busy: 'deploying' | 'destroying' | 'node' | null;
}

/** The state of a lab that is not deployed: Scheduled while its start is ahead, else Inactive. */
export function restingState(startTime: string | null, now: number): LabState {
  return startTime !== null && Date.parse(startTime) > now ? LabState.Scheduled : LabState.Inactive;
}

/** The node of a lab's topology named by a command, or a clear error. */
export function nodeOf(lab: LabRecord, topology: Topology, node: string): RuntimeNode {
  if (typeof node !== 'string' || !node) throw validationError('Invalid request', [{ path: 'node', message: 'required for this command' }]);
  const found = topology.nodes.find((n) => n.name === node);
  if (!found) throw notFound(`Node ${node} of lab ${lab.name}`);
  return found;
}

export class LabRunner {
  private readonly live = new Map<string, LiveLab>();
  /** Set while Switchboard shuts down: no new action starts. */
  stopping = false;

  constructor(
    private readonly records: Collection<LabRecord>,
    private readonly bus: EventBus,
    private readonly opts: LabRunnerOptions,
  ) {}

  /** Is an action on this lab in progress? */
  busy(id: string): boolean {
    return Boolean(this.live.get(id)?.busy);
  }

  /** Drops a deleted lab's logs. */
  forget(id: string): void {
    this.live.delete(id);
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

  /** (Re)deploys every node for `by`. Throws a runtime error (after cleaning up) when a node fails to start. */
  async deploy(by: string, lab: LabRecord): Promise<void> {
    const id = lab.id;
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
      this.log(id, null, `deploying lab ${lab.name} (${topology.nodes.length} node${topology.nodes.length === 1 ? '' : 's'}) for ${by}`);
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
  async destroy(by: string, lab: LabRecord): Promise<void> {
    const id = lab.id;
    if (!isActiveState(lab.state)) return;
    const live = this.claim(id, 'destroying');
    try {
      const topology = parseTopology(lab.topology, 'topology');
      await this.setState(id, LabState.Stopping);
      this.log(id, null, `destroying lab ${lab.name} for ${by}`);
      await this.stopNodes(lab, topology, topology.nodes, 'destroyed');
      // Logged before the state change: log streams close once the lab is inactive.
      this.log(id, null, `lab ${lab.name} destroyed`);
      const current = this.records.get(id);
      await this.setState(id, restingState(current?.startTime ?? null, this.opts.now()), (n) => ({ ...n, state: LabState.Inactive }));
      this.message(lab, Severity.Success, `Lab ${lab.name} destroyed`);
    } finally {
      live.busy = null;
    }
  }

  async stopNode(by: string, lab: LabRecord, topology: Topology, node: RuntimeNode): Promise<void> {
    const id = lab.id;
    if (lab.state !== LabState.Running) throw validationError(`Lab ${lab.name} is not running`);
    if (lab.nodes.find((n) => n.name === node.name)?.state !== LabState.Running) return;
    const live = this.claim(id, 'node');
    try {
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Stopping } : n));
      this.log(id, null, `stopping node ${node.name} for ${by}`);
      await this.runtimeFor(node).stop(this.handle(id, topology), [node]);
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Inactive } : n));
      this.log(id, null, `node ${node.name} stopped`);
    } finally {
      live.busy = null;
    }
  }

  async startNode(by: string, lab: LabRecord, topology: Topology, node: RuntimeNode): Promise<void> {
    const id = lab.id;
    if (lab.state !== LabState.Running) throw validationError(`Lab ${lab.name} is not running`);
    if (lab.nodes.find((n) => n.name === node.name)?.state === LabState.Running) return;
    const live = this.claim(id, 'node');
    try {
      await this.setNodes(id, (n) => (n.name === node.name ? { ...n, state: LabState.Deploying } : n));
      this.log(id, null, `starting node ${node.name} for ${by}`);
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
    const next = await this.records.update(id, (cur) => ({ ...cur, state, nodes: nodes ? cur.nodes.map(nodes) : cur.nodes, updated_at: new Date(this.opts.now()).toISOString() }), { keepOnFault: true });
    if (next) this.bus.publish('lab', id, 'state', { owner: next.owner, state, nodes: next.nodes.map((n) => ({ name: n.name, state: n.state })) });
  }

  private async setNodes(id: string, change: (n: LabNodeRecord) => LabNodeRecord): Promise<void> {
    const before = this.records.get(id);
    if (!before) return;
    const next = await this.records.update(id, (cur) => ({ ...cur, nodes: cur.nodes.map(change), updated_at: new Date(this.opts.now()).toISOString() }), { keepOnFault: true });
    if (!next) return;
    for (const n of next.nodes) {
      const old = before.nodes.find((o) => o.name === n.name);
      if (old?.state !== n.state) this.bus.publish('lab', id, 'nodeState', { owner: next.owner, node: n.name, state: n.state });
    }
  }

  /** Appends a line to the lab log (node null) or a node's log, and publishes it. */
  log(id: string, node: string | null, line: string): void {
    const live = this.liveOf(id);
    const ring = node === null ? live.log : live.nodeLogs.get(node) ?? live.nodeLogs.set(node, new LogRing(this.opts.backlog)).get(node)!;
    const text = ring.push(node === null ? `${new Date(this.opts.now()).toISOString()} ${line}` : line);
    this.bus.publish('lab', id, 'log', { owner: this.records.get(id)?.owner ?? '', node, line: text });
  }

  /** A status message to the lab's owner. */
  message(lab: LabRecord, severity: Severity, content: string, logContent?: string): void {
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
}
