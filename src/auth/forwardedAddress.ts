// Whose login attempt is this: behind a reverse proxy every request comes from the proxy's address,
// so failed logins would be counted for all users at once. Only from a peer listed in
// `trusted_proxies` is X-Forwarded-For believed, and then only its right-most entry that is not a
// trusted proxy itself: the one the nearest trusted proxy saw (a client can prepend anything).
import { isIP } from 'node:net';
import type { Logger } from 'pino';

/** Peers whose unheeded X-Forwarded-For is told (once each) in the log. */
const MAX_HINTS = 16;

/** `::ffff:172.30.32.2` (an IPv4 peer on a dual-stack socket) is the same address as `172.30.32.2`. */
export function normalizeAddress(address: string | undefined): string {
  const a = (address ?? '').trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

export class ForwardedAddress {
  private readonly trusted: ReadonlySet<string>;
  private readonly hinted = new Set<string>();

  constructor(
    trustedProxies: readonly string[],
    private readonly logger?: Logger,
  ) {
    this.trusted = new Set(trustedProxies.filter((a) => isIP(a) !== 0).map(normalizeAddress));
  }

  /** The client's address: the peer's, or through trusted proxies the one they were asked by. */
  clientOf(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    const direct = normalizeAddress(peer) || 'unknown';
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    if (!header) return direct;
    if (!this.trusted.has(direct)) {
      if (this.hinted.size < MAX_HINTS && !this.hinted.has(direct)) {
        this.hinted.add(direct);
        this.logger?.info({ peer: direct }, 'login attempts arrive through a proxy that is not in trusted_proxies: failed logins are counted for its address as a whole');
      }
      return direct;
    }
    const hops = header.split(',').map((h) => normalizeAddress(h)).filter((h) => h.length > 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return direct;
      if (!this.trusted.has(hop)) return hop;
    }
    return direct;
  }
}
