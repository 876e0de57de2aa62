// Host side of the vivid VM: builds (cached) the kernel + base initramfs, bundles the guest
// script with the driver under test, boots qemu (TCG) and returns the guest's `VMTEST` lines.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

const execFileAsync = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const VM = join(ROOT, '.vm');

/** Why the VM cannot run here, or null when it can. */
export function qemuMissingReason(): string | null {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, 'qemu-system-x86_64')));
  return found ? null : 'qemu-system-x86_64 not found: install the Debian packages qemu-system-x86 busybox-static kmod cpio v4l-utils (test/install-system-deps.sh)';
}

export interface GuestRun {
  /** Parsed `VMTEST {step, data}` lines by step name. */
  steps: Map<string, unknown>;
  /** The whole serial console, for failure messages. */
  console: string;
}

/** What the VM runs; the defaults are the driver test's. */
export interface GuestOptions {
  /** Scripts bundled into the guest layer, repo path → guest path; /init runs /app/guest.mjs. */
  bundles?: Record<string, string>;
  /**
   * A program bundled with code splitting into a guest folder, output name → repo path, e.g. the
   * built add-on and the modules it imports by a computed path (the V4L2 driver), which then share
   * one copy of every common module (`instanceof` keeps working across them).
   */
  program?: { dir: string; entries: Record<string, string> };
  /** Files copied into the guest layer as they are, guest path → contents (text or bytes). */
  files?: Record<string, string | Uint8Array>;
  /** More cpio.gz archives unpacked after the base one, before the guest layer. */
  layers?: string[];
  memoryMb?: number;
  /** qemu's -cpu model (default max). */
  cpu?: string;
  /** The serial console as it arrives (long runs show progress). */
  onOutput?: (text: string) => void;
}

async function packGuest(opts: GuestOptions): Promise<string> {
  // Per process: a bench and a test may pack at the same time.
  const stage = join(VM, `guest-stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'app'), { recursive: true });
  for (const [entry, out] of Object.entries(opts.bundles ?? { 'test/vm/guest.ts': '/app/guest.mjs' })) await build({ ...BUNDLE, entryPoints: [join(ROOT, entry)], outfile: join(stage, out) });
  if (opts.program) {
    const outdir = join(stage, opts.program.dir);
    const entryPoints = Object.fromEntries(Object.entries(opts.program.entries).map(([name, entry]) => [name, join(ROOT, entry)]));
    // Chunks beside the entries: paths computed relative to a module (import.meta.url) resolve the same from each.
    await build({ ...BUNDLE, entryPoints, outdir, splitting: true, chunkNames: '[name]-[hash]' });
    // ESM with a .js extension.
    writeFileSync(join(outdir, 'package.json'), JSON.stringify({ type: 'module' }));
  }
  for (const [path, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(join(stage, dirname(path)), { recursive: true });
    writeFileSync(join(stage, path), text);
  }
  const archive = join(VM, `guest-${process.pid}.cpio.gz`);
  await execFileAsync('sh', ['-c', `cd "${stage}" && find . | cpio -o -H newc --quiet | gzip -1 > "${archive}"`]);
  // The kernel unpacks concatenated cpio archives in order: the guest layer lands on the base.
  const initrd = join(VM, `initrd-${process.pid}.gz`);
  writeFileSync(initrd, Buffer.concat([join(VM, 'base.cpio.gz'), ...(opts.layers ?? []), archive].map((f) => readFileSync(f))));
  rmSync(stage, { recursive: true, force: true });
  rmSync(archive, { force: true });
  return initrd;
}

const BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // koffi loads its native module from its package folder, which the base image carries.
  external: ['koffi'],
  // Bundled CommonJS dependencies (pino, lowdb's helpers) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'error',
} satisfies BuildOptions;

export async function runGuest(timeoutMs: number, opts: GuestOptions = {}): Promise<GuestRun> {
  await execFileAsync('bash', [join(ROOT, 'test/vm/build-image.sh')], { maxBuffer: 16 * 1024 * 1024 });
  const initrd = await packGuest(opts);
  const qemu = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-cpu', opts.cpu ?? 'max', '-m', String(opts.memoryMb ?? 1024), '-smp', '1',
    '-kernel', join(VM, 'vmlinuz'), '-initrd', initrd,
    '-append', 'console=ttyS0 quiet panic=-1',
    '-nographic', '-no-reboot',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    opts.onOutput?.(chunk.toString('utf8'));
  };
  qemu.stdout.on('data', onData);
  qemu.stderr.on('data', onData);
  const timer = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
  await new Promise<void>((resolve) => qemu.once('close', () => resolve()));
  clearTimeout(timer);
  rmSync(initrd, { force: true });
  const steps = new Map<string, unknown>();
  for (const line of output.split(/\r?\n/)) {
    // Not anchored: the first line follows the firmware's terminal escape codes.
    const match = /VMTEST (\{.*\})\s*$/.exec(line);
    if (!match?.[1]) continue;
    const parsed = JSON.parse(match[1]) as { step: string; data: unknown };
    steps.set(parsed.step, parsed.data);
  }
  return { steps, console: output };
}
