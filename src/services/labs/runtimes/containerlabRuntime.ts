// Every node kind that is not native (linux, nokia_srlinux, ...) goes to the real containerlab CLI.
// The lab's containerlab nodes (and the links between them) are written to a topology file under
// <data_dir>/labs/<labId>/ and deployed or destroyed with it; single nodes use --node-filter.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { spawnChild } from '../../../core/childProcess.js';
import { yamlLib } from '../../../core/lazyYaml.js';
import { runtimeError } from '../../../core/errors.js';
import type { LabHandle, LeftoverNode, NodeRuntime, RuntimeNode } from '../runtime.js';
import { NATIVE_KINDS, type Topology } from '../topology.js';
import { onLines } from './lines.js';

export function findOnPath(program: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export class ContainerlabRuntime implements NodeRuntime {
  readonly name = 'containerlab';
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly opts: { labsDir: string; binary?: string }) {}

  handles(kind: string): boolean {
    return !(NATIVE_KINDS as readonly string[]).includes(kind);
  }

  private binary(): string {
    const found = findOnPath(this.opts.binary ?? 'containerlab');
    if (!found) throw runtimeError('containerlab is not installed (not found on PATH); it is needed for nodes of containerlab kinds');
    return found;
  }

  /** Writes the containerlab part of the topology; the lab name gets the lab id so two labs never clash. */
  private async topologyFile(labId: string, topology: Topology): Promise<string> {
    const names = new Set(topology.nodes.filter((n) => this.handles(n.spec.kind)).map((n) => n.name));
    const doc = topology.document as { topology: { nodes: Record<string, unknown>; links?: { endpoints?: unknown }[] } & Record<string, unknown> } & Record<string, unknown>;
    const links = (doc.topology.links ?? []).filter((l) =>
      Array.isArray(l.endpoints) ? l.endpoints.every((e) => typeof e === 'string' && names.has(e.split(':')[0]!)) : false,
    );
    const nodes = Object.fromEntries(Object.entries(doc.topology.nodes).filter(([n]) => names.has(n)));
    const out = { ...doc, name: `${topology.name}-${labId.slice(0, 8)}`, topology: { ...doc.topology, nodes, links } };
    const dir = join(this.opts.labsDir, labId);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'topology.clab.yml');
    await writeFile(file, yamlLib().stringify(out), { mode: 0o600 });
    return file;
  }

  private async run(bin: string, args: string[], lab: LabHandle | null): Promise<number> {
    // A failed spawn rejects the once() below; a later error (a failed kill) is only logged.
    const proc = spawnChild(bin, args, { detached: false, stdio: ['ignore', 'pipe', 'pipe'] }, (err) => {
      if (proc.pid !== undefined) lab?.log(null, `containerlab: ${err.message}`);
    });
    this.running.add(proc);
    for (const stream of [proc.stdout!, proc.stderr!]) onLines(stream, (line) => lab?.log(null, line));
    try {
      // once() rejects on 'error', which a failed spawn emits before any 'close'.
      const [code] = (await once(proc, 'close')) as [number | null];
      return code ?? 1;
    } catch (err) {
      throw runtimeError(`containerlab could not be started: ${(err as Error).message}`);
    } finally {
      this.running.delete(proc);
    }
  }

  private async cli(lab: LabHandle, verb: 'deploy' | 'destroy', nodes: RuntimeNode[] | null): Promise<void> {
    const bin = this.binary();
    const file = await this.topologyFile(lab.labId, lab.topology);
    const args = [verb, '--topo', file, ...(verb === 'deploy' ? ['--reconfigure'] : ['--cleanup'])];
    if (nodes) args.push('--node-filter', nodes.map((n) => n.name).join(','));
    lab.log(null, `containerlab ${args.join(' ')}`);
    const code = await this.run(bin, args, lab);
    if (code !== 0) throw runtimeError(`containerlab ${verb} failed with exit code ${code}; see the lab log`);
  }

  async start(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    const all = lab.topology.nodes.filter((n) => this.handles(n.spec.kind));
    await this.cli(lab, 'deploy', nodes.length === all.length ? null : nodes);
  }

  async stop(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    if (!findOnPath(this.opts.binary ?? 'containerlab')) return;
    const all = lab.topology.nodes.filter((n) => this.handles(n.spec.kind));
    try {
      await this.cli(lab, 'destroy', nodes.length === all.length ? null : nodes);
    } catch (err) {
      lab.log(null, (err as Error).message);
    }
  }

  /** Containers outlive Switchboard: destroy the ones a previous process deployed. */
  async recover(labId: string, topology: Topology | null, _nodes: LeftoverNode[]): Promise<void> {
    const bin = findOnPath(this.opts.binary ?? 'containerlab');
    if (!bin || !topology) return;
    const file = await this.topologyFile(labId, topology);
    await this.run(bin, ['destroy', '--topo', file, '--cleanup'], null).catch(() => 1);
  }

  /** Shutdown: a CLI run still going is stopped (the containers themselves are recovered at next start). */
  async shutdown(): Promise<void> {
    for (const proc of this.running) proc.kill('SIGTERM');
  }
}
