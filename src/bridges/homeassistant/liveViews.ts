// Live video of a camera on Home Assistant dashboards: a Generic Camera config entry whose
// stream_source is the camera's signed H.264 MPEG-TS URL (HA hands http:// sources to go2rtc as
// they are; shared/reference/ha-live-view.md §2–3). This service owns the rules: one entry per
// camera (idempotent), created on request or for every camera with `homeassistant.live_view: auto`,
// removed with the camera. The URLs are the add-on's own (no admin's: they outlive whoever pressed
// the button) and expire after 30 days, so they are re-signed at every start and once a day.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { Config } from '../../config/schema.js';
import { AppError, notFound, unavailable } from '../../core/errors.js';
import { entitySlug } from '../../core/ids.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import type { Collection } from '../../store/database.js';
import { runFlow } from './configFlow.js';
import type { HaCoreApi } from './haCoreApi.js';
import type { Extension } from '../../core/extension.js';

export interface LiveViewRecord {
  /** The camera id. */
  id: string;
  /** The Generic Camera config entry in HA. */
  entry_id: string;
  /** The camera entity HA created for it; null until the entity registry was read. */
  entity_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface LiveViewCamera {
  id: string;
  name: string;
  enabled: boolean;
}

export interface LiveViewDeps {
  config: Config['homeassistant'];
  records: Collection<LiveViewRecord>;
  bus: EventBus;
  /** null: no Home Assistant to talk to (neither the Supervisor nor homeassistant.url/token). */
  api: HaCoreApi | null;
  cameras: { get(id: string): LiveViewCamera | undefined; all(): LiveViewCamera[] };
  /** Self-authenticating paths for a camera's live stream and still image (HA stores them). */
  signedPaths(cameraId: string): { stream: string; still: string };
  /** Where Home Assistant reaches this server, e.g. http://a0d7b954-switchboard:2000. */
  baseUrl(): string | undefined;
  /** A Home Assistant websocket command (the entity registry lives there). */
  haCommand<T>(message: { type: string; [key: string]: unknown }): Promise<T>;
  /** Whether the Home Assistant bridge is connected now (it may have connected before this service started). */
  haConnected(): boolean;
  /** How often the entries' URLs are signed anew (default daily; they are valid for 30 days). */
  resignEveryMs?: number;
  logger: Logger;
}

/** Well within the URLs' 30 days: a day, or a week, of Home Assistant being away loses nothing. */
const RESIGN_EVERY_MS = 86_400_000;
/** The data entry flow handler of HA's Generic Camera integration. */
const GENERIC = 'generic';

interface RegistryEntry {
  entity_id: string;
  config_entry_id: string | null;
}

export class LiveViewService implements Extension {
  readonly name = 'live-views';
  private unsubscribe: (() => void) | null = null;
  /** Entries re-signed by this process (their URLs carry this process's key). */
  private readonly signed = new Set<string>();
  private work: Promise<unknown> = Promise.resolve();
  private resignTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: LiveViewDeps) {}

  /** Starts after the HTTP server listens (the entries' URLs carry its address). */
  async start(): Promise<void> {
    this.unsubscribe = this.deps.bus.subscribe((e) => this.onEvent(e), ['camera', 'system', 'auth']);
    // Home Assistant may have answered while the extensions before this one started.
    if (this.deps.haConnected()) this.reconcileNow();
    this.resignTimer = setInterval(() => this.resignUrls(), this.deps.resignEveryMs ?? RESIGN_EVERY_MS);
    this.resignTimer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
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
    authorize(actor, 'cameras.manage', 'Adding cameras to Home Assistant needs the admin role');
    const camera = this.deps.cameras.get(cameraId);
    if (!camera) throw notFound('Camera');
    if (!camera.enabled) throw unavailable(`Camera "${camera.name}" is disabled; switch it on first`);
    return this.serial(() => this.ensure(camera, true));
  }

