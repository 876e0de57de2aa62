// /status-messages: server -> client `data` with each status message the user may see.
import type { DomainEvent } from '../../core/eventBus.js';
import { canSeeMessage } from '../../services/statusMessages/statusMessagesService.js';
import { actorOf } from './socketAuth.js';
import type { AntimonyNamespace as Namespace } from './sockets.js';

export function forwardStatusMessage(nsp: Namespace, e: DomainEvent<'statusMessage'>): void {
  const { message, audience } = e.details;
  for (const socket of nsp.sockets.values()) {
    if (canSeeMessage(actorOf(socket), audience)) socket.emit('data', message);
  }
}
