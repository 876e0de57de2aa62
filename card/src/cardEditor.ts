// The card's visual editor (what getConfigElement returns): pick a Switchboard camera device and an
// optional title; fires `config-changed` as the dashboard editor expects. Entity overrides stay YAML.
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { deviceName, switchboardCameras } from './cameraEntities.js';
import type { CardConfig, HomeAssistant } from './hass.js';
import { editorStyles } from './styles.js';

export class SwitchboardCameraCardEditor extends LitElement {
  static override styles = editorStyles;
  static override properties = {
    hass: { attribute: false },
    config: { state: true },
  };

  declare hass: HomeAssistant | undefined;
  declare config: CardConfig | undefined;

  setConfig(config: CardConfig): void {
    this.config = config;
  }

  protected override render(): TemplateResult | typeof nothing {
    if (!this.hass || !this.config) return nothing;
    const cameras = switchboardCameras(this.hass);
    const selected = this.config.device_id ?? '';
    return html`
      ${cameras.length === 0 ? html`<p>No Switchboard camera found. Is the add-on running, and is MQTT set up in Home Assistant?</p>` : nothing}
      <label>
        Camera
        <select name="device_id" @change=${(e: Event) => this.changeConfig({ device_id: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="" ?selected=${selected === ''}>Choose a camera…</option>
          ${cameras.map((d) => html`<option value=${d.id} ?selected=${d.id === selected}>${deviceName(d)}</option>`)}
          ${selected && !cameras.some((d) => d.id === selected) ? html`<option value=${selected} selected>Unknown device (${selected})</option>` : nothing}
        </select>
      </label>
      <label>
        Title (optional)
        <input name="name" .value=${this.config.name ?? ''} placeholder="The camera's name" @change=${(e: Event) => this.changeConfig({ name: (e.target as HTMLInputElement).value || undefined })} />
      </label>
      <p>To use other entities (for example a different light), set <code>entities</code> in the YAML editor.</p>
    `;
  }

  /** Applies a change and tells the dashboard editor (undefined removes the key). */
  private changeConfig(change: Partial<CardConfig>): void {
    const next: CardConfig = { ...this.config!, ...change };
    for (const key of Object.keys(change) as (keyof CardConfig)[]) if (next[key] === undefined) delete next[key];
    this.config = next;
    this.dispatchEvent(new CustomEvent('config-changed', { detail: { config: next }, bubbles: true, composed: true }));
  }
}
