// The one line all of the bridge's broker work waits in: jobs run one at a time, so a removal never
// interleaves with a republish and nothing is published before the base topic is ours.
import type { Logger } from 'pino';

export class PublishQueue {
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (err) {
        this.log.error({ err }, 'MQTT publishing failed');
      }
    });
  }

  /** No job starts from now on; settles when the one running has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
  }
}
