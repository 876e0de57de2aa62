// Streams on demand. The camera service counts demands (readers, the MQTT switch, lab nodes,
// the recorder, motion detection); this service reacts to its `demand`/`unDemand` events by
// starting and stopping the camera's capture pipeline, and publishes `ready`/`notReady`, snapshots,
// live images and motion. Every output (MJPEG, H.264 live, motion) comes from the one capture
// process per camera. Recording is `recordings.ts`, a reader like any other.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import { AppError, conflict, notFound, runtimeError, unavailable } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { PICTURE_KEYS } from '../controlCatalog.js';
import { CapturePipeline } from './capturePipeline.js';
import type { FfmpegHealth } from './ffmpegHealth.js';
import { motionSize, type CapturePath, type CaptureSpec } from './ffmpegArgs.js';
import { chooseEncoder, type EncoderChoice } from './hwEncoder.js';
import { jpegSize } from './jpegFrames.js';
import { MotionDetector } from './motion.js';
import type { SnapshotFiles } from './snapshotFiles.js';
import type { TsSink } from './tsFanout.js';
import type { Extension } from '../../core/extension.js';

export interface Reader {
  type: string;
  id: string;
}

/** What streaming needs to know about a camera (a subset of the camera service's view). */
export interface StreamCamera {
  id: string;
  /** Names the camera's media folder, where saved snapshots go. */
  name?: string;
  driver: 'v4l2' | 'simulated';
  device: string;
  /** false: switched off in the camera service; nothing may capture from it. */
  enabled?: boolean;
  exists: boolean;
  controls: { resolution?: string | null; fps?: number | null } & Partial<Record<(typeof PICTURE_KEYS)[number], number | null>>;
  /** The camera's light and its level: a simulated camera draws it into its picture. */
  light?: boolean;
  light_brightness?: number | null;
  jpeg_quality?: number;
  /** Motion detection on (the camera's `motion` setting), and its sensitivity (default: the add-on's options). */
  motion?: boolean;
  motion_threshold?: number;
  motion_min_area_percent?: number;
  /** The device's current pixel format as the driver reports it (G_FMT fourcc). */
  capabilities?: { pixel_format: string | null };
}

/** Changes that alter what the capture produces (the simulated picture's settings and light too). */
const RESTART_KEYS = ['resolution', 'fps', 'jpeg-quality', 'jpeg_quality', 'light', 'light_brightness'] as const;

const pictureOf = (c: StreamCamera['controls']) => Object.fromEntries(PICTURE_KEYS.map((k) => [k, c[k] ?? null])) as Record<(typeof PICTURE_KEYS)[number], number | null>;

export interface StreamCameraSource {
  get(id: string): StreamCamera | undefined;
  all(): StreamCamera[];
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
  /** The path last logged for this camera, so it is logged once, and again only when it changes. */
  loggedPath: string | null;
  motion: MotionDetector | null;
  /** Live image refresh: when the last frame was taken as the camera image. */
  lastImageAt: number;
}

/** What the panel and diagnostics show about a camera's stream. */
export interface StreamInfo {
  ready: boolean;
  path: CapturePath | null;
  encoder_reason: string;
  live_clients: number;
  motion: boolean | null;
}

/** The demand motion detection holds while a camera has `motion: true`. */
export const MOTION_READER: Reader = { type: 'motion', id: 'motion' };
/** Frames without change before motion ends (at MOTION_FPS, about two seconds). */
const MOTION_HOLD_FRAMES = 8;
/** What a live-view URL (made for Home Assistant with the persistent live key) may open. */
export type LiveFile = 'live.ts' | 'snapshot.jpg';

export class StreamService implements Extension {
  readonly name = 'streams';
  private readonly streams = new Map<string, CameraStream>();
  private readonly snapshots = new Map<string, Snapshot>();
  private imageTimer: NodeJS.Timeout | null = null;
  private readonly motionHeld = new Set<string>();
  private encoder: EncoderChoice = { encoder: 'libx264', reason: 'hardware encoder not probed yet, software' };
  private encoderProbe: Promise<void> | null = null;
  /** The encoder was chosen while ffmpeg failed: probed again after the first frame. */
  private encoderStale = false;
  /** Cameras with at least one demand (readers, switch, labs, recorder): kept while a camera is unplugged. */
  private readonly demanded = new Set<string>();
  /** Cameras unplugged while streaming: their capture waits for the replug instead of retrying. */
  private readonly lost = new Set<string>();

