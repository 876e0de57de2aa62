import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SignedUrls } from '../../src/auth/signedUrls.js';

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sb-urls-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** path?query → [path, exp, tid, sig] */
const parts = (url: string) => {
  const [path, query] = url.split('?');
  const q = new URLSearchParams(query);
  return [path!, q.get('exp') ?? undefined, q.get('tid') ?? undefined, q.get('sig') ?? undefined] as const;
};

describe('SignedUrls', () => {
  it('binds a URL to its path, token and expiry', () => {
    let now = 1_000_000_000_000;
    const urls = new SignedUrls({ dataDir: dataDir(), now: () => now });
    const [path, exp, tid, sig] = parts(urls.signForToken('/api/cameras/a/stream.mjpeg', 'tok1', 60));
    expect(urls.tokenIdOf(path, exp, tid, sig)).toBe('tok1');
    expect(urls.tokenIdOf('/api/cameras/b/stream.mjpeg', exp, tid, sig)).toBeNull();
    expect(urls.tokenIdOf(path, exp, 'tok2', sig)).toBeNull();
    expect(urls.tokenIdOf(path, String(Number(exp) + 1), tid, sig)).toBeNull();
    expect(urls.tokenIdOf(path, exp, tid, `${sig}x`)).toBeNull();
    for (const bad of [undefined, 7, ['x'], '', 'not-a-number']) expect(urls.tokenIdOf(path, bad, tid, sig)).toBeNull();
    now += 61_000;
    expect(urls.tokenIdOf(path, exp, tid, sig)).toBeNull();
  });

  it('keeps the live key in the data folder, private, until it is rotated', () => {
    const dir = dataDir();
    const first = new SignedUrls({ dataDir: dir });
    const [path, exp, , sig] = parts(first.signLive('/api/cameras/a/live.ts', null));
    expect(first.verifyLive(path, exp, undefined, sig)).toEqual({ by: null, exp: Number(exp) * 1000 });
    expect(statSync(join(dir, 'live-url.key')).mode & 0o777).toBe(0o600);
    // A restart reads the same key: Home Assistant's stored URLs keep working.
    const again = new SignedUrls({ dataDir: dir });
    expect(again.verifyLive(path, exp, undefined, sig)).toBeDefined();
    const generation = again.liveKeyGeneration;
    again.rotateLiveKey();
    expect(again.liveKeyGeneration).toBe(generation + 1);
    expect(again.verifyLive(path, exp, undefined, sig)).toBeUndefined();
    expect(new SignedUrls({ dataDir: dir }).verifyLive(path, exp, undefined, sig)).toBeUndefined();
    // A token-bound signature is no live-view signature.
    const [tpath, texp, , tsig] = parts(again.signForToken('/api/cameras/a/live.ts', 'tok1', 60));
    expect(again.verifyLive(tpath, texp, undefined, tsig)).toBeUndefined();
  });

  it('signs live URLs for 30 days, for the admin who asked or for the add-on; neither can pass for the other', () => {
    let now = 1_000_000_000_000;
    const dir = dataDir();
    const urls = new SignedUrls({ dataDir: dir, now: () => now });
    const admin = new URL(urls.signLive('/api/cameras/a/live.ts', 'admin-1'), 'http://x');
    const q = Object.fromEntries(admin.searchParams);
    expect(Number(q.exp)).toBe(now / 1000 + 30 * 86_400);
    expect(urls.verifyLive(admin.pathname, q.exp, q.by, q.sig)).toEqual({ by: 'admin-1', exp: Number(q.exp) * 1000 });
    // Dropping or changing the issuer breaks the signature.
    expect(urls.verifyLive(admin.pathname, q.exp, undefined, q.sig)).toBeUndefined();
    expect(urls.verifyLive(admin.pathname, q.exp, 'admin-2', q.sig)).toBeUndefined();
    for (const bad of [7, ['admin-1'], '', 'x'.repeat(65), 'a b']) expect(urls.verifyLive(admin.pathname, q.exp, bad, q.sig)).toBeUndefined();
    // The form used before issuers were signed (path and expiry only, for ten years) no longer verifies.
    const oldSig = createHmac('sha256', readFileSync(join(dir, 'live-url.key'))).update(`${admin.pathname}\n${q.exp}`).digest('base64url');
    expect(urls.verifyLive(admin.pathname, q.exp, undefined, oldSig)).toBeUndefined();
    // After 30 days it has expired.
    now += 30 * 86_400_000 + 1000;
    expect(urls.verifyLive(admin.pathname, q.exp, q.by, q.sig)).toBeUndefined();
  });
});
