// One camera's capture: an ffmpeg child producing MJPEG (split into frames and fanned out to
// subscribers), and on demand H.264 in MPEG-TS (fanned out by TsFanout) and small grey frames for
// motion detection. Restarts with back-off when ffmpeg dies while the stream is wanted; a start
// that fails before the first frame is reported, so waiting readers get an answer instead of silence.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { spawnChild } from '../../core/childProcess.js';
import { exitWords } from './ffmpegHealth.js';
import { captureArgs, capturePath, MJPEG_FD, MOTION_FD, TS_FD, type CapturePath, type CaptureSpec } from './ffmpegArgs.js';
import { JpegFrameSplitter } from './jpegFrames.js';
import { TsFanout, type TsSink } from './tsFanout.js';

export type FrameListener = (frame: Buffer) => void;

export interface PipelineEvents {
  /** First frame after a (re)start. */
  onReady(): void;
  /** Capture stopped (on purpose or by a crash). */
  onNotReady(reason: string): void;
  /**
   * The capture ended before its first frame without being asked to. `spawnError`: ffmpeg could
   * not be started at all (words such as "ffmpeg was not found"); otherwise `reason` has its exit.
   */
  onStartFailed(reason: string, spawnError: string | null): void;
}

interface FrameWaiter {
  resolve(frame: Buffer): void;
  reject(err: Error): void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000];

export class CapturePipeline {
  private child: ChildProcess | null = null;
  private readonly listeners = new Set<FrameListener>();
  private wanted = false;
  private ready = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private lastFrame: Buffer | null = null;
  private readonly firstFrameWaiters: FrameWaiter[] = [];
  private readonly startFailureListeners = new Set<(err: Error) => void>();
  private stderrTail = '';
  private readonly ts = new TsFanout();
  private motionListener: ((chunk: Buffer) => void) | null = null;
  /** The running child is being replaced on purpose: no back-off, no failure counted. */
  private reconfiguring = false;

  constructor(
    private spec: CaptureSpec,
    private readonly ffmpegPath: string,
    private readonly events: PipelineEvents,
    private readonly logger: Logger,
    /** Builds the command line; tests put a recorded MJPEG source in front of the real outputs. */
    private readonly buildArgs: (spec: CaptureSpec) => string[] = captureArgs,
  ) {}

  get path(): CapturePath {
    return capturePath(this.spec);
  }

  get currentSpec(): CaptureSpec {
    return this.spec;
  }

  /** Live H.264/MPEG-TS clients; the spec must have `h264` on for bytes to flow. */
  addTsClient(sink: TsSink): () => void {
    return this.ts.add(sink);
  }

  /** The camera is gone: live clients get the end of their response. */
  endTsClients(): void {
    this.ts.endAll();
  }

  get tsClients(): number {
    return this.ts.size;
  }

  /** Receives the motion output's raw grey bytes (spec `motion` on). */
  onMotionBytes(fn: ((chunk: Buffer) => void) | null): void {
    this.motionListener = fn;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get latest(): Buffer | null {
    return this.ready ? this.lastFrame : null;
  }

  start(): void {
    this.wanted = true;
    if (!this.child && !this.restartTimer) this.startCapture();
  }

  /** New settings (size, fps, quality, outputs) take effect by restarting the capture at once. */
  reconfigure(spec: CaptureSpec): void {
    const same = JSON.stringify(spec) === JSON.stringify(this.spec);
    this.spec = spec;
    if (same || !this.child) return;
    this.reconfiguring = true;
    this.child.kill('SIGTERM');
  }

  stop(): void {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.child?.kill('SIGTERM');
  }

  subscribe(fn: FrameListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** `fn` hears `failStart`: the capture could not start for readers still waiting for a frame. */
  onStartFailure(fn: (err: Error) => void): () => void {
    this.startFailureListeners.add(fn);
    return () => this.startFailureListeners.delete(fn);
  }

  /** Answers everyone waiting for a first frame with `err` (after onStartFailed was weighed). */
  failStart(err: Error): void {
    if (this.ready) return;
    for (const w of this.firstFrameWaiters.splice(0)) w.reject(err);
    for (const fn of [...this.startFailureListeners]) fn(err);
  }

  /** Resolves with the next frame (or the latest, when ready). */
  nextFrame(timeoutMs: number): Promise<Buffer> {
    if (this.latest) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.firstFrameWaiters.indexOf(waiter);
        if (i >= 0) this.firstFrameWaiters.splice(i, 1);
        reject(new Error(`no frame within ${timeoutMs} ms${this.stderrTail ? ': ' + this.stderrTail.trim().split('\n').pop() : ''}`));
      }, timeoutMs);
      const waiter: FrameWaiter = {
        resolve: (f) => (clearTimeout(t), resolve(f)),
        reject: (err) => (clearTimeout(t), reject(err)),
      };
      this.firstFrameWaiters.push(waiter);
    });
  }

  private startCapture(): void {
    const args = this.buildArgs(this.spec);
    this.logger.debug({ args }, 'starting capture');
    let spawnError: string | null = null;
    const child = spawnChild(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] }, (err, words) => {
      if (child.pid === undefined) spawnError ??= words;
      else this.logger.warn({ err: err.message }, 'capture process error');
    });
    this.child = child;
    this.stderrTail = '';
    this.ts.reset();
    const splitter = new JpegFrameSplitter();
    const pipe = (fd: number) => child.stdio[fd] as NodeJS.ReadableStream | null;
    pipe(MJPEG_FD)?.on('data', (chunk: Buffer) => splitter.push(chunk, (frame) => this.onFrame(frame)));
    pipe(TS_FD)?.on('data', (chunk: Buffer) => this.ts.push(chunk));
    pipe(MOTION_FD)?.on('data', (chunk: Buffer) => this.motionListener?.(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.once('close', (code, signal) => this.onExit(child, code, signal, spawnError));
  }

  private onFrame(frame: Buffer): void {
    this.lastFrame = frame;
    if (!this.ready) {
      this.ready = true;
      this.failures = 0;
      this.events.onReady();
    }
    for (const w of this.firstFrameWaiters.splice(0)) w.resolve(frame);
    for (const l of this.listeners) l(frame);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, spawnError: string | null): void {
    if (this.child !== child) return;
    this.child = null;
    const wasReady = this.ready;
    this.ready = false;
    this.lastFrame = null;
    const planned = this.reconfiguring;
    this.reconfiguring = false;
    const reason = planned ? 'restarting with new settings' : !this.wanted ? 'stopped' : spawnError ?? `capture ${exitWords(code, signal, this.stderrTail)}`;
    if (wasReady) this.events.onNotReady(reason);
    else if (this.wanted && !planned) this.events.onStartFailed(reason, spawnError);
    if (!this.wanted) return;
    if (planned) {
      this.startCapture();
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    this.failures++;
    this.logger.warn({ reason, retryInMs: delay }, 'capture stopped; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.wanted) this.startCapture();
    }, delay);
  }
}
