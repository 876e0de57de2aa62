// Compressed-format cameras on a real kernel: boots the test VM (test/vm/) with two v4l2loopback
// devices fed by ffmpeg — one delivering MJPEG, one H.264 — and the whole add-on bundled from src/,
// runs test/vm/guestLoopback.ts inside and asserts on what it printed: discovery and formats
// (cross-checked with v4l2-ctl), MJPEG passthrough byte for byte, the live H.264 endpoint without
// a second encode, a playable recording, unplug and replug. Prints the CPU figures as JSON lines.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedNodeFlags } from '../../bench/shipped.js';
import type { FormatInfo } from '../../src/camera/driver.js';
import type { ListedFormat } from '../vm/listFormatsExt.js';
import { qemuMissingReason, runGuest, type GuestRun } from '../vm/vivid.js';

const execFileAsync = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const SIZE = { width: 320, height: 240 };
const FPS = 5;
const SECONDS = 8;

/** Builds (or finds cached) the loopback layer; a reason when the module cannot be built here. */
async function loopbackMissingReason(): Promise<string | null> {
  try {
    await execFileAsync('bash', [join(ROOT, 'test/vm/build-image.sh'), '--loopback'], { maxBuffer: 16 * 1024 * 1024 });
    return null;
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    // Status 3: the script says why the module cannot be built (no headers package, no compiler).
    if (e.code === 3) return (e.stderr ?? '').trim();
    throw error;
  }
}

const skipReason = qemuMissingReason() ?? (await loopbackMissingReason());
if (skipReason) console.warn(`v4l2LoopbackVm: skipped: ${skipReason}`);

interface CameraStep {
  card: string;
  format: { width: number; height: number; fourcc: string };
  pixel_format: string;
  formats: FormatInfo[];
  resolutions: string[];
  fps_options: number[];
  controls: { resolution: string; fps: number };
  v4l2ctl: ListedFormat[];
}
interface Capture {
  args: string[];
  encoders: string[];
}
interface StreamInfo {
  ready: boolean;
  path: { input: string; mjpeg: string; h264: string | null };
}
interface Measured {
  cores: number;
  ffmpeg_cores: number;
  fps: number;
  cpu_ms_per_frame: number;
}
interface View {
  exists: boolean;
  ready: boolean;
  demanded: boolean;
  readers: number;
  reader_types: string[];
}

