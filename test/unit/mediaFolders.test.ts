// Each camera's media folder: named after the camera once, kept across renames, found again after
// a restart, and folders named by camera id (older releases) renamed with their files.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FOLDER_MARKER, MediaFolders } from '../../src/camera/streaming/mediaFolders.js';
import { SnapshotFiles } from '../../src/camera/streaming/snapshotFiles.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const media = () => {
  const d = mkdtempSync(join(tmpdir(), 'switchboard-media-'));
  dirs.push(d);
  return d;
};

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('camera media folders', () => {
  it('names a folder after the camera once; a rename keeps it; a restart finds it again', () => {
    const dir = media();
    const folders = new MediaFolders(dir, logger);
    folders.load([]);
    expect(folders.folderOf({ id: 'a1', name: 'Garage door' })).toBe('garage_door');
    expect(readFileSync(join(dir, 'garage_door', FOLDER_MARKER), 'utf8').trim()).toBe('a1');
    expect(folders.folderOf({ id: 'a1', name: 'Front gate' })).toBe('garage_door');
    // Another camera with the same name gets its own folder.
    expect(folders.folderOf({ id: 'b2', name: 'Garage door' })).toBe('garage_door_2');
    const again = new MediaFolders(dir, logger);
    again.load([{ id: 'a1', name: 'Front gate' }, { id: 'b2', name: 'x' }]);
    expect(again.pathOf({ id: 'a1', name: 'Front gate' })).toBe(join(dir, 'garage_door'));
    expect(again.folderOf({ id: 'b2', name: 'x' })).toBe('garage_door_2');
  });

  it('renames a folder named by camera id, files and all; a folder by that name that is not the camera’s is left alone', () => {
    const dir = media();
    const id = '8f6c1d2e-0000-4000-8000-000000000001';
    mkdirSync(join(dir, id));
    writeFileSync(join(dir, id, '2026-01-01_00-00-00_abc.mp4'), 'video');
    mkdirSync(join(dir, 'workbench'));
    writeFileSync(join(dir, 'workbench', 'mine.txt'), 'not a camera');
    const folders = new MediaFolders(dir, logger);
    folders.load([{ id, name: 'Workbench' }]);
    expect(existsSync(join(dir, id))).toBe(false);
    expect(folders.folderOf({ id, name: 'Workbench' })).toBe('workbench_2');
    expect(readdirSync(join(dir, 'workbench_2')).sort()).toEqual([FOLDER_MARKER, '2026-01-01_00-00-00_abc.mp4']);
    expect(readdirSync(join(dir, 'workbench'))).toEqual(['mine.txt']);
  });
});

describe('saved snapshots', () => {
  it('writes a JPEG under <camera folder>/snapshots and keeps the newest `keep`', async () => {
    const dir = media();
    const folders = new MediaFolders(dir, logger);
    folders.load([]);
    const files = new SnapshotFiles(folders, 2, logger);
    const cam = { id: 'c3', name: 'Porch' };
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) paths.push(await files.save(cam, jpeg, new Date(Date.UTC(2026, 0, 1, 12, 0, i))));
    expect(paths[0]).toBe(join(dir, 'porch', 'snapshots', '2026-01-01T12-00-00.000Z.jpg'));
    expect(readdirSync(join(dir, 'porch', 'snapshots'))).toEqual(['2026-01-01T12-00-02.000Z.jpg', '2026-01-01T12-00-03.000Z.jpg']);
    expect(readFileSync(paths[3]!)).toEqual(jpeg);
    expect(new SnapshotFiles(folders, 0, logger).enabled).toBe(false);
  });
});
