// The HTTP server's listening socket as one step of the ordered start: it listens once the services
// and adapters behind its routes have started, so no first request meets a half-started server, and
// before the extensions that hand out its address (live-view URLs, the MQTT device links), so none
// of them has to wait for the port.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Extension } from '../../core/extension.js';
import { listenOn } from '../../core/listen.js';

export interface HttpListenerDeps {
  server: Server;
  host: string;
  port: number;
  /** Called with the port actually bound (port 0 picks a free one). */
  onListening(port: number): void;
  logger: Logger;
}

export class HttpListener implements Extension {
  readonly name = 'http';

  constructor(private readonly deps: HttpListenerDeps) {}

  async start(): Promise<void> {
    // A taken port stops start-up with one line naming http_port (PortInUseError).
    const port = await listenOn(this.deps.server, this.deps.port, this.deps.host, 'http_port');
    this.deps.onListening(port);
    this.deps.logger.info({ port }, 'HTTP server listening');
  }

  /** Takes no new connections; the open ones end with their adapters, and the app closes the rest. */
  async stop(): Promise<void> {
    if (this.deps.server.listening) this.deps.server.close();
  }
}
