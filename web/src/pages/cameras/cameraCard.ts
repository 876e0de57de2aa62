// One camera's card on the Cameras page: live MJPEG view, image/capture controls, light, snapshot,
// recording, demand, readers and the Home Assistant live view entry. Writes go through the NestMTX socket (`cameras`).
import type { Backend } from '../../backend.js';
import type { CameraView } from '../../../../src/camera/cameraRecord.js';
import { LIGHT, LIGHT_LEVEL_LABEL, RANGE_KEYS, SWITCH_KEYS, labelOf, type RangeKey, type SwitchKey } from '../../../../src/camera/controlCatalog.js';
import { clear, h, since, spinner } from '../../dom.js';
import { PanelError, describe, replyError } from '../../errors.js';
import { DeviceControlsSection } from './deviceControlsSection.js';

/** Labels of the settings the catalog names; the rest are this page's own. */
const label = (key: string): string => labelOf(key) ?? (key === 'enabled' ? 'Enabled' : key);

/** A local edit wins over incoming values for this long, so a dragged slider does not jump back. */
const LOCAL_EDIT_MS = 1500;
const SEND_EVERY_MS = 150;

/** Device controls share the card's edit times and error line under their own keys. */
const DEVICE_PREFIX = 'device:';
const deviceKey = (name: string): string => `${DEVICE_PREFIX}${name}`;

export class CameraCard {
  readonly el: HTMLElement;
  private cam: CameraView;
  private readonly title = h('h2', {});
  private readonly badges = h('div', { class: 'badges' });
  private readonly facts = h('dl', { class: 'facts' });
  private readonly status = h('p', { class: 'status', role: 'status' });
  private readonly img = h('img', { class: 'live', alt: 'Live view' });
  private readonly overlay = h('div', { class: 'overlay' });
  private readonly watchButton = h('button', { type: 'button', class: 'primary' }, 'Start live view');
  private readonly snapButton = h('button', { type: 'button' }, 'Snapshot');
  private readonly mainButton = h('button', { type: 'button', hidden: true }, 'Make main camera');
  private readonly light = h('input', { type: 'checkbox', role: 'switch', name: 'light' });
  /** Shown under the light switch where the camera's light has levels. */
  private readonly lightLevel = h('input', { type: 'range', min: 1, max: 100, step: 1, name: 'light_brightness', 'aria-label': LIGHT_LEVEL_LABEL });
  private readonly lightLevelOut = h('output', {});
  private readonly lightLevelRow = h('label', { class: 'row light-level', hidden: true }, h('span', {}, LIGHT_LEVEL_LABEL), this.lightLevel, this.lightLevelOut);
  /** Hidden where the camera has no light (no light control, no Home Assistant light). */
  private readonly lightSwitch = h('label', { class: 'switch' }, this.light, h('span', {}, LIGHT.label));
  private readonly enabled = h('input', { type: 'checkbox', role: 'switch', name: 'enabled' });
  private readonly motion = h('input', { type: 'checkbox', role: 'switch', name: 'motion' });
  /** Every simple control the device offers that no setting above serves (flips, focus, menus, …). */
  private readonly deviceControls = new DeviceControlsSection(
    (name, value) => {
      this.editedAt.set(deviceKey(name), Date.now());
      void this.send({ device_controls: { [name]: value } }, deviceKey(name));
    },
    (name) => this.fresh(deviceKey(name)),
  );
  private readonly haButton = h('button', { type: 'button', title: 'Adds this camera with its live video to Home Assistant (a Generic Camera)' }, 'Show in Home Assistant');
  /** Whether the camera has its live view entry in Home Assistant (null: not known yet). */
  private liveView: boolean | null = null;
  private readonly snapshot = h('div', { class: 'snapshot' });
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private readonly outputs = new Map<string, HTMLOutputElement>();
  private readonly editedAt = new Map<string, number>();
  private readonly record = h('select', { name: 'record' }, ...['off', 'on', 'pause'].map((v) => h('option', { value: v }, v === 'on' ? 'Recording' : v === 'pause' ? 'Paused' : 'Off')));
  private readonly recordNote = h('span', { class: 'muted' });
  private pending: Record<string, unknown> = {};
  private sendTimer: number | null = null;
  private watching = false;
  private visible = false;
  private startWatch: number | null = null;
  isMain = false;
  /** The Rotoclear slot this camera answers for (assigned or filled in), null when none. */
  slot: 1 | 2 | null = null;

