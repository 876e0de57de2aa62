// Passthrough vs transcoding with the add-on's own capture arguments. No MJPEG or H.264 V4L2 device
// exists here, so the DEVICE IS REPLACED BY A PACED FILE: a few seconds of testsrc pre-encoded once
// (outside the measured process: that work is the camera's hardware) as MJPEG, raw YUYV and H.264,
// read at 30 fps (`-re -stream_loop -1`) in the place of `-f v4l2 -i /dev/videoN`. The compressed
// frames sit in a container because raw `-f mjpeg`/`-f h264` files cannot loop cleanly (the h264
// demuxer cannot seek back, the mjpeg one repeats a timestamp at each wrap): JPEGs in Matroska,
// H.264 in MPEG-TS (Annex B start codes, as a UVC camera sends it). Demuxing either is a copy.
// The H.264 file is long enough to play once: ffmpeg 5.1 flushes the copy output's dump_extra filter
// at the first wrap and drops every packet after it.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { captureArgsWithInput, capturePath, TS_FD, type CapturePath, type CaptureSpec } from '../src/camera/streaming/ffmpegArgs.js';
import { JpegFrameSplitter } from '../src/camera/streaming/jpegFrames.js';
import { coresUsed, rssMbOf, sampleCpu } from './procStats.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The V4L2 fourccs a UVC camera sends: JPEG frames, raw 4:2:2, or an H.264 elementary stream. */
export type SourceFormat = 'MJPG' | 'YUYV' | 'H264';

export interface Size {
  width: number;
  height: number;
}

const LOOPED_SECONDS = 2;
const SETTLE_SECONDS = 2;
const CONTAINER = { MJPG: 'matroska', H264: 'mpegts', YUYV: 'rawvideo' } as const;

/** What the camera would send, encoded once per size and format (cached by file name). */
export async function prepareSource(dir: string, format: SourceFormat, size: Size, fps: number, measuredSeconds: number): Promise<string> {
  const file = join(dir, `testsrc-${size.width}x${size.height}-${fps}-${format.toLowerCase()}.${CONTAINER[format]}`);
  const seconds = format === 'H264' ? SETTLE_SECONDS + measuredSeconds + 3 : LOOPED_SECONDS;
  if (existsSync(file)) return file;
  const encode: Record<SourceFormat, string[]> = {
    // Webcams send 4:2:2 JPEGs at high quality.
    MJPG: ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj422p', '-q:v', '3', '-f', 'matroska'],
    YUYV: ['-pix_fmt', 'yuyv422', '-f', 'rawvideo'],
    // Camera encoders: no B-frames, a keyframe a second.
    H264: ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-g', String(fps), '-pix_fmt', 'yuv420p', '-f', 'mpegts'],
  };
  await execFileAsync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${size.width}x${size.height}:rate=${fps}`, '-t', String(seconds),
    ...encode[format], file,
  ]);
  return file;
}

/** The stand-in for `-f v4l2 -input_format … -i /dev/videoN`: the file, paced at the camera's rate. */
export function pacedFileInput(format: SourceFormat, file: string, size: Size, fps: number): string[] {
  const paced = format === 'H264' ? ['-re'] : ['-re', '-stream_loop', '-1'];
  if (format !== 'YUYV') return [...paced, '-f', CONTAINER[format], '-i', file];
  return [...paced, '-f', 'rawvideo', '-pix_fmt', 'yuyv422', '-video_size', `${size.width}x${size.height}`, '-framerate', String(fps), '-i', file];
}

export interface CaptureRun {
  path: CapturePath;
  /** CPU-seconds per wall second of the capture ffmpeg. */
  cores: number;
  /** JPEG frames per second on the MJPEG pipe (fd 1). */
  mjpegFps: number;
  rssMb: number;
  args: string[];
}

/** One capture ffmpeg as the add-on would start it for a device of `format`, measured for `seconds` after a settle. */
export async function measureCapture(opts: { format: SourceFormat; file: string; size: Size; fps: number; h264: boolean; seconds: number }): Promise<CaptureRun> {
  const spec: CaptureSpec = {
    driver: 'v4l2', device: '/dev/video0', width: opts.size.width, height: opts.size.height, fps: opts.fps,
    jpegQuality: 80, pixelFormat: opts.format, h264: opts.h264, motion: false, encoder: 'libx264',
  };
  const args = captureArgsWithInput(spec, pacedFileInput(opts.format, opts.file, opts.size, opts.fps));
  const stdio: ('ignore' | 'pipe' | 'inherit')[] = ['ignore', 'pipe', 'inherit'];
  if (opts.h264) stdio[TS_FD] = 'pipe';
  const child = spawn('ffmpeg', args, { stdio });
  let frames = 0;
  const splitter = new JpegFrameSplitter();
  child.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk, () => frames++));
  // The live H.264 output must be read or ffmpeg blocks on a full pipe; its bytes are not needed here.
  if (opts.h264) (child.stdio[TS_FD] as NodeJS.ReadableStream).resume();
  try {
    await sleep(SETTLE_SECONDS * 1000);
    if (child.exitCode !== null) throw new Error(`capture ffmpeg exited with ${child.exitCode}: ${args.join(' ')}`);
    const before = sampleCpu(child.pid!);
    const framesBefore = frames;
    const t0 = performance.now();
    await sleep(opts.seconds * 1000);
    const after = sampleCpu(child.pid!);
    const wall = (performance.now() - t0) / 1000;
    // A process that died mid-window has lost its CPU counters: no figure rather than a wrong one.
    if (child.exitCode !== null) throw new Error(`capture ffmpeg exited with ${child.exitCode} while measured: ${args.join(' ')}`);
    return { path: capturePath(spec), cores: coresUsed(before, after, wall), mjpegFps: (frames - framesBefore) / wall, rssMb: rssMbOf(child.pid!), args };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}
