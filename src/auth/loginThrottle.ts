// Failed logins in a sliding window, counted per username+address and per address. Over either
// limit, logins from there answer 429. The table is bounded, but an active lockout is never evicted
// to make room: a flood of made-up usernames cannot reset the real user's lockout.
import { usernameKey } from './usernames.js';

export interface LoginThrottleLimits {
  /** Failures per username+address before that pair is locked out. */
  perUser: number;
  /** Failures per address (any usernames) before the address is locked out. */
  perAddress: number;
  windowMs: number;
  /** Most username+address entries kept; unlocked ones are evicted first, locked ones never. */
  maxEntries: number;
}

const DEFAULTS: LoginThrottleLimits = { perUser: 10, perAddress: 50, windowMs: 60_000, maxEntries: 10_000 };

export class LoginThrottle {
  private readonly byUser = new Map<string, number[]>();
  private readonly byAddress = new Map<string, number[]>();
  private readonly limits: LoginThrottleLimits;

  constructor(
    limits: Partial<LoginThrottleLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULTS, ...limits };
  }

  private key(username: string, address: string): string {
    return `${usernameKey(username)}\u0000${address}`;
  }

  private recent(map: Map<string, number[]>, key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const list = (map.get(key) ?? []).filter((t) => t > since);
    if (list.length) map.set(key, list);
    else map.delete(key);
    return list;
  }

  private wait(list: number[], limit: number): number {
    if (list.length < limit) return 0;
    return Math.max(1, Math.ceil((list[list.length - limit]! + this.limits.windowMs - this.now()) / 1000));
  }

  /** Seconds until another attempt is allowed, or 0 when allowed now. */
  retryAfter(username: string, address: string): number {
    return Math.max(
      this.wait(this.recent(this.byUser, this.key(username, address)), this.limits.perUser),
      this.wait(this.recent(this.byAddress, address), this.limits.perAddress),
    );
  }

  fail(username: string, address: string): void {
    const addressList = this.recent(this.byAddress, address);
    addressList.push(this.now());
    this.byAddress.set(address, addressList);
    const key = this.key(username, address);
    const list = this.recent(this.byUser, key);
    if (!list.length && !this.makeRoom()) return;
    list.push(this.now());
    this.byUser.set(key, list);
    if (this.byAddress.size > this.limits.maxEntries) this.evictUnlocked(this.byAddress, this.limits.perAddress);
  }

  succeed(username: string, address: string): void {
    this.byUser.delete(this.key(username, address));
  }

  /** Frees a slot for a new username+address entry; false when every entry is an active lockout. */
  private makeRoom(): boolean {
    if (this.byUser.size < this.limits.maxEntries) return true;
    this.evictUnlocked(this.byUser, this.limits.perUser);
    return this.byUser.size < this.limits.maxEntries;
  }

  /** Drops expired entries, then the oldest entries that are not locked out, down to 90 % of the cap. */
  private evictUnlocked(map: Map<string, number[]>, limit: number): void {
    const target = Math.floor(this.limits.maxEntries * 0.9);
    for (const key of [...map.keys()]) this.recent(map, key);
    for (const [key, list] of map) {
      if (map.size <= target) break;
      if (list.length < limit) map.delete(key);
    }
  }
}
