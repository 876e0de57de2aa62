// ffmpeg command lines for capture and recording. One capture process per camera feeds every
// reader, snapshots, the live H.264 endpoint, the motion tap and the recorder, because a V4L2
// device can only be streamed by one process. Each output kind is produced once, on its own pipe:
// fd 1 MJPEG, fd 3 H.264 in MPEG-TS, fd 4 small grey frames for motion detection.

/** What the device sends: compressed formats are passed through, raw ones are encoded. */
export type InputKind = 'mjpeg' | 'h264' | 'raw' | 'test';

/** The H.264 encoder for devices that do not deliver H.264 themselves. */
export type H264Encoder = 'libx264' | 'h264_vaapi' | 'h264_v4l2m2m';

export const VAAPI_DEVICE = '/dev/dri/renderD128';
export const MJPEG_FD = 1;
export const TS_FD = 3;
export const MOTION_FD = 4;
/** Motion runs on frames this wide (height keeps the aspect), a few per second. */
export const MOTION_WIDTH = 64;
export const MOTION_FPS = 4;

export interface CaptureSpec {
  driver: 'v4l2' | 'simulated';
  device: string;
  width: number;
  height: number;
  fps: number;
  /** 1–100, as the Rotoclear `jpeg-quality` key; ignored when the device's JPEGs are passed through. */
  jpegQuality: number;
  /** The device's current V4L2 fourcc (G_FMT), e.g. MJPG, H264, YUYV; null when unknown. */
  pixelFormat: string | null;
  /** Add the H.264/MPEG-TS output (fd 3). */
  h264: boolean;
  /** Add the motion output (fd 4). */
  motion: boolean;
  encoder: H264Encoder;
  /** Simulated cameras: image settings in Rotoclear units (0–100, 50 neutral) and the light's level while on, drawn into the test picture. */
  picture?: { brightness: number | null; contrast: number | null; saturation: number | null; hue: number | null; light?: number | null };
}

/** Which way each output is produced; shown in the camera's state and logged once per camera. */
export interface CapturePath {
  input: InputKind;
  mjpeg: 'copy' | 'encode';
  h264: 'copy' | H264Encoder | null;
  motion: boolean;
}

/** Rotoclear quality 1–100 (higher is better) → ffmpeg's mjpeg qscale 2–31 (lower is better). */
export function qscale(quality: number): number {
  const q = Math.min(100, Math.max(1, quality));
  return Math.round(31 - ((q - 1) / 99) * 29);
}

/** The one place that maps the driver's current pixel format to how capture treats it. */
export function inputKindOf(driver: CaptureSpec['driver'], fourcc: string | null): InputKind {
  if (driver === 'simulated') return 'test';
  const f = (fourcc ?? '').trim().toUpperCase();
  if (f === 'MJPG' || f === 'JPEG') return 'mjpeg';
  if (f === 'H264') return 'h264';
  return 'raw';
}

export function capturePath(spec: CaptureSpec): CapturePath {
  const input = inputKindOf(spec.driver, spec.pixelFormat);
  return {
    input,
    mjpeg: input === 'mjpeg' ? 'copy' : 'encode',
    h264: spec.h264 ? (input === 'h264' ? 'copy' : spec.encoder) : null,
    motion: spec.motion,
  };
}

export function motionSize(spec: Pick<CaptureSpec, 'width' | 'height'>): { width: number; height: number } {
  const height = Math.max(2, Math.round((MOTION_WIDTH * spec.height) / spec.width / 2) * 2);
  return { width: MOTION_WIDTH, height };
}

/**
 * Rotoclear 0–100 (50 neutral) → ffmpeg `eq`, and hue 0–100 → `hue=h=` degrees (−180..180, a
 * full turn, as V4L2 hue controls like vivid's ±128 span it). Neutral parts are left out.
 */
function pictureFilter(p: NonNullable<CaptureSpec['picture']>): string | null {
  const v = (x: number | null) => x ?? 50;
  const filters: string[] = [];
  if (v(p.brightness) !== 50 || v(p.contrast) !== 50 || v(p.saturation) !== 50) {
    const brightness = ((v(p.brightness) - 50) / 100).toFixed(3);
    const contrast = (v(p.contrast) / 50).toFixed(3);
    const saturation = (v(p.saturation) / 50).toFixed(3);
    filters.push(`eq=brightness=${brightness}:contrast=${contrast}:saturation=${saturation}`);
  }
  if (v(p.hue) !== 50) filters.push(`hue=h=${((v(p.hue) - 50) * 3.6).toFixed(1)}`);
  // The light: the scene washed brighter by its level, and a lamp in the top right corner.
  if (p.light != null) {
    filters.push(`drawbox=x=0:y=0:w=iw:h=ih:color=white@${(0.08 + (0.32 * p.light) / 100).toFixed(3)}:t=fill`);
    filters.push('drawbox=x=iw-iw/12-8:y=8:w=iw/12:h=iw/12:color=yellow@0.9:t=fill');
  }
  return filters.length ? filters.join(',') : null;
}

/**
 * V4L2 raw fourccs → ffmpeg pixel format names. Without `-input_format` ffmpeg does not keep the
 * device's current format: it takes the first of its own list the driver accepts (YU12 on vivid,
 * where YUYV was chosen), so the format a user picked must be named.
 */
