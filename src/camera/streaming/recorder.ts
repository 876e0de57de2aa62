// Records one camera: frames from the capture pipeline piped into an ffmpeg that writes H.264
// fragmented MP4 segments under <media_dir>/<camera id>/. Pause stops feeding frames; the file
// resumes after. Also the media folder's space rules, checked before the disk fills.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { spawnChild } from '../../core/childProcess.js';
import { MediaFiles } from './mediaFiles.js';
import { recordArgs } from './ffmpegArgs.js';

export interface RecorderOptions {
  ffmpegPath: string;
  dir: string;
  fps: number;
  segmentSeconds: number;
}

export interface RecorderEvents {
  /**
   * ffmpeg failed; `fault`: the storage error its output names (the media folder is full,
   * read-only…), else null; `spawnError`: ffmpeg could not be started at all (in words), else null.
   */
  failed(message: string, fault: NodeJS.ErrnoException | null, spawnError: string | null): void;
  /** ffmpeg ended cleanly with every segment written. */
  finished(): void;
}

/** ffmpeg prints strerror() texts, not errno codes: the ones that mean the media folder cannot take writes. */
const FFMPEG_STORAGE_ERRORS: [RegExp, string][] = [
  [/No space left on device/i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/Read-only file system/i, 'EROFS'],
  [/Input\/output error/i, 'EIO'],
];

/** The storage fault ffmpeg's stderr reports, as the errno error the storage health takes. */
export function storageFaultIn(stderr: string): NodeJS.ErrnoException | null {
  const hit = FFMPEG_STORAGE_ERRORS.find(([text]) => text.test(stderr));
  if (!hit) return null;
  return Object.assign(new Error(`ffmpeg: ${hit[0].source}`), { code: hit[1] });
}

export class Recorder {
  private child: ChildProcess | null = null;
  private paused = false;
  private closed: Promise<void> | null = null;
  /** Frames dropped because ffmpeg's stdin was full (a slow disk or CPU). */
  dropped = 0;
  /** Frames handed to this run's ffmpeg. */
  private written = 0;
  /** stop() was asked: the run ends on purpose. */
  private stopping = false;

  constructor(
    private readonly opts: RecorderOptions,
    private readonly logger: Logger,
    private readonly events: RecorderEvents,
  ) {}

  /**
   * `preroll`: frames from before the start (motion clips), written ahead of the live ones.
   * Throws when the camera's folder cannot be created (a storage fault has an errno `code`).
   */
  start(preroll: readonly Buffer[] = []): void {
    if (this.child) {
      this.paused = false;
      return;
    }
    mkdirSync(this.opts.dir, { recursive: true });
    // The run id keeps two clips that start within the same second from sharing a file name.
    const pattern = join(this.opts.dir, `%Y-%m-%d_%H-%M-%S_${randomBytes(3).toString('hex')}.mp4`);
    let spawnError: string | null = null;
    const child = spawnChild(this.opts.ffmpegPath, recordArgs(this.opts.fps, this.opts.segmentSeconds, pattern), { stdio: ['pipe', 'ignore', 'pipe'] }, (err, words) => {
      if (child.pid === undefined) spawnError ??= words;
      else this.logger.warn({ err: err.message }, 'recording process error');
    });
    this.child = child;
    this.paused = false;
    this.written = preroll.length;
    this.stopping = false;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-2000);
    });
    child.stdin!.on('error', () => undefined); // EPIPE when ffmpeg dies first; reported by 'close'
    this.closed = new Promise((resolve) => {
      child.once('close', (code) => {
        if (this.child === child) this.child = null;
        if (spawnError) {
          const message = `recording stopped: ${spawnError}`;
          this.logger.error(message);
          this.events.failed(message, null, spawnError);
        } else if (code !== 0 && code !== null && this.stopping && this.written === 0) {
          // Stopped before a single frame arrived (switched off or paused at once): ffmpeg refuses
          // to write an empty file, which is nothing lost and no fault of ffmpeg's.
          this.logger.debug({ code }, 'recording stopped before its first frame');
        } else if (code !== 0 && code !== null) {
          const message = `recording stopped: ffmpeg exited ${code}${stderr ? ': ' + stderr.trim().split('\n').pop() : ''}`;
          this.logger.error({ code }, message);
          this.events.failed(message, storageFaultIn(stderr), null);
        } else if (code === 0) {
          // ffmpeg finalized every segment on end of input: the media folder took them.
          this.events.finished();
        }
        resolve();
      });
    });
    for (const frame of preroll) child.stdin!.write(frame);
  }

  pause(): void {
    if (this.child) this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  write(frame: Buffer): void {
    const stdin = this.child?.stdin;
    if (!stdin || this.paused || stdin.destroyed) return;
    // Drop frames rather than buffer without bound when the encoder falls behind.
    if (stdin.writableLength > 4 * 1024 * 1024) {
      this.dropped++;
      return;
    }
    stdin.write(frame);
    this.written++;
  }

  /** Ends the recording; ffmpeg finalizes the current segment on end of input. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.closed;
    clearTimeout(timer);
    this.child = null;
  }
}

export interface SpaceLimits {
  retentionDays: number;
  maxSizeMb: number;
  minFreeMb: number;
}

export interface SpaceVerdict {
  /** false: recording must stop, nothing more can be deleted to stay within the limits. */
  ok: boolean;
  reason: 'max_size' | 'min_free' | null;
  message: string | null;
  removed: number;
  totalBytes: number;
  freeBytes: number;
}

