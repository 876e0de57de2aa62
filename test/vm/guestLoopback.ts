// Runs INSIDE the test VM (bundled to /app/guest.mjs by test/integration/v4l2LoopbackVm.test.ts):
// two v4l2loopback devices stand in for a compressed-format webcam — ffmpeg writes a prepared MJPEG
// sequence into /dev/video0 and a prepared H.264 one into /dev/video1 — and the whole add-on
// (bundled from src/) serves them over its HTTP API. Prints one `VMTEST {step, data}` line per step;
// the host test asserts on them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { coresUsed, processTree, sampleCpu } from '../../bench/procStats.js';
import { guestAddonEnv } from '../../bench/vm/guestAddon.js';
import { JpegFrameSplitter } from '../../src/camera/streaming/jpegFrames.js';
import { parseListFormatsExt } from './listFormatsExt.js';

const settings = JSON.parse(readFileSync('/app/loopback.json', 'utf8')) as { width: number; height: number; fps: number; seconds: number; nodeFlags: string[] };
const FPS = settings.fps;
const MJPEG_DEVICE = '/dev/video0';
const H264_DEVICE = '/dev/video1';
// The H.264 sequence comes in NUT (packets kept as they are, Annex B): ffmpeg cannot loop a raw .h264 file.
const SOURCES: Record<string, { file: string; input: string[] }> = {
  [MJPEG_DEVICE]: { file: '/app/frames.mjpeg', input: ['-f', 'mjpeg', '-framerate', String(FPS)] },
  [H264_DEVICE]: { file: '/app/frames.nut', input: ['-f', 'nut'] },
};
const MODULE = '/modules/v4l2loopback.ko';
// exclusive_caps: a node announces CAPTURE only while a producer feeds it, as a plugged-in camera does.
const MODULE_PARAMS = ['devices=2', 'video_nr=0,1', 'exclusive_caps=1,1', 'card_label=MJPEG-webcam,H264-webcam'];
const BASE = 'http://127.0.0.1:2000';
const ADMIN_PASSWORD = 'loopback-vm-admin';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function report(step: string, data: unknown): void {
  console.log(`VMTEST ${JSON.stringify({ step, data })}`);
}

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command, returning its output or the error it failed with (both are test evidence). */
function attempt(file: string, args: string[]): { ok: true; out: string } | { ok: false; error: string } {
  try {
    return { ok: true, out: run(file, args) };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return { ok: false, error: (e.stderr || e.message).trim() };
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

// --- the device side -----------------------------------------------------------------------------

function plugIn(): void {
  run('/bin/insmod', [MODULE, ...MODULE_PARAMS]);
  for (const device of [MJPEG_DEVICE, H264_DEVICE]) {
    // The rate readers see (VIDIOC_G_PARM); the producer paces its writes to the same rate.
    writeFileSync(`/sys/class/video4linux/${device.slice(5)}/format`, `@${FPS}`);
  }
}

interface Producer {
  child: ChildProcess;
  /** Frames written so far (ffmpeg's -progress). */
  frames: () => number;
  stderr: () => string;
}

/** ffmpeg writes the prepared sequence into the loopback device, packet for packet (-c copy), paced at FPS. */
function startProducer(device: string): Producer {
  const { file, input } = SOURCES[device]!;
  const child = spawn('/usr/bin/ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-progress', 'pipe:1', '-stats_period', '0.5',
    '-re', '-stream_loop', '-1', ...input, '-i', file,
    '-c:v', 'copy', '-f', 'v4l2', device,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let frames = 0;
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const m of chunk.toString('utf8').matchAll(/^frame=(\d+)$/gm)) frames = Number(m[1]);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  return { child, frames: () => frames, stderr: () => stderr };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function fourccOf(device: string): string | null {
  return /Pixel Format\s*:\s*'(\w+)'/.exec(attempt('/usr/bin/v4l2-ctl', ['-d', device, '--get-fmt-video']).ok ? run('/usr/bin/v4l2-ctl', ['-d', device, '--get-fmt-video']) : '')?.[1] ?? null;
}

async function startProducers(): Promise<Record<string, Producer>> {
  const producers = { [MJPEG_DEVICE]: startProducer(MJPEG_DEVICE), [H264_DEVICE]: startProducer(H264_DEVICE) };
  for (const [device, fourcc] of [[MJPEG_DEVICE, 'MJPG'], [H264_DEVICE, 'H264']] as const) {
    await until(`${device} to announce ${fourcc} (producer: ${producers[device].stderr()})`, 60_000, () => fourccOf(device) === fourcc);
  }
  return producers;
}

// --- the reference sequences -----------------------------------------------------------------------

function jpegFrames(bytes: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  new JpegFrameSplitter().push(bytes, (f) => frames.push(f));
  return frames;
}

interface Packet {
  key: boolean;
  hash: string;
  size: number;
}

/** The video packets of a file as ffprobe demuxes them, with an MD5 of each one's bytes. */
function packets(file: string): Packet[] {
  const out = JSON.parse(run('/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_packets', '-show_data_hash', 'MD5', '-show_entries', 'packet=flags,size,data_hash', '-of', 'json', file])) as {
    packets?: { flags: string; size: string; data_hash: string }[];
  };
  return (out.packets ?? []).map((p) => ({ key: p.flags.startsWith('K'), hash: p.data_hash, size: Number(p.size) }));
}

function probeStream(file: string): Record<string, unknown> {
  const out = JSON.parse(run('/usr/bin/ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=format_name,duration', '-of', 'json', file])) as {
    streams?: Record<string, unknown>[];
    format?: Record<string, unknown>;
  };
  return { ...(out.streams?.[0] ?? {}), format: out.format ?? null };
}

// --- the add-on's side ----------------------------------------------------------------------------

/**
 * fetch, tried again when the request fails before any answer: the client may reuse a kept-alive
 * connection the server is just closing (a race of HTTP keep-alive, not of the add-on).
 */
async function fetchAnswer(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= 3 || init.signal?.aborted) throw new Error(`${String(error)} (${String((error as Error).cause)})`);
    }
  }
}

