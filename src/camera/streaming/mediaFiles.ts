// What the media folder holds (`<media_dir>/<camera>/<segment>.mp4`), kept in memory between full
// listings. The space rules run every few seconds while anything records; a week of one-minute
// segments is ten thousand files per camera, and stat'ing all of them that often would cost a
// Raspberry Pi's SD card more than the recording does. The whole folder is read when a recording
// starts and every ten minutes; in between only the folders of cameras that record (or just
// stopped) are listed, and only their new and newest files stat'ed: nothing else writes there.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface MediaFile {
  path: string;
  cam: string;
  size: number;
  mtime: number;
}

export class MediaFiles {
  private readonly files = new Map<string, MediaFile>();
  private listedAt = -Infinity;
  /** Cameras refreshed last time: a camera that just stopped has its last segment finalized since. */
  private lastActive: readonly string[] = [];
  /** Each camera's newest file as last seen: when a new segment starts, this one has just been finished. */
  private readonly newest = new Map<string, string>();

  constructor(
    private readonly dir: string,
    /** How often everything is listed again (picks up files added or removed by hand); 0 = every call. */
    private readonly relistMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every recording file, oldest first; `active`: the cameras recording now. */
  async list(active: readonly string[]): Promise<MediaFile[]> {
    if (this.now() - this.listedAt >= this.relistMs) {
      this.files.clear();
      for (const cam of await readdir(this.dir).catch(() => [] as string[])) await this.refreshCamera(cam);
      this.listedAt = this.now();
    } else {
      for (const cam of new Set([...active, ...this.lastActive])) await this.refreshCamera(cam);
    }
    this.lastActive = [...active];
    return [...this.files.values()].sort((a, b) => a.mtime - b.mtime);
  }

  /** The next `list` reads the whole folder again. */
  relistNext(): void {
    this.listedAt = -Infinity;
  }

  /** A file we deleted. */
  forget(path: string): void {
    this.files.delete(path);
  }

  /**
   * Lists one camera's folder: new files, the newest (being written) and the one that was newest
   * last time (finished since) are stat'ed; vanished ones dropped.
   */
  private async refreshCamera(cam: string): Promise<void> {
    const names = (await readdir(join(this.dir, cam)).catch(() => [] as string[])).filter((n) => n.endsWith('.mp4')).sort();
    const paths = names.map((n) => join(this.dir, cam, n));
    const present = new Set(paths);
    for (const [path, f] of this.files) if (f.cam === cam && !present.has(path)) this.files.delete(path);
    const newest = paths.at(-1);
    const wasNewest = this.newest.get(cam);
    if (newest) this.newest.set(cam, newest);
    else this.newest.delete(cam);
    for (const path of paths) {
      if (this.files.has(path) && path !== newest && path !== wasNewest) continue;
      const s = await stat(path).catch(() => null);
      if (s?.isFile()) this.files.set(path, { path, cam, size: s.size, mtime: s.mtimeMs });
      else this.files.delete(path);
    }
  }
}
