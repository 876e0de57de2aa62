// A camera's light bound to a Home Assistant light entity (`light_entity`). The entity is the real
// lamp, so HA's state wins when a binding appears; afterwards a light change on either side is
// carried to the other. Each side is only written when it differs from the other, and while our
// own light.turn_on/off is on its way HA's intermediate states are ignored, so nothing echoes back.
import type { HassEntities } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type Actor } from '../../auth/records.js';
import type { DomainEvent } from '../../core/eventBus.js';

export interface LightCameras {
  all(): readonly { id: string; light: boolean; light_entity: string | null }[];
  setLight(actor: Actor, id: string, on: boolean): Promise<unknown>;
}

export type LightServiceCall = (service: 'turn_on' | 'turn_off', entityId: string) => Promise<boolean>;

const EXPECT_MS = 10_000;

export class LightBinding {
  /** Last on/off state HA reported per entity. */
  private readonly haState = new Map<string, boolean>();
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
      const known = this.haState.get(entityId);
      this.haState.set(entityId, on);
      const expected = this.expecting.get(entityId);
      if (expected && expected.until > Date.now()) {
        if (expected.on !== on) continue;
        this.expecting.delete(entityId);
      }
      // Only HA's changes (and the first state seen) flow to the camera, not every update of any entity.
      if (known === on) continue;
      if (cam.light !== on) {
        this.cameras.setLight(SYSTEM_ACTOR, cam.id, on).catch((err: Error) => this.logger.warn({ camera: cam.id, entity: entityId, err: err.message }, 'could not apply the light state from Home Assistant'));
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
      if (haOn !== undefined && haOn !== cam.light) void this.cameras.setLight(SYSTEM_ACTOR, cam.id, haOn).catch(() => undefined);
      return;
    }
    if (!keys.includes('light') || haOn === cam.light) return;
    const entityId = cam.light_entity;
    this.expecting.set(entityId, { on: cam.light, until: Date.now() + EXPECT_MS });
    void this.call(cam.light ? 'turn_on' : 'turn_off', entityId).then((ok) => {
      if (!ok) this.expecting.delete(entityId);
    });
  }
}
