// The `switchboard-camera-card` element: one Switchboard camera's picture or live view, its
// controls and its state, all driven through hass.callService on the camera's HA entities.
import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { LIGHT, LIGHT_LEVEL_LABEL, labelOf } from '../../src/camera/controlCatalog.js';
import { cameraView, deviceEntityIds, IMAGE_NUMBERS, IMAGE_SELECTS, isUsable, keysFromRegistry, switchboardCameras, watchedEntityIds, type CameraView, type EntityKey } from './cameraEntities.js';
import type { CardConfig, HassEntity, HomeAssistant } from './hass.js';
import { cardStyles } from './styles.js';

/** How often the still picture is refetched when there is no live view (hui-image uses 10 s too). */
const PICTURE_REFRESH_MS = 10_000;

export class SwitchboardCameraCard extends LitElement {
  static override styles = cardStyles;
  static override properties = {
    hass: { attribute: false },
    config: { state: true },
    pictureTick: { state: true },
    failure: { state: true },
  };

  declare hass: HomeAssistant | undefined;
  declare config: CardConfig | undefined;
  declare pictureTick: number;
  /** The last service call HA refused, shown until the next successful one. */
  declare failure: string | null;
  private timer: number | undefined;
  /** The device's entities by their registry entries (see cameraEntities.ts), for `registryFor`. */
  private keys: Map<string, EntityKey> | undefined;
  private registryFor = '';

  constructor() {
    super();
    this.pictureTick = 0;
    this.failure = null;
  }

  static getConfigElement(): HTMLElement {
    return document.createElement('switchboard-camera-card-editor');
  }

  static getStubConfig(hass: HomeAssistant): Omit<CardConfig, 'type'> {
    const first = switchboardCameras(hass)[0];
    return first ? { device_id: first.id } : {};
  }

  setConfig(config: CardConfig): void {
    if (!config || typeof config !== 'object') throw new Error('Invalid configuration');
    if (config.entities !== undefined && (typeof config.entities !== 'object' || Array.isArray(config.entities))) throw new Error('"entities" must map keys to entity ids, e.g. {light: light.garage_lamp}');
    this.config = config;
  }

  getCardSize(): number {
    return 7;
  }