  constructor(
    private readonly backend: Backend,
    cam: CameraView,
  ) {
    this.cam = cam;
    const image = h('div', { class: 'controls' }, ...RANGE_KEYS.map((k) => this.rangeRow(k)));
    const capture = h(
      'div',
      { class: 'controls' },
      this.selectRow('resolution'),
      this.selectRow('fps'),
      this.selectRow('sensor'),
      ...SWITCH_KEYS.map((k) => this.switchRow(k)),
      h('label', { class: 'row' }, h('span', {}, 'Recording'), this.record, this.recordNote),
    );
    this.watchButton.addEventListener('click', () => (this.watching ? this.stopLive() : this.startLive()));
    this.snapButton.addEventListener('click', () => void this.takeSnapshot());
    // The main camera is the one the Rotoclear image keys and recording act on.
    this.mainButton.addEventListener('click', () => {
      if (this.slot !== null && !this.backend.state.set({ 'main-camera': this.slot })) this.say('The main camera cannot be changed: the camera state connection is not open.', true);
    });
    this.light.addEventListener('change', () => void this.send({ light: this.light.checked }, 'light'));
    this.lightLevel.addEventListener('input', () => {
      this.editedAt.set('light_brightness', Date.now());
      this.lightLevelOut.textContent = this.lightLevel.value;
    });
    // Sent when the slider is let go: like Home Assistant's, a level switches the light on.
    this.lightLevel.addEventListener('change', () => void this.send({ light_brightness: Number(this.lightLevel.value) }, 'light_brightness'));
    this.enabled.addEventListener('change', () => void this.send({ enabled: this.enabled.checked }, 'enabled'));
    this.motion.addEventListener('change', () => void this.send({ motion: this.motion.checked }, 'motion'));
    this.haButton.addEventListener('click', () => void (this.liveView ? this.removeFromHomeAssistant() : this.showInHomeAssistant()));
    void this.readLiveView();
    this.record.addEventListener('change', () => this.setRecord(this.record.value));
    this.img.addEventListener('error', () => void this.liveFailed());
    this.el = h(
      'article',
      { class: 'card camera', 'data-camera-id': cam.id },
      h('header', { class: 'card-head' }, this.title, this.badges),
      h('div', { class: 'viewer' }, this.img, this.overlay),
      h('div', { class: 'actions' }, this.watchButton, this.snapButton, this.lightSwitch, h('label', { class: 'switch' }, this.enabled, h('span', {}, 'Enabled')), h('label', { class: 'switch' }, this.motion, h('span', {}, 'Motion detection')), this.haButton, this.mainButton),
      this.lightLevelRow,
      this.facts,
      this.status,
      this.snapshot,
      h('details', { open: true }, h('summary', {}, 'Image'), image),
      h('details', {}, h('summary', {}, 'Capture and recording'), capture),
      h('details', {}, h('summary', {}, 'All controls'), this.deviceControls.el),
    );
    this.idleOverlay();
    this.update(cam);
  }

  get id(): string {
    return this.cam.id;
  }

  get view(): CameraView {
    return this.cam;
  }

  private rangeRow(key: RangeKey): HTMLElement {
    const input = h('input', { type: 'range', min: 0, max: 100, step: 1, name: key, 'aria-label': label(key) });
    const out = h('output', {});
    input.addEventListener('input', () => {
      out.textContent = input.value;
      this.queue(key, Number(input.value));
    });
    this.inputs.set(key, input);
    this.outputs.set(key, out);
    return h('label', { class: 'row' }, h('span', {}, label(key)), input, out);
  }

  private switchRow(key: SwitchKey): HTMLElement {
    const input = h('input', { type: 'checkbox', role: 'switch', name: key });
    input.addEventListener('change', () => this.queue(key, input.checked));
    this.inputs.set(key, input);
    return h('label', { class: 'row switch' }, h('span', {}, label(key)), input);
  }

