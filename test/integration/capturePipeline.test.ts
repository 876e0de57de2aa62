// The capture pipeline with real ffmpeg: MJPEG passthrough from a real MJPEG source (no V4L2
// device outside the VM, so an ffmpeg-made MJPEG stream stands in for the camera's), the H.264
// MPEG-TS fan-out (clients join at keyframes, slow ones skip) and motion on sources that move and
// that do not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturePipeline } from '../../src/camera/streaming/capturePipeline.js';
import { motionSize, outputArgs, type CaptureSpec } from '../../src/camera/streaming/ffmpegArgs.js';
import { JpegFrameSplitter } from '../../src/camera/streaming/jpegFrames.js';
import { MotionDetector } from '../../src/camera/streaming/motion.js';
import { TS_PACKET, type TsSink } from '../../src/camera/streaming/tsFanout.js';
import { hasFfmpeg } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
let dir: string;
let sourceFile: string;
const sourceFrames = new Set<string>();

const waitFor = async (pred: () => boolean, ms = 20_000, what = 'condition') => {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** An MJPEG camera as the driver reports it (G_FMT: MJPG). */
const mjpegCamera: CaptureSpec = {
  driver: 'v4l2', device: '/dev/video0', width: 320, height: 176, fps: 15, jpegQuality: 80,
  pixelFormat: 'MJPG', h264: false, motion: false, encoder: 'libx264',
};

/** The real output arguments behind a given input (what the camera would deliver). */
const withInput = (input: string[]) => (spec: CaptureSpec) => ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, ...outputArgs(spec)];
const mjpegInput = () => withInput(['-re', '-stream_loop', '-1', '-f', 'mjpeg', '-framerate', '15', '-i', sourceFile]);
const lavfi = (graph: string) => withInput(['-re', '-f', 'lavfi', '-i', graph]);

function pipeline(spec: CaptureSpec, build: (s: CaptureSpec) => string[]): CapturePipeline {
  return new CapturePipeline(spec, 'ffmpeg', { onReady: () => {}, onNotReady: () => {} }, logger, build);
}

function collector(): TsSink & { chunks: Buffer[]; bytes: () => number; slow: boolean; ended: boolean } {
  const c = {
    chunks: [] as Buffer[],
    slow: false,
    bytes: () => c.chunks.reduce((n, b) => n + b.length, 0),
    write: (b: Buffer) => void c.chunks.push(b),
    backlog: () => (c.slow ? Number.MAX_SAFE_INTEGER : 0),
    end: () => {
      c.ended = true;
    },
    ended: false,
  };
  return c;
}

const pidOf = (pkt: Buffer) => ((pkt[1]! & 0x1f) << 8) | pkt[2]!;

function probe(file: string): { codec: string; frames: number; errors: string } {
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' }),
  ) as { streams: { codec_name: string; nb_read_frames: string }[] };
  const errors = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { codec: out.streams[0]!.codec_name, frames: Number(out.streams[0]!.nb_read_frames), errors };
}

