// npm run bench:vm (opt-in; not part of npm test or npm run bench): Switchboard against µStreamer on
// the same V4L2 device — vivid in the qemu VM of test/vm/ — with ffmpeg alone as the floor. Prints
// one JSON line per figure and the same-run ratios. The VM is emulated (TCG, one vCPU): absolute
// CPU and fps mean nothing outside it; only ratios between runs in the same VM are figures.
// Knobs (env): BENCH_VM_SECONDS (measured window per run, default 15), BENCH_VM_READERS (1,10),
// BENCH_VM_SIZE (640x360), BENCH_VM_FPS (10), BENCH_VM_CPU (qemu -cpu model, default Nehalem),
// BENCH_VM_ONLY (ffmpeg_floor,ffmpeg_floor_yuyv,switchboard,ustreamer), BENCH_VM_MEMORY_MB (3072: ffmpeg's library
// closure lives in the initramfs). The serial console is kept in .vm/bench-console.log.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runGuest } from '../../test/vm/vivid.js';
import { shippedNodeFlags } from '../shipped.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_VM_SECONDS ?? 15);
const READERS = (process.env.BENCH_VM_READERS ?? '1,10').split(',').map(Number);
const MEMORY_MB = Number(process.env.BENCH_VM_MEMORY_MB ?? 3072);
const [WIDTH, HEIGHT] = (process.env.BENCH_VM_SIZE ?? '640x360').split('x').map(Number);
// At 30 fps neither ffmpeg nor µStreamer keeps up inside the emulated guest (17 and 6 fps measured).
const FPS = Number(process.env.BENCH_VM_FPS ?? 10);
// Without AVX: with `-cpu max` ffmpeg takes its AVX2 paths, which TCG emulates ~13× slower (1.3 vs 17 fps).
const CPU = process.env.BENCH_VM_CPU ?? 'Nehalem';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ONLY = (process.env.BENCH_VM_ONLY ?? 'ffmpeg_floor,ffmpeg_floor_yuyv,switchboard,ustreamer').split(',');

interface ServeFigure {
  readers: number;
  captured_format: string | null;
  cores: number;
  guest_busy: number;
  fps_min: number;
  fps_median: number;
  fps_max: number;
  rss_mb: number;
}

const progress = (msg: string) => process.stderr.write(`[bench:vm] ${msg}\n`);
const round = (v: number) => Math.round(v * 1000) / 1000;

function figure(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ figure: name, value: round(value), unit, ...extra }) + '\n');
}

