// The in-process broker for standalone use (`mqtt.url: embedded`): aedes on a plain TCP listener.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Aedes } from 'aedes';

export class EmbeddedBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number): Promise<EmbeddedBroker> {
    // Loaded only in embedded mode: an add-on using the Supervisor's broker never pays for aedes.
    const { Aedes: Broker } = await import('aedes');
    const aedes = await Broker.createBroker();
    const server = createServer(aedes.handle);
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
    return new EmbeddedBroker(aedes, server, bound);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
