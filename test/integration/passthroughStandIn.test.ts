// The bench's device stand-in (bench/passthrough.ts): only the input of the add-on's capture command
// is replaced, and an MJPEG camera's JPEGs reach the MJPEG pipe byte for byte (real ffmpeg).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureArgs, captureArgsWithInput, type CaptureSpec } from '../../src/camera/streaming/ffmpegArgs.js';
import { JpegFrameSplitter } from '../../src/camera/streaming/jpegFrames.js';
import { pacedFileInput, prepareSource } from '../../bench/passthrough.js';
import { hasFfmpeg } from '../helpers/wait.js';

const size = { width: 320, height: 240 };
const spec: CaptureSpec = { driver: 'v4l2', device: '/dev/video0', ...size, fps: 10, jpegQuality: 80, pixelFormat: 'MJPG', h264: false, motion: false, encoder: 'libx264' };

/** The first `count` JPEG frames ffmpeg writes to stdout with these arguments. */
function firstFrames(args: string[], count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const frames: Buffer[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const splitter = new JpegFrameSplitter();
    child.stdout.on('data', (chunk: Buffer) =>
      splitter.push(chunk, (frame) => {
        if (frames.length < count) frames.push(frame);
        if (frames.length === count) child.kill('SIGTERM');
      }),
    );
    child.once('exit', () => (frames.length === count ? resolve(frames) : reject(new Error(`ffmpeg ended after ${frames.length} frames: ${stderr}`))));
  });
}

describe('bench passthrough stand-in', () => {
  it('replaces only the device input of the capture command', () => {
    const input = pacedFileInput('MJPG', '/tmp/x.mkv', size, 10);
    const device = ['-f', 'v4l2', '-input_format', 'mjpeg', '-framerate', '10', '-video_size', '320x240', '-i', '/dev/video0'];
    const real = captureArgs(spec);
    const standIn = captureArgsWithInput(spec, input);
    const at = real.indexOf('-f');
    expect(real.slice(at, at + device.length)).toEqual(device);
    expect(standIn).toEqual([...real.slice(0, at), ...input, ...real.slice(at + device.length)]);
    expect(pacedFileInput('YUYV', '/tmp/x.yuv', size, 10)).toEqual(['-re', '-stream_loop', '-1', '-f', 'rawvideo', '-pix_fmt', 'yuyv422', '-video_size', '320x240', '-framerate', '10', '-i', '/tmp/x.yuv']);
  });

  describe.skipIf(!hasFfmpeg)('with ffmpeg', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-passthrough-test-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("passes an MJPEG camera's JPEGs to the MJPEG pipe unchanged", async () => {
      const file = await prepareSource(dir, 'MJPG', size, 10, 1);
      const source = await firstFrames(['-hide_banner', '-loglevel', 'error', '-i', file, '-c:v', 'copy', '-f', 'mjpeg', 'pipe:1'], 3);
      const captured = await firstFrames(captureArgsWithInput(spec, pacedFileInput('MJPG', file, size, 10)), 3);
      expect(captured.map((f, i) => f.equals(source[i]!))).toEqual([true, true, true]);
      // A raw camera's frames are encoded: different bytes, still JPEGs of the same count.
      const raw = await prepareSource(dir, 'YUYV', size, 10, 1);
      const encoded = await firstFrames(captureArgsWithInput({ ...spec, pixelFormat: 'YUYV' }, pacedFileInput('YUYV', raw, size, 10)), 3);
      expect(encoded.every((f, i) => !f.equals(source[i]!) && f[0] === 0xff && f[1] === 0xd8)).toBe(true);
    }, 60_000);
  });
});
