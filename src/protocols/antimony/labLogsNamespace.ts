// /logs/<labId> and /logs/<labId>/<node>: `backlog` on connect, then `data` per line. A lab's log
// exists while the lab is active (neither Inactive nor Scheduled), a node's while the node runs;
// when that ends, its sockets are disconnected. Lines come from the labs service's log stream. Sockets are tracked here, never reached through
// io.of(name): that would create a namespace outside the checked parent.
import type { DomainEvent } from '../../core/eventBus.js';
import type { LabsService } from '../../services/labs/labsService.js';
import { LabState, isActiveState } from '../../services/labs/records.js';
import { AntimonyCode, refusal } from './errors.js';
import { actorOf } from './socketAuth.js';
import { isUuid } from '../../core/ids.js';
import type { AntimonyNamespace as Namespace, AntimonyServer as Server, AntimonySocket as Socket, LogTarget as Target } from './sockets.js';

export const LOGS_NAMESPACE = /^\/logs\/[^/]+(\/[^/]+)?$/;

/**
 * Socket.IO creates a child namespace for every name that matches, before any check runs, and
 * keeps it. Each is dropped once it has no sockets, so refused or random names cannot pile up.
 */
export function dropEmptyChild(io: Server, parent: Namespace, child: Namespace): void {
  if (child.sockets.size > 0 || io._nsps.get(child.name) !== child) return;
  io._nsps.delete(child.name);
  // `children` is private in the typings; without this the parent would keep the child alive.
  (parent as unknown as { children: Set<Namespace> }).children.delete(child);
}

export class LabLogStreams {
  private readonly sockets = new Map<string, Map<Socket, Target>>();

  constructor(private readonly labs: LabsService) {}

  /** Middleware: the lab (and node) must exist, be visible to the user and be active/running. */
  check(socket: Socket, next: (err?: Error) => void): void {
    const [, , rawLab, rawNode] = socket.nsp.name.split('/');
    const labId = decodeURIComponent(rawLab ?? '');
    const node = rawNode === undefined ? null : decodeURIComponent(rawNode);
    if (!isUuid(labId)) return next(refusal('Invalid lab id', AntimonyCode.NotFound));
    const lab = this.labs.lab(labId);
    if (!lab) return next(refusal('Lab not found', AntimonyCode.NotFound));
    if (!this.labs.canSee(actorOf(socket), lab)) return next(refusal('No access to this lab', AntimonyCode.Forbidden));
    if (node === null) {
      if (!isActiveState(lab.state)) return next(refusal('Lab is not active', AntimonyCode.Invalid));
    } else {
      const n = lab.nodes.find((x) => x.name === node);
      if (!n) return next(refusal('Node not found', AntimonyCode.NotFound));
      if (n.state !== LabState.Running) return next(refusal('Node is not running', AntimonyCode.Invalid));
    }
    socket.data.target = { labId, node };
    next();
  }

  connect(socket: Socket): void {
    const target = socket.data.target;
    if (!target) return; // every socket here passed check(), which sets it
    let set = this.sockets.get(target.labId);
    if (!set) this.sockets.set(target.labId, (set = new Map()));
    set.set(socket, target);
    socket.once('disconnect', () => {
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(target.labId) === set) this.sockets.delete(target.labId);
    });
    socket.emit('backlog', this.labs.backlog(target.labId, target.node ?? undefined));
  }


  onLabEvent(e: DomainEvent<'lab'>): void {
    if (e.entity === null) return;
    const set = this.sockets.get(e.entity);
    if (!set) return;
    const drop = (pred: (t: Target, s: Socket) => boolean) => {
      // disconnect() leaves only this namespace: the client's shared connection (and its other namespaces) stays up.
      for (const [s, t] of [...set]) if (pred(t, s)) s.disconnect();
    };
    switch (e.event) {
      case 'log':
        for (const [s, t] of set) if (t.node === e.details.node) s.emit('data', e.details.line);
        break;
      case 'state':
        if (!isActiveState(e.details.state)) drop(() => true);
        break;
      case 'nodeState':
        if (e.details.state !== LabState.Running) drop((t) => t.node === e.details.node);
        break;
      case 'deleted':
        drop(() => true);
        break;
      case 'updated':
        // The owner may have changed: whoever may no longer see the lab stops hearing it.
        drop((_t, s) => !this.labs.canSee(actorOf(s), { owner: String(e.details.owner) }));
        break;
      default:
        break;
    }
  }

  /** Disconnects every log socket (the adapter stops). */
  dropAll(): void {
    for (const set of this.sockets.values()) for (const s of [...set.keys()]) s.disconnect(true);
  }

  /** Drops a log socket whose user may no longer see its lab. */
  recheck(socket: Socket): void {
    const target = socket.data.target;
    if (!target || !socket.connected) return;
    const lab = this.labs.lab(target.labId);
    if (!lab || !this.labs.canSee(actorOf(socket), lab)) socket.disconnect(true);
  }

  count(): number {
    let n = 0;
    for (const set of this.sockets.values()) n += set.size;
    return n;
  }
}