async function main(): Promise<void> {
  progress('building the tools layer (ffmpeg, ustreamer; cached in .vm/)');
  await execFileAsync('bash', [join(ROOT, 'bench/vm/build-tools.sh')], { maxBuffer: 16 * 1024 * 1024 });
  progress(`booting the VM (TCG, -cpu ${CPU}, 1 vCPU, ${MEMORY_MB} MB); ${WIDTH}x${HEIGHT}@${FPS} YUYV; ${ONLY.join(', ')}; ${SECONDS} s per run, readers ${READERS.join(', ')}`);
  let partial = '';
  const run = await runGuest(20 * 60_000, {
    bundles: { 'bench/vm/guest.ts': '/app/guest.mjs' },
    // The add-on bundled whole from src/ (the guest has no node_modules for dist/'s run-time reads).
    program: { dir: '/app/switchboard', entries: { main: 'src/main.ts' } },
    files: {
      // app.ts reads its version from ../package.json: /app/package.json from the entry or a chunk beside it.
      '/app/package.json': JSON.stringify({ version: VERSION }),
      '/app/bench.json': JSON.stringify({ seconds: SECONDS, readers: READERS, nodeFlags: shippedNodeFlags(), width: WIDTH, height: HEIGHT, fps: FPS, only: ONLY }),
    },
    layers: [join(ROOT, '.vm/bench-tools.cpio.gz')],
    memoryMb: MEMORY_MB,
    cpu: CPU,
    onOutput: (text) => {
      partial += text;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop()!;
      for (const line of lines) if (line.includes('VMTEST')) progress(`guest: ${line.slice(line.indexOf('VMTEST') + 7, line.indexOf('VMTEST') + 160)}`);
    },
  });
  writeFileSync(join(ROOT, '.vm/bench-console.log'), run.console);
  const steps = run.steps;
  for (const [step, data] of steps) if (step.endsWith('_error') || step === 'fatal') progress(`guest ${step}: ${String(data)}`);
  if (!steps.has('done')) {
    process.stderr.write(`bench:vm: the guest did not finish; console tail:\n${run.console.slice(-4000)}\n`);
    process.exit(1);
  }
  type Floor = { cores: number; fps: number; guest_busy: number; captured_format: string | null };
  const context = { size: `${WIDTH}x${HEIGHT}`, device_fps: FPS, cpu: CPU, note: 'TCG emulation: only same-run ratios count' };
  for (const name of ['ffmpeg_floor', 'ffmpeg_floor_yuyv']) {
    const f = steps.get(name) as Floor | undefined;
    if (f) figure(`vm_${name}_cores`, f.cores, 'cpu-s/s', { captured_format: f.captured_format, fps: round(f.fps), cpu_ms_per_frame: round((f.cores * 1000) / f.fps), guest_busy: round(f.guest_busy), ...context });
  }
  const floor = steps.get('ffmpeg_floor') as Floor | undefined;
  const floorYuyv = steps.get('ffmpeg_floor_yuyv') as Floor | undefined;
  const camera = steps.get('switchboard_camera');
  if (camera) figure('vm_switchboard_start_s', (camera as { start_seconds: number }).start_seconds, 's', { camera });
  for (const server of ['switchboard', 'ustreamer']) {
    for (const readers of READERS) {
      const r = steps.get(`${server}_${readers}_readers`) as ServeFigure | { error: string } | undefined;
      if (!r) continue;
      if ('error' in r) {
        progress(`${server} with ${readers} readers: ${r.error}`);
        continue;
      }
      // Per frame the server produced (the fastest reader's rate): a saturated guest delivers fewer frames.
      figure(`vm_${server}_${readers}_readers_cores`, r.cores, 'cpu-s/s', { captured_format: r.captured_format, cpu_ms_per_frame: round((r.cores * 1000) / r.fps_max), fps_min: round(r.fps_min), fps_median: round(r.fps_median), fps_max: round(r.fps_max), guest_busy: round(r.guest_busy), rss_mb: round(r.rss_mb) });
    }
  }
  const served = (server: string, readers: number) => {
    const r = steps.get(`${server}_${readers}_readers`) as ServeFigure | { error: string } | undefined;
    return r && !('error' in r) ? r : undefined;
  };
  const floorPerFrame = floor ? floor.cores / floor.fps : undefined;
  for (const readers of READERS) {
    const sb = served('switchboard', readers);
    const us = served('ustreamer', readers);
    const perFrame = (r: ServeFigure) => r.cores / r.fps_max;
    if (sb && us) figure(`vm_switchboard_vs_ustreamer_${readers}_readers_cpu_ratio`, sb.cores / us.cores, 'x', { per_frame: round(perFrame(sb) / perFrame(us)) });
    if (sb && floor) figure(`vm_switchboard_${readers}_readers_vs_floor_cpu_ratio`, sb.cores / floor.cores, 'x', { per_frame: round(perFrame(sb) / floorPerFrame!) });
    // µStreamer reads YUYV: its floor is ffmpeg reading YUYV too.
    if (us && floorYuyv) figure(`vm_ustreamer_${readers}_readers_vs_yuyv_floor_cpu_ratio`, us.cores / floorYuyv.cores, 'x', { per_frame: round(perFrame(us) / (floorYuyv.cores / floorYuyv.fps)) });
  }
  const log = steps.get('ustreamer_log_tail');
  if (log) progress(`ustreamer log tail: ${JSON.stringify(log)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:vm failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
