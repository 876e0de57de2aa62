// Status: the add-on's own parts (MQTT, Home Assistant bridge, cameras, …) and connected clients per
// protocol from GET /api/health, the version, and this page's own connections.
import type { Backend, LinkState } from '../backend.js';
import type { MqttBridge } from '../../../src/bridges/mqtt/mqttBridge.js';
import type { Health } from '../../../src/services/system/statusService.js';
import { clear, h } from '../dom.js';
import { describe } from '../errors.js';
import type { Page } from '../page.js';

/** GET /api/mqtt/broker (admins only): how to reach the embedded broker. */
type EmbeddedBroker = NonNullable<ReturnType<MqttBridge['embeddedBroker']>>;

const COMPONENT_NAMES: Record<string, string> = {
  mqtt: 'MQTT broker',
  homeassistant: 'Home Assistant',
  cameras: 'Cameras',
  data_store: 'Data store',
  media_store: 'Media folder',
  ffmpeg: 'ffmpeg (streams, snapshots, recording)',
};
/** Stores are not connections: their states read differently. */
const STORE_STATE_WORDS: Record<string, [string, string]> = {
  ok: ['Writable', 'ok'],
  error: ['Cannot be written — changes are refused', 'error'],
};
const isStore = (name: string) => name.endsWith('_store');
/** Programs Switchboard runs (ffmpeg): they work or not; the detail says why and which option. */
const PROGRAM_STATE_WORDS: Record<string, [string, string]> = {
  ok: ['Working', 'ok'],
  error: ['Not working — streams and recordings are refused', 'error'],
};
const isProgram = (name: string) => name === 'ffmpeg';
const STATE_WORDS: Record<string, [string, string]> = {
  ok: ['Connected', 'ok'],
  connecting: ['Connecting…', 'accent'],
  disconnected: ['Disconnected', 'error'],
  disabled: ['Turned off', ''],
  error: ['Error', 'error'],
};
const PROTOCOL_NAMES: Record<string, string> = {
  nestmtx: 'NestMTX Socket.IO',
  antimony: 'Antimony namespaces',
  rotoclear: 'Rotoclear /api/v1',
  altoponix: 'Altoponix monitor relay',
  mqtt: 'MQTT',
};
const POLL_MS = 5000;

function duration(s: number): string {
  const d = Math.floor(s / 86_400);
  const hrs = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hrs} h` : hrs ? `${hrs} h ${m} min` : `${m} min ${s % 60} s`;
}

const linkWords = (s: LinkState) => (s === 'connected' ? ['Connected', 'ok'] : s === 'connecting' ? ['Connecting…', 'accent'] : ['Disconnected', 'error']);

export function createStatusPage(backend: Backend): Page {
  const summary = h('div', { class: 'card' });
  const components = h('div', { class: 'card' });
  const clients = h('div', { class: 'card' });
  const mine = h('div', { class: 'card' });
  const broker = h('div', { class: 'card', hidden: true });
  const notice = h('p', { class: 'notice', role: 'status' });
  const el = h('section', { class: 'page', 'aria-label': 'Status' }, h('h1', {}, 'Status'), notice, h('div', { class: 'grid' }, summary, components, clients, mine, broker));
  let timer: number | null = null;

  /** [label, value, badge tone?, detail?] rows. */
  const table = (rows: [string, string, string?, string?][]) =>
    h(
      'dl',
      { class: 'facts' },
      ...rows.flatMap(([k, v, tone, detail]) => [
        h('dt', {}, k),
        h('dd', {}, tone === undefined ? v : h('span', { class: `badge ${tone}` }, v), detail ? h('span', { class: 'muted detail' }, detail) : null),
      ]),
    );

  const drawMine = () =>
    clear(
      mine,
      h('h2', {}, 'This panel'),
      table([
        ['Live updates (Socket.IO)', ...(linkWords(backend.linkState) as [string, string])],
        ['Camera state (/api/v1)', ...(linkWords(backend.state.linkState) as [string, string])],
        ['Signed in as', `${backend.user.username} (${backend.user.role})`],
        ['Opened through', backend.boot.ingress ? 'Home Assistant ingress' : 'the direct port'],
      ]),
    );
  backend.onLink(drawMine);
  backend.state.onLink(drawMine);

  /** Admins see the embedded broker's credentials (other roles are refused by the server anyway). */
  const loadBroker = async () => {
    if (backend.user.role !== 'admin') return;
    try {
      const b = await backend.http<EmbeddedBroker>('GET', '/api/mqtt/broker');
      broker.hidden = false;
      clear(
        broker,
        h('h2', {}, 'Embedded MQTT broker'),
        table([
          ['Address', `${b.host}:${b.port}`],
          ['User name', b.username],
          ['Password', b.password],
        ]),
        h('p', { class: 'muted' }, `mosquitto_sub -h ${b.host} -p ${b.port} -u ${b.username} -P '<password>' -t '#' -v`),
      );
    } catch {
      // 404: the embedded broker is not in use; nothing to show.
      broker.hidden = true;
    }
  };

  const load = async () => {
    try {
      const res = await fetch(backend.url('/api/health'));
      const health = (await res.json()) as Health;
      notice.textContent = '';
      notice.classList.remove('error');
      clear(
        summary,
        h('h2', {}, 'Switchboard'),
        table([
          ['Overall', health.status === 'ok' ? 'Healthy' : 'Degraded', health.status === 'ok' ? 'ok' : 'warn'],
          ['Version', health.version],
          ['Running for', duration(health.uptime)],
        ]),
      );
      const comps = Object.entries(health.components);
      clear(
        components,
        h('h2', {}, 'Connections'),
        comps.length
          ? table(
              comps.map(([name, c]) => {
                const [words, tone] = (isStore(name) ? STORE_STATE_WORDS[c.state] : isProgram(name) ? PROGRAM_STATE_WORDS[c.state] : STATE_WORDS[c.state]) ?? [c.state, ''];
                return [COMPONENT_NAMES[name] ?? name, words, tone, c.detail] as [string, string, string, string?];
              }),
            )
          : h('p', { class: 'muted' }, 'No components have reported yet.'),
      );
      const cl = Object.entries(health.clients);
      clear(clients, h('h2', {}, 'Connected clients'), cl.length ? table(cl.map(([p, n]) => [PROTOCOL_NAMES[p] ?? p, String(n)])) : h('p', { class: 'muted' }, 'None.'));
    } catch (err) {
      notice.textContent = `The status cannot be read: ${describe(err)}`;
      notice.classList.add('error');
    }
  };

  return {
    id: 'status',
    title: 'Status',
    el,
    show() {
      drawMine();
      void load();
      void loadBroker();
      timer = window.setInterval(() => void load(), POLL_MS);
    },
    hide() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}
