// /lab-updates: server -> client `data` with the id of a lab that changed (clients re-fetch it),
// or "" when several changed (clients re-fetch all). Only owners and admins hear about a lab.
import type { DomainEvent } from '../../core/eventBus.js';
import type { LabsService } from '../../services/labs/labsService.js';
import { actorOf } from './socketAuth.js';
import type { AntimonyNamespace as Namespace, AntimonySocket as Socket } from './sockets.js';

/** A client (re)connecting may have missed anything (e.g. a server restart): it re-fetches all labs. */
export function greetLabUpdates(socket: Socket): void {
  socket.emit('data', '');
}

export function forwardLabUpdate(nsp: Namespace, labs: LabsService, e: DomainEvent<'lab'>): void {
  if (e.entity === null) {
    nsp.emit('data', '');
    return;
  }
  const owners = ['owner' in e.details ? e.details.owner : undefined, 'previousOwner' in e.details ? e.details.previousOwner : undefined].filter((o): o is string => typeof o === 'string');
  for (const socket of nsp.sockets.values()) {
    const actor = actorOf(socket);
    if (owners.some((owner) => labs.canSee(actor, { owner }))) socket.emit('data', e.entity);
  }
}
