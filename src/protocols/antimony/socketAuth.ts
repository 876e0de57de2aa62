// Every Antimony namespace needs `auth: {token}`. The refusal messages are the ones the original
// clients test for: "Unauthorized" without a token, "Invalid Token" for a bad or expired one
// (clients refresh their token on exactly that message). Each connected socket is a session of the
// registry: it is disconnected when its token ends and follows its user's role when it changes.
import type { Actor } from '../../auth/records.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { AntimonyCode, refusal } from './errors.js';
import type { AntimonySocket as Socket } from './sockets.js';

export function requireToken(sessions: SessionRegistry) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const handshake = socket.handshake.auth as Record<string, unknown> | undefined;
    const token = handshake?.token;
    if (token === undefined || token === null || token === '') return next(refusal('Unauthorized', AntimonyCode.Forbidden));
    const actor = sessions.authenticate(token);
    if (!actor) return next(refusal('Invalid Token', AntimonyCode.Forbidden));
    setActor(socket, actor);
    next();
  };
}

export const actorOf = (socket: Socket): Actor => socket.data.actor;

export function setActor(socket: Socket, actor: Actor): void {
  socket.data.actor = actor;
}

/** Opens the socket's session; `onChange` runs after the socket's actor was updated. */
export function openSession(sessions: SessionRegistry, socket: Socket, onChange?: () => void): void {
  const session = sessions.open(actorOf(socket), 'antimony', {
    // A tick later, so a command that found the session over is answered before the socket goes.
    onEnd: () => setImmediate(() => socket.disconnect(true)),
    onChange: (actor) => {
      setActor(socket, actor);
      onChange?.();
    },
  });
  socket.data.session = session;
  socket.once('disconnect', () => session.close());
}

/** The socket's actor judged now, or null when its session has ended (the socket is then closed). */
export function currentActor(socket: Socket): Actor | null {
  const session = socket.data.session;
  const actor = session ? session.current() : null;
  if (actor) setActor(socket, actor);
  return actor;
}