  constructor(
    private readonly cameras: StreamCameraSource,
    private readonly bus: EventBus,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Where asked-for snapshots are saved (the camera's media folder). */
    private readonly snapshotFiles: SnapshotFiles,
    /** Whether ffmpeg works: streams and snapshots are refused (503) with its reason while it does not. */
    private readonly ffmpeg: FfmpegHealth,
  ) {}

  async start(): Promise<void> {
    this.bus.subscribe(this, (e) => this.onCameraEvent(e), ['camera']);
    const interval = this.config.cameras.image_interval_seconds;
    if (interval > 0) {
      this.imageTimer = setInterval(() => this.refreshIdleImages(), interval * 1000);
      this.imageTimer.unref();
    }
    for (const cam of this.cameras.all()) this.syncMotion(cam.id);
  }

  /** Probes the hardware encoder once, when the first stream starts (idle servers spawn nothing). */
  private probeEncoder(): void {
    if (this.encoderProbe) return;
    this.encoderProbe = chooseEncoder(this.config.cameras.hwaccel, this.config.cameras.ffmpeg_path).then((choice) => {
      this.encoder = choice;
      // Probed while ffmpeg did not work: the choice says nothing about the hardware; ask again once it does.
      this.encoderStale = this.ffmpeg.problem !== null;
      for (const id of this.streams.keys()) this.applySpec(id);
    });
  }

  async stop(): Promise<void> {
    this.bus.removeListeners(this);
    await this.encoderProbe;
    if (this.imageTimer) clearInterval(this.imageTimer);
    this.motionHeld.clear();
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

  /** Which way the camera's outputs are produced (passthrough, encoder), live clients and motion. */
  info(cameraId: string): StreamInfo {
    const s = this.streams.get(cameraId);
    return {
      ready: s?.pipeline.isReady ?? false,
      path: s ? s.pipeline.path : null,
      encoder_reason: this.encoder.reason,
      live_clients: s?.pipeline.tsClients ?? 0,
      motion: s?.motion ? s.motion.motion : null,
    };
  }

  latestSnapshot(cameraId: string): Snapshot | undefined {
    return this.snapshots.get(cameraId);
  }

  /**
   * Subscribes a reader to the camera's frames. The demand it adds starts the capture.
   * `onStartFailed`: the capture could not start (ffmpeg missing or failing) before a first frame.
   */
  attachReader(cameraId: string, reader: Reader, onFrame: (frame: Buffer) => void, onStartFailed?: (err: Error) => void): () => void {
    this.requireCamera(cameraId);
    this.ffmpeg.assertUsable();
    this.cameras.addDemand(cameraId, reader);
    const stream = this.ensureStream(cameraId);
    const off = stream.pipeline.subscribe(onFrame);
    const offFailure = onStartFailed ? stream.pipeline.onStartFailure(onStartFailed) : () => undefined;
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      off();
      offFailure();
      this.cameras.removeDemand(cameraId, reader);
    };
  }

  /**
   * Subscribes an HTTP client to the camera's live H.264 (MPEG-TS). All clients share the one
   * capture; the first one adds the H.264 output to it.
   */
  attachLive(cameraId: string, reader: Reader, sink: TsSink, onStartFailed?: (err: Error) => void): () => void {
    this.requireCamera(cameraId);
    this.ffmpeg.assertUsable();
    const stream = this.ensureStream(cameraId);
    const off = stream.pipeline.addTsClient(sink);
    try {
      this.cameras.addDemand(cameraId, reader);
    } catch (err) {
      off();
      throw err;
    }
    const offFailure = onStartFailed ? stream.pipeline.onStartFailure(onStartFailed) : () => undefined;
    this.applySpec(cameraId);
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      off();
      offFailure();
      this.cameras.removeDemand(cameraId, reader);
    };
  }

  /** The live endpoint's path for a camera (relative to the HTTP API's base URL). */
  livePath(cameraId: string, file: LiveFile = 'live.ts'): string {
    return `/api/cameras/${encodeURIComponent(cameraId)}/${file}`;
  }

  /** A JPEG at the camera's configured quality: the live frame when streaming, else a short capture. */
  async snapshot(cameraId: string, timeoutMs = 15_000): Promise<Snapshot> {
    return this.takeFrame(cameraId, 'snapshot', timeoutMs);
  }

  /** One frame as the camera's latest image; `image` marks a routine refresh, not a user's snapshot. */
  private async takeFrame(cameraId: string, event: 'snapshot' | 'image', timeoutMs: number): Promise<Snapshot> {
    this.requireCamera(cameraId);
    this.ffmpeg.assertUsable();
    const reader: Reader = { type: 'snapshot', id: newId() };
    this.cameras.addDemand(cameraId, reader);
    try {
      const frame = await this.ensureStream(cameraId).pipeline.nextFrame(timeoutMs);
      // The live refresh may have taken this very frame as the image already.
      const current = this.snapshots.get(cameraId);
      if (event === 'image' && current?.jpeg === frame) return current;
      const size = jpegSize(frame);
      const snap: Snapshot = { jpeg: frame, width: size?.width ?? null, height: size?.height ?? null, at: new Date().toISOString() };
      this.snapshots.set(cameraId, snap);
      this.bus.publish('camera', cameraId, event, { bytes: frame.length, width: snap.width, height: snap.height });
      return snap;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw runtimeError(`Snapshot failed: ${(err as Error).message}`);
    } finally {
      this.cameras.removeDemand(cameraId, reader);
    }
  }

