// Waiting in tests: polling for a marker (never sleeping for a fixed time), letting a window of the
// behaviour itself pass when no marker can show it, and whether ffmpeg is here.
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

/**
 * Lets real time pass because the behaviour under test needs it (a rate-limit window ending, a
 * claim window closing), never to hope that something has or has not happened: that is what
 * `until` and a marker are for. Resolves once `ms` have passed since `since` (default: now), by
 * the wall clock the code under test reads too. `why` names the window, for the reader.
 */
export async function elapse(ms: number, why: string, since = Date.now()): Promise<void> {
  if (!why) throw new Error('elapse needs the reason the time must pass');
  const end = since + ms;
  // A timer may fire a millisecond early by Date.now(): wait again until the clock says so.
  while (Date.now() < end) await new Promise((r) => setTimeout(r, end - Date.now()));
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
