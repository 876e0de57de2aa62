// Lab records as stored in db.json, and the view every API returns.

/** Lab and node states, numbered as Antimony numbers them. */
export const LabState = {
  Scheduled: -2,
  Inactive: -1,
  Deploying: 0,
  Running: 1,
  Stopping: 2,
  Failed: 3,
} as const;
export type LabState = (typeof LabState)[keyof typeof LabState];

/** Lab log namespaces exist only while a lab is in one of these states (the document's "active"). */
export const isActiveState = (s: number): boolean => s !== LabState.Inactive && s !== LabState.Scheduled;

export interface LabNodeRecord {
  name: string;
  kind: string;
  state: LabState;
  /** exec nodes: the child's pid and its kernel start time, so a later process can kill a leftover safely. */
  pid?: number;
  pidStart?: string;
}

export interface LabRecord {
  id: string;
  name: string;
  /** User id of the owner. */
  owner: string;
  /** The containerlab-style YAML as the user wrote it. */
  topology: string;
  state: LabState;
  nodes: LabNodeRecord[];
  startTime: string | null;
  endTime: string | null;
  /** The startTime the schedule last deployed for, so a restart does not deploy the same window twice. */
  scheduledRun: string | null;
  created_at: string;
  updated_at: string;
}

export interface LabNodeView {
  name: string;
  kind: string;
  state: LabState;
  /** What names this node's log namespace, /logs/<labId>/<containerId>: the node's name here. */
  containerId: string;
}

export interface LabView {
  id: string;
  name: string;
  owner: string;
  topology: string;
  state: LabState;
  nodes: LabNodeView[];
  startTime: string | null;
  endTime: string | null;
  created_at: string;
  updated_at: string;
}

export const toLabView = (r: LabRecord): LabView => ({
  id: r.id,
  name: r.name,
  owner: r.owner,
  topology: r.topology,
  state: r.state,
  nodes: r.nodes.map((n) => ({ name: n.name, kind: n.kind, state: n.state, containerId: n.name })),
  startTime: r.startTime,
  endTime: r.endTime,
  created_at: r.created_at,
  updated_at: r.updated_at,
});
