// Each camera's folder in the media folder, named after the camera so Home Assistant's Media browser
// shows "garage_door", not a UUID. The name is chosen once (the camera's name when it first needs
// a folder, made unique) and kept: renaming the camera later does not move its recordings, so a
// recording in progress and automations that know the path keep working. Which camera a folder
// belongs to is written in the folder itself (a hidden `.switchboard-camera` file holding the
// camera id; HA's browser skips hidden files), so the link survives restarts without the data store.
// Folders named by camera id (from releases before this) are renamed at start.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { entitySlug } from '../../core/ids.js';

export const FOLDER_MARKER = '.switchboard-camera';

export interface FolderCamera {
  id: string;
  name: string;
}

export class MediaFolders {
  /** Camera id → folder name (inside the media folder). */
  private readonly byCamera = new Map<string, string>();

  constructor(
    private readonly mediaDir: string,
    private readonly logger: Logger,
  ) {}

  /** Reads which folder is whose, and renames the id-named folders of `cameras` to readable names. */
  load(cameras: readonly FolderCamera[]): void {
    this.byCamera.clear();
    for (const entry of this.entries()) {
      const id = readMarker(join(this.mediaDir, entry));
      if (id && !this.byCamera.has(id)) this.byCamera.set(id, entry);
    }
    for (const cam of cameras) {
      if (this.byCamera.has(cam.id) || !existsSync(join(this.mediaDir, cam.id))) continue;
      try {
        this.migrate(cam);
      } catch (err) {
        // The recordings stay where they are and are still found there.
        this.logger.warn({ camera: cam.id, err: (err as Error).message }, 'cannot rename the camera media folder; keeping the old name');
        this.byCamera.set(cam.id, cam.id);
      }
    }
  }

  /** The camera's folder name; chosen (and marked) on first use. */
  folderOf(cam: FolderCamera): string {
    const known = this.byCamera.get(cam.id);
    if (known) return known;
    const folder = this.freeName(cam);
    this.byCamera.set(cam.id, folder);
    try {
      mkdirSync(join(this.mediaDir, folder), { recursive: true });
      writeFileSync(join(this.mediaDir, folder, FOLDER_MARKER), cam.id + '\n');
    } catch (err) {
      // An unwritable media folder is the storage health's to report when something is written there.
      this.logger.debug({ camera: cam.id, err: (err as Error).message }, 'cannot mark the camera media folder yet');
    }
    return folder;
  }

  /** Absolute path of the camera's folder. */
  pathOf(cam: FolderCamera): string {
    return join(this.mediaDir, this.folderOf(cam));
  }

  private migrate(cam: FolderCamera): void {
    const from = join(this.mediaDir, cam.id);
    const folder = this.freeName(cam);
    const to = join(this.mediaDir, folder);
    renameSync(from, to);
    writeFileSync(join(to, FOLDER_MARKER), cam.id + '\n');
    this.byCamera.set(cam.id, folder);
    this.logger.info({ camera: cam.id, from, to }, 'camera media folder renamed to the camera name');
    // Nothing left behind (a rename moves the folder whole); an empty leftover is removed.
    if (existsSync(from)) rmdirSync(from);
  }

  /** The camera's name as a folder name, with `_2`, `_3`… where another folder has it. */
  private freeName(cam: FolderCamera): string {
    const base = entitySlug(cam.name) || 'camera';
    const taken = new Set([...this.byCamera.values(), ...this.entries()]);
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}_${n}`;
      if (!taken.has(name)) return name;
    }
  }

  private entries(): string[] {
    try {
      return readdirSync(this.mediaDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }
}

function readMarker(dir: string): string | null {
  try {
    return readFileSync(join(dir, FOLDER_MARKER), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
