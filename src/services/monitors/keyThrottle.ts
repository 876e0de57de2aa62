// Failed monitor key checks, per address and per monitor id, in a sliding window. An address over
// its limit is refused outright. A monitor id over its limit (guesses spread over many addresses)
// is refused only to addresses that have themselves failed for it: an address that never failed,
// like the real monitor's, is always checked, so wrong guesses never lock the right key out.
const WINDOW_MS = 60_000;
const PER_ADDRESS = 10;
const PER_MONITOR = 30;
/** Bounds the tables; entries are cheap and expire with the window. */
const MAX_ENTRIES = 10_000;

export class KeyCheckThrottle {
  private readonly byAddress = new Map<string, number[]>();
  private readonly byMonitor = new Map<string, number[]>();
  /** `<monitor_id>\0<address>` pairs that failed within the window. */
  private readonly failedPairs = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private recent(map: Map<string, number[]>, key: string): number[] {
    const since = this.now() - WINDOW_MS;
    const list = (map.get(key) ?? []).filter((t) => t > since);
    if (list.length) map.set(key, list);
    else map.delete(key);
    return list;
  }

  /** May this address have this monitor id's key checked now? */
  allowed(monitorId: string, address: string): boolean {
    if (this.recent(this.byAddress, address).length >= PER_ADDRESS) return false;
    if (this.recent(this.byMonitor, monitorId).length < PER_MONITOR) return true;
    const pair = this.failedPairs.get(`${monitorId}\u0000${address}`);
    return pair === undefined || pair <= this.now() - WINDOW_MS;
  }

  fail(monitorId: string, address: string): void {
    const now = this.now();
    for (const [map, key] of [[this.byAddress, address], [this.byMonitor, monitorId]] as const) {
      const list = this.recent(map, key);
      list.push(now);
      map.set(key, list);
      if (map.size > MAX_ENTRIES) this.prune(map);
    }
    this.failedPairs.set(`${monitorId}\u0000${address}`, now);
    if (this.failedPairs.size > MAX_ENTRIES) {
      for (const [k, t] of this.failedPairs) if (t <= now - WINDOW_MS) this.failedPairs.delete(k);
    }
  }

  private prune(map: Map<string, number[]>): void {
    for (const key of [...map.keys()]) this.recent(map, key);
  }
}
