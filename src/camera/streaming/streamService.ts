// Streams on demand. The camera service counts demands (readers, the MQTT switch, lab nodes,
// the recorder); this service reacts to its `demand`/`unDemand` events by starting and stopping
// the camera's capture pipeline, and publishes `ready`/`notReady`, snapshots and recording state.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import { notFound, runtimeError, unavailable } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { CapturePipeline } from './capturePipeline.js';
import type { CaptureSpec } from './ffmpegArgs.js';
import { jpegSize } from './jpegFrames.js';
import { Recorder, enforceRetention, type RecordState } from './recorder.js';

export interface Reader {
  type: string;
  id: string;
}

/** What streaming needs to know about a camera (a subset of the camera service's view). */
export interface StreamCamera {
  id: string;
  driver: 'v4l2' | 'simulated';
  device: string;
  exists: boolean;
  controls: { resolution?: string | null; fps?: number | null };
  jpeg_quality?: number;
}

export interface StreamCameraSource {
  get(id: string): StreamCamera | undefined;
  addDemand(id: string, reader: Reader): unknown;
  removeDemand(id: string, reader: Reader): unknown;
}

export interface Snapshot {
  jpeg: Buffer;
  width: number | null;
  height: number | null;
  at: string;
}

interface CameraStream {
  pipeline: CapturePipeline;
  lingerTimer: NodeJS.Timeout | null;
  recorder: Recorder | null;
  unsubscribeRecorder: (() => void) | null;
}

const RECORDER_READER = (): Reader => ({ type: 'recording', id: 'recorder' });

