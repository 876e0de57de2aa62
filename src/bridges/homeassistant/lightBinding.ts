// A camera's light bound to a Home Assistant light entity (`light_entity`). The entity is the real
// lamp, so HA's state wins when a binding appears; afterwards a light change on either side is
// carried to the other. Each side is only written when it differs from the other, and while our
// own light.turn_on/off is on its way HA's intermediate states are ignored, so nothing echoes back.
// Where the camera's light has levels, its brightness travels too (`brightness_pct` one way, the
// entity's `brightness` attribute, 0–255, the other).
import type { HassEntities } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type Actor } from '../../auth/records.js';
import type { DomainEvent } from '../../core/eventBus.js';

export interface LightCameras {
  all(): readonly { id: string; light: boolean; light_brightness: number | null; light_entity: string | null }[];
  update(actor: Actor, id: string, change: { light: boolean } | { light_brightness: number }): Promise<unknown>;
}

export type LightServiceCall = (service: 'turn_on' | 'turn_off', entityId: string, data: { brightness_pct?: number }) => Promise<boolean>;

/** HA's brightness attribute (0–255) as a percentage, null while off or without one. */
const percentOf = (brightness: unknown): number | null => (typeof brightness === 'number' && brightness > 0 ? Math.max(1, Math.round((brightness / 255) * 100)) : null);

const EXPECT_MS = 10_000;

export class LightBinding {
  /** Last on/off state HA reported per entity. */
  private readonly haState = new Map<string, boolean>();
  /** Last brightness (percent) HA reported per entity, null while off or without levels. */
  private readonly haLevel = new Map<string, number | null>();
  /** What we just asked HA for, per entity, until HA reports it (or EXPECT_MS passes). */
  private readonly expecting = new Map<string, { on: boolean; until: number }>();

  constructor(
    private readonly cameras: LightCameras,
    private readonly call: LightServiceCall,
    private readonly logger: Logger,
  ) {}

  /** Entity states from subscribeEntities (the whole set each time). */
  onEntities(entities: HassEntities): void {
    for (const cam of this.cameras.all()) {
      const entityId = cam.light_entity;
      if (!entityId) continue;
      const state = entities[entityId]?.state;
      if (state !== 'on' && state !== 'off') continue;
      const on = state === 'on';
      const level = on ? percentOf(entities[entityId]?.attributes.brightness) : null;
      const known = this.haState.get(entityId);
      const knownLevel = this.haLevel.get(entityId);
      this.haState.set(entityId, on);
      this.haLevel.set(entityId, level);
      const expected = this.expecting.get(entityId);
      if (expected && expected.until > Date.now()) {
        if (expected.on !== on) continue;
        this.expecting.delete(entityId);
      }
      // Only HA's changes (and the first state seen) flow to the camera, not every update of any entity.
      const levelChanged = level !== null && level !== knownLevel && cam.light_brightness !== null;
      if (known === on && !levelChanged) continue;
      if (levelChanged && level !== cam.light_brightness) {
        // A level switches the camera light on as well (the camera service's rule).
        this.cameras.update(SYSTEM_ACTOR, cam.id, { light_brightness: level }).catch((err: Error) => this.logger.warn({ camera: cam.id, entity: entityId, err: err.message }, 'could not apply the light level from Home Assistant'));
      } else if (cam.light !== on) {
        this.cameras.update(SYSTEM_ACTOR, cam.id, { light: on }).catch((err: Error) => this.logger.warn({ camera: cam.id, entity: entityId, err: err.message }, 'could not apply the light state from Home Assistant'));
      }
    }
  }

  /** Camera events: a light change goes to HA; a new binding adopts HA's state. */
  onEvent(e: DomainEvent): void {
    if (e.domain !== 'camera' || e.event !== 'updated' || !e.entity) return;
    const changes = e.details.changes;
    const keys = changes && typeof changes === 'object' ? Object.keys(changes) : ['light'];
    const cam = this.cameras.all().find((c) => c.id === e.entity);
    if (!cam?.light_entity) return;
    const haOn = this.haState.get(cam.light_entity);
    if (keys.includes('light_entity')) {
      if (haOn !== undefined && haOn !== cam.light) void this.cameras.update(SYSTEM_ACTOR, cam.id, { light: haOn }).catch(() => undefined);
      return;
    }
    const levelChanged = keys.includes('light_brightness') && cam.light && cam.light_brightness !== null && cam.light_brightness !== this.haLevel.get(cam.light_entity);
    if (!levelChanged && (!keys.includes('light') || haOn === cam.light)) return;
    const entityId = cam.light_entity;
    this.expecting.set(entityId, { on: cam.light, until: Date.now() + EXPECT_MS });
    const data = cam.light && cam.light_brightness !== null ? { brightness_pct: cam.light_brightness } : {};
    void this.call(cam.light ? 'turn_on' : 'turn_off', entityId, data).then((ok) => {
      if (!ok) this.expecting.delete(entityId);
    });
  }
}
