// Snapshots people ask for (the Take snapshot button, Rotoclear `snap`) saved as JPEG files in the
// camera's media folder, `<camera folder>/snapshots/<UTC time>.jpg`, where Home Assistant's Media
// browser shows them. Only the newest `keep` per camera stay (recording.snapshot_keep).
import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FolderCamera, MediaFolders } from './mediaFolders.js';

export const SNAPSHOT_FOLDER = 'snapshots';

/** 2026-12-06T02-35-12.123Z: sorts by time, no characters file systems or URLs dislike. */
const fileName = (at: Date) => `${at.toISOString().replace(/:/g, '-')}.jpg`;

export class SnapshotFiles {
  constructor(
    private readonly folders: MediaFolders,
    /** How many snapshots per camera are kept; 0: none are saved. */
    private readonly keep: number,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.keep > 0;
  }

  /** Writes the JPEG and deletes the oldest beyond `keep`; returns the file's path. */
  async save(cam: FolderCamera, jpeg: Buffer, at: Date): Promise<string> {
    const dir = join(this.folders.pathOf(cam), SNAPSHOT_FOLDER);
    await mkdir(dir, { recursive: true });
    const path = join(dir, fileName(at));
    await writeFile(path, jpeg);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.jpg')).sort();
    const old = names.slice(0, Math.max(0, names.length - this.keep));
    for (const name of old) await unlink(join(dir, name)).catch(() => undefined);
    if (old.length) this.logger.debug({ camera: cam.id, removed: old.length }, 'removed the oldest snapshots (recording.snapshot_keep)');
    return path;
  }
}
