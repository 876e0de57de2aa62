// The Socket.IO types the Antimony namespaces share: what clients send, what the server emits and
// what each socket carries, so handlers read `socket.data` without casts.
import type { Namespace, Server, Socket } from 'socket.io';
import type { Actor } from '../../auth/records.js';
import type { Session } from '../../auth/sessions.js';

/** /lab-commands: `data` with a command and, last, an acknowledgement (clients may send either alone). */
export interface AntimonyClientEvents {
  data: (...args: unknown[]) => void;
}

export interface AntimonyServerEvents {
  /** A status message, a lab id ("" for all labs), or one log line, by namespace. */
  data: (payload: unknown) => void;
  /** /logs/…: the lines so far, on connect. */
  backlog: (lines: string[]) => void;
}

/** The lab (and node) a /logs/… socket follows. */
export interface LogTarget {
  labId: string;
  node: string | null;
}

export interface AntimonySocketData {
  actor: Actor;
  session?: Session;
  /** Set by the /logs/… check before the connection is accepted. */
  target?: LogTarget;
}

type NoInterServerEvents = Record<string, never>;
export type AntimonyServer = Server<AntimonyClientEvents, AntimonyServerEvents, NoInterServerEvents, AntimonySocketData>;
export type AntimonyNamespace = Namespace<AntimonyClientEvents, AntimonyServerEvents, NoInterServerEvents, AntimonySocketData>;
export type AntimonySocket = Socket<AntimonyClientEvents, AntimonyServerEvents, NoInterServerEvents, AntimonySocketData>;