  /** Sections view: full width by default, at least half. */
  getGridOptions(): { columns: number; min_columns: number } {
    return { columns: 12, min_columns: 6 };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.timer = window.setInterval(() => this.pictureTick++, PICTURE_REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
  }

  protected override shouldUpdate(changed: PropertyValues<this>): boolean {
    // hass changes on every state change in HA; redraw only when one of ours changed.
    if (changed.size !== 1 || !changed.has('hass')) return true;
    const old = changed.get('hass') as HomeAssistant | undefined;
    if (!old || !this.hass || !this.config) return true;
    if (old.entities !== this.hass.entities || old.devices !== this.hass.devices || old.themes !== this.hass.themes) return true;
    const hass = this.hass;
    return watchedEntityIds(hass, cameraView(hass, this.config, this.keys)).some((id) => old.states[id] !== hass.states[id]);
  }

  /** Reads the device's entity registry entries again whenever its set of entities changed. */
  private readRegistry(hass: HomeAssistant, deviceId: string | undefined): void {
    const ids = deviceEntityIds(hass, deviceId);
    const wanted = ids.join(',');
    if (wanted === this.registryFor) return;
    this.registryFor = wanted;
    this.keys = undefined;
    if (!ids.length) return;
    hass.connection
      .sendMessagePromise<Record<string, { unique_id?: unknown } | null>>({ type: 'config/entity_registry/get_entries', entity_ids: ids })
      .then(
        (entries) => {
          if (this.registryFor !== wanted) return;
          this.keys = keysFromRegistry(entries);
          this.requestUpdate();
        },
        // An HA without get_entries: the proposed entity ids stand in.
        () => undefined,
      );
  }

  protected override willUpdate(): void {
    if (this.hass && this.config) this.readRegistry(this.hass, this.config.device_id);
  }

  protected override render(): TemplateResult | typeof nothing {
    if (!this.hass || !this.config) return nothing;
    const view = cameraView(this.hass, this.config, this.keys);
    const { states, condition } = view;
    const dark = this.hass.themes?.darkMode ? 'dark' : 'light';
    return html`
      <ha-card class=${dark}>
        <div class="header">
          <h2 class="name">${view.name}</h2>
          ${this.motionBadge(states.motion)}
        </div>
        ${this.problem(view)}
        ${condition.kind === 'no_device' || condition.kind === 'device_missing' || condition.kind === 'entities_missing' ? nothing : this.body(view)}
        ${this.failure ? html`<div class="notice error" role="alert">${this.failure}</div>` : nothing}
      </ha-card>
    `;
  }

  private motionBadge(motion: HassEntity | undefined): TemplateResult | typeof nothing {
    if (!motion) return nothing;
    if (!isUsable(motion)) return html`<span class="badge" data-motion="unknown">Motion: unknown</span>`;
    const on = motion.state === 'on';
    return html`<span class="badge ${on ? 'motion' : ''}" data-motion=${on ? 'on' : 'off'} role="status" aria-live="polite">${on ? 'Motion detected' : 'No motion'}</span>`;
  }

  private problem(view: CameraView): TemplateResult | typeof nothing {
    const c = view.condition;
    switch (c.kind) {
      case 'no_device':
        return html`<div class="notice" data-problem="no_device">Choose a Switchboard camera in the card editor.</div>`;
      case 'device_missing':
        return html`<div class="notice error" data-problem="device_missing">This camera no longer exists in Home Assistant. It may have been removed from Switchboard; choose another camera in the card editor.</div>`;
      case 'entities_missing':
        return html`<div class="notice error" data-problem="entities_missing">
          Switchboard has not created this camera's entities in Home Assistant yet (missing: ${c.missing.join(', ')}). Check that the
          Switchboard add-on is running and that the MQTT integration is set up, so MQTT discovery can run.
        </div>`;
      case 'addon_offline':
        return html`<div class="notice error" data-problem="addon_offline">Switchboard is offline: the add-on is stopped or not connected to MQTT. The controls work again when it is back.</div>`;
      case 'camera_gone':
        return html`<div class="notice error" data-problem="camera_gone">This camera is not available: Switchboard is running but cannot reach the camera (unplugged?).</div>`;
      case 'disabled':
        return html`<div class="notice warning" data-problem="disabled">This camera is disabled in Switchboard. Turn on "Enabled" to use it.</div>`;
      case 'ok':
        return nothing;
    }
  }

  private body(view: CameraView): TemplateResult {
    const { states, condition } = view;
    const active = condition.kind === 'ok';
    const offline = condition.kind === 'addon_offline' || condition.kind === 'camera_gone';
    return html`
      <div class="media">${this.media(view, active)}</div>
      <div class="facts">
        <span data-fact="stream">Stream: ${this.streamState(states)}</span>
        <span data-fact="readers">Readers: ${isUsable(states.readers) ? states.readers.state : '–'}</span>
        ${isUsable(states.resolution) ? html`<span data-fact="format">${states.resolution.state}${isUsable(states.fps) ? ` · ${states.fps.state} fps` : ''}</span>` : nothing}
      </div>
      <div class="actions">
        ${this.toggle(view, 'stream', 'Stream', 'mdi:play-network', active)}
        ${this.action(view, 'snapshot', 'Snapshot', 'mdi:camera-iris', active, () => this.call('button', 'press', view.ids.snapshot!))}
        ${this.toggle(view, 'light', LIGHT.label, LIGHT.icon, active)}
        ${this.toggle(view, 'recording', 'Record', 'mdi:record-rec', active)}
        ${this.toggle(view, 'motion_detection', 'Motion', 'mdi:motion-sensor', active)}
        ${this.toggle(view, 'live_view', 'Live view', 'mdi:video-wireless', active)}
        ${this.toggle(view, 'enabled', 'Enabled', 'mdi:power', !offline)}
      </div>
      ${this.imageControls(view, active)}
    `;
  }

  private streamState(states: CameraView['states']): string {
    if (!isUsable(states.ready)) return 'unknown';
    if (states.ready.state === 'on') return 'ready';
    return states.stream?.state === 'on' ? 'starting' : 'idle';
  }

  private media(view: CameraView, active: boolean): TemplateResult {
    const image = view.states.image;
    if (!active || !isUsable(image)) {
      const why = view.condition.kind === 'disabled' ? 'Camera disabled' : 'No picture';
      return html`<div class="placeholder" role="img" aria-label=${why}><ha-icon icon="mdi:cctv-off"></ha-icon><span>${why}</span></div>`;
    }
    const liveId = image.attributes.live_entity;
    const live = typeof liveId === 'string' ? this.hass!.states[liveId] : undefined;
    if (isUsable(live)) {
      // HA's own player (WebRTC/HLS/MJPEG as the camera supports) when the frontend has loaded it.
      if (customElements.get('ha-camera-stream')) {
        return html`<ha-camera-stream data-view="live" .hass=${this.hass} .stateObj=${live} controls muted allow-exoplayer></ha-camera-stream>`;
      }
      return this.picture(live, 'live-picture', `${view.name} (live)`);
    }
    return this.picture(image, 'picture', view.name);
  }

  /** The camera proxy URL HA puts in entity_picture (carries the entity's access token), refreshed now and then. */
  private picture(entity: HassEntity, kind: string, name: string): TemplateResult {
    const src = entity.attributes.entity_picture;
    if (typeof src !== 'string') return html`<div class="placeholder"><span>No picture</span></div>`;
    const url = this.hass!.hassUrl(`${src}${src.includes('?') ? '&' : '?'}t=${this.pictureTick}`);
    return html`<img data-view=${kind} src=${url} alt=${`Picture of ${name}`} />`;
  }

  private toggle(view: CameraView, key: EntityKey, label: string, icon: string, enabled: boolean): TemplateResult | typeof nothing {
    const entity = view.states[key];
    if (!entity) return nothing;
    const on = entity.state === 'on';
    const domain = key === 'light' ? 'light' : 'switch';
    return html`<button
      type="button"
      data-control=${key}
      class=${on ? 'on' : ''}
      aria-pressed=${on ? 'true' : 'false'}
      ?disabled=${!enabled || !isUsable(entity)}
      @click=${() => this.call(domain, on ? 'turn_off' : 'turn_on', entity.entity_id)}
    >
      <ha-icon icon=${icon}></ha-icon><span>${label}</span>
    </button>`;
  }

  private action(view: CameraView, key: EntityKey, label: string, icon: string, enabled: boolean, run: () => void): TemplateResult | typeof nothing {
    const entity = view.states[key];
    if (!entity) return nothing;
    return html`<button type="button" data-control=${key} ?disabled=${!enabled || entity.state === 'unavailable'} @click=${run}>
      <ha-icon icon=${icon}></ha-icon><span>${label}</span>
    </button>`;
  }

  private imageControls(view: CameraView, active: boolean): TemplateResult | typeof nothing {
    const numbers = IMAGE_NUMBERS.map((k) => [k, view.states[k]] as const).filter((p): p is readonly [(typeof IMAGE_NUMBERS)[number], HassEntity] => p[1] !== undefined);
    const selects = IMAGE_SELECTS.map((k) => [k, view.states[k]] as const).filter((p): p is readonly [(typeof IMAGE_SELECTS)[number], HassEntity] => p[1] !== undefined);
    const light = view.states.light;
    const dimmable = isUsable(light) && Array.isArray(light.attributes.supported_color_modes) && (light.attributes.supported_color_modes as string[]).some((m) => m !== 'onoff');
    if (!numbers.length && !selects.length && !dimmable) return nothing;
    return html`
      <details class="controls">
        <summary>Image settings</summary>
        <div class="grid">
          ${numbers.map(([key, entity]) => {
            const a = entity.attributes;
            const value = Number(entity.state);
            return html`<label>
              <span>${labelOf(key)}</span>
              <input
                type="range"
                name=${key}
                min=${String(a.min ?? 0)}
                max=${String(a.max ?? 100)}
                step=${String(a.step ?? 1)}
                .value=${Number.isFinite(value) ? String(value) : '0'}
                ?disabled=${!active || !isUsable(entity)}
                @change=${(e: Event) => this.call('number', 'set_value', entity.entity_id, { value: Number((e.target as HTMLInputElement).value) })}
              />
              <output>${Number.isFinite(value) ? value : '–'}</output>
            </label>`;
          })}
          ${dimmable
            ? html`<label>
                <span>${LIGHT_LEVEL_LABEL}</span>
                <input
                  type="range"
                  name="light_brightness"
                  min="1"
                  max="100"
                  .value=${String(Math.round(((Number(light.attributes.brightness) || 0) / 255) * 100))}
                  ?disabled=${!active}
                  @change=${(e: Event) => this.call('light', 'turn_on', light.entity_id, { brightness_pct: Number((e.target as HTMLInputElement).value) })}
                />
                <output>${light.state === 'on' ? `${Math.round(((Number(light.attributes.brightness) || 0) / 255) * 100)} %` : 'off'}</output>
              </label>`
            : nothing}
          ${selects.map(([key, entity]) => {
            const options = Array.isArray(entity.attributes.options) ? (entity.attributes.options as string[]) : [];
            return html`<label>
              <span>${labelOf(key)}</span>
              <select
                name=${key}
                ?disabled=${!active || !isUsable(entity)}
                @change=${(e: Event) => this.call('select', 'select_option', entity.entity_id, { option: (e.target as HTMLSelectElement).value })}
              >
                ${options.map((o) => html`<option value=${o} ?selected=${o === entity.state}>${o}</option>`)}
              </select>
            </label>`;
          })}
        </div>
      </details>
    `;
  }

  private async call(domain: string, service: string, entityId: string, data: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.hass!.callService(domain, service, data, { entity_id: entityId });
      this.failure = null;
    } catch (err) {
      const message = typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err);
      this.failure = `Home Assistant refused ${domain}.${service}: ${message}`;
    }
  }
}