export class StreamService {
  private readonly streams = new Map<string, CameraStream>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly urlKey = randomBytes(32);
  private unsubscribe: (() => void) | null = null;
  /** Cameras with at least one demand (readers, switch, labs, recorder): kept while a camera is unplugged. */
  private readonly demanded = new Set<string>();
  /** Cameras unplugged while streaming: their capture waits for the replug instead of retrying. */
  private readonly lost = new Set<string>();
  private retentionTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cameras: StreamCameraSource,
    private readonly bus: EventBus,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => this.onCameraEvent(e), ['camera']);
    const sweep = () => void enforceRetention(this.config.recording.media_dir, this.config.recording.retention_days, this.config.recording.max_size_mb, this.logger);
    sweep();
    this.retentionTimer = setInterval(sweep, 10 * 60_000);
    this.retentionTimer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await Promise.all([...this.streams.values()].map((s) => s.recorder?.stop()));
    for (const s of this.streams.values()) {
      if (s.lingerTimer) clearTimeout(s.lingerTimer);
      s.pipeline.stop();
    }
    this.streams.clear();
  }

  isReady(cameraId: string): boolean {
    return this.streams.get(cameraId)?.pipeline.isReady ?? false;
  }

  /** The capture process id (diagnostics, and tests that kill it). */
  capturePid(cameraId: string): number | undefined {
    return this.streams.get(cameraId)?.pipeline.pid;
  }

  recordState(cameraId: string): RecordState {
    return this.streams.get(cameraId)?.recorder?.state ?? 'off';
  }

  latestSnapshot(cameraId: string): Snapshot | undefined {
    return this.snapshots.get(cameraId);
  }

  /** Subscribes a reader to the camera's frames. The demand it adds starts the capture. */
  attachReader(cameraId: string, reader: Reader, onFrame: (frame: Buffer) => void): () => void {
    this.requireCamera(cameraId);
    this.cameras.addDemand(cameraId, reader);
    const stream = this.ensureStream(cameraId);
    const off = stream.pipeline.subscribe(onFrame);
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      off();
      this.cameras.removeDemand(cameraId, reader);
    };
  }

  /** A JPEG at the camera's configured quality: the live frame when streaming, else a short capture. */
  async snapshot(cameraId: string, timeoutMs = 15_000): Promise<Snapshot> {
    this.requireCamera(cameraId);
    const reader: Reader = { type: 'snapshot', id: newId() };
    this.cameras.addDemand(cameraId, reader);
    try {
      const frame = await this.ensureStream(cameraId).pipeline.nextFrame(timeoutMs);
      const size = jpegSize(frame);
      const snap: Snapshot = { jpeg: frame, width: size?.width ?? null, height: size?.height ?? null, at: new Date().toISOString() };
      this.snapshots.set(cameraId, snap);
      this.bus.publish('camera', cameraId, 'snapshot', { bytes: frame.length, width: snap.width, height: snap.height });
      return snap;
    } catch (err) {
      throw runtimeError(`Snapshot failed: ${(err as Error).message}`);
    } finally {
      this.cameras.removeDemand(cameraId, reader);
    }
  }

  /** A URL that authenticates itself for `ttlSeconds` (for HA's MJPEG camera and <img> tags). */
  signPath(path: string, ttlSeconds: number): string {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    return `${path}?exp=${exp}&sig=${this.signature(path, exp)}`;
  }

  verifySignedPath(path: string, exp: unknown, sig: unknown): boolean {
    if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return false;
    if (Number(exp) < Date.now() / 1000) return false;
    const want = Buffer.from(this.signature(path, Number(exp)));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  private signature(path: string, exp: number): string {
    return createHmac('sha256', this.urlKey).update(`${path}\n${exp}`).digest('base64url');
  }

  private requireCamera(cameraId: string): StreamCamera {
    const cam = this.cameras.get(cameraId);
    if (!cam) throw notFound('Camera');
    if (!cam.exists) throw unavailable('Camera is not connected');
    return cam;
  }

  private spec(cam: StreamCamera): CaptureSpec {
    const [w, h] = (cam.controls.resolution ?? '640x480').split('x').map(Number);
    return {
      driver: cam.driver,
      device: cam.device,
      width: w || 640,
      height: h || 480,
      fps: cam.controls.fps || 15,
      jpegQuality: cam.jpeg_quality ?? this.config.cameras.jpeg_quality,
    };
  }

  private ensureStream(cameraId: string): CameraStream {
    let s = this.streams.get(cameraId);
    if (s) return s;
    const cam = this.requireCamera(cameraId);
    const pipeline = new CapturePipeline(this.spec(cam), this.config.cameras.ffmpeg_path, {
      onReady: () => this.bus.publish('camera', cameraId, 'ready', {}),
      onNotReady: (reason) => this.bus.publish('camera', cameraId, 'notReady', { reason: this.lost.has(cameraId) ? 'camera disconnected' : reason }),
    }, this.logger.child({ camera: cameraId }));
    s = { pipeline, lingerTimer: null, recorder: null, unsubscribeRecorder: null };
    this.streams.set(cameraId, s);
    return s;
  }

  private onCameraEvent(e: DomainEvent): void {
    const id = e.entity;
    if (!id) return;
    switch (e.event) {
      case 'demand': {
        this.demanded.add(id);
        // Demanded while unplugged: the demand is kept and the capture starts on the replug.
        if (this.lost.has(id)) break;
        const s = this.ensureStream(id);
        if (s.lingerTimer) clearTimeout(s.lingerTimer);
        s.lingerTimer = null;
        s.pipeline.start();
        break;
      }
      case 'unDemand': {
        this.demanded.delete(id);
        const s = this.streams.get(id);
        if (!s) break;
        // Linger briefly: a viewer that reconnects (or the next snapshot) finds the stream warm.
        s.lingerTimer = setTimeout(() => {
          s.lingerTimer = null;
          s.pipeline.stop();
        }, this.config.cameras.stream_linger_seconds * 1000);
        s.lingerTimer.unref();
        break;
      }
      case 'updated': {
        const changes = (e.details.changes ?? {}) as Record<string, unknown>;
        const s = this.streams.get(id);
        const cam = this.cameras.get(id);
        if (s && cam && ('resolution' in changes || 'fps' in changes || 'jpeg-quality' in changes || 'jpeg_quality' in changes)) s.pipeline.reconfigure(this.spec(cam));
        if ('record' in changes) void this.setRecording(id, changes.record);
        if (changes.snap === true) this.snapshot(id).catch((err: Error) => this.logger.warn({ camera: id, err: err.message }, 'snapshot failed'));
        break;
      }
      case 'disconnected': {
        // The device is gone: stop capturing (no retry loop against a missing device); demands stay.
        this.lost.add(id);
        const s = this.streams.get(id);
        if (s?.lingerTimer) clearTimeout(s.lingerTimer);
        if (s) s.lingerTimer = null;
        s?.pipeline.stop();
        break;
      }
      case 'connected': {
        if (!this.lost.delete(id)) break;
        if (this.demanded.has(id)) this.ensureStream(id).pipeline.start();
        break;
      }
      case 'deleted': {
        this.demanded.delete(id);
        this.lost.delete(id);
        const s = this.streams.get(id);
        if (s) {
          void s.recorder?.stop();
          s.pipeline.stop();
          this.streams.delete(id);
        }
        this.snapshots.delete(id);
        break;
      }
    }
  }

  /** record: on/true, off/false, pause, pause_release (the Rotoclear values). */
  async setRecording(cameraId: string, value: unknown): Promise<void> {
    const cam = this.cameras.get(cameraId);
    if (!cam || !cam.exists) return;
    const s = this.ensureStream(cameraId);
    const wanted = value === true || value === 'on' ? 'on' : value === 'pause' ? 'pause' : value === 'pause_release' ? 'on' : 'off';
    const before = s.recorder?.state ?? 'off';
    if (wanted === 'off') {
      if (s.recorder) {
        s.unsubscribeRecorder?.();
        s.unsubscribeRecorder = null;
        await s.recorder.stop();
        s.recorder = null;
        this.cameras.removeDemand(cameraId, RECORDER_READER());
      }
    } else if (!s.recorder) {
      const spec = this.spec(cam);
      const recorder = new Recorder(
        { ffmpegPath: this.config.cameras.ffmpeg_path, dir: join(this.config.recording.media_dir, cameraId), fps: spec.fps, segmentSeconds: this.config.recording.segment_seconds },
        this.logger.child({ camera: cameraId, part: 'recorder' }),
        (message) => {
          this.bus.publish('camera', cameraId, 'recording', { state: 'off', error: message });
          void this.setRecording(cameraId, 'off');
        },
      );
      s.recorder = recorder;
      recorder.start();
      s.unsubscribeRecorder = s.pipeline.subscribe((f) => recorder.write(f));
      this.cameras.addDemand(cameraId, RECORDER_READER());
      if (wanted === 'pause') recorder.pause();
    } else if (wanted === 'pause') s.recorder.pause();
    else s.recorder.resume();
    const after = s.recorder?.state ?? 'off';
    if (after !== before) this.bus.publish('camera', cameraId, 'recording', { state: after, dir: join(this.config.recording.media_dir, cameraId) });
  }
}