beforeAll(() => {
  if (!hasFfmpeg) return;
  dir = mkdtempSync(join(tmpdir(), 'sb-capture-'));
  sourceFile = join(dir, 'camera.mjpeg');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x176:rate=15', '-frames:v', '45', '-q:v', '4', '-f', 'mjpeg', sourceFile]);
  const bytes = execFileSync('cat', [sourceFile], { maxBuffer: 64 * 1024 * 1024 });
  new JpegFrameSplitter().push(bytes, (f) => sourceFrames.add(f.toString('base64')));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasFfmpeg)('capture pipeline with real ffmpeg', () => {
  it('passes an MJPEG camera\'s frames to readers byte for byte (no decode/encode)', async () => {
    expect(sourceFrames.size).toBe(45);
    const p = pipeline(mjpegCamera, mjpegInput());
    expect(p.path).toEqual({ input: 'mjpeg', mjpeg: 'copy', h264: null, motion: false });
    const got: Buffer[] = [];
    p.subscribe((f) => got.push(f));
    p.start();
    try {
      await waitFor(() => got.length >= 10, 20_000, 'passthrough frames');
    } finally {
      p.stop();
    }
    for (const f of got) expect(sourceFrames.has(f.toString('base64'))).toBe(true);
  });

  it('fans the H.264 output out to clients that each start at a keyframe with PAT/PMT, slow ones skip', async () => {
    const p = pipeline({ ...mjpegCamera, h264: true }, mjpegInput());
    expect(p.path.h264).toBe('libx264');
    const a = collector();
    const b = collector();
    const slow = collector();
    p.addTsClient(a);
    p.start();
    try {
      await waitFor(() => a.bytes() > 40 * TS_PACKET, 30_000, 'TS bytes for client a');
      p.addTsClient(b);
      slow.slow = true;
      p.addTsClient(slow);
      await waitFor(() => b.bytes() > 40 * TS_PACKET, 30_000, 'TS bytes for client b');
      expect(slow.chunks).toEqual([]);
      slow.slow = false;
      await waitFor(() => slow.chunks.length > 40, 30_000, 'the slow client catching up');
    } finally {
      p.stop();
    }
    expect(a.ended).toBe(false);
    p.endTsClients();
    expect([a.ended, b.ended, slow.ended]).toEqual([true, true, true]);
    expect(p.tsClients).toBe(0);
    for (const [name, c] of Object.entries({ a, b, slow })) {
      const data = Buffer.concat(c.chunks);
      expect(data.length % TS_PACKET, name).toBe(0);
      // First the tables (PAT on PID 0, then the PMT), then a keyframe.
      expect(pidOf(data.subarray(0, TS_PACKET)), name).toBe(0);
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, data);
      const r = probe(file);
      expect(r.codec, name).toBe('h264');
      expect(r.frames, name).toBeGreaterThan(5);
      expect(r.errors, name).not.toMatch(/non-existing PPS|no frame|decode_slice_header error/);
    }
    // The clients share chunks: b's and the slow client's bytes are a suffix of a's (after their tables).
    const all = Buffer.concat(a.chunks);
    const bTail = Buffer.concat(b.chunks.slice(1, 4));
    expect(all.includes(bTail)).toBe(true);
  }, 90_000);

  it('reports motion for a moving picture, and nothing for a still one', async () => {
    const moving = 'color=c=black:s=320x180:r=15[bg];color=c=white:s=80x80:r=15[fg];[bg][fg]overlay=x=\'mod(t*200,320)\':y=40';
    const still = 'color=c=gray:s=320x180:r=15';
    for (const [graph, expected] of [[moving, [true]], [still, []]] as const) {
      const spec = { ...mjpegCamera, driver: 'simulated' as const, pixelFormat: null, motion: true };
      const size = motionSize(spec);
      const changes: boolean[] = [];
      const detector = new MotionDetector({ ...size, threshold: 25, minAreaPercent: 1, holdFrames: 100 }, (m) => changes.push(m));
      let bytes = 0;
      const p = pipeline(spec, lavfi(graph));
      expect(p.path.motion).toBe(true);
      p.onMotionBytes((chunk) => {
        bytes += chunk.length;
        detector.push(chunk);
      });
      p.start();
      try {
        await waitFor(() => bytes >= 12 * size.width * size.height, 30_000, 'motion frames');
      } finally {
        p.stop();
      }
      expect(changes, graph).toEqual(expected);
    }
  }, 90_000);
});

describe('motion detector', () => {
  it('needs the minimum area to change and ends after the quiet frames', () => {
    const changes: boolean[] = [];
    const d = new MotionDetector({ width: 10, height: 10, threshold: 20, minAreaPercent: 5, holdFrames: 2 }, (m) => changes.push(m));
    const frame = (changed: number, value = 200) => Buffer.from(Array.from({ length: 100 }, (_, i) => (i < changed ? value : 0)));
    d.push(frame(0));
    d.push(frame(4)); // 4 % changed: below the area
    expect(changes).toEqual([]);
    d.push(frame(0));
    d.push(Buffer.from(frame(10, 10))); // 10 % changed but below the threshold
    expect(changes).toEqual([]);
    // A frame split across chunks counts once it is whole.
    const big = frame(50);
    d.push(big.subarray(0, 30));
    d.push(big.subarray(30));
    expect(changes).toEqual([true]);
    d.push(frame(50));
    expect(changes).toEqual([true]);
    d.push(frame(50));
    expect(changes).toEqual([true, false]);
  });
});
