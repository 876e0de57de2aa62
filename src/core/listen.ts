// Binding a listening port, with the one failure an operator can fix named in their words: the
// port is taken, and which option chooses it.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';

/** A port another program holds; `option` is the setting that chooses it (http_port, monitor_port, …). */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly option: string,
  ) {
    super(`port ${port} is in use (EADDRINUSE): stop what listens there or change ${option}`);
    this.name = 'PortInUseError';
  }
}

/** Listens and resolves with the bound port; a taken port rejects with PortInUseError. */
export async function listenOn(server: Server, port: number, host: string, option: string): Promise<number> {
  server.listen(port, host);
  try {
    await once(server, 'listening'); // rejects on 'error'
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortInUseError(port, option);
    throw err;
  }
  return (server.address() as AddressInfo).port;
}
