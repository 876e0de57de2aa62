// Live video of a camera on Home Assistant dashboards: a Generic Camera config entry whose
// stream_source is the camera's signed H.264 MPEG-TS URL. This service owns the rules: one entry per
// camera (idempotent), created on request or for every camera with `homeassistant.live_view: auto`,
// removed with the camera. The URLs are the add-on's own (no admin's: they outlive whoever pressed
// the button) and expire after 30 days, so they are re-signed at every start and once a day. The
// entries themselves are written by the Home Assistant bridge (LiveViewEntries).
import type { Logger } from 'pino';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { Config } from '../../config/schema.js';
import { conflict, notFound, unavailable } from '../../core/errors.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import type { Extension } from '../../core/extension.js';
import type { Collection } from '../../store/database.js';
import type { LiveViewCamera, LiveViewEntries, LiveViewRecord } from './records.js';

export type { LiveViewCamera, LiveViewEntries, LiveViewRecord } from './records.js';

export interface LiveViewDeps {
  config: Pick<Config['homeassistant'], 'live_view'>;
  records: Collection<LiveViewRecord>;
  bus: EventBus;
  /** null: no Home Assistant to talk to (neither the Supervisor nor homeassistant.url/token). */
  entries: LiveViewEntries | null;
  cameras: { get(id: string): LiveViewCamera | undefined; all(): LiveViewCamera[] };
  /** Whether the Home Assistant bridge is connected now (it may have connected before this service started). */
  haConnected(): boolean;
  /** How often the entries' URLs are signed anew (default daily; they are valid for 30 days). */
  resignEveryMs?: number;
  logger: Logger;
}

/** Well within the URLs' 30 days: a day, or a week, of Home Assistant being away loses nothing. */
const RESIGN_EVERY_MS = 86_400_000;

