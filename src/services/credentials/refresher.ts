// When to refresh: a margin before expiry (a quarter of the token's lifetime, at most maxMarginMs),
// counted from our own receipt time so a skewed server clock cannot move it. Transient failures
// retry with exponential back-off and emit nothing; the service decides what an outcome means.

export type RefreshOutcome = 'ok' | 'transient' | 'permanent' | 'gone';

export interface RefreshTiming {
  maxMarginMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_REFRESH_TIMING: RefreshTiming = { maxMarginMs: 5 * 60_000, retryBaseMs: 1_000, retryMaxMs: 5 * 60_000 };

/** setTimeout's ceiling (~24.8 days): a longer wait simply refreshes early. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function refreshAt(expiresAt: number, expiresIn: number | null, timing: RefreshTiming): number {
  const lifetimeMs = (expiresIn ?? 0) * 1000;
  return expiresAt - Math.min(timing.maxMarginMs, lifetimeMs / 4);
}

export class Refresher {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly refresh: (id: string) => Promise<RefreshOutcome>,
    private readonly timing: RefreshTiming = DEFAULT_REFRESH_TIMING,
  ) {}

  /** (Re)plans a credential from its expiry; a null expiry means nothing to refresh. Resets back-off. */
  plan(id: string, expiresAt: number | null, expiresIn: number | null): void {
    this.failures.delete(id);
    if (expiresAt === null) return this.cancel(id);
    this.arm(id, refreshAt(expiresAt, expiresIn, this.timing) - Date.now());
  }

  cancel(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.failures.delete(id);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Consecutive transient failures of a credential (0 when healthy). */
  failureCount(id: string): number {
    return this.failures.get(id) ?? 0;
  }

  private arm(id: string, delayMs: number): void {
    clearTimeout(this.timers.get(id));
    if (this.stopped) return;
    const timer = setTimeout(() => void this.fire(id), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
    this.timers.set(id, timer);
  }

  private async fire(id: string): Promise<void> {
    this.timers.delete(id);
    const outcome = await this.refresh(id);
    if (outcome !== 'transient' || this.stopped) return;
    const n = (this.failures.get(id) ?? 0) + 1;
    this.arm(id, Math.min(this.timing.retryMaxMs, this.timing.retryBaseMs * 2 ** (n - 1)));
    this.failures.set(id, n);
  }
}
