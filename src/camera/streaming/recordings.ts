// Recording per camera, driven by the camera's `record` state (Rotoclear `record`, the MQTT
// Recording switch, the HTTP API: all go through cameraService.update) and by `camera:motion`.
// `recording.trigger` says what "on" means: record all the time, or clips around motion with a
// pre-roll kept in memory while armed. Space limits are enforced ahead of time; when they cannot
// be met, recording stops cleanly and the camera's `record` goes to off with a notice. A media
// folder that cannot be written (full, read-only, I/O error) is reported to the storage health,
// which refuses new recordings until a good segment or its recovery probe says it takes writes.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type Actor } from '../../auth/records.js';
import type { Config } from '../../config/schema.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import type { RecordState } from '../cameraRecord.js';
import type { Reader } from '../demand.js';
import { isStorageFault, type StorageHealth } from '../../services/system/storageHealth.js';
import { FFMPEG_COMPONENT, type FfmpegHealth } from './ffmpegHealth.js';
import { MediaFiles } from './mediaFiles.js';
import { MediaFolders } from './mediaFolders.js';
import { Recorder, enforceSpace, probeMediaDir, removeEmptySegments, trimCutSegment, type SpaceVerdict } from './recorder.js';
import type { Extension } from '../../core/extension.js';

/** What recording needs of a camera (a subset of the camera service's view). */
export interface RecordingCamera {
  id: string;
  /** Names the camera's folder in the media folder when it first needs one (mediaFolders.ts). */
  name: string;
  exists: boolean;
  record: RecordState;
  controls: { fps?: number | null };
}

export interface RecordingCameraSource {
  all(): readonly RecordingCamera[];
  get(id: string): RecordingCamera | undefined;
  update(actor: Actor, id: string, change: { record: RecordState }): Promise<unknown>;
}

/** The capture's frames; subscribing holds a demand so the capture runs. */
export interface FrameSource {
  attachReader(cameraId: string, reader: Reader, onFrame: (frame: Buffer) => void, onStartFailed?: (err: Error) => void): () => void;
}

/** Why a recording stopped by itself (the `reason` of a `camera:recording` event). */
export type StopReason = 'max_size' | 'min_free' | 'ffmpeg' | 'storage';

interface Armed {
  state: 'on' | 'pause';
  detach: () => void;
  recorder: Recorder | null;
  /** Motion trigger: the last `pre_seconds` of frames, the start of the next clip. */
  preroll: Buffer[];
  prerollBytes: number;
  postTimer: NodeJS.Timeout | null;
}

const RECORDER_READER: Reader = { type: 'recording', id: 'recorder' };
/** Pre-roll memory per camera, whatever pre_seconds × frame size comes to (60 s of 1080p MJPEG would be hundreds of MB). */
const PREROLL_MAX_BYTES = 64 * 1024 * 1024;
const SPACE_CHECK_MS = 5_000;
const RETENTION_SWEEP_MS = 10 * 60_000;

export class Recordings implements Extension {
  readonly name = 'recordings';
  private readonly armed = new Map<string, Armed>();
  private timers: NodeJS.Timeout[] = [];
  /** Recorders being stopped (their ffmpeg finalizing): stop() waits for them, so none outlives the app. */
  private readonly finishing = new Set<Promise<void>>();
  /** Serializes space checks: two at once would both count the same files. */
  private checking: Promise<SpaceVerdict> | null = null;
  /** The media folder's files between full listings (one every retention sweep). */
  private readonly mediaFiles: MediaFiles;

  constructor(
    private readonly cameras: RecordingCameraSource,
    private readonly frames: FrameSource,
    private readonly bus: EventBus,
    private readonly config: Config,
    private readonly storage: StorageHealth,
    private readonly logger: Logger,
    /** Whose folder is which (shared with the snapshots). */
    private readonly folders: MediaFolders,
    /** A recording cannot start without a working ffmpeg; its failures are reported there. */
    private readonly ffmpeg: FfmpegHealth,
  ) {
    this.mediaFiles = new MediaFiles(config.recording.media_dir, RETENTION_SWEEP_MS);
  }

  private get opts() {
    return this.config.recording;
  }

