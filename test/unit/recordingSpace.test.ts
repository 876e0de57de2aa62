// The media folder's rules on real files: space limits kept ahead of time (never deleting the file
// being written), segments cut off before their first fragment removed at start, and segments a
// full disk cut mid-fragment trimmed back to their last whole fragment.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MediaFiles } from '../../src/camera/streaming/mediaFiles.js';
import { enforceSpace, removeEmptySegments, storageFaultIn, trimCutSegment } from '../../src/camera/streaming/recorder.js';

const root = mkdtempSync(join(tmpdir(), 'switchboard-space-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const MIB = 1024 * 1024;
let n = 0;

/** A media folder with files `[camera, name, KiB, age in days]`. */
function media(files: [string, string, number, number][]): string {
  const dir = join(root, `m${n++}`);
  for (const [cam, name, kib, days] of files) {
    mkdirSync(join(dir, cam), { recursive: true });
    const path = join(dir, cam, name);
    writeFileSync(path, Buffer.alloc(kib * 1024));
    const t = Date.now() / 1000 - days * 86_400;
    utimesSync(path, t, t);
  }
  return dir;
}
const left = (dir: string, cam: string, names: string[]) => names.filter((f) => existsSync(join(dir, cam, f)));

describe('enforceSpace', () => {
  it('deletes by age, and the oldest first until the total plus one more segment fits max_size_mb', async () => {
    const dir = media([
      ['a', '1.mp4', 10, 30],
      ['a', '2.mp4', 400, 3],
      ['b', '3.mp4', 400, 2],
      ['a', '4.mp4', 400, 1],
      ['a', 'notes.txt', 5000, 40],
    ]);
    // Not recording: retention (7 days) removes 1; 1200 KiB fits 2 MB.
    expect(await enforceSpace(dir, { retentionDays: 7, maxSizeMb: 2, minFreeMb: 0 }, [])).toMatchObject({ ok: true, removed: 1, totalBytes: 1200 * 1024 });
    // Camera a recording: room for one more of its segments (1 MiB at least) → 2 and 3 go; 4, the one being written, stays.
    const v = await enforceSpace(dir, { retentionDays: 7, maxSizeMb: 2, minFreeMb: 0 }, ['a']);
    expect(v).toMatchObject({ ok: true, removed: 1, totalBytes: 800 * 1024 });
    expect(left(dir, 'a', ['2.mp4', '4.mp4'])).toEqual(['4.mp4']);
    expect(left(dir, 'b', ['3.mp4'])).toEqual(['3.mp4']);
    expect(existsSync(join(dir, 'a', 'notes.txt'))).toBe(true); // only recordings are ours to delete
    // 1 MB: nothing older is left to make room → stop, and the file being written is kept.
    const stop = await enforceSpace(dir, { retentionDays: 7, maxSizeMb: 1, minFreeMb: 0 }, ['a']);
    expect(stop).toMatchObject({ ok: false, reason: 'max_size', message: expect.stringContaining('recording.max_size_mb (1 MB)') });
    expect(left(dir, 'a', ['4.mp4'])).toEqual(['4.mp4']);
  });

  it('keeps the free-space floor while recording, and deletes nothing for it while not recording', async () => {
    const dir = media([
      ['a', '1.mp4', 100, 2],
      ['a', '2.mp4', 100, 1],
    ]);
    const { bavail, bsize } = statfsSync(dir);
    const unreachable = Math.ceil((bavail * bsize) / MIB) + 1000;
    expect(await enforceSpace(dir, { retentionDays: 0, maxSizeMb: 0, minFreeMb: unreachable }, [])).toMatchObject({ ok: true, removed: 0 });
    const v = await enforceSpace(dir, { retentionDays: 0, maxSizeMb: 0, minFreeMb: unreachable }, ['a']);
    expect(v).toMatchObject({ ok: false, reason: 'min_free', removed: 1 });
    expect(left(dir, 'a', ['1.mp4', '2.mp4'])).toEqual(['2.mp4']);
    expect(await enforceSpace(dir, { retentionDays: 0, maxSizeMb: 0, minFreeMb: 1 }, ['a'])).toMatchObject({ ok: true, reason: null });
  });
});

describe('MediaFiles', () => {
  it('lists everything once, then only the folders of recording cameras (and of one that just stopped)', async () => {
    const dir = media([
      ['a', '1.mp4', 10, 3],
      ['a', '2.mp4', 10, 2],
      ['b', '3.mp4', 10, 1],
    ]);
    let now = 0;
    const index = new MediaFiles(dir, 60_000, () => now);
    const sizes = async (active: string[]) => Object.fromEntries((await index.list(active)).map((f) => [`${f.cam}/${f.path.split('/').at(-1)}`, f.size / 1024]));
    expect(await sizes(['a'])).toEqual({ 'a/1.mp4': 10, 'a/2.mp4': 10, 'b/3.mp4': 10 });
    // a records: its newest file is finished bigger and a new segment starts; b's folder is not read.
    writeFileSync(join(dir, 'a', '2.mp4'), Buffer.alloc(20 * 1024));
    writeFileSync(join(dir, 'a', '4.mp4'), Buffer.alloc(1024));
    writeFileSync(join(dir, 'b', '5.mp4'), Buffer.alloc(1024));
    writeFileSync(join(dir, 'a', '1.mp4'), Buffer.alloc(30 * 1024)); // changed by hand: not read again before the next full listing
    now = 5_000;
    expect(await sizes(['a'])).toEqual({ 'a/1.mp4': 10, 'a/2.mp4': 20, 'a/4.mp4': 1, 'b/3.mp4': 10 });
    // a stopped: its last segment was finalized since; it is read once more.
    writeFileSync(join(dir, 'a', '4.mp4'), Buffer.alloc(7 * 1024));
    rmSync(join(dir, 'a', '1.mp4'));
    now = 10_000;
    expect(await sizes([])).toEqual({ 'a/2.mp4': 20, 'a/4.mp4': 7, 'b/3.mp4': 10 });
    index.forget(join(dir, 'b', '3.mp4'));
    now = 15_000;
    expect(Object.keys(await sizes([]))).toEqual(['a/2.mp4', 'a/4.mp4']);
    // The full listing comes back on schedule and sees everything as it is.
    now = 60_000;
    expect(await sizes([])).toEqual({ 'a/2.mp4': 20, 'a/4.mp4': 7, 'b/3.mp4': 10, 'b/5.mp4': 1 });
  });
});

describe.skipIf(spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not installed' : false)('removeEmptySegments', () => {
  it('removes a segment cut off before its first fragment and keeps ones that hold video', async () => {
    const dir = join(root, 'cut');
    mkdirSync(join(dir, 'cam'), { recursive: true });
    const whole = join(dir, 'cam', 'whole.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=15', '-t', '2', '-c:v', 'libx264', '-g', '15', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', whole]);
    const bytes = readFileSync(whole);
    // What a power cut in a segment's first second leaves: everything before the first fragment.
    let at = 0;
    while (bytes.toString('latin1', at + 4, at + 8) !== 'moof') at += bytes.readUInt32BE(at);
    const headersOnly = join(dir, 'cam', 'cut.mp4');
    writeFileSync(headersOnly, bytes.subarray(0, at));
    // The same headers and one fragment: small, but it holds video.
    const oneFragment = join(dir, 'cam', 'short.mp4');
    let end = at + bytes.readUInt32BE(at);
    end += bytes.readUInt32BE(end); // the fragment's mdat
    writeFileSync(oneFragment, bytes.subarray(0, end));
    expect(spawnSync('ffprobe', ['-v', 'error', oneFragment]).status).toBe(0);

    expect(await removeEmptySegments(dir)).toBe(1);
    expect([existsSync(whole), existsSync(headersOnly), existsSync(oneFragment)]).toEqual([true, false, true]);
  });
});

describe.skipIf(spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not installed' : false)('trimCutSegment', () => {
  it('cuts a segment ended mid-fragment by a full disk back to its last whole fragment, removes one with none, keeps a whole one', async () => {
    const dir = join(root, 'trim');
    mkdirSync(dir, { recursive: true });
    const whole = join(dir, 'whole.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=15', '-t', '3', '-c:v', 'libx264', '-g', '15', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', whole]);
    const bytes = readFileSync(whole);
    const boxes: { type: string; end: number }[] = [];
    for (let at = 0; at < bytes.length; at += bytes.readUInt32BE(at)) boxes.push({ type: bytes.toString('latin1', at + 4, at + 8), end: at + bytes.readUInt32BE(at) });
    const mdats = boxes.filter((b) => b.type === 'mdat');
    expect(mdats.length).toBeGreaterThan(2);
    // The disk filled halfway through the third fragment's media data.
    const midFragment = join(dir, 'mid.mp4');
    writeFileSync(midFragment, bytes.subarray(0, mdats[1]!.end + Math.floor((mdats[2]!.end - mdats[1]!.end) / 2)));
    // …or in the first fragment's header, before any media data.
    const moofCut = join(dir, 'moof.mp4');
    const firstMoof = boxes.findIndex((b) => b.type === 'moof');
    writeFileSync(moofCut, bytes.subarray(0, boxes[firstMoof - 1]!.end + 20));

    expect(await trimCutSegment(midFragment)).toBe('trimmed');
    expect(readFileSync(midFragment)).toEqual(bytes.subarray(0, mdats[1]!.end));
    expect(spawnSync('ffprobe', ['-v', 'error', midFragment]).status).toBe(0);
    expect(await trimCutSegment(moofCut)).toBe('removed');
    expect(existsSync(moofCut)).toBe(false);
    expect(await trimCutSegment(whole)).toBe('kept');
    expect(readFileSync(whole)).toEqual(bytes);
  });
});

describe('storageFaultIn', () => {
  it('reads the storage fault from ffmpeg’s error text, and nothing from other failures', () => {
    expect(storageFaultIn('[segment @ 0x5] Failure occurred when ending segment\nError writing trailer: No space left on device')).toMatchObject({ code: 'ENOSPC' });
    expect(storageFaultIn('av_interleaved_write_frame(): Read-only file system')).toMatchObject({ code: 'EROFS' });
    expect(storageFaultIn('Disk quota exceeded')).toMatchObject({ code: 'EDQUOT' });
    expect(storageFaultIn('Error writing trailer: Input/output error')).toMatchObject({ code: 'EIO' });
    expect(storageFaultIn('pipe:0: Invalid data found when processing input')).toBeNull();
  });
});
