// Every Antimony namespace needs `auth: {token}`. The refusal messages are the ones the original
// clients test for: "Unauthorized" without a token, "Invalid Token" for a bad or expired one
// (clients refresh their token on exactly that message).
import type { Namespace, Socket } from 'socket.io';
import type { AuthService } from '../../auth/authService.js';
import type { Actor } from '../../auth/records.js';
import { AntimonyCode, refusal } from './errors.js';

export interface AntimonySocketData {
  actor: Actor;
}

export function requireToken(auth: AuthService) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const handshake = socket.handshake.auth as Record<string, unknown> | undefined;
    const token = handshake?.token;
    if (token === undefined || token === null || token === '') return next(refusal('Unauthorized', AntimonyCode.Forbidden));
    const actor = auth.authenticate(token);
    if (!actor) return next(refusal('Invalid Token', AntimonyCode.Forbidden));
    setActor(socket, actor);
    next();
  };
}

export const actorOf = (socket: Socket): Actor => (socket.data as AntimonySocketData).actor;

export function setActor(socket: Socket, actor: Actor): void {
  (socket.data as AntimonySocketData).actor = actor;
}

/** Sockets of a namespace whose token is in the list (revoked tokens). */
export function socketsWithTokens(nsp: Namespace, tokenIds: readonly string[]): Socket[] {
  return [...nsp.sockets.values()].filter((s) => {
    const id = (s.data as Partial<AntimonySocketData>).actor?.tokenId;
    return id !== undefined && tokenIds.includes(id);
  });
}