interface Camera {
  id: string;
  device: string;
  card: string | null;
  exists: boolean;
  ready: boolean;
  demanded: boolean;
  readers: number;
  reader_list: { type: string }[];
  controls: Record<string, unknown>;
  fps_options: number[];
  resolutions: string[];
  formats: { fourcc: string; description: string; compressed: boolean; sizes: { width: number; height: number; fps: number[] }[] }[];
  format: { width: number; height: number; fourcc: string } | null;
  capabilities: { pixel_format: string | null };
}

class Api {
  constructor(private readonly token: string) {}

  get headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' };
  }

  url(path: string): string {
    return `${BASE}${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(this.token)}`;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetchAnswer(`${BASE}${path}`, { ...init, headers: this.headers });
    const body = (await res.json()) as T;
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  async cameras(): Promise<Camera[]> {
    return (await this.json<{ items: Camera[] }>('/api/cameras')).items;
  }

  async camera(device: string): Promise<Camera | undefined> {
    return (await this.cameras()).find((c) => c.device === device);
  }
}

/** An HTTP MJPEG reader that keeps every part's bytes exactly as sent (multipart, by Content-Length). */
class MultipartReader {
  readonly frames: Buffer[] = [];
  count = 0;
  /** 'clean': the server closed the multipart stream with its final boundary; 'error': the body failed. */
  ended: 'clean' | 'cut' | 'error' | null = null;
  error: string | null = null;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(url: string, private readonly keep: number) {
    this.done = this.read(url);
  }

  private async read(url: string): Promise<void> {
    try {
      const res = await fetchAnswer(url, { signal: this.abort.signal });
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      let buf = Buffer.alloc(0);
      let closed = false;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const head = buf.indexOf('\r\n\r\n');
          if (head < 0) break;
          const headers = buf.subarray(0, head).toString('latin1');
          const length = /Content-Length: (\d+)/i.exec(headers);
          if (!length) {
            closed ||= /--\S+--/.test(headers + buf.subarray(head).toString('latin1'));
            break;
          }
          const size = Number(length[1]);
          if (buf.length < head + 4 + size + 2) break;
          const frame = buf.subarray(head + 4, head + 4 + size);
          this.count++;
          if (this.frames.length < this.keep) this.frames.push(Buffer.from(frame));
          buf = buf.subarray(head + 4 + size + 2);
        }
        closed ||= /--\S+--\r\n$/.test(buf.toString('latin1'));
      }
      this.ended = closed ? 'clean' : 'cut';
    } catch (error) {
      if (this.abort.signal.aborted) return;
      this.ended = 'error';
      this.error = String(error);
    }
  }

  close(): void {
    this.abort.abort();
  }

  finished(): Promise<void> {
    return this.done;
  }
}

