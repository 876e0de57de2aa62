// ffmpeg command lines for capture and recording. One capture process per camera feeds every
// reader, snapshots and the recorder, because a V4L2 device can only be streamed by one process.

export interface CaptureSpec {
  driver: 'v4l2' | 'simulated';
  device: string;
  width: number;
  height: number;
  fps: number;
  /** 1–100, as the Rotoclear `jpeg-quality` key. */
  jpegQuality: number;
}

/** Rotoclear quality 1–100 (higher is better) → ffmpeg's mjpeg qscale 2–31 (lower is better). */
export function qscale(quality: number): number {
  const q = Math.min(100, Math.max(1, quality));
  return Math.round(31 - ((q - 1) / 99) * 29);
}

export function captureArgs(spec: CaptureSpec): string[] {
  const size = `${spec.width}x${spec.height}`;
  // Simulated cameras use ffmpeg's test pattern so the whole pipeline is real without hardware.
  const input =
    spec.driver === 'simulated'
      ? ['-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${spec.fps}`]
      : ['-f', 'v4l2', '-framerate', String(spec.fps), '-video_size', size, '-i', spec.device];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, '-an', '-f', 'mjpeg', '-q:v', String(qscale(spec.jpegQuality)), 'pipe:1'];
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
