// The pluggable lab runtime: one NodeRuntime per family of node kinds. The labs service owns the
// state machine; a runtime only starts and stops the nodes it is given and reports what they print.
import type { Topology, TopologyNode } from './topology.js';

export interface RuntimeNode {
  name: string;
  spec: TopologyNode;
}

/** What a runtime may tell the lab about while it runs. */
export interface LabHandle {
  readonly labId: string;
  readonly topology: Topology;
  /** A line for the lab log (node null) or a node's log. */
  log(node: string | null, line: string): void;
  /** A node ended on its own (not because it was stopped): the service marks it failed or inactive. */
  nodeExited(node: string, reason: string, failed: boolean): void;
  /** Process details a later Switchboard process needs to clean up after a crash. */
  nodeProcess(node: string, pid: number | null, pidStart: string | null): void;
}

/** A node as a previous process left it in the store. */
export interface LeftoverNode {
  name: string;
  kind: string;
  pid?: number;
  pidStart?: string;
}

export interface NodeRuntime {
  readonly name: string;
  handles(kind: string): boolean;
  /** Starts the nodes (all of this runtime's nodes at deploy, one at "start node"). Throws AppError. */
  start(lab: LabHandle, nodes: RuntimeNode[]): Promise<void>;
  /** Stops the nodes; never throws for nodes that are already gone. */
  stop(lab: LabHandle, nodes: RuntimeNode[]): Promise<void>;
  /** Cleans up what a previous Switchboard process left running for these nodes. */
  recover(labId: string, topology: Topology | null, nodes: LeftoverNode[]): Promise<void>;
  /** Switchboard is stopping: end everything this runtime keeps running in-process. */
  shutdown(): Promise<void>;
}

export class RuntimeRegistry {
  constructor(private readonly runtimes: NodeRuntime[]) {}

  /** Groups nodes by runtime, in the order the runtimes were registered. */
  group<N>(nodes: N[], kindOf: (n: N) => string): { runtime: NodeRuntime; nodes: N[] }[] {
    return this.runtimes.map((runtime) => ({ runtime, nodes: nodes.filter((n) => runtime.handles(kindOf(n))) })).filter((g) => g.nodes.length > 0);
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.runtimes.map((r) => r.shutdown()));
  }
}
