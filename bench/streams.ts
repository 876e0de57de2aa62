// Stream fan-out: N MJPEG readers over HTTP on one simulated camera, against the floor of ffmpeg
// alone producing the same MJPEG into /dev/null. CPU counts the server and its ffmpeg children.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { captureArgs } from '../src/camera/streaming/ffmpegArgs.js';
import { coresUsed, rssMbOf, sampleCpu, treeRssMb } from './procStats.js';

const FRAME_MARKER = Buffer.from('Content-Type: image/jpeg');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FanoutResult {
  readers: number;
  /** Frames per second each reader received: the slowest, the median and the fastest. */
  fpsMin: number;
  fpsMedian: number;
  fpsMax: number;
  /** CPU-seconds per wall second of the server and its children. */
  cores: number;
  rssMb: number;
}

/** One reader: counts multipart frames; a marker split across chunks is still counted once. */
export class MjpegReader {
  frames = 0;
  private readonly abort = new AbortController();
  private firstFrame: Promise<void>;

  constructor(url: string) {
    let signalFirst!: () => void;
    this.firstFrame = new Promise((resolve) => (signalFirst = resolve));
    void (async () => {
      try {
        const res = await fetch(url, { signal: this.abort.signal });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        let tail = Buffer.alloc(0);
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          const buf = Buffer.concat([tail, chunk]);
          for (let at = buf.indexOf(FRAME_MARKER); at !== -1; at = buf.indexOf(FRAME_MARKER, at + 1)) {
            // Matches that lie wholly inside the carried tail were counted with the previous chunk.
            if (at + FRAME_MARKER.length > tail.length) this.frames++;
          }
          if (this.frames > 0) signalFirst();
          tail = buf.subarray(Math.max(0, buf.length - FRAME_MARKER.length + 1));
        }
      } catch (err) {
        if (!this.abort.signal.aborted) process.stderr.write(`[bench] reader failed: ${(err as Error).message}\n`);
      }
    })();
  }

  ready(): Promise<void> {
    return this.firstFrame;
  }

  close(): void {
    this.abort.abort();
  }
}

/** N readers for `seconds` after every reader has its first frame and a short settle. */
export async function streamFanout(opts: { port: number; token: string; cameraId: string; serverPid: number; readers: number; seconds: number }): Promise<FanoutResult> {
  const url = `http://127.0.0.1:${opts.port}/api/cameras/${opts.cameraId}/stream.mjpeg?token=${encodeURIComponent(opts.token)}`;
  const readers = Array.from({ length: opts.readers }, () => new MjpegReader(url));
  await Promise.all(readers.map((r) => r.ready()));
  await sleep(2000);
  const startFrames = readers.map((r) => r.frames);
  const before = sampleCpu(opts.serverPid);
  const t0 = performance.now();
  await sleep(opts.seconds * 1000);
  const after = sampleCpu(opts.serverPid);
  const wall = (performance.now() - t0) / 1000;
  const rss = treeRssMb(opts.serverPid);
  const fps = readers.map((r, i) => (r.frames - startFrames[i]!) / wall).sort((a, b) => a - b);
  for (const r of readers) r.close();
  return { readers: opts.readers, fpsMin: fps[0]!, fpsMedian: fps[Math.floor(fps.length / 2)]!, fpsMax: fps.at(-1)!, cores: coresUsed(before, after, wall), rssMb: rss };
}

/** ffmpeg alone, with the add-on's own capture arguments, writing its MJPEG to /dev/null. */
export async function ffmpegFloor(opts: { width: number; height: number; fps: number; jpegQuality: number; seconds: number; ffmpeg?: string }): Promise<{ cores: number; rssMb: number }> {
  const devNull = openSync('/dev/null', 'w');
  const args = captureArgs({ driver: 'simulated', device: 'simulated:bench', width: opts.width, height: opts.height, fps: opts.fps, jpegQuality: opts.jpegQuality, pixelFormat: null, h264: false, motion: false, encoder: 'libx264' });
  const child = spawn(opts.ffmpeg ?? 'ffmpeg', args, { stdio: ['ignore', devNull, 'inherit'] });
  closeSync(devNull);
  try {
    await sleep(2000);
    const before = sampleCpu(child.pid!);
    const t0 = performance.now();
    await sleep(opts.seconds * 1000);
    const after = sampleCpu(child.pid!);
    return { cores: coresUsed(before, after, (performance.now() - t0) / 1000), rssMb: rssMbOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}