  private selectRow(key: 'resolution' | 'fps' | 'sensor'): HTMLElement {
    const select = h('select', { name: key, 'aria-label': label(key) });
    select.addEventListener('change', () => this.queue(key, key === 'resolution' ? select.value : Number(select.value)));
    this.inputs.set(key, select);
    return h('label', { class: 'row' }, h('span', {}, label(key)), select);
  }

  private fresh(key: string): boolean {
    return Date.now() - (this.editedAt.get(key) ?? 0) < LOCAL_EDIT_MS;
  }

  update(cam: CameraView): void {
    this.cam = cam;
    this.title.textContent = cam.name;
    clear(
      this.badges,
      h('span', { class: 'badge' }, cam.driver === 'simulated' ? 'Simulated' : 'V4L2'),
      this.slot ? h('span', { class: 'badge' }, `Camera ${this.slot}`) : null,
      this.isMain ? h('span', { class: 'badge accent' }, 'Main') : null,
      !cam.enabled ? h('span', { class: 'badge warn' }, 'Disabled') : cam.exists ? null : h('span', { class: 'badge warn' }, 'Disconnected'),
    );
    const readerTypes = [...new Set((cam.reader_list ?? []).map((r) => r.type))].join(', ');
    clear(
      this.facts,
      h('dt', {}, 'Stream'),
      h('dd', { 'data-fact': 'demand' }, cam.demanded ? (cam.ready ? 'Running' : 'Starting…') : 'Idle'),
      h('dt', {}, 'Readers'),
      h('dd', { 'data-fact': 'readers' }, `${cam.readers}${readerTypes ? ` (${readerTypes})` : ''}`),
      h('dt', {}, 'Recording'),
      h('dd', {}, cam.record === 'on' ? 'Recording' : cam.record === 'pause' ? 'Paused' : 'Off'),
      h('dt', {}, 'Last saved snapshot'),
      h('dd', {}, since(cam.last_snap_at)),
      h('dt', {}, 'Pixel format'),
      h('dd', { 'data-fact': 'format' }, cam.format ? `${cam.format.fourcc} ${cam.format.width}x${cam.format.height}` : '—'),
      h('dt', {}, 'Device offers'),
      h('dd', { 'data-fact': 'formats' }, (cam.formats ?? []).map((f) => `${f.fourcc}${f.compressed ? ' (compressed)' : ''}`).join(', ') || '—'),
    );
    this.light.checked = cam.light;
    this.lightSwitch.hidden = !cam.has_light;
    this.lightLevelRow.hidden = cam.light_brightness === null;
    this.lightLevel.disabled = !cam.enabled;
    if (cam.light_brightness !== null && !this.fresh('light_brightness')) this.lightLevel.value = String(cam.light_brightness);
    this.lightLevelOut.textContent = cam.light_brightness === null ? '' : this.lightLevel.value;
    this.enabled.checked = cam.enabled;
    this.motion.checked = cam.motion;
    this.haButton.disabled = !cam.enabled;
    for (const k of RANGE_KEYS) {
      const input = this.inputs.get(k) as HTMLInputElement;
      const v = cam.controls[k];
      input.disabled = v === null || !cam.exists;
      input.title = v === null ? 'This camera has no such control' : '';
      if (!this.fresh(k) && v !== null) input.value = String(v);
      this.outputs.get(k)!.textContent = v === null ? '—' : input.value;
    }
    for (const k of SWITCH_KEYS) {
      const input = this.inputs.get(k) as HTMLInputElement;
      const v = cam.controls[k];
      input.disabled = v === null || !cam.exists;
      if (!this.fresh(k)) input.checked = v === true;
    }
    this.fillSelect('resolution', cam.resolutions.map((r) => [r, r]), cam.controls.resolution);
    this.fillSelect('fps', cam.fps_options.map((f) => [String(f), `${f}`]), cam.controls.fps === null ? null : String(cam.controls.fps));
    const inputs = cam.capabilities.inputs ?? [];
    this.fillSelect('sensor', inputs.map((i) => [String(i.sensor), i.name || `Input ${i.sensor}`]), cam.controls.sensor === null ? null : String(cam.controls.sensor));
    this.deviceControls.update(cam);
    this.mainButton.hidden = this.isMain || this.slot === null;
    this.record.value = cam.record;
    this.record.disabled = !this.isMain;
    this.recordNote.textContent = this.isMain ? '' : 'Recording is controlled on the main camera';
  }

