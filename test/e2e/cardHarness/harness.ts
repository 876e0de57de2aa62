// Runs in the browser: builds the `hass` object the way HA's frontend does (home-assistant-js-websocket
// connection, subscribe_entities for states, the entity/device registry lists, callService over
// the socket) against the HA peer, and mounts the card with it. Query: ?hass=<peer url>&token=…
// &config=<card config JSON>&dark=1&stream=1. Exposes window.harness: readiness and the probes the
// test runs inside the page.
import { callService, createConnection, createLongLivedTokenAuth, subscribeEntities, type HassEntities } from 'home-assistant-js-websocket';
import type { CardConfig, DeviceRegistryEntry, EntityRegistryDisplayEntry, HomeAssistant } from '../../../card/src/hass.js';

interface CardElement extends HTMLElement {
  hass?: HomeAssistant;
  setConfig(config: CardConfig): void;
}

interface DisplayList {
  entities: { ei: string; di?: string; en?: string; pl?: string; hb?: boolean }[];
}

/** HA's default theme values (frontend src/resources/theme), light and dark, as the frontend sets them. */
const THEME = {
  light: { '--primary-color': '#009ac7', '--primary-text-color': '#141414', '--secondary-text-color': '#5e5e5e', '--card-background-color': '#ffffff', '--primary-background-color': '#fafafa', '--secondary-background-color': '#e5e5e5', '--divider-color': 'rgba(0, 0, 0, 0.12)', '--error-color': '#db4437', '--warning-color': '#ffa600', '--info-color': '#039be5', '--text-primary-color': '#ffffff' },
  dark: { '--primary-color': '#009ac7', '--primary-text-color': '#e1e1e1', '--secondary-text-color': '#9b9b9b', '--card-background-color': '#1c1c1c', '--primary-background-color': '#111111', '--secondary-background-color': '#282828', '--divider-color': 'rgba(225, 225, 225, 0.12)', '--error-color': '#db4437', '--warning-color': '#ffa600', '--info-color': '#039be5', '--text-primary-color': '#ffffff' },
};

const q = new URLSearchParams(location.search);
// stream=1: the frontend has loaded its ha-camera-stream (a stand-in that keeps what it is given).
if (q.get('stream') === '1') customElements.define('ha-camera-stream', class extends HTMLElement {});

const cardRoot = () => document.querySelector('switchboard-camera-card')!.shadowRoot!;

async function main(): Promise<void> {
  const hassUrl = q.get('hass')!;
  const dark = q.get('dark') === '1';
  for (const [k, v] of Object.entries(dark ? THEME.dark : THEME.light)) document.documentElement.style.setProperty(k, v);
  document.body.style.background = 'var(--primary-background-color)';

  const connection = await createConnection({ auth: createLongLivedTokenAuth(hassUrl, q.get('token')!) });
  const [display, deviceList] = await Promise.all([
    connection.sendMessagePromise<DisplayList>({ type: 'config/entity_registry/list_for_display' }),
    connection.sendMessagePromise<DeviceRegistryEntry[]>({ type: 'config/device_registry/list' }),
  ]);
  const entities: Record<string, EntityRegistryDisplayEntry> = {};
  for (const e of display.entities) entities[e.ei] = { entity_id: e.ei, device_id: e.di, name: e.en, platform: e.pl, hidden: e.hb };
  const devices = Object.fromEntries(deviceList.map((d) => [d.id, d]));

  const card = document.createElement('switchboard-camera-card') as CardElement;
  card.setConfig(JSON.parse(q.get('config') ?? '{}') as CardConfig);
  const base: Omit<HomeAssistant, 'states'> = {
    entities,
    devices,
    connection,
    language: 'en',
    themes: { darkMode: dark, theme: 'default' },
    callService: (domain, service, data, target) => callService(connection, domain, service, data, target),
    hassUrl: (path = '') => new URL(path, hassUrl).toString(),
  };
  // The frontend hands every card a new hass object on each state change.
  subscribeEntities(connection, (states: HassEntities) => {
    card.hass = { ...base, states };
    harness.updates++;
  });
  document.getElementById('slot')!.append(card);
  harness.ready = true;
}

const harness = {
  ready: false,
  updates: 0,
  error: '',
  /** naturalWidth of the card's picture once loaded (0 while not). */
  pictureWidth(view: string): number {
    const img = cardRoot().querySelector<HTMLImageElement>(`img[data-view="${view}"]`);
    return img?.complete ? img.naturalWidth : 0;
  },
  focusedControl(): string | null {
    return cardRoot().activeElement?.getAttribute('data-control') ?? null;
  },
  /** What the card handed to ha-camera-stream. */
  liveStream(): [string, boolean, string] | null {
    const el = cardRoot().querySelector('ha-camera-stream') as (HTMLElement & { stateObj?: { entity_id: string }; hass?: HomeAssistant }) | null;
    return el ? [el.stateObj?.entity_id ?? '', el.hasAttribute('controls'), typeof el.hass?.callService] : null;
  },
  /** What setConfig throws for a config (HA shows it in an error card); '' when accepted. */
  configError(config: unknown): string {
    const probe = document.createElement('switchboard-camera-card') as CardElement;
    try {
      probe.setConfig(config as CardConfig);
      return '';
    } catch (err) {
      return String((err as Error).message);
    }
  },
  /** The dashboard editor's steps: stub config, editor element, device choice → config-changed. */
  async editor(): Promise<{ stub: unknown; tag: string; options: [string, string | null][]; detail: unknown }> {
    type CardClass = CustomElementConstructor & { getStubConfig(h: unknown): unknown; getConfigElement(): HTMLElement };
    const cls = customElements.get('switchboard-camera-card') as CardClass;
    const hass = (document.querySelector('switchboard-camera-card') as CardElement).hass;
    const editor = cls.getConfigElement() as HTMLElement & { hass: unknown; setConfig(c: unknown): void; updateComplete: Promise<unknown> };
    editor.hass = hass;
    editor.setConfig({ type: 'custom:switchboard-camera-card' });
    document.body.append(editor);
    await editor.updateComplete;
    const select = editor.shadowRoot!.querySelector('select')!;
    const options = [...select.options].map((o): [string, string | null] => [o.value, o.textContent]);
    const changed = new Promise<unknown>((resolve) => editor.addEventListener('config-changed', (e) => resolve((e as CustomEvent).detail), { once: true }));
    select.value = [...select.options].at(-1)!.value;
    select.dispatchEvent(new Event('change'));
    return { stub: cls.getStubConfig(hass), tag: editor.tagName.toLowerCase(), options, detail: await changed };
  },
};
(window as unknown as { harness: typeof harness }).harness = harness;
main().catch((err: unknown) => {
  harness.error = String(err);
});
