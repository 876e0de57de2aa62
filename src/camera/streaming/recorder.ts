// Records one camera: frames from the capture pipeline piped into an ffmpeg that writes H.264 MP4
// segments under <media_dir>/<camera id>/. Pause stops feeding frames; the file resumes after.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { recordArgs } from './ffmpegArgs.js';

export type RecordState = 'on' | 'off' | 'pause';

export interface RecorderOptions {
  ffmpegPath: string;
  dir: string;
  fps: number;
  segmentSeconds: number;
}

export class Recorder {
  private child: ChildProcess | null = null;
  private paused = false;
  private closed: Promise<void> | null = null;
  /** Frames dropped because ffmpeg's stdin was full (a slow disk or CPU). */
  dropped = 0;

  constructor(
    private readonly opts: RecorderOptions,
    private readonly logger: Logger,
    private readonly onError: (message: string) => void,
  ) {}

  get state(): RecordState {
    if (!this.child) return 'off';
    return this.paused ? 'pause' : 'on';
  }

  start(): void {
    if (this.child) {
      this.paused = false;
      return;
    }
    mkdirSync(this.opts.dir, { recursive: true });
    const pattern = join(this.opts.dir, '%Y-%m-%d_%H-%M-%S.mp4');
    const child = spawn(this.opts.ffmpegPath, recordArgs(this.opts.fps, this.opts.segmentSeconds, pattern), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.paused = false;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-2000);
    });
    child.stdin!.on('error', () => undefined); // EPIPE when ffmpeg dies first; reported by 'close'
    this.closed = new Promise((resolve) => {
      child.once('close', (code) => {
        if (this.child === child) this.child = null;
        if (code !== 0 && code !== null) {
          const message = `recording stopped: ffmpeg exited ${code}${stderr ? ': ' + stderr.trim().split('\n').pop() : ''}`;
          this.logger.error({ code }, message);
          this.onError(message);
        }
        resolve();
      });
    });
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
  }

  /** Ends the recording; ffmpeg finalizes the current segment on end of input. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.closed;
    clearTimeout(timer);
    this.child = null;
  }
}

/** Deletes the oldest recordings until they are within age and total size limits (0 = no limit). */
export async function enforceRetention(mediaDir: string, retentionDays: number, maxSizeMb: number, logger?: Logger): Promise<number> {
  let files: { path: string; size: number; mtime: number }[] = [];
  let cams: string[];
  try {
    cams = await readdir(mediaDir);
  } catch {
    return 0;
  }
  for (const cam of cams) {
    const dir = join(mediaDir, cam);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.endsWith('.mp4'))) {
      const s = await stat(join(dir, name)).catch(() => null);
      if (s?.isFile()) files.push({ path: join(dir, name), size: s.size, mtime: s.mtimeMs });
    }
  }
  files.sort((a, b) => a.mtime - b.mtime);
  let removed = 0;
  const cutoff = Date.now() - retentionDays * 86_400_000;
  let total = files.reduce((n, f) => n + f.size, 0);
  const limit = maxSizeMb * 1024 * 1024;
  for (const f of files) {
    const tooOld = retentionDays > 0 && f.mtime < cutoff;
    const tooBig = maxSizeMb > 0 && total > limit;
    if (!tooOld && !tooBig) break;
    await unlink(f.path).catch(() => undefined);
    total -= f.size;
    removed++;
  }
  if (removed) logger?.info({ removed }, 'recording retention removed old files');
  files = [];
  return removed;
}