const MIB = 1024 * 1024;

/**
 * Deletes the oldest recordings so that the limits hold *before* the next bytes are written:
 * retention by age, then the total size and the disk's free-space floor with room kept for one
 * more segment (the camera's largest file, at least 1 MiB) per camera in `recording`. The newest
 * file of a recording camera is the one being written and is never deleted. `index`: what the
 * folder holds, as the caller keeps it between checks (by default listed afresh).
 */
export async function enforceSpace(mediaDir: string, limits: SpaceLimits, recording: readonly string[], logger?: Logger, index: MediaFiles = new MediaFiles(mediaDir, 0)): Promise<SpaceVerdict> {
  mkdirSync(mediaDir, { recursive: true });
  const files = await index.list(recording);
  const writing = new Set<string>();
  let reserve = 0;
  for (const cam of recording) {
    const own = files.filter((f) => f.cam === cam);
    if (own.length) writing.add(own[own.length - 1]!.path);
    reserve += Math.max(MIB, ...own.map((f) => f.size));
  }
  const fs = await statfs(mediaDir);
  let free = fs.bavail * fs.bsize;
  let total = files.reduce((n, f) => n + f.size, 0);
  const cutoff = Date.now() - limits.retentionDays * 86_400_000;
  const overSize = () => limits.maxSizeMb > 0 && total + reserve > limits.maxSizeMb * MIB;
  // The floor makes room for new footage only: with nothing recording, others' files filling the disk delete nothing.
  const underFloor = () => recording.length > 0 && limits.minFreeMb > 0 && free - reserve < limits.minFreeMb * MIB;
  let removed = 0;
  for (const f of files) {
    if (writing.has(f.path)) continue;
    const tooOld = limits.retentionDays > 0 && f.mtime < cutoff;
    if (!tooOld && !overSize() && !underFloor()) break;
    await unlink(f.path).catch(() => undefined);
    index.forget(f.path);
    total -= f.size;
    free += f.size;
    removed++;
  }
  if (removed) logger?.info({ removed, totalBytes: total, freeBytes: free }, 'recording space: removed the oldest recordings');
  const reason = overSize() ? 'max_size' : underFloor() ? 'min_free' : null;
  const mb = (n: number) => Math.floor(n / MIB);
  const message =
    reason === 'max_size'
      ? `Recordings reached recording.max_size_mb (${limits.maxSizeMb} MB) and nothing older is left to delete`
      : reason === 'min_free'
        ? `Only ${mb(free)} MB free on the media folder's disk, below recording.min_free_mb (${limits.minFreeMb} MB), and no older recording is left to delete`
        : null;
  return { ok: reason === null, reason, message, removed, totalBytes: total, freeBytes: free };
}