describe.skipIf(skipReason !== null)('MJPEG and H.264 cameras on v4l2loopback (qemu VM)', () => {
  let run: GuestRun;
  const dir = mkdtempSync(join(tmpdir(), 'sb-loopback-vm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The prepared sequences the producers write: made here, so the guest needs no encoder of its own for them.
  beforeAll(async () => {
    const ffmpeg = (args: string[]) => execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${SIZE.width}x${SIZE.height}:rate=${FPS}`, '-frames:v', '25', ...args]);
    await ffmpeg(['-q:v', '5', '-f', 'mjpeg', join(dir, 'frames.mjpeg')]);
    // An access unit delimiter in every packet: the MPEG-TS muxer then adds none, and the device's packets reach the live stream as they are.
    // NUT keeps the Annex B packets as they are and, unlike a raw .h264 file, can be looped.
    await ffmpeg(['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(FPS), '-bf', '0', '-x264-params', 'aud=1:repeat-headers=1', '-f', 'nut', join(dir, 'frames.nut')]);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    run = await runGuest(9 * 60_000, {
      bundles: { 'test/vm/guestLoopback.ts': '/app/guest.mjs' },
      // The add-on bundled whole from src/, as the bench runs it.
      program: { dir: '/app/switchboard', entries: { main: 'src/main.ts' } },
      files: {
        '/app/package.json': JSON.stringify({ version }),
        '/app/loopback.json': JSON.stringify({ ...SIZE, fps: FPS, seconds: SECONDS, nodeFlags: shippedNodeFlags() }),
        '/app/frames.mjpeg': readFileSync(join(dir, 'frames.mjpeg')),
        '/app/frames.nut': readFileSync(join(dir, 'frames.nut')),
      },
      layers: [join(ROOT, '.vm/loopback.cpio.gz')],
      // ffmpeg's library closure lives in the initramfs.
      memoryMb: 2048,
      // Without AVX: TCG emulates ffmpeg's AVX2 paths many times slower.
      cpu: 'Nehalem',
    });
  }, 10 * 60_000);

  function step<T>(name: string): T {
    if (!run.steps.has(name)) {
      const log = run.steps.get('switchboard_log');
      throw new Error(`the guest printed no "${name}" step; fatal: ${String(run.steps.get('fatal'))}; add-on log: ${JSON.stringify(log)}; console:\n${run.console.slice(-4000)}`);
    }
    return run.steps.get(name) as T;
  }

  it('ran to the end without a fatal error', () => {
    expect(run.steps.get('fatal')).toBeUndefined();
    expect(step<boolean>('done')).toBe(true);
  });

  it('finds both devices and lists their formats, sizes and rates as v4l2-ctl does', () => {
    const cams = step<{ mjpeg: CameraStep; h264: CameraStep }>('cameras');
    for (const [cam, fourcc, card] of [[cams.mjpeg, 'MJPG', 'MJPEG-webcam'], [cams.h264, 'H264', 'H264-webcam']] as const) {
      expect(cam.card).toBe(card);
      expect(cam.pixel_format).toBe(fourcc);
      expect(cam.format).toEqual({ ...SIZE, fourcc });
      expect(cam.formats.map(({ fourcc, sizes }) => ({ fourcc, sizes }))).toEqual(cam.v4l2ctl);
      expect(cam.v4l2ctl).toEqual([{ fourcc, sizes: [{ ...SIZE, fps: [FPS] }] }]);
      expect(cam.resolutions).toEqual([`${SIZE.width}x${SIZE.height}`]);
      expect(cam.fps_options).toEqual([FPS]);
      expect(cam.controls).toEqual({ resolution: `${SIZE.width}x${SIZE.height}`, fps: FPS });
    }
  });

  it("passes the MJPEG camera's JPEGs through to readers byte for byte", () => {
    const pass = step<{ frames: number; indexes: number[]; consecutive: boolean; info: StreamInfo; capture: Capture }>('mjpeg_passthrough');
    expect(pass.frames).toBe(15);
    // Every frame is one of the producer's JPEGs, unchanged; the picture moves (not one frame repeated).
    expect(pass.indexes.every((i) => i >= 0)).toBe(true);
    expect(new Set(pass.indexes).size).toBeGreaterThan(5);
    expect(pass.info.path).toMatchObject({ input: 'mjpeg', mjpeg: 'copy', h264: null });
    expect(pass.capture.args).toEqual(expect.arrayContaining(['-input_format', 'mjpeg']));
    expect(pass.capture.encoders).toEqual(['copy']);
  });

  it('encodes the MJPEG camera once for the live H.264 endpoint', () => {
    const live = step<{ info: StreamInfo; capture: Capture; probe: { codec_name: string; width: number; height: number } }>('live_from_mjpeg');
    expect(live.info.path).toMatchObject({ input: 'mjpeg', mjpeg: 'copy', h264: 'libx264' });
    // One capture process: MJPEG copied, one H.264 encode.
    expect(live.capture.encoders).toEqual(['copy', 'libx264']);
    expect(live.probe).toMatchObject({ codec_name: 'h264', ...SIZE });
  });

  it("carries the H.264 camera's own packets to the live endpoint without re-encoding", () => {
    const live = step<{ info: StreamInfo; capture: Capture; probe: { codec_name: string; width: number; height: number }; packets: number; key_packets: number; non_key_packets: number; non_key_identical: number }>('live_from_h264');
    expect(live.info.path).toMatchObject({ input: 'h264', h264: 'copy' });
    expect(live.capture.args).toEqual(expect.arrayContaining(['-input_format', 'h264']));
    // The MJPEG output (encoded from H.264) is the capture's only encoder; H.264 is copied.
    expect(live.capture.encoders).toEqual(['mjpeg', 'copy']);
    expect(live.probe).toMatchObject({ codec_name: 'h264', ...SIZE });
    expect(live.key_packets).toBeGreaterThan(0);
    expect(live.non_key_packets).toBeGreaterThan(5);
    // Every predicted frame is the device's packet byte for byte (keyframes gain the repeated SPS/PPS).
    expect(live.non_key_identical).toBe(live.non_key_packets);
  });

  it('records the MJPEG camera into a file that plays', () => {
    const rec = step<{ files: { file: string; bytes: number; probe: { codec_name: string; width: number; height: number; nb_read_frames: string } }[] }>('recording');
    expect(rec.files.length).toBeGreaterThan(0);
    for (const f of rec.files) expect(f.probe).toMatchObject({ codec_name: 'h264', ...SIZE });
    expect(rec.files.reduce((n, f) => n + Number(f.probe.nb_read_frames), 0)).toBeGreaterThanOrEqual(10);
  });

  it('unplug: readers end cleanly, the cameras are not ready, demands are kept, every descriptor is let go', () => {
    const unplug = step<{ rmmod_while_open: { ok: boolean; error?: string; refcnt: number }; reader: { ended: string }; mjpeg: View; h264: View; live_client_open: boolean; rmmod_after: boolean; captures_left: number }>('unplug');
    // The kernel will not remove a module whose device is open: the nodes go first, as a USB unplug removes them.
    expect(unplug.rmmod_while_open.ok).toBe(false);
    expect(unplug.rmmod_while_open.refcnt).toBeGreaterThan(0);
    // busybox rmmod asks without waiting: the kernel answers EAGAIN while the module is in use.
    expect(unplug.rmmod_while_open.error).toMatch(/Resource temporarily unavailable|in use/);
    expect(unplug.reader.ended).toBe('clean');
    expect(unplug.mjpeg).toMatchObject({ exists: false, ready: false });
    expect(unplug.h264).toMatchObject({ exists: false, ready: false, demanded: true, reader_types: ['http-live'] });
    expect(unplug.live_client_open).toBe(true);
    expect(unplug.rmmod_after).toBe(true);
    expect(unplug.captures_left).toBe(0);
  });

  it('replug: the demanded stream resumes by itself, and MJPEG passes through again', () => {
    const replug = step<{ h264: View; live_client_open: boolean; live_bytes_after: number; mjpeg_identical: boolean }>('replug');
    expect(replug.h264).toMatchObject({ exists: true, ready: true, demanded: true });
    expect(replug.live_client_open).toBe(true);
    expect(replug.live_bytes_after).toBeGreaterThan(1000);
    expect(replug.mjpeg_identical).toBe(true);
  });

  it('prints CPU per delivered frame: the add-on with its capture against the producer alone', () => {
    const floor = step<Measured>('producer_alone');
    const idle = step<Measured>('switchboard_idle');
    const mjpeg = step<Measured>('switchboard_mjpeg_1_reader');
    const h264 = step<Measured>('switchboard_h264_live');
    const context = { size: `${SIZE.width}x${SIZE.height}`, device_fps: FPS, seconds: SECONDS, cpu: 'Nehalem', note: 'TCG emulation, one vCPU: only same-run ratios count' };
    const round = (v: number) => Math.round(v * 1000) / 1000;
    const line = (figure: string, m: Measured, extra: Record<string, unknown> = {}) =>
      console.log(JSON.stringify({ figure, value: round(m.cpu_ms_per_frame), unit: 'cpu-ms/frame', cores: round(m.cores), ffmpeg_cores: round(m.ffmpeg_cores), fps: round(m.fps), ...extra, ...context }));
    // Beyond the idle add-on (node's own timers and sockets, the camera scan): what streaming adds per frame.
    const beyondIdle = (m: Measured) => round(((m.cores - idle.cores) * 1000) / m.fps);
    console.log(JSON.stringify({ figure: 'vm_loopback_switchboard_idle', value: round(idle.cores), unit: 'cores', ...context }));
    line('vm_loopback_producer_alone', floor);
    line('vm_loopback_switchboard_mjpeg_passthrough_1_reader', mjpeg, { vs_producer: round(mjpeg.cpu_ms_per_frame / floor.cpu_ms_per_frame), beyond_idle_ms_per_frame: beyondIdle(mjpeg), capture_ms_per_frame: round((mjpeg.ffmpeg_cores * 1000) / mjpeg.fps) });
    line('vm_loopback_switchboard_h264_live_copy_1_client', h264, { vs_producer: round(h264.cpu_ms_per_frame / floor.cpu_ms_per_frame), beyond_idle_ms_per_frame: beyondIdle(h264), capture_ms_per_frame: round((h264.ffmpeg_cores * 1000) / h264.fps) });
    // Figures, not limits: each stage delivered frames.
    for (const m of [floor, mjpeg, h264]) expect(m.fps).toBeGreaterThan(0);
  });
});
