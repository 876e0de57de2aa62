// Chooses the H.264 encoder for cameras that do not deliver H.264: `cameras.hwaccel` names a
// hardware encoder (or `auto` tries them), and a short real test encode decides whether it works
// here. Anything that fails falls back to libx264.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { spawnChild } from '../../core/childProcess.js';
import { encoderProbeArgs, VAAPI_DEVICE, type H264Encoder } from './ffmpegArgs.js';

export type HwAccel = 'auto' | 'none' | 'vaapi' | 'v4l2m2m';

export interface EncoderChoice {
  encoder: H264Encoder;
  /** Why this encoder, for the one log line per camera. */
  reason: string;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Hardware candidates for a setting, in the order they are tried. */
export function encoderCandidates(hwaccel: HwAccel, exists: (path: string) => boolean = existsSync): H264Encoder[] {
  const vaapi = exists(VAAPI_DEVICE) ? (['h264_vaapi'] as const) : [];
  switch (hwaccel) {
    case 'none':
      return [];
    case 'vaapi':
      return ['h264_vaapi'];
    case 'v4l2m2m':
      return ['h264_v4l2m2m'];
    case 'auto':
      return [...vaapi, 'h264_v4l2m2m'];
  }
}

export async function probeEncoder(ffmpegPath: string, encoder: H264Encoder): Promise<boolean> {
  let spawned = true;
  // No ffmpeg at that path: the encoder is not usable here (ffmpeg's own health says why).
  const child = spawnChild(ffmpegPath, encoderProbeArgs(encoder), { stdio: 'ignore' }, () => (spawned = false));
  const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    return spawned && code === 0;
  } catch {
    return false; // once() rejects on the spawn 'error' too
  } finally {
    clearTimeout(timer);
  }
}

export async function chooseEncoder(hwaccel: HwAccel, ffmpegPath: string): Promise<EncoderChoice> {
  const candidates = encoderCandidates(hwaccel);
  for (const encoder of candidates) {
    if (await probeEncoder(ffmpegPath, encoder)) return { encoder, reason: `hwaccel ${hwaccel}: ${encoder} works` };
  }
  const reason = hwaccel === 'none' ? 'hwaccel none' : `hwaccel ${hwaccel}: no working hardware encoder (${candidates.join(', ') || 'none present'}), software`;
  return { encoder: 'libx264', reason };
}
