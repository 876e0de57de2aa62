// Monitor key checks, per address and per monitor id, in a sliding window. An attempt counts from
// the moment its check starts (checks are async, so a burst cannot slip in before the first
// failure is recorded) and is taken back when the key was right. An address over its limit is
// refused outright. A monitor id over its limit (guesses spread over many addresses) is refused
// only to addresses that have themselves failed for it: an address that never failed, like the real
// monitor's, is always checked, so wrong guesses never lock the right key out.
const WINDOW_MS = 60_000;
const PER_ADDRESS = 10;
const PER_MONITOR = 30;
/** Bounds the tables; entries are cheap and expire with the window. */
const MAX_ENTRIES = 10_000;

export class KeyCheckThrottle {
  private readonly byAddress = new Map<string, number[]>();
  private readonly byMonitor = new Map<string, number[]>();
  /** When each `<monitor_id>\0<address>` pair last failed. */
  private readonly failedPairs = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private recent(map: Map<string, number[]>, key: string): number[] {
    const since = this.now() - WINDOW_MS;
    const list = (map.get(key) ?? []).filter((t) => t > since);
    if (list.length) map.set(key, list);
    else map.delete(key);
    return list;
  }

  /** Starts a key check if this address may have one for this monitor id now; false: refuse it. */
  begin(monitorId: string, address: string): boolean {
    if (this.recent(this.byAddress, address).length >= PER_ADDRESS) return false;
    if (this.recent(this.byMonitor, monitorId).length >= PER_MONITOR) {
      const failed = this.failedPairs.get(`${monitorId}\u0000${address}`);
      if (failed !== undefined && failed > this.now() - WINDOW_MS) return false;
    }
    const now = this.now();
    for (const [map, key] of [[this.byAddress, address], [this.byMonitor, monitorId]] as const) {
      const list = this.recent(map, key);
      list.push(now);
      map.set(key, list);
      if (map.size > MAX_ENTRIES) for (const k of [...map.keys()]) this.recent(map, k);
    }
    return true;
  }

  /** The key was right: the attempt does not count against anyone. */
  succeeded(monitorId: string, address: string): void {
    this.byAddress.get(address)?.pop();
    this.byMonitor.get(monitorId)?.pop();
  }

  /** The key was wrong: the attempt stays counted and the address is marked for this monitor id. */
  failed(monitorId: string, address: string): void {
    const now = this.now();
    this.failedPairs.set(`${monitorId}\u0000${address}`, now);
    if (this.failedPairs.size > MAX_ENTRIES) {
      for (const [k, t] of this.failedPairs) if (t <= now - WINDOW_MS) this.failedPairs.delete(k);
    }
  }
}
