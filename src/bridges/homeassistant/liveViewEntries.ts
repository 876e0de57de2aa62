// The Home Assistant side of live views: a Generic Camera config entry per camera whose
// stream_source is the camera's signed H.264 MPEG-TS URL (HA hands http:// sources to go2rtc as
// they are), written through HA core's data-entry flow and entity registry. The rules (when to
// create, re-sign, remove) live in services/liveViews.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AppError, unavailable } from '../../core/errors.js';
import { entitySlug } from '../../core/ids.js';
import type { LiveViewCamera, LiveViewEntries } from '../../services/liveViews/records.js';
import { runFlow } from './configFlow.js';
import type { HaCoreApi } from './haCoreApi.js';

export interface HaLiveViewEntriesDeps {
  api: HaCoreApi;
  /** Self-authenticating paths for a camera's live stream and still image (HA stores them). */
  signedPaths(cameraId: string): { stream: string; still: string };
  /** Where Home Assistant reaches this server, e.g. http://a0d7b954-switchboard:2000. */
  baseUrl(): string | undefined;
  /** A Home Assistant websocket command (the entity registry lives there). */
  haCommand<T>(message: { type: string; [key: string]: unknown }): Promise<T>;
  logger: Logger;
}

/** The data entry flow handler of HA's Generic Camera integration. */
const GENERIC = 'generic';

interface RegistryEntry {
  entity_id: string;
  config_entry_id: string | null;
}

export class HaLiveViewEntries implements LiveViewEntries {
  constructor(private readonly deps: HaLiveViewEntriesDeps) {}

  async create(camera: LiveViewCamera): Promise<string> {
    const step = await runFlow(this.deps.api, 'config', GENERIC, this.flowValues(camera.id));
    const entryId = (step.result as { entry_id?: unknown } | undefined)?.entry_id;
    if (typeof entryId !== 'string') throw unavailable('Home Assistant created the entry but did not say its id');
    return entryId;
  }

  async resign(entryId: string, camera: LiveViewCamera): Promise<boolean> {
    try {
      await runFlow(this.deps.api, 'options', entryId, this.flowValues(camera.id));
      return true;
    } catch (err) {
      if (err instanceof AppError && err.kind === 'unavailable' && /does not know this flow/.test(err.message)) return false;
      throw err;
    }
  }

  async remove(entryId: string): Promise<void> {
    const reply = await this.deps.api.request('DELETE', `/config/config_entries/entry/${encodeURIComponent(entryId)}`);
    // 404: already gone in HA.
    if (reply.status !== 200 && reply.status !== 404) throw unavailable(`Home Assistant did not remove the live view entry (${reply.status})`);
  }

  /**
   * The entity HA made for the entry, renamed to `camera.<camera>_live` so it is found next to the
   * camera's MQTT entities; null while HA's websocket is away (filled in on the next reconnect).
   */
  async findEntity(entryId: string, camera: LiveViewCamera): Promise<string | null> {
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