/** Headers only: a segment cut off before its first fragment is a few hundred bytes. */
const EMPTY_SEGMENT_MAX_BYTES = 8192;

/**
 * Deletes segments that hold no video: a power cut in the first second of a segment leaves just
 * its headers (ftyp + an empty moov), which players show as nothing. Returns how many it removed.
 */
export async function removeEmptySegments(mediaDir: string, logger?: Logger): Promise<number> {
  let removed = 0;
  for (const cam of await readdir(mediaDir).catch(() => [] as string[])) {
    for (const name of (await readdir(join(mediaDir, cam)).catch(() => [] as string[])).filter((n) => n.endsWith('.mp4'))) {
      const path = join(mediaDir, cam, name);
      const s = await stat(path).catch(() => null);
      if (!s?.isFile() || s.size > EMPTY_SEGMENT_MAX_BYTES) continue;
      const file = await open(path, 'r');
      const bytes = Buffer.alloc(s.size);
      try {
        await file.read(bytes, 0, s.size, 0);
      } finally {
        await file.close();
      }
      if (!hasMediaBox(bytes)) {
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
  }
  if (removed) logger?.info({ removed }, 'removed recording segments that hold no video (cut off at their start)');
  return removed;
}

/** Walks the top-level MP4 boxes: is there a fragment (moof) or media data (mdat) with content? */
function hasMediaBox(bytes: Buffer): boolean {
  for (let at = 0; at + 8 <= bytes.length; ) {
    const size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'moof' || (type === 'mdat' && size !== 8)) return true;
    if (size < 8) return false; // 0 = "to the end", 1 = 64-bit size: neither occurs in a headers-only file
    at += size;
  }
  return false;
}

/**
 * Cuts a segment that a write failure (a full disk) ended mid-fragment back to its last complete
 * fragment, so it plays; a segment left with no fragment at all is removed. Only shrinks the file:
 * works on a full disk. Returns what it did.
 */
export async function trimCutSegment(path: string): Promise<'kept' | 'trimmed' | 'removed'> {
  const file = await open(path, 'r+');
  let action: 'kept' | 'trimmed' | 'removed' = 'kept';
  try {
    const length = (await file.stat()).size;
    const head = Buffer.alloc(16);
    // The end of the last box after which the file plays: the moov (headers), then each complete mdat.
    let playableEnd = 0;
    let hasMedia = false;
    let at = 0;
    while (at + 8 <= length) {
      await file.read(head, 0, 16, at);
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (size === 1) size = Number(head.readBigUInt64BE(8));
      else if (size === 0) size = length - at;
      if (size < 8 || at + size > length) break;
      at += size;
      if (type === 'moov' || type === 'mdat') playableEnd = at;
      if (type === 'mdat') hasMedia = true;
    }
    if (at === length) return action;
    if (hasMedia) {
      await file.truncate(playableEnd);
      action = 'trimmed';
    } else action = 'removed';
  } finally {
    await file.close();
  }
  if (action === 'removed') await unlink(path).catch(() => undefined);
  return action;
}

const PROBE_FILE = '.switchboard-write-probe';

/** Writes, syncs and removes a small file in the media folder: resolves when the folder takes writes again. */
export async function probeMediaDir(mediaDir: string): Promise<void> {
  const path = join(mediaDir, PROBE_FILE);
  try {
    await mkdir(mediaDir, { recursive: true });
    // A few blocks, not one: a disk with a single free block is still full for footage.
    await writeFile(path, Buffer.alloc(64 * 1024), { flush: true });
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