  private fillSelect(key: string, options: [string, string][], value: string | null): void {
    const select = this.inputs.get(key) as HTMLSelectElement;
    const same = select.options.length === options.length && options.every(([v], i) => select.options[i]?.value === v);
    if (!same) select.replaceChildren(...options.map(([v, label]) => h('option', { value: v }, label)));
    if (value !== null && !options.some(([v]) => v === value)) select.append(h('option', { value }, value));
    select.disabled = options.length === 0 || !this.cam.exists;
    if (!this.fresh(key) && value !== null) select.value = value;
  }

  /** Applies a few changed controls (from a broadcast) without a re-read. */
  patch(changes: Record<string, unknown>): void {
    const controls = { ...this.cam.controls } as Record<string, unknown>;
    const next: CameraView = { ...this.cam };
    for (const [k, v] of Object.entries(changes)) {
      if (k in controls) controls[k] = v;
      else if (k === 'light' && typeof v === 'boolean') next.light = v;
      else if (k === 'light_brightness' && (typeof v === 'number' || v === null)) next.light_brightness = v;
      else if (k === 'record' && (v === 'on' || v === 'off' || v === 'pause')) next.record = v;
      else if (k === 'motion' && typeof v === 'boolean') next.motion = v;
    }
    next.controls = controls as CameraView['controls'];
    this.update(next);
  }

  private queue(key: string, value: unknown): void {
    this.editedAt.set(key, Date.now());
    this.pending[key] = value;
    this.sendTimer ??= window.setTimeout(() => {
      this.sendTimer = null;
      const controls = this.pending;
      this.pending = {};
      void this.send({ controls }, ...Object.keys(controls));
    }, SEND_EVERY_MS);
  }

  private async send(payload: Record<string, unknown>, ...keys: string[]): Promise<void> {
    try {
      const view = await this.backend.request<CameraView>('cameras', 'update', this.cam.id, payload);
      this.say('');
      this.update(view);
    } catch (err) {
      for (const k of keys) this.editedAt.delete(k);
      this.say(`Could not change ${keys.map((k) => (k.startsWith(DEVICE_PREFIX) ? (this.cam.device_controls?.[k.slice(DEVICE_PREFIX.length)]?.label ?? k.slice(DEVICE_PREFIX.length)) : label(k)).toLowerCase()).join(', ')}: ${describe(err)}`, true);
      this.update(this.cam);
    }
  }

  private setRecord(value: string): void {
    if (!this.backend.state.set({ record: value })) this.say('Recording cannot be changed: the camera state connection is not open.', true);
  }

  private async readLiveView(): Promise<void> {
    try {
      await this.backend.http('GET', `/api/cameras/${encodeURIComponent(this.cam.id)}/live-view`);
      this.setLiveView(true);
    } catch (err) {
      if (err instanceof PanelError && err.code === 404) this.setLiveView(false);
    }
  }

  /** The live view entry came or went (this panel, the MQTT switch, the card). */
  setLiveView(on: boolean): void {
    this.liveView = on;
    this.haButton.textContent = on ? 'Remove from Home Assistant' : 'Show in Home Assistant';
  }

  /** DELETE /api/cameras/:id/live-view: removes the Generic Camera entry from HA. */
  private async removeFromHomeAssistant(): Promise<void> {
    this.haButton.disabled = true;
    this.say('Removing the live view from Home Assistant…');
    try {
      await this.backend.http('DELETE', `/api/cameras/${encodeURIComponent(this.cam.id)}/live-view`);
      this.setLiveView(false);
      this.say('Removed from Home Assistant.');
    } catch (err) {
      this.say(`Could not remove the camera from Home Assistant: ${describe(err)}`, true);
    } finally {
      this.haButton.disabled = !this.cam.enabled;
    }
  }

  /** POST /api/cameras/:id/live-view: the Generic Camera entry in HA (made once; a second click only reports it). */
  private async showInHomeAssistant(): Promise<void> {
    this.haButton.disabled = true;
    this.say('Adding the camera to Home Assistant…');
    try {
      const r = await this.backend.http<{ entity_id: string | null; created: boolean }>('POST', `/api/cameras/${encodeURIComponent(this.cam.id)}/live-view`);
      const entity = r.entity_id ? ` as ${r.entity_id}` : '';
      this.setLiveView(true);
      this.say(r.created ? `Added to Home Assistant${entity}. Put it on a dashboard to watch it live.` : `Already in Home Assistant${entity}.`);
    } catch (err) {
      this.say(`Could not add the camera to Home Assistant: ${describe(err)}`, true);
    } finally {
      this.haButton.disabled = !this.cam.enabled;
    }
  }

