// Nodes of kind `camera`: while the node runs, its camera's stream stays demanded (the camera
// service starts capturing on the first demand and stops after the last one goes away).
import { runtimeError } from '../../../core/errors.js';
import type { LabHandle, NodeRuntime, RuntimeNode } from '../runtime.js';

export interface LabReader {
  type: 'lab';
  id: string;
}

/** The part of the camera service a lab needs. */
export interface CameraDemandSource {
  get(id: string): { id: string; name: string } | undefined;
  addDemand(id: string, reader: LabReader): unknown;
  removeDemand(id: string, reader: LabReader): unknown;
}

export class CameraRuntime implements NodeRuntime {
  readonly name = 'camera';
  /** reader id -> camera id, for the demands this runtime holds. */
  private readonly held = new Map<string, string>();

  constructor(private readonly cameras: CameraDemandSource) {}

  handles(kind: string): boolean {
    return kind === 'camera';
  }

  /** One reader per node, so two nodes of one lab on the same camera keep separate demands. */
  private reader(labId: string, node: string): LabReader {
    return { type: 'lab', id: `${labId}/${node}` };
  }

  async start(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    const cameras = this.cameras;
    for (const node of nodes) {
      const cameraId = node.spec.camera!;
      const camera = cameras.get(cameraId);
      if (!camera) throw runtimeError(`Node ${node.name}: camera ${cameraId} does not exist`);
      const reader = this.reader(lab.labId, node.name);
      if (this.held.has(reader.id)) continue;
      try {
        await cameras.addDemand(cameraId, reader);
      } catch (err) {
        // A camera switched off is a conflict to the camera's clients; to the deploy it is a failure with that reason.
        throw runtimeError((err as Error).message);
      }
      this.held.set(reader.id, cameraId);
      lab.log(null, `node ${node.name}: demanding camera ${camera.name}`);
      lab.log(node.name, `camera ${camera.name} (${cameraId}) demanded`);
    }
  }

  async stop(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    for (const node of nodes) {
      const reader = this.reader(lab.labId, node.name);
      const cameraId = this.held.get(reader.id);
      if (cameraId === undefined) continue;
      this.held.delete(reader.id);
      try {
        await this.cameras.removeDemand(cameraId, reader);
      } catch (err) {
        lab.log(null, `node ${node.name}: releasing camera ${cameraId} failed: ${(err as Error).message}`);
      }
      lab.log(node.name, `camera ${cameraId} released`);
    }
  }

  /** Demands live in memory: a previous process's demands ended with it. */
  async recover(): Promise<void> {}

  async shutdown(): Promise<void> {
    const cameras = this.cameras;
    for (const [readerId, cameraId] of this.held) await Promise.resolve(cameras.removeDemand(cameraId, { type: 'lab', id: readerId })).catch(() => undefined);
    this.held.clear();
  }
}
