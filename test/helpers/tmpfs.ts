// A small tmpfs for the fault tests: a real filesystem that really fills up (ENOSPC), mounted and
// removed again. mount(8) needs root, which CI has; tests skip with their reason otherwise.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const canMount = process.getuid?.() === 0;

/** Mounts a tmpfs of `size` (e.g. "2m") on a new folder and returns it. */
export function mountTmpfs(prefix: string, size: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return dir;
}

export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Writes zeros into `file` until the filesystem refuses (ENOSPC): the disk is full to the brim. */
export function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}
