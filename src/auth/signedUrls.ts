// URLs that carry their own credential, for clients that cannot send a header: an <img> tag, Home
// Assistant's MJPEG camera (a short-lived URL bound to the token that made it) and HA's Generic
// Camera (a long-lived live-view URL signed with a key kept in the data folder). The session
// registry decides who such a URL speaks for; this file only signs and checks signatures.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Live-view URLs are stored by Home Assistant, so they are made to last (ten years). */
export const LIVE_URL_TTL_SECONDS = 10 * 365 * 86_400;

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

  /** `path?exp=…&sig=…` with the persistent live key: valid until it expires or the key is rotated. */
  signLive(path: string, ttlSeconds = LIVE_URL_TTL_SECONDS): string {
    const exp = this.nowSeconds() + ttlSeconds;
    return `${path}?exp=${exp}&sig=${hmac(this.currentLiveKey(), `${path}\n${exp}`)}`;
  }

  /** Whether a live-view URL is validly signed with the current key and unexpired. */
  verifyLive(path: string, exp: unknown, sig: unknown): boolean {
    return this.fresh(exp) && matches(hmac(this.currentLiveKey(), `${path}\n${exp}`), sig);
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

function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function matches(want: string, got: unknown): boolean {
  if (typeof got !== 'string') return false;
  const a = Buffer.from(want);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}
