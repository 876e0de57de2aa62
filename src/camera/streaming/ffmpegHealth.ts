// Whether ffmpeg (`cameras.ffmpeg_path`) works, as a state: the `ffmpeg` health component, and
// the refusal (503, each protocol's own shape) for streams, snapshots and recordings while it does
// not. Every ffmpeg child reports here: a spawn failure or an exit before its first output makes
// it a problem; a first frame clears it. While failing, a tiny test encode runs every few seconds,
// so a fixed binary is noticed without anyone asking for a stream.
import type { ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import { spawnChild } from '../../core/childProcess.js';
import { unavailable } from '../../core/errors.js';
import type { Extension } from '../../core/extension.js';
import type { StatusService } from '../../services/system/statusService.js';

export const FFMPEG_COMPONENT = 'ffmpeg';
const OPTION = 'cameras.ffmpeg_path';
/** A one-frame encode from a generated picture: cheap, and fails like a capture would when ffmpeg is broken. */
const PROBE_ARGS = ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'color=size=16x16:rate=1', '-frames:v', '1', '-f', 'null', '-'];
const PROBE_TIMEOUT_MS = 10_000;

export interface FfmpegHealthOptions {
  probeIntervalMs: number;
}

export class FfmpegHealth implements Extension {
  readonly name = 'ffmpeg';
  private current: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private probeChild: ChildProcess | null = null;
  private stopped = false;

  constructor(
    readonly ffmpegPath: string,
    private readonly status: StatusService,
    private readonly logger: Logger,
    private readonly opts: FfmpegHealthOptions = { probeIntervalMs: 5_000 },
  ) {}

  /** Finds the binary without running it (idle servers spawn nothing): a missing one shows at once. */
  async start(): Promise<void> {
    this.stopped = false;
    if (await executableOnPath(this.ffmpegPath)) this.status.setComponent(FFMPEG_COMPONENT, 'ok', this.ffmpegPath);
    else this.failed('was not found or is not executable');
  }

  /** A test encode still running is ended: no child outlives the app. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    this.probeChild?.kill('SIGKILL');
    await this.probing;
  }

  /** What is wrong with ffmpeg, or null while it works. */
  get problem(): string | null {
    return this.current;
  }

  /** Throws the 503 refusal while ffmpeg does not work. */
  assertUsable(): void {
    if (this.current) throw unavailable(this.current);
  }

  /** An ffmpeg child failed before its first output; `what` says how ("exited with code 1: …"). */
  failed(what: string): void {
    const problem = `ffmpeg (${OPTION}: ${this.ffmpegPath}) ${what.replace(new RegExp(`^${escapeRegExp(this.ffmpegPath)} `), '')}; set ${OPTION} to a working ffmpeg`;
    if (problem === this.current) return;
    const first = this.current === null;
    this.current = problem;
    this.status.setComponent(FFMPEG_COMPONENT, 'error', problem);
    // Once per change of reason, not once per retry: a broken binary is retried every few seconds.
    if (first) this.logger.error({ option: OPTION, path: this.ffmpegPath }, problem);
    this.arm();
  }

  /** An ffmpeg child produced output: ffmpeg works. */
  works(): void {
    if (this.current === null) return;
    this.current = null;
    this.disarm();
    this.status.setComponent(FFMPEG_COMPONENT, 'ok', this.ffmpegPath);
    this.logger.info({ path: this.ffmpegPath }, 'ffmpeg works again');
  }

  /**
   * A child exited before its first output: ffmpeg or the camera? The test encode decides; ffmpeg
   * is a problem only when it fails too (a busy or broken camera is not ffmpeg's fault).
   */
  async suspect(): Promise<void> {
    await this.probe();
  }

  /** Runs the test encode once (the timer calls this while failing); concurrent calls share one run. */
  probe(): Promise<void> {
    this.probing ??= this.runProbe().finally(() => (this.probing = null));
    return this.probing;
  }

  private async runProbe(): Promise<void> {
    const outcome = await new Promise<string | null>((resolve) => {
      let spawnError: string | null = null;
      let stderr = '';
      const child = spawnChild(this.ffmpegPath, PROBE_ARGS, { stdio: ['ignore', 'ignore', 'pipe'] }, (_err, words) => (spawnError ??= words));
      this.probeChild = child;
      child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-500)));
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.probeChild = null;
        resolve(spawnError ?? (code === 0 ? null : exitWords(code, signal, stderr)));
      });
    });
    if (this.stopped) return;
    if (outcome === null) this.works();
    else this.failed(outcome);
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.probe(), this.opts.probeIntervalMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** "exited with code 1: <last stderr line>" for a child that ended on its own. */
export function exitWords(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const last = stderr.trim().split('\n').pop();
  return `${signal ? `was killed by ${signal}` : `exited with code ${code}`}${last ? `: ${last}` : ''}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Like the shell: a name with a slash is a path, any other name is looked up on PATH. */
async function executableOnPath(command: string): Promise<boolean> {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const file of candidates) {
    if (await access(file, constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}