const RAW_FORMATS: Readonly<Record<string, string>> = {
  YUYV: 'yuyv422',
  YVYU: 'yvyu422',
  UYVY: 'uyvy422',
  YU12: 'yuv420p',
  '422P': 'yuv422p',
  NV12: 'nv12',
  GREY: 'gray',
  Y16: 'gray16le',
  RGB3: 'rgb24',
  BGR3: 'bgr24',
  RGBP: 'rgb565le',
  BA81: 'bayer_bggr8',
  GBRG: 'bayer_gbrg8',
  GRBG: 'bayer_grbg8',
  RGGB: 'bayer_rggb8',
};

/** `-input_format` for a raw device's current format; none for a format ffmpeg has no name for (it picks). */
function rawInputFormat(fourcc: string | null): string[] {
  const name = RAW_FORMATS[(fourcc ?? '').trim().toUpperCase()];
  return name ? ['-input_format', name] : [];
}

function inputArgs(spec: CaptureSpec, kind: InputKind): string[] {
  const size = `${spec.width}x${spec.height}`;
  if (kind === 'test') {
    // Simulated cameras use ffmpeg's test pattern so the whole pipeline is real without hardware.
    const eq = spec.picture ? pictureFilter(spec.picture) : null;
    return ['-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${spec.fps}${eq ? `,${eq}` : ''}`];
  }
  const format = kind === 'mjpeg' ? ['-input_format', 'mjpeg'] : kind === 'h264' ? ['-input_format', 'h264'] : rawInputFormat(spec.pixelFormat);
  return ['-f', 'v4l2', ...format, '-framerate', String(spec.fps), '-video_size', size, '-i', spec.device];
}

function h264Args(spec: CaptureSpec, path: CapturePath): string[] {
  // Keyframes every second: a new live client starts at the next one.
  const gop = String(Math.max(1, Math.round(spec.fps)));
  const ts = ['-f', 'mpegts', '-mpegts_flags', '+resend_headers', `pipe:${TS_FD}`];
  switch (path.h264) {
    case 'copy':
      // dump_extra repeats SPS/PPS before each keyframe so clients can join mid-stream.
      return ['-map', '0:v', '-c:v', 'copy', '-bsf:v', 'dump_extra', ...ts];
    case 'h264_vaapi':
      return ['-map', '0:v', '-vf', 'format=nv12,hwupload', '-c:v', 'h264_vaapi', '-g', gop, '-bf', '0', ...ts];
    case 'h264_v4l2m2m':
      return ['-map', '0:v', '-pix_fmt', 'yuv420p', '-c:v', 'h264_v4l2m2m', '-g', gop, '-b:v', '2M', ...ts];
    case 'libx264':
      return ['-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', gop, ...ts];
    default:
      return [];
  }
}

export function captureArgs(spec: CaptureSpec): string[] {
  return captureArgsWithInput(spec, inputArgs(spec, capturePath(spec).input));
}

/** The capture command with `input` in the device's place: the bench feeds a paced file as the camera. */
export function captureArgsWithInput(spec: CaptureSpec, input: string[]): string[] {
  const hw = capturePath(spec).h264 === 'h264_vaapi' ? ['-vaapi_device', VAAPI_DEVICE] : [];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...hw, ...input, ...outputArgs(spec)];
}

/** Every output of the capture, for whatever input is first on the command line. */
export function outputArgs(spec: CaptureSpec): string[] {
  const path = capturePath(spec);
  const mjpeg =
    path.mjpeg === 'copy'
      ? ['-map', '0:v', '-c:v', 'copy', '-f', 'mjpeg', `pipe:${MJPEG_FD}`]
      : ['-map', '0:v', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(qscale(spec.jpegQuality)), '-f', 'mjpeg', `pipe:${MJPEG_FD}`];
  const m = motionSize(spec);
  const motion = spec.motion
    ? ['-map', '0:v', '-vf', `fps=${MOTION_FPS},scale=${m.width}:${m.height}`, '-pix_fmt', 'gray', '-f', 'rawvideo', `pipe:${MOTION_FD}`]
    : [];
  return ['-an', ...mjpeg, ...h264Args(spec, path), ...motion];
}

/** A short test encode that tells whether a hardware encoder works on this machine. */
export function encoderProbeArgs(encoder: H264Encoder): string[] {
  const hw = encoder === 'h264_vaapi' ? ['-vaapi_device', VAAPI_DEVICE] : [];
  const vf = encoder === 'h264_vaapi' ? ['-vf', 'format=nv12,hwupload'] : ['-pix_fmt', 'yuv420p'];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...hw, '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-frames:v', '5', ...vf, '-c:v', encoder, '-f', 'null', '-'];
}

/**
 * Recorder: MJPEG frames on stdin → H.264 fragmented MP4 segments named by start time. A keyframe
 * every second starts a fragment that is flushed to disk at once, so a power cut loses ~2 s, not
 * the segment (a plain MP4 is unreadable until its moov atom is written at the end).
 */
export function recordArgs(fps: number, segmentSeconds: number, pattern: string): string[] {
  return [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'mjpeg', '-framerate', String(fps), '-i', 'pipe:0',
    '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', String(Math.max(1, Math.round(fps))),
    '-f', 'segment', '-segment_time', String(segmentSeconds), '-reset_timestamps', '1', '-strftime', '1',
    '-segment_format', 'mp4', '-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1',
    pattern,
  ];
}
