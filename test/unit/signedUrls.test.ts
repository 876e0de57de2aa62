import { mkdtempSync, rmSync, statSync } from 'node:fs';
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
    const [path, exp, , sig] = parts(first.signLive('/api/cameras/a/live.ts'));
    expect(first.verifyLive(path, exp, sig)).toBe(true);
    expect(statSync(join(dir, 'live-url.key')).mode & 0o777).toBe(0o600);
    // A restart reads the same key: Home Assistant's stored URLs keep working.
    const again = new SignedUrls({ dataDir: dir });
    expect(again.verifyLive(path, exp, sig)).toBe(true);
    const generation = again.liveKeyGeneration;
    again.rotateLiveKey();
    expect(again.liveKeyGeneration).toBe(generation + 1);
    expect(again.verifyLive(path, exp, sig)).toBe(false);
    expect(new SignedUrls({ dataDir: dir }).verifyLive(path, exp, sig)).toBe(false);
    // A token-bound signature is no live-view signature.
    const [tpath, texp, , tsig] = parts(again.signForToken('/api/cameras/a/live.ts', 'tok1', 60));
    expect(again.verifyLive(tpath, texp, tsig)).toBe(false);
  });
});
