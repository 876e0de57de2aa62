// Nodes of kind `exec`: a supervised child process per node (spawned without a shell, never
// detached), its stdout/stderr lines become the node's log. Stopping sends SIGTERM, then SIGKILL
// after a grace period; shutdown stops every child, so none outlives Switchboard.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { spawnChild } from '../../../core/childProcess.js';
import { runtimeError } from '../../../core/errors.js';
import type { LabHandle, LeftoverNode, NodeRuntime, RuntimeNode } from '../runtime.js';
import { onLines } from './lines.js';
import { killIfSame, processStartTime } from './processes.js';

export interface ExecRuntimeOptions {
  /** labs.allow_exec: exec nodes run commands as the add-on's user, so the admin must opt in. */
  allowed: boolean;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

interface Child {
  proc: ChildProcess;
  stopping: boolean;
  exited: Promise<void>;
}

/** Only these variables reach a node: Switchboard's own environment may carry secrets. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

export class ExecRuntime implements NodeRuntime {
  readonly name = 'exec';
  private readonly children = new Map<string, Child>();
  private closed = false;

  constructor(private readonly opts: ExecRuntimeOptions) {}

  handles(kind: string): boolean {
    return kind === 'exec';
  }

  private key(labId: string, node: string): string {
    return `${labId}/${node}`;
  }

  async start(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    if (!this.opts.allowed) throw runtimeError('Nodes of kind exec are disabled; an admin can enable them with the labs.allow_exec option');
    for (const node of nodes) await this.startOne(lab, node);
  }

  private async startOne(lab: LabHandle, node: RuntimeNode): Promise<void> {
    const key = this.key(lab.labId, node.name);
    if (this.children.has(key)) return;
    const argv = node.spec.cmd as string[];
    const env: Record<string, string> = {};
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    Object.assign(env, node.spec.env ?? {});
    // A later error (e.g. a failed kill) goes to the lab's log; a failed spawn also rejects below.
    const proc = spawnChild(argv[0]!, argv.slice(1), { detached: false, stdio: ['ignore', 'pipe', 'pipe'], env }, (err) => {
      if (proc.pid !== undefined) lab.log(null, `node ${node.name}: ${err.message}`);
    });
    await once(proc, 'spawn').catch((err: NodeJS.ErrnoException) => {
      throw runtimeError(`Node ${node.name}: cannot start ${argv[0]}: ${err.code ?? err.message}`);
    });
    if (this.closed) {
      // Shutdown began while this one was spawning: it must not outlive us either.
      proc.kill('SIGKILL');
      throw runtimeError('Switchboard is shutting down');
    }
    for (const stream of [proc.stdout!, proc.stderr!]) {
      onLines(stream, (line) => lab.log(node.name, line));
    }
    const child: Child = {
      proc,
      stopping: false,
      exited: new Promise<void>((resolve) => {
        proc.once('close', (code, signal) => {
          this.children.delete(key);
          lab.nodeProcess(node.name, null, null);
          if (!child.stopping) {
            const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
            lab.nodeExited(node.name, reason, code !== 0);
          }
          resolve();
        });
      }),
    };
    this.children.set(key, child);
    lab.nodeProcess(node.name, proc.pid!, processStartTime(proc.pid!));
    lab.log(null, `node ${node.name}: started ${argv[0]} (pid ${proc.pid})`);
  }

  async stop(lab: LabHandle, nodes: RuntimeNode[]): Promise<void> {
    await Promise.all(nodes.map((n) => this.stopKey(this.key(lab.labId, n.name))));
  }

  private async stopKey(key: string): Promise<void> {
    const child = this.children.get(key);
    if (!child) return;
    child.stopping = true;
    child.proc.kill('SIGTERM');
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), this.opts.killGraceMs ?? 3000);
    await child.exited;
    clearTimeout(timer);
  }

  async recover(_labId: string, _topology: unknown, nodes: LeftoverNode[]): Promise<void> {
    for (const n of nodes) if (n.pid !== undefined && n.pidStart !== undefined) killIfSame(n.pid, n.pidStart);
  }

  /** Shutdown: stop every child still running. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.children.keys()].map((k) => this.stopKey(k)));
  }
}
