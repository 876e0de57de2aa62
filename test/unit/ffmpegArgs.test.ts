// Capture command lines per path: passthrough for MJPEG and H.264 devices, one encode per output
// for raw devices, hardware encoders, the motion tap, and the simulated camera's image settings.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { captureArgs, capturePath, encoderProbeArgs, inputKindOf, motionSize, type CaptureSpec } from '../../src/camera/streaming/ffmpegArgs.js';
import { chooseEncoder, encoderCandidates } from '../../src/camera/streaming/hwEncoder.js';
import { hasFfmpeg } from '../helpers/wait.js';

const base: CaptureSpec = {
  driver: 'v4l2', device: '/dev/video0', width: 1280, height: 720, fps: 30, jpegQuality: 80,
  pixelFormat: 'MJPG', h264: false, motion: false, encoder: 'libx264',
};

/** The arguments of each output, keyed by the pipe it writes to. */
function outputs(args: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let start = args.indexOf('-an') + 1;
  for (let i = start; i < args.length; i++) {
    if (args[i]!.startsWith('pipe:')) {
      out.set(args[i]!, args.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}
const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('capture arguments', () => {
  it('maps the driver\'s current pixel format to an input kind', () => {
    expect(inputKindOf('v4l2', 'MJPG')).toBe('mjpeg');
    expect(inputKindOf('v4l2', 'JPEG')).toBe('mjpeg');
    expect(inputKindOf('v4l2', 'H264')).toBe('h264');
    expect(inputKindOf('v4l2', 'YUYV')).toBe('raw');
    expect(inputKindOf('v4l2', null)).toBe('raw');
    expect(inputKindOf('simulated', 'MJPG')).toBe('test');
  });

  it('passes an MJPEG device\'s frames through to the MJPEG output without re-encoding', () => {
    const args = captureArgs(base);
    expect(valueOf(args, '-input_format')).toBe('mjpeg');
    expect(valueOf(args, '-video_size')).toBe('1280x720');
    const mjpeg = outputs(args).get('pipe:1')!;
    expect(mjpeg).toEqual(['-map', '0:v', '-c:v', 'copy', '-f', 'mjpeg']);
    expect(outputs(args).size).toBe(1);
    expect(capturePath(base)).toEqual({ input: 'mjpeg', mjpeg: 'copy', h264: null, motion: false });
  });

  it('copies an H.264 device\'s stream to the live output and encodes MJPEG once', () => {
    const spec: CaptureSpec = { ...base, pixelFormat: 'H264', h264: true };
    const args = captureArgs(spec);
    expect(valueOf(args, '-input_format')).toBe('h264');
    const out = outputs(args);
    expect(out.get('pipe:3')).toEqual(['-map', '0:v', '-c:v', 'copy', '-bsf:v', 'dump_extra', '-f', 'mpegts', '-mpegts_flags', '+resend_headers']);
    expect(valueOf(out.get('pipe:1')!, '-c:v')).toBe('mjpeg');
    expect(capturePath(spec)).toEqual({ input: 'h264', mjpeg: 'encode', h264: 'copy', motion: false });
  });

  it('names the raw format the device is set to (ffmpeg would pick its own), and leaves unknown ones to ffmpeg', () => {
    expect(valueOf(captureArgs({ ...base, pixelFormat: 'YUYV' }), '-input_format')).toBe('yuyv422');
    expect(valueOf(captureArgs({ ...base, pixelFormat: 'YU12' }), '-input_format')).toBe('yuv420p');
    expect(valueOf(captureArgs({ ...base, pixelFormat: 'Y16 ' }), '-input_format')).toBe('gray16le');
    expect(captureArgs({ ...base, pixelFormat: 'Z16 ' })).not.toContain('-input_format');
    expect(captureArgs({ ...base, pixelFormat: null })).not.toContain('-input_format');
  });

  it('encodes a raw device once per output kind, in the driver\'s own format', () => {
    const spec: CaptureSpec = { ...base, pixelFormat: 'YUYV', h264: true, jpegQuality: 100 };
    const args = captureArgs(spec);
    expect(valueOf(args, '-input_format')).toBe('yuyv422');
    const out = outputs(args);
    expect(out.size).toBe(2);
    expect(valueOf(out.get('pipe:1')!, '-c:v')).toBe('mjpeg');
    expect(valueOf(out.get('pipe:1')!, '-q:v')).toBe('2');
    const h264 = out.get('pipe:3')!;
    expect(valueOf(h264, '-c:v')).toBe('libx264');
    expect(valueOf(h264, '-g')).toBe('30');
    expect(valueOf(h264, '-f')).toBe('mpegts');
  });

  it('uses VA-API with its device and upload filter, or the V4L2 M2M encoder', () => {
    const vaapi = captureArgs({ ...base, pixelFormat: 'YUYV', h264: true, encoder: 'h264_vaapi' });
    expect(valueOf(vaapi, '-vaapi_device')).toBe('/dev/dri/renderD128');
    expect(vaapi.indexOf('-vaapi_device')).toBeLessThan(vaapi.indexOf('-i'));
    const h = outputs(vaapi).get('pipe:3')!;
    expect(valueOf(h, '-vf')).toBe('format=nv12,hwupload');
    expect(valueOf(h, '-c:v')).toBe('h264_vaapi');
    const m2m = outputs(captureArgs({ ...base, pixelFormat: 'YUYV', h264: true, encoder: 'h264_v4l2m2m' })).get('pipe:3')!;
    expect(valueOf(m2m, '-c:v')).toBe('h264_v4l2m2m');
    expect(valueOf(m2m, '-pix_fmt')).toBe('yuv420p');
    // An H.264 device needs no encoder at all, hardware or not.
    const copy = captureArgs({ ...base, pixelFormat: 'H264', h264: true, encoder: 'h264_vaapi' });
    expect(copy).not.toContain('-vaapi_device');
  });

  it('adds a small grey motion output on fd 4 keeping the aspect ratio', () => {
    const spec: CaptureSpec = { ...base, motion: true };
    expect(motionSize(spec)).toEqual({ width: 64, height: 36 });
    const m = outputs(captureArgs(spec)).get('pipe:4')!;
    expect(valueOf(m, '-vf')).toBe('fps=4,scale=64:36');
    expect(valueOf(m, '-pix_fmt')).toBe('gray');
    expect(valueOf(m, '-f')).toBe('rawvideo');
  });

  it('draws the simulated camera\'s image settings into its test picture', () => {
    const sim: CaptureSpec = { ...base, driver: 'simulated', device: 'simulated:0', pixelFormat: null };
    expect(valueOf(captureArgs(sim), '-i')).toBe('testsrc=size=1280x720:rate=30');
    expect(valueOf(captureArgs({ ...sim, picture: { brightness: 50, contrast: null, saturation: 50, hue: 50 } }), '-i')).toBe('testsrc=size=1280x720:rate=30');
    expect(valueOf(captureArgs({ ...sim, picture: { brightness: 90, contrast: 25, saturation: 0, hue: null } }), '-i')).toBe(
      'testsrc=size=1280x720:rate=30,eq=brightness=0.400:contrast=0.500:saturation=0.000',
    );
    // Hue alone: a rotation in degrees, 0–100 spanning a full turn around 50.
    expect(valueOf(captureArgs({ ...sim, picture: { brightness: 50, contrast: 50, saturation: 50, hue: 75 } }), '-i')).toBe('testsrc=size=1280x720:rate=30,hue=h=90.0');
    expect(valueOf(captureArgs({ ...sim, picture: { brightness: null, contrast: null, saturation: null, hue: 0 } }), '-i')).toBe('testsrc=size=1280x720:rate=30,hue=h=-180.0');
    expect(valueOf(captureArgs({ ...sim, picture: { brightness: 60, contrast: 50, saturation: 50, hue: 100 } }), '-i')).toBe(
      'testsrc=size=1280x720:rate=30,eq=brightness=0.100:contrast=1.000:saturation=1.000,hue=h=180.0',
    );
  });

  it.skipIf(!hasFfmpeg)('draws the simulated camera\'s light: ffmpeg renders a brighter picture the higher its level', () => {
    const sim: CaptureSpec = { ...base, width: 160, height: 90, driver: 'simulated', device: 'simulated:0', pixelFormat: null };
    const neutral = { brightness: 50, contrast: 50, saturation: 50, hue: 50 };
    // The mean luma of the first frame ffmpeg renders from the capture's own input graph.
    const luma = (light: number | null) => {
      const graph = valueOf(captureArgs({ ...sim, picture: { ...neutral, light } }), '-i')!;
      const frame = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', graph, '-frames:v', '1', '-pix_fmt', 'gray', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 20 });
      return frame.reduce((sum, v) => sum + v, 0) / frame.length;
    };
    const off = luma(null);
    const dim = luma(10);
    const full = luma(100);
    expect(dim).toBeGreaterThan(off);
    expect(full).toBeGreaterThan(dim);
  });
});

describe('hardware encoder choice', () => {
  it('tries VA-API only where its render node exists, then V4L2 M2M', () => {
    expect(encoderCandidates('none')).toEqual([]);
    expect(encoderCandidates('auto', () => true)).toEqual(['h264_vaapi', 'h264_v4l2m2m']);
    expect(encoderCandidates('auto', () => false)).toEqual(['h264_v4l2m2m']);
    expect(encoderCandidates('vaapi', () => false)).toEqual(['h264_vaapi']);
    expect(encoderProbeArgs('h264_vaapi')).toContain('-vaapi_device');
  });

  it.skipIf(!hasFfmpeg)('falls back to libx264 when the hardware encoder does not work here', async () => {
    const choice = await chooseEncoder('v4l2m2m', 'ffmpeg');
    // This machine has no M2M encoder node; on one that has, the probe would pick it.
    expect(choice.encoder).toBe('libx264');
    expect(choice.reason).toContain('software');
    expect(await chooseEncoder('none', 'ffmpeg')).toEqual({ encoder: 'libx264', reason: 'hwaccel none' });
    expect((await chooseEncoder('auto', 'definitely-not-ffmpeg')).encoder).toBe('libx264');
  });
});
