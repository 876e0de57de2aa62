// Waiting in tests: polling for a marker (never sleeping for a fixed time), and whether ffmpeg is here.
import { execFileSync } from 'node:child_process';

/**
 * The one wait of the tests: polls `fn` (sync or async) every 25 ms until it returns something
 * truthy, which it resolves to, or fails naming `what` after `timeoutMs`.
 */
export async function until<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** ffmpeg and ffprobe (Debian's ffmpeg package brings both); tests that need them skip without. */
export const hasFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