  async start(): Promise<void> {
    this.bus.subscribe(this, (e) => this.onCameraEvent(e), ['camera']);
    // The media folder takes writes again: `continuous` means always, so those cameras switch back on.
    this.bus.on(this, 'system', 'storage', (e) => {
      if (e.entity === 'media' && e.details.ok) for (const cam of this.cameras.all()) this.resume(cam.id);
    });
    // ffmpeg works again: the same for `continuous` (other cameras were switched off with a notice).
    this.bus.on(this, 'system', 'component', (e) => {
      if (e.entity === FFMPEG_COMPONENT && e.details.state === 'ok') for (const cam of this.cameras.all()) this.resume(cam.id);
    });
    this.storage.onRecoveryProbe('media', () => this.probeMedia());
    // Before anything records: folders named by camera id get the camera's name, and what an
    // unclean stop left behind goes.
    this.folders.load(this.cameras.all());
    await removeEmptySegments(this.opts.media_dir, this.logger);
    await this.checkSpace().catch((err: Error) => this.logger.warn({ err: err.message }, 'recording space check failed'));
    for (const cam of this.cameras.all()) this.resume(cam.id);
    const check = setInterval(() => {
      if (this.armed.size) void this.checkSpace({ relist: false }).catch((err: Error) => this.logger.warn({ err: err.message }, 'recording space check failed'));
    }, SPACE_CHECK_MS);
    const sweep = setInterval(() => void this.checkSpace().catch(() => undefined), RETENTION_SWEEP_MS);
    this.timers = [check, sweep];
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    this.bus.removeListeners(this);
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.armed.keys()].map((id) => this.disarm(id)));
    await Promise.all(this.finishing);
  }

  /**
   * Applies the space rules now (also every few seconds while recording); stops every recording
   * when they cannot be met. `relist: false` (the frequent check) trusts what the last listing saw
   * outside the recording cameras' folders.
   */
  async checkSpace({ relist = true }: { relist?: boolean } = {}): Promise<SpaceVerdict> {
    while (this.checking) await this.checking.catch(() => undefined);
    if (relist) this.mediaFiles.relistNext();
    this.checking = enforceSpace(this.opts.media_dir, { retentionDays: this.opts.retention_days, maxSizeMb: this.opts.max_size_mb, minFreeMb: this.opts.min_free_mb }, [...this.armed.keys()].map((id) => this.folder(id)), this.logger, this.mediaFiles);
    try {
      const verdict = await this.checking.catch(async (err: unknown) => {
        // mkdir or statfs of the media folder failed: a storage fault stops every recording.
        if (isStorageFault(err)) await this.mediaFault(err);
        throw err;
      });
      if (!verdict.ok) for (const id of [...this.armed.keys()]) await this.stopWithNotice(id, verdict.reason!, verdict.message!);
      return verdict;
    } finally {
      this.checking = null;
    }
  }

  /** After a restart or a reconnect: record again what was recording; `continuous` switches cameras on. */
  private resume(id: string): void {
    const cam = this.cameras.get(id);
    if (!cam?.exists) return;
    if (cam.record !== 'off') void this.apply(id, cam.record);
    else if (this.opts.trigger === 'continuous') {
      this.cameras.update(SYSTEM_ACTOR, id, { record: 'on' }).catch((err: Error) => this.logger.warn({ camera: id, err: err.message }, 'cannot start continuous recording'));
    }
  }

  private onCameraEvent(e: DomainEvent<'camera'>): void {
    const id = e.entity;
    if (!id) return;
    switch (e.event) {
      case 'updated': {
        const changes = e.details.changes;
        if (changes.record === 'on' || changes.record === 'off' || changes.record === 'pause') void this.apply(id, changes.record);
        else if ('fps' in changes) void this.restartRecorder(id);
        break;
      }
      case 'connected':
        this.resume(id);
        break;
      // Switched off or gone: the file ends; the camera's `record` stays, so it records again when connected.
      case 'disabled':
      case 'disconnected':
      case 'deleted':
        void this.disarm(id);
        break;
      case 'motion':
        if (typeof e.details.motion === 'boolean') this.onMotion(id, e.details.motion);
        break;
    }
  }

  private async apply(id: string, wanted: RecordState): Promise<void> {
    if (wanted === 'off') return this.disarm(id);
    const current = this.armed.get(id);
    if (current) {
      if (current.state === wanted) return;
      current.state = wanted;
      if (wanted === 'pause') current.recorder?.pause();
      else current.recorder?.resume();
      this.publishState(id, wanted);
      return;
    }
    const armed: Armed = { state: wanted, detach: () => undefined, recorder: null, preroll: [], prerollBytes: 0, postTimer: null };
    this.armed.set(id, armed);
    // The camera service refuses a new recording while the media folder fails; a resume after a
    // reconnect comes straight here, so it is stopped with the same notice.
    const media = this.storage.state('media');
    if (media && !media.ok) return this.stopWithNotice(id, 'storage', media.error ?? 'the media folder cannot be written');
    if (this.ffmpeg.problem) return this.stopWithNotice(id, 'ffmpeg', this.ffmpeg.problem);
    const verdict = await this.checkSpace().catch((err: Error) => {
      this.logger.warn({ camera: id, err: err.message }, 'recording space check failed');
      return null;
    });
    if ((verdict && !verdict.ok) || this.armed.get(id) !== armed) return;
    if (this.opts.trigger !== 'motion') {
      if (!(await this.startRecorder(id, armed))) return;
      if (wanted === 'pause') armed.recorder!.pause();
    }
    try {
      armed.detach = this.frames.attachReader(id, RECORDER_READER, (frame) => this.onFrame(id, armed, frame), () => {
        // The capture could not start: without ffmpeg nothing will be recorded, so the switch goes off.
        if (this.ffmpeg.problem) void this.stopWithNotice(id, 'ffmpeg', this.ffmpeg.problem);
      });
    } catch (err) {
      // The camera went away between the state change and now: nothing was recorded.
      this.logger.warn({ camera: id, err: (err as Error).message }, 'cannot record');
      await this.disarm(id);
      return;
    }
    this.publishState(id, wanted);
  }

  /** `why`: the reason and message when recording stopped by itself (published with the `off`). */
  private async disarm(id: string, why?: { reason: StopReason; error: string }): Promise<void> {
    const armed = this.armed.get(id);
    if (!armed) return;
    this.armed.delete(id);
    if (armed.postTimer) clearTimeout(armed.postTimer);
    armed.detach();
    armed.preroll = [];
    armed.prerollBytes = 0;
    const finishing = armed.recorder?.stop();
    if (finishing) {
      this.finishing.add(finishing);
      await finishing.finally(() => this.finishing.delete(finishing));
    }
    // Before the `off` goes out: whoever hears it finds every segment playable.
    if (why?.reason === 'storage') await this.trimNewest(id);
    this.bus.publish('camera', id, 'recording', { state: 'off', trigger: this.opts.trigger, dir: this.dir(id), ...why });
  }

  private onFrame(id: string, armed: Armed, frame: Buffer): void {
    if (armed.recorder) {
      armed.recorder.write(frame);
      return;
    }
    if (armed.state !== 'on' || this.opts.pre_seconds === 0) return;
    armed.preroll.push(frame);
    armed.prerollBytes += frame.length;
    const keep = Math.max(1, Math.round(this.opts.pre_seconds * this.fps(id)));
    while (armed.preroll.length > keep || armed.prerollBytes > PREROLL_MAX_BYTES) armed.prerollBytes -= armed.preroll.shift()!.length;
  }

  private onMotion(id: string, motion: boolean): void {
    const armed = this.armed.get(id);
    if (!armed || this.opts.trigger !== 'motion' || armed.state !== 'on') return;
    if (motion) {
      if (armed.postTimer) clearTimeout(armed.postTimer);
      armed.postTimer = null;
      if (armed.recorder) return;
      void this.startRecorder(id, armed, armed.preroll).then((ok) => {
        if (ok) this.bus.publish('camera', id, 'recording', { state: 'on', trigger: 'motion', clip: 'started', dir: this.dir(id) });
      });
      armed.preroll = [];
      armed.prerollBytes = 0;
    } else if (armed.recorder && !armed.postTimer) {
      armed.postTimer = setTimeout(() => {
        armed.postTimer = null;
        const recorder = armed.recorder;
        armed.recorder = null;
        void recorder?.stop().then(() => this.bus.publish('camera', id, 'recording', { state: armed.state, trigger: 'motion', clip: 'ended', dir: this.dir(id) }));
      }, this.opts.post_seconds * 1000);
      armed.postTimer.unref();
    }
  }

  /** A new frame rate: the encoder times frames by it, so the running file ends and a new one starts. */
  private async restartRecorder(id: string): Promise<void> {
    const armed = this.armed.get(id);
    const old = armed?.recorder;
    if (!armed || !old) return;
    if ((await this.startRecorder(id, armed)) && armed.state === 'pause') armed.recorder!.pause();
    await old.stop();
  }

  /** Ends the recording because it cannot go on: the camera's `record` goes off everywhere, with the reason. */
  private async stopWithNotice(id: string, reason: StopReason, message: string): Promise<void> {
    if (!this.armed.has(id)) return;
    this.logger.warn({ camera: id, reason }, `recording stopped: ${message}`);
    await this.disarm(id, { reason, error: message });
    await this.cameras.update(SYSTEM_ACTOR, id, { record: 'off' }).catch((err: Error) => this.logger.warn({ camera: id, err: err.message }, 'cannot switch recording off'));
  }

  /** Starts `armed`'s recorder; false when it could not start (the recording was stopped with a notice). */
  private async startRecorder(id: string, armed: Armed, preroll: readonly Buffer[] = []): Promise<boolean> {
    const recorder = new Recorder(
      { ffmpegPath: this.config.cameras.ffmpeg_path, dir: this.dir(id), fps: this.fps(id), segmentSeconds: this.opts.segment_seconds },
      this.logger.child({ camera: id, part: 'recorder' }),
      {
        failed: (message, fault, spawnError) => {
          if (fault) return void this.mediaFault(fault);
          // A recorder already replaced (a new segment run, a resumed recording) ends nothing but itself.
          if (this.armed.get(id)?.recorder !== recorder) return void this.logger.warn({ camera: id, err: message }, 'an earlier recorder of this camera failed');
          void this.ffmpegFailed(id, message, spawnError);
        },
        finished: () => this.storage.written('media'),
      },
    );
    try {
      recorder.start(preroll);
    } catch (err) {
      if (isStorageFault(err)) await this.mediaFault(err);
      else await this.stopWithNotice(id, 'ffmpeg', `cannot create the recording folder: ${(err as Error).message}`);
      return false;
    }
    armed.recorder = recorder;
    return true;
  }

  /** The recorder's ffmpeg failed: ffmpeg's health weighs it, and the recording stops with the reason. */
  private async ffmpegFailed(id: string, message: string, spawnError: string | null): Promise<void> {
    if (spawnError) this.ffmpeg.failed(spawnError);
    else await this.ffmpeg.suspect();
    await this.stopWithNotice(id, 'ffmpeg', this.ffmpeg.problem ?? message);
  }

  /** The media folder cannot be written: the storage health says so everywhere, and every recording stops with the notice. */
  private async mediaFault(err: NodeJS.ErrnoException): Promise<void> {
    this.storage.fault('media', err);
    const error = this.storage.state('media')?.error ?? 'the media folder cannot be written';
    for (const id of [...this.armed.keys()]) await this.stopWithNotice(id, 'storage', error);
  }

  /** A failed write leaves the camera's newest segment cut mid-fragment: back to its last whole one. */
  private async trimNewest(id: string): Promise<void> {
    const newest = (await readdir(this.dir(id)).catch(() => [] as string[])).filter((n) => n.endsWith('.mp4')).sort().at(-1);
    if (!newest) return;
    const done = await trimCutSegment(join(this.dir(id), newest)).catch((e: Error) => this.logger.warn({ camera: id, err: e.message }, 'cannot trim the cut segment'));
    if (done && done !== 'kept') this.logger.info({ camera: id, file: newest }, `the segment cut off by the storage fault was ${done}`);
  }

  /** The storage health's recovery probe: a small file written in the media folder clears the fault. */
  private async probeMedia(): Promise<void> {
    try {
      await probeMediaDir(this.opts.media_dir);
    } catch (err) {
      if (isStorageFault(err)) this.storage.fault('media', err);
      throw err;
    }
    this.storage.written('media');
  }

  private publishState(id: string, state: RecordState): void {
    this.bus.publish('camera', id, 'recording', { state, trigger: this.opts.trigger, dir: this.dir(id) });
  }

  /** The camera's folder (its readable name; see mediaFolders.ts). */
  dir(id: string): string {
    return join(this.opts.media_dir, this.folder(id));
  }

  private folder(id: string): string {
    const cam = this.cameras.get(id);
    return this.folders.folderOf({ id, name: cam?.name ?? id });
  }

  private fps(id: string): number {
    return this.cameras.get(id)?.controls.fps || 15;
  }
}
