// The Altoponix document's event names (with their spaces) and the original server's reply texts.

export const EV = {
  con: 'con',
  conOk: 'con ok',
  conFailed: 'con failed',
  query: 'query',
  queryOk: 'query ok',
  queryFailed: 'query failed',
  commandSend: 'command send',
  commandOk: 'command ok',
  commandDo: 'command do',
  commandDone: 'command done',
  commandFinish: 'command finish',
  commandError: 'command error',
  commandFailed: 'command failed',
} as const;

export const REASON = {
  connectionOk: 'Connection ok',
  queryOk: 'Query ok',
  commandOk: 'Command ok',
  commandFinish: 'Command finish',
  queryFirst: 'Query first',
  unauthorized: 'Unauthorized',
  tooManyRequests: 'Too many requests',
  alreadyUser: 'Already connected as a user',
  alreadyMonitor: 'Already connected as a monitor',
  alreadyConnecting: 'Already connecting',
  /** `command error` without a usable {reason}: the command still failed. */
  commandError: 'Command error',
} as const;

/** `{reason}` on every reply, as the original server sent it. */
export interface Reply {
  reason: string;
}

/** What monitors and users send; payloads are checked by the connection, so they arrive unknown. */
export interface AltoponixClientEvents {
  [EV.con]: (data: unknown) => void;
  [EV.query]: (data: unknown) => void;
  [EV.commandSend]: (data: unknown) => void;
  [EV.commandDone]: () => void;
  [EV.commandError]: (data: unknown) => void;
}

export interface AltoponixServerEvents {
  [EV.conOk]: (reply: Reply) => void;
  [EV.conFailed]: (reply: Reply) => void;
  [EV.queryOk]: (reply: Reply) => void;
  [EV.queryFailed]: (reply: Reply) => void;
  [EV.commandOk]: (reply: Reply) => void;
  /** To the monitor: the command to run. */
  [EV.commandDo]: (message: { command: string }) => void;
  [EV.commandFinish]: (reply: Reply) => void;
  [EV.commandFailed]: (reply: Reply) => void;
}
