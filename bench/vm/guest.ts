// Runs INSIDE the vivid VM (bundled to /app/guest.mjs by bench/vm/run.ts): on /dev/video0 at
// 640x360@30 YUYV, ffmpeg alone (the floor), Switchboard (the built dist, bundled) and µStreamer,
// each serving the same MJPEG readers from this process. One `VMTEST {step, data}` line per figure.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { captureArgs, captureArgsWithInput, type CaptureSpec } from '../../src/camera/streaming/ffmpegArgs.js';
import { JpegFrameSplitter } from '../../src/camera/streaming/jpegFrames.js';
import { coresUsed, rssMbOf, sampleCpu, treeRssMb } from '../procStats.js';
import { MjpegReader } from '../streams.js';
import { guestAddonEnv } from './guestAddon.js';

const DEVICE = '/dev/video0';
const JPEG_QUALITY = 80; // the add-on's default `cameras.jpeg_quality` and µStreamer's default --quality
const ADMIN_PASSWORD = 'bench-vm-admin';
const settings = JSON.parse(readFileSync('/app/bench.json', 'utf8')) as { seconds: number; readers: number[]; nodeFlags: string[]; width: number; height: number; fps: number; only: string[] };
const { width: WIDTH, height: HEIGHT, fps: FPS } = settings;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function report(step: string, data: unknown): void {
  console.log(`VMTEST ${JSON.stringify({ step, data })}`);
}

/** The fourcc the device is streaming now (G_FMT): what each server really captures. */
function capturedFormat(): string | null {
  return /Pixel Format\s*:\s*'(\w+)'/.exec(execFileSync('/usr/bin/v4l2-ctl', ['-d', DEVICE, '--get-fmt-video'], { encoding: 'utf8' }))?.[1] ?? null;
}

/** Busy share of the (single) guest CPU from /proc/stat: says whether the VM itself was saturated. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

interface Window {
  cores: number;
  guestBusy: number;
  wall: number;
}

/** CPU of `pid`'s tree over `seconds`, and of the whole guest. */
async function measure(pid: number, seconds: number): Promise<Window> {
  const before = sampleCpu(pid);
  const guestBefore = cpuTimes();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const after = sampleCpu(pid);
  const guestAfter = cpuTimes();
  const wall = (performance.now() - t0) / 1000;
  return { cores: coresUsed(before, after, wall), guestBusy: (guestAfter.busy - guestBefore.busy) / (guestAfter.total - guestBefore.total), wall };
}

/** `readers` MJPEG readers on `url`: their first frames, a settle, then a measured window. */
async function serveReaders(name: string, url: string, serverPid: number, readers: number): Promise<void> {
  const clients = Array.from({ length: readers }, () => new MjpegReader(url));
  const first = await Promise.race([Promise.all(clients.map((c) => c.ready())).then(() => true), sleep(60_000).then(() => false)]);
  if (!first) {
    for (const c of clients) c.close();
    report(`${name}_${readers}_readers`, { error: 'no first frame within 60 s' });
    return;
  }
  await sleep(3000);
  const start = clients.map((c) => c.frames);
  const w = await measure(serverPid, settings.seconds);
  const fps = clients.map((c, i) => (c.frames - start[i]!) / w.wall).sort((a, b) => a - b);
  report(`${name}_${readers}_readers`, {
    readers, captured_format: capturedFormat(), cores: w.cores, guest_busy: w.guestBusy, fps_min: fps[0], fps_median: fps[Math.floor(fps.length / 2)], fps_max: fps.at(-1), rss_mb: treeRssMb(serverPid),
  });
  for (const c of clients) c.close();
  await sleep(1000);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/**
 * ffmpeg alone with the add-on's capture arguments for this device; frames counted here, outside it.
 * `yuyv`: the same outputs with the input forced to YUYV, as µStreamer reads it — without
 * -input_format ffmpeg takes the first raw format of its own list the driver accepts (YU12 on vivid).
 */
async function ffmpegFloor(name: string, yuyv: boolean): Promise<void> {
  const spec: CaptureSpec = { driver: 'v4l2', device: DEVICE, width: WIDTH, height: HEIGHT, fps: FPS, jpegQuality: JPEG_QUALITY, pixelFormat: 'YUYV', h264: false, motion: false, encoder: 'libx264' };
  const args = yuyv
    ? captureArgsWithInput(spec, ['-f', 'v4l2', '-input_format', 'yuyv422', '-framerate', String(FPS), '-video_size', `${WIDTH}x${HEIGHT}`, '-i', DEVICE])
    : captureArgs(spec);
  const child = spawn('/usr/bin/ffmpeg', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let frames = 0;
  const splitter = new JpegFrameSplitter();
  child.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk, () => frames++));
  await sleep(5000);
  const start = frames;
  const w = await measure(child.pid!, settings.seconds);
  report(name, { captured_format: capturedFormat(), cores: w.cores, guest_busy: w.guestBusy, fps: (frames - start) / w.wall, rss_mb: rssMbOf(child.pid!), args });
  await stop(child);
}