export class LiveViewService implements Extension {
  readonly name = 'live-views';
  /** Entries re-signed by this process (their URLs carry this process's key). */
  private readonly signed = new Set<string>();
  private work: Promise<unknown> = Promise.resolve();
  private resignTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: LiveViewDeps) {}

  /** Starts after the HTTP server listens (the entries' URLs carry its address). */
  async start(): Promise<void> {
    this.deps.bus.subscribe(this, (e) => this.onEvent(e), ['camera', 'system', 'auth']);
    // Home Assistant may have answered while the extensions before this one started.
    if (this.deps.haConnected()) this.reconcileNow();
    this.resignTimer = setInterval(() => this.resignUrls(), this.deps.resignEveryMs ?? RESIGN_EVERY_MS);
    this.resignTimer.unref();
  }

  async stop(): Promise<void> {
    this.deps.bus.removeListeners(this);
    if (this.resignTimer) clearInterval(this.resignTimer);
    this.resignTimer = null;
    await this.work.catch(() => undefined);
  }

  liveEntity(cameraId: string): string | null {
    return this.deps.records.get(cameraId)?.entity_id ?? null;
  }

  read(cameraId: string): LiveViewRecord | undefined {
    return this.deps.records.get(cameraId);
  }

  /** "Show in Home Assistant": makes sure the camera has its Generic Camera entry; returns it. */
  async show(actor: Actor, cameraId: string): Promise<LiveViewRecord & { created: boolean }> {
    authorize(actor, 'cameras.liveView', 'Showing cameras live in Home Assistant needs the user role');
    const camera = this.deps.cameras.get(cameraId);
    if (!camera) throw notFound('Camera');
    if (!camera.enabled) throw conflict(`Camera "${camera.name}" is switched off; switch it on first`);
    return this.serial(() => this.ensure(camera, true));
  }

  /** Removes the camera's entry from Home Assistant (the panel's "Remove from Home Assistant"). */
  async hide(actor: Actor, cameraId: string): Promise<{ removed: boolean }> {
    authorize(actor, 'cameras.liveView', 'Removing live views from Home Assistant needs the user role');
    if (!this.deps.cameras.get(cameraId)) throw notFound('Camera');
    return this.serial(() => this.remove(cameraId));
  }

  private onEvent(e: DomainEvent): void {
    if (e.domain === 'auth' && e.event === 'liveUrlsRevoked') {
      // The entries' URLs died with the old key: Home Assistant gets new ones at once.
      this.resignUrls();
    } else if (e.domain === 'system' && e.event === 'component' && e.entity === 'homeassistant' && e.details.state === 'ok') {
      // (Re)connected: fill in what could not be done while HA was away.
      this.reconcileNow();
    } else if (e.domain === 'camera' && e.entity && e.event === 'deleted') {
      const id = e.entity;
      void this.serial(() => this.remove(id)).catch((err: unknown) => this.deps.logger.warn({ camera: id, err: describe(err) }, 'live view: could not remove the Home Assistant entry'));
    } else if (e.domain === 'camera' && e.entity && (e.event === 'created' || e.event === 'enabled') && this.deps.config.live_view === 'auto') {
      const camera = this.deps.cameras.get(e.entity);
      if (camera?.enabled) void this.serial(() => this.ensure(camera, false)).catch((err: unknown) => this.deps.logger.warn({ camera: camera.name, err: describe(err) }, 'live view: could not add the camera to Home Assistant'));
    }
  }

  /** Every entry gets fresh URLs (through its options flow); while HA is away, when it is back. */
  resignUrls(): void {
    this.signed.clear();
    if (this.deps.haConnected()) this.reconcileNow();
  }

  private reconcileNow(): void {
    void this.serial(() => this.reconcile()).catch((err: unknown) => this.deps.logger.warn({ err: describe(err) }, 'live views: reconciling with Home Assistant failed'));
  }

  private async reconcile(): Promise<void> {
    for (const rec of this.deps.records.all()) {
      if (!this.deps.cameras.get(rec.id)) await this.remove(rec.id);
    }
    for (const camera of this.deps.cameras.all()) {
      const has = this.deps.records.get(camera.id);
      if (has || (this.deps.config.live_view === 'auto' && camera.enabled)) await this.ensure(camera, false);
    }
  }

  /** Creates the entry, or re-signs and completes an existing one; `recreate`: also when HA lost it. */
  private async ensure(camera: LiveViewCamera, recreate: boolean): Promise<LiveViewRecord & { created: boolean }> {
    const entries = this.requireEntries();
    const existing = this.deps.records.get(camera.id);
    if (existing) {
      if (!this.signed.has(existing.entry_id)) {
        if (await entries.resign(existing.entry_id, camera)) {
          this.signed.add(existing.entry_id);
          this.deps.logger.info({ camera: camera.name, entry: existing.entry_id }, 'live view: stream URLs re-signed in Home Assistant');
        } else {
          // The entry was deleted in HA. Only an explicit request brings it back.
          await this.forget(camera.id);
          if (!recreate) throw unavailable(`The live view of "${camera.name}" was removed in Home Assistant`);
          return this.create(entries, camera);
        }
      }
      const entityId = existing.entity_id ?? (await entries.findEntity(existing.entry_id, camera));
      const rec = entityId === existing.entity_id ? existing : await this.store({ ...existing, entity_id: entityId });
      return { ...rec, created: false };
    }
    return this.create(entries, camera);
  }

  private async create(entries: LiveViewEntries, camera: LiveViewCamera): Promise<LiveViewRecord & { created: boolean }> {
    const entryId = await entries.create(camera);
    this.signed.add(entryId);
    const now = new Date().toISOString();
    const rec = await this.store({ id: camera.id, entry_id: entryId, entity_id: null, created_at: now, updated_at: now });
    this.deps.logger.info({ camera: camera.name, entry: entryId }, 'live view: added to Home Assistant');
    const entityId = await entries.findEntity(entryId, camera);
    return { ...(entityId ? await this.store({ ...rec, entity_id: entityId }) : rec), created: true };
  }

  private async remove(cameraId: string): Promise<{ removed: boolean }> {
    const rec = this.deps.records.get(cameraId);
    if (!rec) return { removed: false };
    // A failure keeps the record for the next attempt.
    await this.requireEntries().remove(rec.entry_id);
    await this.forget(cameraId);
    this.deps.logger.info({ camera: cameraId, entry: rec.entry_id }, 'live view: removed from Home Assistant');
    return { removed: true };
  }

  private async forget(cameraId: string): Promise<void> {
    const rec = this.deps.records.get(cameraId);
    if (!rec) return;
    await this.deps.records.remove(cameraId);
    this.signed.delete(rec.entry_id);
    this.deps.bus.publish('camera', cameraId, 'liveView', { entity_id: null, entry_id: null });
  }

  private async store(rec: LiveViewRecord): Promise<LiveViewRecord> {
    const next = { ...rec, updated_at: new Date().toISOString() };
    if (this.deps.records.get(rec.id)) await this.deps.records.update(rec.id, () => next);
    else await this.deps.records.insert(next);
    this.deps.bus.publish('camera', rec.id, 'liveView', { entity_id: next.entity_id, entry_id: next.entry_id });
    return next;
  }

  private requireEntries(): LiveViewEntries {
    if (!this.deps.entries) throw unavailable('Home Assistant is not configured: run as an add-on, or set homeassistant.url and homeassistant.token');
    return this.deps.entries;
  }

  /** One change at a time: two clicks never make two entries. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(fn, fn);
    this.work = run.catch(() => undefined);
    return run;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