  say(text: string, isError = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', isError);
  }

  private streamUrl(): string {
    return this.backend.url(`/api/cameras/${encodeURIComponent(this.cam.id)}/stream.mjpeg?token=${encodeURIComponent(this.backend.token)}`);
  }

  private idleOverlay(): void {
    clear(this.overlay, h('span', { class: 'muted' }, 'Live view is off'));
    this.overlay.hidden = false;
  }

  startLive(): void {
    this.watching = true;
    this.watchButton.textContent = 'Stop live view';
    if (!this.visible) return;
    clear(this.overlay, spinner(), h('span', {}, ' Starting the stream…'));
    this.overlay.hidden = false;
    this.img.src = this.streamUrl();
    const began = Date.now();
    // An MJPEG <img> has no dependable "first frame" event: watch for the first decoded frame.
    const check = () => {
      if (!this.watching) return;
      if (this.img.naturalWidth > 0) {
        this.overlay.hidden = true;
        this.startWatch = null;
        return;
      }
      if (Date.now() - began > 5000) clear(this.overlay, spinner(), h('span', {}, ' Still starting the camera…'));
      this.startWatch = window.setTimeout(check, 200);
    };
    check();
  }

  stopLive(keepWanted = false): void {
    if (this.startWatch !== null) clearTimeout(this.startWatch);
    this.startWatch = null;
    this.img.removeAttribute('src');
    if (!keepWanted) {
      this.watching = false;
      this.watchButton.textContent = 'Start live view';
      this.idleOverlay();
    }
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    // Hidden pages hold no stream: leaving the page releases the camera's demand.
    if (!visible && this.watching) this.stopLive(true);
    if (visible && this.watching) this.startLive();
  }

  private async liveFailed(): Promise<void> {
    if (!this.watching || !this.img.getAttribute('src')) return;
    this.stopLive();
    const reason = await this.fetchProblem(this.streamUrl());
    clear(this.overlay, h('span', { class: 'error' }, `The live view is not available: ${reason}`));
    this.overlay.hidden = false;
  }

  /** Why a stream/snapshot URL fails, in words (an <img> error says nothing). */
  private async fetchProblem(url: string): Promise<string> {
    const ctl = new AbortController();
    try {
      const res = await fetch(url, { signal: ctl.signal });
      if (res.ok) return 'the stream ended.';
      const data: unknown = await res.json().catch(() => null);
      const err = replyError(data, res.status);
      if (res.status === 404 && err?.message.startsWith('No route')) return 'this server has no camera streams.';
      return err ? describe(err) : `the server answered ${res.status}.`;
    } catch (e) {
      return describe(e);
    } finally {
      ctl.abort();
    }
  }

  private async takeSnapshot(): Promise<void> {
    this.snapButton.disabled = true;
    this.snapButton.replaceChildren(spinner(), ' Taking snapshot…');
    try {
      const res = await fetch(this.backend.url(`/api/cameras/${encodeURIComponent(this.cam.id)}/snapshot.jpg`), { headers: { authorization: `Bearer ${this.backend.token}` } });
      if (!res.ok) {
        const err = replyError(await res.json().catch(() => null), res.status);
        if (res.status === 404 && err?.message.startsWith('No route')) throw new PanelError('Snapshots are not available on this server.');
        throw err ?? new PanelError(`The server answered ${res.status}.`);
      }
      const url = URL.createObjectURL(await res.blob());
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      clear(this.snapshot, h('a', { href: url, download: `${this.cam.name}-${stamp}.jpg`, title: 'Download the snapshot' }, h('img', { src: url, alt: 'Snapshot' })));
      this.say('Snapshot taken. Select it to download.');
    } catch (err) {
      this.say(`Could not take a snapshot: ${describe(err)}`, true);
    } finally {
      this.snapButton.disabled = false;
      this.snapButton.textContent = 'Snapshot';
    }
  }
}