  /** Removes the camera's entry from Home Assistant (the panel's "Remove from Home Assistant"). */
  async hide(actor: Actor, cameraId: string): Promise<{ removed: boolean }> {
    authorize(actor, 'cameras.manage', 'Removing cameras from Home Assistant needs the admin role');
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
    const api = this.requireApi();
    const existing = this.deps.records.get(camera.id);
    if (existing) {
      if (!this.signed.has(existing.entry_id)) {
        try {
          await runFlow(api, 'options', existing.entry_id, this.flowValues(camera.id));
          this.signed.add(existing.entry_id);
          this.deps.logger.info({ camera: camera.name, entry: existing.entry_id }, 'live view: stream URLs re-signed in Home Assistant');
        } catch (err) {
          if (!(err instanceof AppError && err.kind === 'unavailable' && /does not know this flow/.test(err.message))) throw err;
          // The entry was deleted in HA. Only an explicit request brings it back.
          await this.forget(camera.id);
          if (!recreate) throw unavailable(`The live view of "${camera.name}" was removed in Home Assistant`);
          return this.create(api, camera);
        }
      }
      const entityId = existing.entity_id ?? (await this.findEntity(existing.entry_id, camera));
      const rec = entityId === existing.entity_id ? existing : await this.store({ ...existing, entity_id: entityId });
      return { ...rec, created: false };
    }
    return this.create(api, camera);
  }

  private async create(api: HaCoreApi, camera: LiveViewCamera): Promise<LiveViewRecord & { created: boolean }> {
    const step = await runFlow(api, 'config', GENERIC, this.flowValues(camera.id));
    const entryId = (step.result as { entry_id?: unknown } | undefined)?.entry_id;
    if (typeof entryId !== 'string') throw unavailable('Home Assistant created the entry but did not say its id');
    this.signed.add(entryId);
    const now = new Date().toISOString();
    const rec = await this.store({ id: camera.id, entry_id: entryId, entity_id: null, created_at: now, updated_at: now });
    this.deps.logger.info({ camera: camera.name, entry: entryId }, 'live view: added to Home Assistant');
    const entityId = await this.findEntity(entryId, camera);
    return { ...(entityId ? await this.store({ ...rec, entity_id: entityId }) : rec), created: true };
  }

  private async remove(cameraId: string): Promise<{ removed: boolean }> {
    const rec = this.deps.records.get(cameraId);
    if (!rec) return { removed: false };
    const reply = await this.requireApi().request('DELETE', `/config/config_entries/entry/${encodeURIComponent(rec.entry_id)}`);
    // 404: already gone in HA; anything else but success keeps the record for the next attempt.
    if (reply.status !== 200 && reply.status !== 404) throw unavailable(`Home Assistant did not remove the live view entry (${reply.status})`);
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

  /**
   * The entity HA made for the entry, renamed to `camera.<camera>_live` so it is found next to the
   * camera's MQTT entities; null while HA's websocket is away (filled in on the next reconnect).
   */
  private async findEntity(entryId: string, camera: LiveViewCamera): Promise<string | null> {
    try {
      const entries = await this.deps.haCommand<RegistryEntry[]>({ type: 'config/entity_registry/list' });
      const found = entries.find((e) => e.config_entry_id === entryId)?.entity_id ?? null;
      if (!found) return null;
      const wanted = `camera.${entitySlug(camera.name) || 'switchboard'}_live`;
      if (found === wanted) return found;
      try {
        const updated = await this.deps.haCommand<{ entity_entry: { entity_id: string } }>({ type: 'config/entity_registry/update', entity_id: found, new_entity_id: wanted, name: `${camera.name} live` });
        return updated.entity_entry.entity_id;
      } catch (err) {
        // Taken by another entity: keep HA's own id.
        this.deps.logger.debug({ entity: found, wanted, err: describe(err) }, 'live view: entity kept its id');
        return found;
      }
    } catch (err) {
      this.deps.logger.debug({ err: describe(err) }, 'live view: entity registry not readable yet');
      return null;
    }
  }

  private flowValues(cameraId: string): Record<string, unknown> {
    const base = this.deps.baseUrl();
    if (!base) throw unavailable('The HTTP server is not listening yet');
    const paths = this.deps.signedPaths(cameraId);
    return {
      stream_source: `${base}${paths.stream}`,
      still_image_url: `${base}${paths.still}`,
      // The signature is the credential: no user name or password in the entry.
      authentication: 'basic',
      framerate: 2,
      verify_ssl: false,
      limit_refetch_to_url_change: false,
      confirmed_ok: true,
    };
  }

  private requireApi(): HaCoreApi {
    if (!this.deps.api) throw unavailable('Home Assistant is not configured: run as an add-on, or set homeassistant.url and homeassistant.token');
    return this.deps.api;
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

/** Where HA reaches this server: the container's (add-on) or machine's host name and the HTTP port. */
export function defaultBaseUrl(port: () => number | undefined): () => string | undefined {
  const host = hostname();
  return () => {
    const p = port();
    return p ? `http://${host}:${p}` : undefined;
  };
}
