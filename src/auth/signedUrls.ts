// URLs that carry their own credential, for clients that cannot send a header: an <img> tag, Home
// Assistant's MJPEG camera (a short-lived URL bound to the token that made it) and HA's Generic
// Camera (a live-view URL signed with a key kept in the data folder, for 30 days, and either for
// the admin who asked for it (`by`) or for the add-on itself, which re-signs the URLs it keeps in
// Home Assistant well before they expire). The session registry decides who such a URL speaks for
// and whether its issuer still stands; this file only signs and checks signatures.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * Live-view URLs are stored by Home Assistant, so they last a month: the add-on re-signs its own
 * daily; one an admin asked for ends with that admin's role, or after this.
 */
export const LIVE_URL_TTL_SECONDS = 30 * 86_400;

const EXP = /^\d{1,12}$/;
const TOKEN_ID = /^[\w-]{1,64}$/;

export class SignedUrls {
  /** Token-bound URLs live minutes; a restart may end them, so this key is never stored. */
  private readonly tokenKey = randomBytes(32);
  private liveKey: Buffer | null = null;
  private liveGeneration = 0;

  constructor(private readonly opts: { dataDir: string; logger?: Logger; now?: () => number }) {}

  /** `path?exp=…&tid=…&sig=…`, valid for `ttlSeconds` and only while the token `tokenId` stands. */
  signForToken(path: string, tokenId: string, ttlSeconds: number): string {
    const exp = this.nowSeconds() + ttlSeconds;
    return `${path}?exp=${exp}&tid=${tokenId}&sig=${hmac(this.tokenKey, `${path}\n${exp}\n${tokenId}`)}`;
  }

  /** The token record id a token-bound URL was made with, or null (bad or expired signature). */
  tokenIdOf(path: string, exp: unknown, tid: unknown, sig: unknown): string | null {
    if (typeof tid !== 'string' || !TOKEN_ID.test(tid) || !this.fresh(exp)) return null;
    return matches(hmac(this.tokenKey, `${path}\n${exp}\n${tid}`), sig) ? tid : null;
  }

  /**
   * `path?exp=…[&by=…]&sig=…` with the persistent live key: valid until it expires or the key is
   * rotated. `by`: the user id of the admin it speaks for; null: the add-on's own.
   */
  signLive(path: string, by: string | null, ttlSeconds = LIVE_URL_TTL_SECONDS): string {
    const exp = this.nowSeconds() + ttlSeconds;
    return `${path}?exp=${exp}${by === null ? '' : `&by=${encodeURIComponent(by)}`}&sig=${hmac(this.currentLiveKey(), liveText(path, exp, by))}`;
  }

  /** Whom a live-view URL validly signed with the current key and unexpired speaks for (`by`, or null: the add-on), else undefined. */
  verifyLive(path: string, exp: unknown, by: unknown, sig: unknown): { by: string | null; exp: number } | undefined {
    if (by !== undefined && (typeof by !== 'string' || !TOKEN_ID.test(by))) return undefined;
    if (!this.fresh(exp)) return undefined;
    const issuer = by ?? null;
    return matches(hmac(this.currentLiveKey(), liveText(path, exp, issuer)), sig) ? { by: issuer, exp: Number(exp) * 1000 } : undefined;
  }

  /** Counts key rotations: a live-view session opened under an older generation has been revoked. */
  get liveKeyGeneration(): number {
    return this.liveGeneration;
  }

  /** A new live key: every live-view URL handed out so far stops working. */
  rotateLiveKey(): void {
    const key = randomBytes(32);
    mkdirSync(this.opts.dataDir, { recursive: true });
    const tmp = `${this.liveKeyPath()}.tmp-${process.pid}`;
    writeFileSync(tmp, key, { mode: 0o600 });
    renameSync(tmp, this.liveKeyPath());
    this.liveKey = key;
    this.liveGeneration += 1;
    this.opts.logger?.info('live URLs revoked: new signing key');
  }

  private liveKeyPath(): string {
    return join(this.opts.dataDir, 'live-url.key');
  }

  /** Read once from the data folder (live URLs outlive restarts), made on first use. */
  private currentLiveKey(): Buffer {
    if (this.liveKey) return this.liveKey;
    try {
      const key = readFileSync(this.liveKeyPath());
      if (key.length === 32) return (this.liveKey = key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.rotateLiveKey();
    return this.liveKey!;
  }

  private fresh(exp: unknown): exp is string {
    return typeof exp === 'string' && EXP.test(exp) && Number(exp) >= this.nowSeconds();
  }

  private nowSeconds(): number {
    return Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
  }
}

/** What a live-view signature covers; the leading word keeps it apart from every older form. */
function liveText(path: string, exp: number | string, by: string | null): string {
  return `live\n${path}\n${exp}\n${by ?? ''}`;
}

function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function matches(want: string, got: unknown): boolean {
  if (typeof got !== 'string') return false;
  const a = Buffer.from(want);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}
