import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { captureArgs, qscale } from '../../src/camera/streaming/ffmpegArgs.js';
import { JpegFrameSplitter, jpegSize } from '../../src/camera/streaming/jpegFrames.js';
import { hasFfmpeg } from '../helpers/wait.js';

describe('JPEG frame splitting', () => {
  it('finds frames across arbitrary chunk boundaries, including a split EOI marker', () => {
    const a = Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0x00, 3, 0xff, 0xd9]);
    const b = Buffer.from([0xff, 0xd8, 9, 0xff, 0xd9]);
    const stream = Buffer.concat([Buffer.from([7, 7]), a, b]);
    for (let cut = 1; cut < stream.length; cut++) {
      const frames: Buffer[] = [];
      const s = new JpegFrameSplitter();
      s.push(stream.subarray(0, cut), (f) => frames.push(f));
      s.push(stream.subarray(cut), (f) => frames.push(f));
      expect(frames, `cut at ${cut}`).toEqual([a, b]);
    }
  });

  it('maps Rotoclear jpeg quality onto ffmpeg qscale (higher quality, lower qscale)', () => {
    expect(qscale(100)).toBe(2);
    expect(qscale(1)).toBe(31);
    expect(qscale(0)).toBe(31);
    expect(qscale(50)).toBeGreaterThan(qscale(90));
  });

  it.skipIf(!hasFfmpeg)('splits real ffmpeg MJPEG output into decodable frames of the right size', () => {
    const args = captureArgs({ driver: 'simulated', device: 'sim', width: 320, height: 240, fps: 10, jpegQuality: 80, pixelFormat: null, h264: false, motion: false, encoder: 'libx264' }).filter((a) => a !== '-re');
    const out = execFileSync('ffmpeg', [...args.slice(0, -1), '-frames:v', '5', 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 });
    const frames: Buffer[] = [];
    new JpegFrameSplitter().push(out, (f) => frames.push(f));
    expect(frames).toHaveLength(5);
    for (const f of frames) {
      expect(f.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(f.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
      expect(jpegSize(f)).toEqual({ width: 320, height: 240 });
    }
  });
});