  /** An asked-for snapshot (Take snapshot, Rotoclear `snap`): taken, saved as a file, and told with its path. */
  private async takeAndSave(cameraId: string): Promise<void> {
    const snap = await this.snapshot(cameraId);
    const files = this.snapshotFiles;
    if (!files?.enabled) return;
    const cam = this.cameras.get(cameraId);
    const path = await files.save({ id: cameraId, name: cam?.name ?? cameraId }, snap.jpeg, new Date(snap.at));
    this.logger.info({ camera: cameraId, path }, 'snapshot saved');
    this.bus.publish('camera', cameraId, 'snapshotSaved', { path, bytes: snap.jpeg.length, width: snap.width, height: snap.height });
  }

  /** Throws the API's not-found error for an unknown camera (connected or not). */
  requireKnownCamera(cameraId: string): StreamCamera {
    const cam = this.cameras.get(cameraId);
    if (!cam) throw notFound('Camera');
    return cam;
  }

  private requireCamera(cameraId: string): StreamCamera {
    const cam = this.cameras.get(cameraId);
    if (!cam) throw notFound('Camera');
    if (cam.enabled === false) throw conflict('Camera is switched off; switch it on first');
    if (!cam.exists) throw unavailable('Camera is not connected');
    return cam;
  }

  private spec(cam: StreamCamera, stream?: CameraStream): CaptureSpec {
    const [w, h] = (cam.controls.resolution ?? '640x480').split('x').map(Number);
    const c = cam.controls;
    return {
      driver: cam.driver,
      device: cam.device,
      width: w || 640,
      height: h || 480,
      fps: cam.controls.fps || 15,
      jpegQuality: cam.jpeg_quality ?? this.config.cameras.jpeg_quality,
      pixelFormat: cam.capabilities?.pixel_format ?? null,
      // H.264 stays on while the capture runs once a live client asked for it: clients that come
      // and go then cost no restart.
      h264: (stream?.pipeline.tsClients ?? 0) > 0 || (stream?.pipeline.isReady === true && stream.pipeline.currentSpec.h264),
      motion: this.motionHeld.has(cam.id),
      encoder: this.encoder.encoder,
      ...(cam.driver === 'simulated' ? { picture: { ...pictureOf(c), light: cam.light ? (cam.light_brightness ?? 100) : null } } : {}),
    };
  }

  /** Brings the capture's outputs in line with the camera and its clients (restarts only on change). */
  private applySpec(cameraId: string): void {
    const s = this.streams.get(cameraId);
    const cam = this.cameras.get(cameraId);
    if (!s || !cam) return;
    const spec = this.spec(cam, s);
    s.pipeline.reconfigure(spec);
    if (spec.motion) {
      const size = motionSize(spec);
      const settings = {
        ...size,
        threshold: cam.motion_threshold ?? this.config.cameras.motion_threshold,
        minAreaPercent: cam.motion_min_area_percent ?? this.config.cameras.motion_min_area_percent,
        holdFrames: MOTION_HOLD_FRAMES,
      };
      const current = s.motion?.settings;
      if (!current || (['width', 'height', 'threshold', 'minAreaPercent'] as const).some((k) => current[k] !== settings[k])) {
        const was = s.motion?.motion ?? false;
        const detector = new MotionDetector(settings, (motion) => this.bus.publish('camera', cameraId, 'motion', { motion }));
        s.motion = detector;
        s.pipeline.onMotionBytes((chunk) => detector.push(chunk));
        if (was) this.bus.publish('camera', cameraId, 'motion', { motion: false });
      }
    } else if (s.motion) {
      const was = s.motion.motion;
      s.motion = null;
      s.pipeline.onMotionBytes(null);
      if (was) this.bus.publish('camera', cameraId, 'motion', { motion: false });
    }
    const path = JSON.stringify(s.pipeline.path);
    if (path !== s.loggedPath) {
      s.loggedPath = path;
      this.logger.info({ camera: cameraId, path: s.pipeline.path, encoder: this.encoder.reason }, 'capture path');
    }
  }

  /** Holds or releases the motion demand to match the camera's `motion` setting. */
  private syncMotion(cameraId: string): void {
    const cam = this.cameras.get(cameraId);
    const wanted = cam?.exists === true && cam.motion === true;
    if (wanted === this.motionHeld.has(cameraId)) return;
    if (wanted) {
      this.motionHeld.add(cameraId);
      this.cameras.addDemand(cameraId, MOTION_READER);
    } else {
      this.motionHeld.delete(cameraId);
      if (cam) this.cameras.removeDemand(cameraId, MOTION_READER);
    }
    this.applySpec(cameraId);
  }