async function untilOk(url: string, init: RequestInit, child: ChildProcess, what: string): Promise<Response> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`${what}: exited with ${child.exitCode}`);
    try {
      const r = await fetch(url, init);
      if (r.ok) return r;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${what}: no answer from ${url}`);
}

async function switchboard(): Promise<void> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/node', [...settings.nodeFlags, '/app/switchboard/main.js'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: guestAddonEnv(ADMIN_PASSWORD, { SWITCHBOARD_LOG_LEVEL: 'warn' }),
  });
  try {
    const base = 'http://127.0.0.1:2000';
    await untilOk(`${base}/api/health`, {}, child, 'switchboard');
    const startSeconds = (performance.now() - t0) / 1000;
    const auth = (await (await fetch(`${base}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) })).json()) as { bearer: string };
    const headers = { authorization: `Bearer ${auth.bearer}`, 'content-type': 'application/json' };
    type Camera = { id: string; device: string; controls: Record<string, unknown>; capabilities?: { pixel_format?: string } };
    let camera: Camera | undefined;
    let listed: Camera[] = [];
    for (let attempt = 0; attempt < 120 && !camera; attempt++) {
      listed = ((await (await fetch(`${base}/api/cameras`, { headers })).json()) as { items: Camera[] }).items;
      camera = listed.find((c) => c.device === DEVICE);
      if (!camera) await sleep(1000);
    }
    if (!camera) throw new Error(`switchboard did not discover ${DEVICE}; cameras: ${JSON.stringify(listed)}`);
    const update = await fetch(`${base}/api/cameras/${camera.id}`, { method: 'PUT', headers, body: JSON.stringify({ controls: { resolution: `${WIDTH}x${HEIGHT}`, fps: FPS } }) });
    const updated = (await update.json()) as Camera;
    report('switchboard_camera', { start_seconds: startSeconds, status: update.status, controls: updated.controls, pixel_format: updated.capabilities?.pixel_format ?? null });
    const url = `${base}/api/cameras/${camera.id}/stream.mjpeg?token=${encodeURIComponent(auth.bearer)}`;
    for (const readers of settings.readers) await serveReaders('switchboard', url, child.pid!, readers);
  } finally {
    await stop(child);
  }
}

async function ustreamer(): Promise<void> {
  const log = openSync('/tmp/ustreamer.log', 'w');
  const child = spawn('/usr/bin/ustreamer', [
    '--device', DEVICE, '--format', 'YUYV', '--resolution', `${WIDTH}x${HEIGHT}`, '--desired-fps', String(FPS),
    '--quality', String(JPEG_QUALITY), '--host', '127.0.0.1', '--port', '8080',
  ], { stdio: ['ignore', log, log] });
  try {
    await untilOk('http://127.0.0.1:8080/state', {}, child, 'ustreamer');
    for (const readers of settings.readers) await serveReaders('ustreamer', 'http://127.0.0.1:8080/stream', child.pid!, readers);
  } finally {
    await stop(child);
    report('ustreamer_log_tail', readFileSync('/tmp/ustreamer.log', 'utf8').split('\n').slice(-8));
  }
}

async function main(): Promise<void> {
  // The guest has no network setup: loopback is all the servers and readers need.
  execFileSync('/bin/ip', ['link', 'set', 'lo', 'up']);
  execFileSync('/usr/bin/v4l2-ctl', ['-d', DEVICE, `--set-fmt-video=width=${WIDTH},height=${HEIGHT},pixelformat=YUYV`, `--set-parm=${FPS}`]);
  report('device', { fmt: execFileSync('/usr/bin/v4l2-ctl', ['-d', DEVICE, '--get-fmt-video', '--get-parm'], { encoding: 'utf8' }) });
  const runs = [
    ['ffmpeg_floor', () => ffmpegFloor('ffmpeg_floor', false)],
    ['ffmpeg_floor_yuyv', () => ffmpegFloor('ffmpeg_floor_yuyv', true)],
    ['switchboard', switchboard],
    ['ustreamer', ustreamer],
  ] as const;
  for (const [name, run] of runs) {
    if (!settings.only.includes(name)) continue;
    try {
      await run();
    } catch (error) {
      report(`${name}_error`, String(error instanceof Error ? error.stack : error));
    }
  }
}

main().then(
  () => report('done', true),
  (error: unknown) => report('fatal', String(error instanceof Error ? error.stack : error)),
);
