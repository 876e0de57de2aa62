// The "All controls" section of a camera card: every simple control the device offers that no
// catalog setting serves (flips, focus, menus, buttons, read-only values), one row each.
import type { CameraView } from '../../../../src/camera/cameraRecord.js';
import type { DeviceControlView } from '../../../../src/camera/deviceControls.js';
import { h } from '../../dom.js';

type ControlInput = HTMLInputElement | HTMLSelectElement | HTMLButtonElement | HTMLOutputElement;

export class DeviceControlsSection {
  readonly el = h('div', { class: 'controls', 'data-section': 'device-controls' });
  private readonly inputs = new Map<string, ControlInput>();
  private names = '';

  /**
   * `change` sends a control's new value (the card owns sending and its error line); `fresh` says
   * whether the user edited that control a moment ago, so an incoming value must not overwrite it.
   */
  constructor(
    private readonly change: (name: string, value: unknown) => void,
    private readonly fresh: (name: string) => boolean,
  ) {}

  /** Rows are rebuilt when the device's set of controls changes, else only their values and states. */
  update(cam: CameraView): void {
    const own = Object.entries(cam.device_controls ?? {}).filter(([, d]) => !d.served_by);
    const names = own.map(([n]) => n).join(',');
    if (names !== this.names) {
      this.names = names;
      this.inputs.clear();
      this.el.replaceChildren(...own.map(([n, d]) => this.row(n, d)));
      if (!own.length) this.el.append(h('p', { class: 'muted' }, cam.exists ? 'This camera offers no further controls.' : 'Shown while the camera is connected.'));
    }
    for (const [name, d] of own) {
      const input = this.inputs.get(name);
      if (!input) continue;
      input.title = d.inactive ? 'Inactive: another control decides it now' : '';
      if (input instanceof HTMLOutputElement) {
        input.textContent = d.value === null ? '—' : String(d.value);
        continue;
      }
      input.disabled = !cam.exists || !cam.enabled || d.inactive;
      if (this.fresh(name) || d.value === null) continue;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = d.value === true;
      else if (!(input instanceof HTMLButtonElement)) input.value = String(d.value);
    }
  }

  private row(name: string, d: DeviceControlView): HTMLElement {
    const send = (value: unknown) => this.change(name, value);
    const text = h('span', {}, d.unit ? `${d.label} (${d.unit})` : d.label);
    let input: ControlInput;
    if (d.read_only) input = h('output', { 'data-control': name });
    else if (d.type === 'button') {
      input = h('button', { type: 'button', 'data-control': name }, 'Press');
      input.addEventListener('click', () => send(true));
    } else if (d.type === 'boolean') {
      const box = h('input', { type: 'checkbox', role: 'switch', name, 'data-control': name });
      box.addEventListener('change', () => send(box.checked));
      input = box;
    } else if (d.options) {
      const select = h('select', { name, 'aria-label': d.label, 'data-control': name }, ...d.options.map((o) => h('option', { value: String(o.value) }, o.label)));
      select.addEventListener('change', () => send(Number(select.value)));
      input = select;
    } else {
      const num = h('input', { type: 'number', min: d.min, max: d.max, step: d.step > 0 ? d.step : 1, name, 'aria-label': d.label, 'data-control': name });
      num.addEventListener('change', () => send(Number(num.value)));
      input = num;
    }
    this.inputs.set(name, input);
    return h('label', { class: d.type === 'boolean' ? 'row switch' : 'row' }, text, input);
  }
}