/** An HTTP client of the live H.264 (MPEG-TS) endpoint, its bytes kept in a file. */
class LiveClient {
  bytes = 0;
  ended = false;
  private readonly abort = new AbortController();
  private recording = true;

  constructor(url: string, readonly file: string) {
    const fd = openSync(file, 'w');
    void (async () => {
      try {
        const res = await fetchAnswer(url, { signal: this.abort.signal });
        if (!res.ok || !res.body) throw new Error(`live answered ${res.status}`);
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          this.bytes += chunk.length;
          if (this.recording) writeSync(fd, chunk);
        }
      } catch {
        // Aborted by close(), or the server ended the response: either way this client is done.
      }
      this.ended = true;
      closeSync(fd);
    })();
  }

  /** Stops keeping bytes (the count goes on). */
  stopKeeping(): void {
    this.recording = false;
  }

  close(): void {
    this.abort.abort();
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function ffmpegChildren(pid: number): { pid: number; args: string[] }[] {
  return processTree(pid)
    .slice(1)
    .map((p) => ({ pid: p, args: cmdline(p) }))
    .filter((p) => p.args[0]?.endsWith('ffmpeg'));
}

/** The capture process's command line for a device, and the encoders it runs. */
function captureOf(serverPid: number, device: string): { args: string[]; encoders: string[] } | null {
  const capture = ffmpegChildren(serverPid).find((p) => p.args.includes(device));
  if (!capture) return null;
  const encoders = capture.args.flatMap((a, i) => (a === '-c:v' ? [capture.args[i + 1]!] : []));
  return { args: capture.args, encoders };
}

function startSwitchboard(): ChildProcess {
  const log = openSync('/tmp/switchboard.log', 'w');
  return spawn('/usr/bin/node', [...settings.nodeFlags, '/app/switchboard/main.js'], {
    stdio: ['ignore', log, log],
    env: guestAddonEnv(ADMIN_PASSWORD, {
      SWITCHBOARD_LOG_LEVEL: 'info',
      // Unplug and replug are noticed within a second; idle cameras are not captured for a picture.
      SWITCHBOARD_CAMERAS_SCAN_INTERVAL_SECONDS: '1',
      SWITCHBOARD_CAMERAS_IMAGE_INTERVAL_SECONDS: '0',
      SWITCHBOARD_CAMERAS_STREAM_LINGER_SECONDS: '0',
      SWITCHBOARD_RECORDING_MEDIA_DIR: '/tmp/media',
      SWITCHBOARD_RECORDING_SEGMENT_SECONDS: '5',
      SWITCHBOARD_RECORDING_MIN_FREE_MB: '0',
    }),
  });
}

function logTail(): string[] {
  try {
    return readFileSync('/tmp/switchboard.log', 'utf8').split('\n').slice(-25);
  } catch {
    return [];
  }
}

// --- the steps ------------------------------------------------------------------------------------

/** CPU of a process tree over the window, and the frames `count` went up by meanwhile. */
async function measure(pid: number, count: () => number): Promise<{ cores: number; ffmpeg_cores: number; fps: number; cpu_ms_per_frame: number; seconds: number }> {
  const before = sampleCpu(pid);
  const start = count();
  const t0 = performance.now();
  await sleep(settings.seconds * 1000);
  const after = sampleCpu(pid);
  const frames = count() - start;
  const wall = (performance.now() - t0) / 1000;
  const cores = coresUsed(before, after, wall);
  // The share of the add-on's ffmpeg children (its capture), apart from node itself.
  const ffmpeg = new Set([...after.keys()].filter((p) => cmdline(p)[0]?.endsWith('ffmpeg')));
  const only = (m: Map<number, number>) => new Map([...m].filter(([p]) => ffmpeg.has(p)));
  return { cores, ffmpeg_cores: coresUsed(only(before), only(after), wall), fps: frames / wall, cpu_ms_per_frame: frames ? (cores * wall * 1000) / frames : Number.NaN, seconds: wall };
}

/** Whether `got` follows the prepared sequence: each frame the next of the looped list. */
function indexesIn(reference: Buffer[], got: Buffer[]): number[] {
  return got.map((f) => reference.findIndex((r) => r.equals(f)));
}

async function main(): Promise<void> {
  execFileSync('/bin/ip', ['link', 'set', 'lo', 'up']);
  // The base image loads vivid; only the loopback cameras are wanted here (videodev stays loaded).
  report('vivid_removed', attempt('/bin/rmmod', ['vivid']).ok);
  plugIn();
  let producers = await startProducers();
  const listed = Object.fromEntries([MJPEG_DEVICE, H264_DEVICE].map((d) => [d, run('/usr/bin/v4l2-ctl', ['-d', d, '--list-formats-ext'])]));
  report('device', {
    listFormatsExt: listed,
    parm: run('/usr/bin/v4l2-ctl', ['-d', MJPEG_DEVICE, '--get-parm']),
    caps: run('/usr/bin/v4l2-ctl', ['-d', MJPEG_DEVICE, '--info']),
  });

  const referenceJpegs = jpegFrames(readFileSync(SOURCES[MJPEG_DEVICE]!.file));
  const referencePackets = packets(SOURCES[H264_DEVICE]!.file);

  // The producer alone (nothing reads the device): the floor a frame costs in this VM. After a
  // settle: ffmpeg's -re catches up on its slow start in the emulated guest.
  await sleep(3000);
  const floor = await measure(producers[MJPEG_DEVICE]!.child.pid!, producers[MJPEG_DEVICE]!.frames);
  report('producer_alone', floor);

  const t0 = performance.now();
  const server = startSwitchboard();
  try {
    await until('switchboard health', 120_000, async () => {
      if (server.exitCode !== null) throw new Error(`switchboard exited ${server.exitCode}: ${logTail().join('\n')}`);
      return fetch(`${BASE}/api/health`).then((r) => r.ok, () => false);
    });
    const auth = (await (await fetch(`${BASE}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) })).json()) as { bearer: string };
    const api = new Api(auth.bearer);
    let seen: Camera[] = [];
    const cams = await until('both loopback cameras discovered and connected', 60_000, async () => {
      seen = await api.cameras();
      const mjpeg = seen.find((c) => c.device === MJPEG_DEVICE && c.exists);
      const h264 = seen.find((c) => c.device === H264_DEVICE && c.exists);
      return mjpeg && h264 ? { mjpeg, h264 } : null;
    }).catch((error: Error) => {
      const devices = Object.entries(producers).map(([d, p]) => ({ device: d, fourcc: fourccOf(d), info: attempt('/usr/bin/v4l2-ctl', ['-d', d, '--info']), producerExit: p.child.exitCode ?? p.child.signalCode, producer: p.stderr() }));
      throw new Error(`${error.message}; cameras: ${JSON.stringify(seen.map((c) => ({ device: c.device, exists: c.exists, card: c.card })))}; devices: ${JSON.stringify(devices)}`);
    });
    const pick = (c: Camera) => ({ card: c.card, format: c.format, pixel_format: c.capabilities.pixel_format, formats: c.formats, resolutions: c.resolutions, fps_options: c.fps_options, controls: { resolution: c.controls.resolution, fps: c.controls.fps } });
    report('cameras', {
      start_seconds: (performance.now() - t0) / 1000,
      mjpeg: { ...pick(cams.mjpeg), v4l2ctl: parseListFormatsExt(listed[MJPEG_DEVICE]!) },
      h264: { ...pick(cams.h264), v4l2ctl: parseListFormatsExt(listed[H264_DEVICE]!) },
    });

    // The add-on with its cameras found and nothing streaming: its fixed cost in this VM.
    report('switchboard_idle', await measure(server.pid!, () => 0));

    // MJPEG passthrough: the reader gets the producer's JPEGs byte for byte.
    const reader = new MultipartReader(api.url(`/api/cameras/${cams.mjpeg.id}/stream.mjpeg`), 15);
    await until('15 MJPEG frames', 90_000, () => reader.frames.length >= 15 || reader.ended !== null);
    const indexes = indexesIn(referenceJpegs, reader.frames);
    report('mjpeg_passthrough', {
      frames: reader.frames.length,
      reference_frames: referenceJpegs.length,
      indexes,
      // Each frame is the next one of the looped sequence (none dropped, none altered).
      consecutive: indexes.every((v, i) => i === 0 || v === (indexes[i - 1]! + 1) % referenceJpegs.length),
      info: await api.json(`/api/cameras/${cams.mjpeg.id}/stream-info`),
      capture: captureOf(server.pid!, MJPEG_DEVICE),
    });
    // Switchboard with its capture process serving that reader: CPU per delivered frame.
    const served = await measure(server.pid!, () => reader.count);
    report('switchboard_mjpeg_1_reader', served);
    reader.close();
    await until('the MJPEG capture to stop once unread', 30_000, () => captureOf(server.pid!, MJPEG_DEVICE) === null);

    // MJPEG in, live H.264 out: one encode, the MJPEG output still passed through.
    const liveMjpeg = new LiveClient(api.url(`/api/cameras/${cams.mjpeg.id}/live.ts`), '/tmp/live-mjpeg.ts');
    await until('live H.264 from the MJPEG camera', 90_000, () => liveMjpeg.bytes > 30_000 || liveMjpeg.ended);
    const mjpegLiveInfo = await api.json(`/api/cameras/${cams.mjpeg.id}/stream-info`);
    const mjpegLiveCapture = captureOf(server.pid!, MJPEG_DEVICE);
    liveMjpeg.close();
    report('live_from_mjpeg', { info: mjpegLiveInfo, capture: mjpegLiveCapture, probe: probeStream('/tmp/live-mjpeg.ts'), bytes: liveMjpeg.bytes });
    await until('the MJPEG capture to stop', 30_000, () => captureOf(server.pid!, MJPEG_DEVICE) === null);

    // H.264 in, live H.264 out without re-encoding: the live stream carries the device's own packets.
    const liveH264 = new LiveClient(api.url(`/api/cameras/${cams.h264.id}/live.ts`), '/tmp/live-h264.ts');
    await until('live H.264 from the H.264 camera', 90_000, () => liveH264.bytes > 1000 || liveH264.ended);
    const bytesAtStart = liveH264.bytes;
    const h264Served = await measure(server.pid!, () => liveH264.bytes);
    const h264Info = await api.json(`/api/cameras/${cams.h264.id}/stream-info`);
    const h264Capture = captureOf(server.pid!, H264_DEVICE);
    liveH264.close();
    const livePackets = packets('/tmp/live-h264.ts');
    const referenceHashes = new Set(referencePackets.map((p) => p.hash));
    const nonKey = livePackets.filter((p) => !p.key);
    const windowFrames = livePackets.length ? (livePackets.length * (liveH264.bytes - bytesAtStart)) / liveH264.bytes : 0;
    report('live_from_h264', {
      info: h264Info,
      capture: h264Capture,
      probe: probeStream('/tmp/live-h264.ts'),
      packets: livePackets.length,
      key_packets: livePackets.length - nonKey.length,
      non_key_packets: nonKey.length,
      non_key_identical: nonKey.filter((p) => referenceHashes.has(p.hash)).length,
      reference_packets: referencePackets.length,
    });
    // Frames in the window estimated from the bytes (the live stream has no frame markers of its own).
    report('switchboard_h264_live', { ...h264Served, fps: windowFrames / h264Served.seconds, cpu_ms_per_frame: windowFrames ? (h264Served.cores * h264Served.seconds * 1000) / windowFrames : Number.NaN });
    await until('the H.264 capture to stop', 30_000, () => captureOf(server.pid!, H264_DEVICE) === null);

    // A recording of the MJPEG camera plays.
    await api.json(`/api/cameras/${cams.mjpeg.id}`, { method: 'PUT', body: JSON.stringify({ record: 'on' }) });
    await until('a recording segment with data', 90_000, () => mp4Files().some((f) => statSync(f).size > 20_000));
    await sleep(2000);
    await api.json(`/api/cameras/${cams.mjpeg.id}`, { method: 'PUT', body: JSON.stringify({ record: 'off' }) });
    await until('the recorder to finish', 30_000, () => ffmpegChildren(server.pid!).length === 0);
    report('recording', { files: mp4Files().map((f) => ({ file: f, bytes: statSync(f).size, probe: probeStream(f) })) });

    await unplugReplug(api, server, cams, producers, referenceJpegs, (p) => (producers = p));
  } catch (error) {
    report('switchboard_log', logTail());
    throw error;
  } finally {
    await stopChild(server);
    for (const p of Object.values(producers)) await stopChild(p.child);
  }
}

function mp4Files(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.mp4')) out.push(path);
    }
  };
  walk('/tmp/media');
  return out;
}

/**
 * Unplug: the nodes go away and their producers stop, while an MJPEG reader and a live client
 * watch. The kernel refuses to remove a module whose device is open, so the nodes are removed
 * first, as a USB unplug removes them; once the add-on noticed and let go of every descriptor,
 * the module can be removed, then loaded again (replug).
 */
async function unplugReplug(
  api: Api,
  server: ChildProcess,
  cams: { mjpeg: Camera; h264: Camera },
  producers: Record<string, Producer>,
  referenceJpegs: Buffer[],
  setProducers: (p: Record<string, Producer>) => void,
): Promise<void> {
  const reader = new MultipartReader(api.url(`/api/cameras/${cams.mjpeg.id}/stream.mjpeg`), 0);
  const live = new LiveClient(api.url(`/api/cameras/${cams.h264.id}/live.ts`), '/tmp/live-replug.ts');
  live.stopKeeping();
  await until('the reader and the live client receiving', 90_000, () => (reader.count >= 3 && live.bytes > 1000) || reader.ended !== null || live.ended).then(async () => {
    if (reader.ended !== null || live.ended) throw new Error('ended');
  }).catch(async (error: Error) => {
    const info = async (id: string) => api.json(`/api/cameras/${id}/stream-info`).catch((e: Error) => e.message);
    throw new Error(`${error.message}; reader: ${JSON.stringify({ count: reader.count, ended: reader.ended, error: reader.error })}; live: ${JSON.stringify({ bytes: live.bytes, ended: live.ended })}; mjpeg: ${JSON.stringify(await info(cams.mjpeg.id))}; h264: ${JSON.stringify(await info(cams.h264.id))}; captures: ${JSON.stringify(ffmpegChildren(server.pid!))}; producers: ${JSON.stringify(Object.values(producers).map((p) => [p.child.exitCode, p.frames(), p.stderr()]))}`);
  });
  // The module's reference count: one per open descriptor of its devices (ours, the captures', the producers').
  const refcnt = Number(readFileSync('/sys/module/v4l2loopback/refcnt', 'utf8'));
  const whileOpen = { ...attempt('/bin/rmmod', ['v4l2loopback']), refcnt };

  rmSync(MJPEG_DEVICE);
  rmSync(H264_DEVICE);
  await Promise.all(Object.values(producers).map((p) => stopChild(p.child)));
  await until('the MJPEG reader to end', 30_000, () => reader.ended !== null);
  const gone = await until('both cameras gone and not ready', 30_000, async () => {
    const all = await api.cameras();
    const m = all.find((c) => c.id === cams.mjpeg.id);
    const h = all.find((c) => c.id === cams.h264.id);
    return m && h && !m.exists && !h.exists && !m.ready && !h.ready ? { m, h } : null;
  });
  const view = (c: Camera) => ({ exists: c.exists, ready: c.ready, demanded: c.demanded, readers: c.readers, reader_types: c.reader_list.map((r) => r.type) });
  const liveBytesAtUnplug = live.bytes;
  // Every descriptor closed (the add-on's device session and its capture): the module can go now.
  const removed = await until('rmmod v4l2loopback to succeed', 30_000, () => attempt('/bin/rmmod', ['v4l2loopback']).ok);
  report('unplug', {
    rmmod_while_open: whileOpen,
    reader: { ended: reader.ended, error: reader.error, frames: reader.count },
    mjpeg: view(gone.m),
    h264: view(gone.h),
    live_client_open: !live.ended,
    rmmod_after: removed,
    captures_left: ffmpegChildren(server.pid!).length,
  });

  plugIn();
  const again = await startProducers();
  setProducers(again);
  const back = await until('the H.264 camera back and ready (its live client kept the demand)', 90_000, async () => {
    const h = await api.camera(H264_DEVICE);
    return h?.exists && h.ready && live.bytes > liveBytesAtUnplug + 1000 ? h : null;
  });
  const reader2 = new MultipartReader(api.url(`/api/cameras/${cams.mjpeg.id}/stream.mjpeg`), 5);
  await until('MJPEG frames after the replug', 90_000, () => reader2.frames.length >= 5 || reader2.ended !== null);
  const indexes = indexesIn(referenceJpegs, reader2.frames);
  report('replug', {
    h264: view(back),
    live_client_open: !live.ended,
    live_bytes_after: live.bytes - liveBytesAtUnplug,
    mjpeg_indexes: indexes,
    mjpeg_identical: indexes.every((i) => i >= 0) && indexes.length === 5,
    mjpeg: view((await api.camera(MJPEG_DEVICE))!),
  });
  reader2.close();
  live.close();
}

main().then(
  () => report('done', true),
  (error: unknown) => report('fatal', String(error instanceof Error ? error.stack : error)),
);