  private ensureStream(cameraId: string): CameraStream {
    const existing = this.streams.get(cameraId);
    if (existing) return existing;
    const cam = this.requireCamera(cameraId);
    this.probeEncoder();
    const pipeline = new CapturePipeline(this.spec(cam), this.config.cameras.ffmpeg_path, {
      onReady: () => {
        this.ffmpeg.works();
        if (this.encoderStale) {
          this.encoderStale = false;
          this.encoderProbe = null;
          this.probeEncoder();
        }
        this.bus.publish('camera', cameraId, 'ready', { path: pipeline.path });
      },
      onNotReady: (reason) => this.bus.publish('camera', cameraId, 'notReady', { reason: this.lost.has(cameraId) ? 'camera disconnected' : reason }),
      onStartFailed: (reason, spawnError) => void this.startFailed(pipeline, reason, spawnError),
    }, this.logger.child({ camera: cameraId }));
    const stream: CameraStream = { pipeline, lingerTimer: null, loggedPath: null, motion: null, lastImageAt: 0 };
    pipeline.subscribe((frame) => this.onLiveFrame(cameraId, stream, frame));
    this.streams.set(cameraId, stream);
    this.applySpec(cameraId);
    return stream;
  }

  /**
   * A capture ended before its first frame: ffmpeg's fault (it could not start, or its test encode
   * fails too) or the camera's. Readers waiting for a frame get the 503 that says which.
   */
  private async startFailed(pipeline: CapturePipeline, reason: string, spawnError: string | null): Promise<void> {
    if (spawnError) this.ffmpeg.failed(spawnError);
    else await this.ffmpeg.suspect();
    pipeline.failStart(unavailable(this.ffmpeg.problem ?? `The camera's capture failed: ${reason}`));
  }

  /** Keeps the camera image (MQTT's retained picture) fresh from the running capture. */
  private onLiveFrame(cameraId: string, s: CameraStream, frame: Buffer): void {
    const now = Date.now();
    if (now - s.lastImageAt < 1000 / this.config.cameras.live_image_fps) return;
    s.lastImageAt = now;
    const size = jpegSize(frame);
    this.snapshots.set(cameraId, { jpeg: frame, width: size?.width ?? null, height: size?.height ?? null, at: new Date(now).toISOString() });
    this.bus.publish('camera', cameraId, 'image', { bytes: frame.length, width: size?.width ?? null, height: size?.height ?? null });
  }

  /** `image_interval_seconds`: cameras nobody streams get a brief capture for a fresh image. */
  private refreshIdleImages(): void {
    // Without a working ffmpeg there is nothing to take; its health says why, once.
    if (this.ffmpeg.problem) return;
    for (const cam of this.cameras.all()) {
      if (!cam.exists || this.isReady(cam.id)) continue;
      this.takeFrame(cam.id, 'image', 15_000).catch((err: Error) => this.logger.warn({ camera: cam.id, err: err.message }, 'image refresh failed'));
    }
  }

  private onCameraEvent(e: DomainEvent<'camera'>): void {
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
        this.applySpec(id);
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
        const changes = e.details.changes;
        if ([...RESTART_KEYS, ...PICTURE_KEYS, 'motion_threshold', 'motion_min_area_percent'].some((k) => k in changes)) this.applySpec(id);
        if ('motion' in changes) this.syncMotion(id);
        if (changes.snap === true) this.takeAndSave(id).catch((err: Error) => this.logger.warn({ camera: id, err: err.message }, 'snapshot failed'));
        break;
      }
      case 'disabled':
      case 'disconnected': {
        // The device is gone or switched off: stop capturing (no retry loop against a missing
        // device); demands stay, and the capture starts again when it is connected.
        this.lost.add(id);
        const s = this.streams.get(id);
        if (s?.lingerTimer) clearTimeout(s.lingerTimer);
        if (s) s.lingerTimer = null;
        s?.pipeline.stop();
        // Switched off, live players get the end of their response (as MJPEG readers do) and reconnect later.
        if (e.event === 'disabled') s?.pipeline.endTsClients();
        this.syncMotion(id);
        break;
      }
      case 'connected': {
        const wasLost = this.lost.delete(id);
        this.syncMotion(id);
        if (wasLost && this.demanded.has(id)) this.ensureStream(id).pipeline.start();
        break;
      }
      case 'deleted': {
        this.motionHeld.delete(id);
        this.demanded.delete(id);
        this.lost.delete(id);
        const s = this.streams.get(id);
        if (s) {
          s.pipeline.stop();
          s.pipeline.endTsClients();
          this.streams.delete(id);
        }
        this.snapshots.delete(id);
        break;
      }
    }
  }
}
