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
