// Timers for lab schedules. setTimeout cannot wait longer than ~24.8 days, so long waits are chained.

const MAX_TIMEOUT = 2_147_483_647;

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Runs fn at `at` (ms since the epoch) under `key`, replacing any timer with that key. */
  at(key: string, at: number, fn: () => void): void {
    this.cancel(key);
    const wait = at - this.now();
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        if (at - this.now() > 0) this.at(key, at, fn);
        else fn();
      },
      Math.max(0, Math.min(wait, MAX_TIMEOUT)),
    );
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
