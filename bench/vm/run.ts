// npm run bench:vm (opt-in; not part of npm test or npm run bench): Switchboard against µStreamer on
// the same V4L2 device — vivid in the qemu VM of test/vm/ — with ffmpeg alone as the floor. Prints
// one JSON line per figure and the same-run ratios. The VM is emulated (TCG, one vCPU): absolute
// CPU and fps mean nothing outside it; only ratios between runs in the same VM are figures.
// Knobs (env): BENCH_VM_SECONDS (measured window per run, default 15), BENCH_VM_READERS (1,10),
// BENCH_VM_MEMORY_MB (3072: ffmpeg's library closure lives in the initramfs).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runGuest } from '../../test/vm/vivid.js';
import { shippedNodeFlags } from '../shipped.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_VM_SECONDS ?? 15);
const READERS = (process.env.BENCH_VM_READERS ?? '1,10').split(',').map(Number);
const MEMORY_MB = Number(process.env.BENCH_VM_MEMORY_MB ?? 3072);

interface ServeFigure {
  readers: number;
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
  progress(`booting the VM (TCG, 1 vCPU, ${MEMORY_MB} MB); ${SECONDS} s per run, readers ${READERS.join(', ')}`);
  let partial = '';
  const run = await runGuest(20 * 60_000, {
    bundles: { 'bench/vm/guest.ts': '/app/guest.mjs', 'dist/main.js': '/app/switchboard/main.mjs' },
    files: {
      // app.ts reads its version from ../package.json next to the bundle.
      '/app/package.json': JSON.stringify({ version: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version }),
      '/app/bench.json': JSON.stringify({ seconds: SECONDS, readers: READERS, nodeFlags: shippedNodeFlags() }),
    },
    layers: [join(ROOT, '.vm/bench-tools.cpio.gz')],
    memoryMb: MEMORY_MB,
    onOutput: (text) => {
      partial += text;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop()!;
      for (const line of lines) if (line.includes('VMTEST')) progress(`guest: ${line.slice(line.indexOf('VMTEST') + 7, line.indexOf('VMTEST') + 160)}`);
    },
  });
  const steps = run.steps;
  for (const [step, data] of steps) if (step.endsWith('_error') || step === 'fatal') progress(`guest ${step}: ${String(data)}`);
  if (!steps.has('done')) {
    process.stderr.write(`bench:vm: the guest did not finish; console tail:\n${run.console.slice(-4000)}\n`);
    process.exit(1);
  }
  const floor = steps.get('ffmpeg_floor') as { cores: number; fps: number; guest_busy: number } | undefined;
  if (floor) figure('vm_ffmpeg_floor_cores', floor.cores, 'cpu-s/s', { fps: round(floor.fps), guest_busy: round(floor.guest_busy), note: 'TCG: only same-run ratios count' });
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
      figure(`vm_${server}_${readers}_readers_cores`, r.cores, 'cpu-s/s', { fps_min: round(r.fps_min), fps_median: round(r.fps_median), fps_max: round(r.fps_max), guest_busy: round(r.guest_busy), rss_mb: round(r.rss_mb) });
    }
  }
  const cores = (server: string, readers: number) => (steps.get(`${server}_${readers}_readers`) as ServeFigure | undefined)?.cores;
  for (const readers of READERS) {
    const sb = cores('switchboard', readers);
    const us = cores('ustreamer', readers);
    if (sb !== undefined && us !== undefined) figure(`vm_switchboard_vs_ustreamer_${readers}_readers_cpu_ratio`, sb / us, 'x');
    if (sb !== undefined && floor) figure(`vm_switchboard_${readers}_readers_vs_floor_cpu_ratio`, sb / floor.cores, 'x');
    if (us !== undefined && floor) figure(`vm_ustreamer_${readers}_readers_vs_floor_cpu_ratio`, us / floor.cores, 'x');
  }
  const log = steps.get('ustreamer_log_tail');
  if (log) progress(`ustreamer log tail: ${JSON.stringify(log)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:vm failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
