// Monitors: online state, last command and result, and a command box. Commands go through the HTTP
// API (POST /api/monitors/:id/command), which Home Assistant ingress forwards like the panel itself.
// Admins add monitors, rotate their keys and delete them through the `monitors` module (the API's
// own checks and error messages).
import type { Backend } from '../backend.js';
import type { MonitorView } from '../../../src/services/monitors/records.js';
import { clear, h, since, spinner } from '../dom.js';
import { describe } from '../errors.js';
import { actionForm, buttonAction, deleteButton, field } from '../forms.js';
import type { Page } from '../page.js';

type Progress = (text: string, state: 'working' | 'done' | 'error') => void;

/** One command through POST /api/monitors/:id/command: resolves once the monitor finished (or failed) it. */
async function sendCommand(backend: Backend, id: string, command: string, progress: Progress): Promise<void> {
  progress('Sent. Waiting for the monitor to finish…', 'working');
  try {
    await backend.http('POST', `/api/monitors/${encodeURIComponent(id)}/command`, { command });
    progress('Done: the monitor finished the command.', 'done');
  } catch (err) {
    progress(`The command failed: ${describe(err)}`, 'error');
  }
}

class MonitorCard {
  readonly el: HTMLElement;
  private readonly title = h('h2', {});
  private readonly badge = h('span', { class: 'badge' });
  private readonly facts = h('dl', { class: 'facts' });
  private readonly input = h('input', { name: 'command', placeholder: 'Command', maxlength: 1024, autocomplete: 'off', 'aria-label': 'Command' });
  private readonly button = h('button', { type: 'submit', class: 'primary' }, 'Send');
  private readonly reply = h('p', { class: 'status', role: 'status', 'data-role': 'reply' });
  private readonly manage: HTMLElement | null;
  private view: MonitorView;

  constructor(
    private readonly backend: Backend,
    view: MonitorView,
  ) {
    this.view = view;
    const form = h('form', { class: 'command' }, this.input, this.button);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.send();
    });
    this.manage = backend.user.role === 'admin' ? this.manageBox() : null;
    this.el = h('article', { class: 'card monitor', 'data-monitor-id': view.monitor_id }, h('header', { class: 'card-head' }, this.title, this.badge), this.facts, form, this.reply, this.manage);
    this.update(view);
  }

  update(view: MonitorView): void {
    this.view = view;
    this.title.textContent = view.name;
    this.badge.textContent = view.online ? 'Online' : 'Offline';
    this.badge.className = `badge ${view.online ? 'ok' : 'warn'}`;
    this.el.dataset.online = String(view.online);
    clear(
      this.facts,
      h('dt', {}, 'Monitor id'),
      h('dd', {}, view.monitor_id),
      h('dt', {}, 'Key'),
      h('dd', { 'data-fact': 'key' }, view.has_key ? 'Set' : 'None (the monitor connects without a key)'),
      h('dt', {}, 'Last seen'),
      h('dd', {}, since(view.last_seen)),
      h('dt', {}, 'Last command'),
      h('dd', { 'data-fact': 'last-command' }, view.last_command ?? '—'),
      h('dt', {}, 'Last result'),
      h('dd', { 'data-fact': 'last-result' }, view.last_result ?? '—'),
      view.pending ? h('dt', {}, 'Waiting') : null,
      view.pending ? h('dd', {}, `${view.pending} command(s)`) : null,
    );
  }

  /** Admin: a new key (connections made with the old one end at once), and deletion. */
  private manageBox(): HTMLElement {
    const status = h('p', { class: 'status', role: 'status' });
    const key = h('input', { name: 'key', type: 'password', autocomplete: 'new-password', placeholder: 'New key', title: 'At least 8 characters', 'aria-label': 'New key' });
    const rotate = h('button', { type: 'button' }, 'Change key');
    rotate.addEventListener('click', () => {
      void buttonAction(rotate, status, async () => {
        await this.backend.request<MonitorView>('monitors', 'update', this.view.id, { key: key.value });
        key.value = '';
        return 'Key changed. The monitor must connect with the new key.';
      });
    });
    const remove = deleteButton({
      label: 'Delete monitor',
      confirm: 'Really delete?',
      status,
      action: async () => {
        await this.backend.request<MonitorView>('monitors', 'delete', this.view.id);
        return 'Deleted.';
      },
    });
    return h('details', {}, h('summary', {}, 'Manage'), h('div', { class: 'actions' }, key, rotate), h('div', { class: 'actions' }, remove), status);
  }

  private async send(): Promise<void> {
    const command = this.input.value.trim();
    if (!command) {
      this.show('Type a command first.', 'error');
      return;
    }
    if (!this.view.online) {
      this.show('This monitor is offline: it cannot take commands now.', 'error');
      return;
    }
    this.button.disabled = true;
    await sendCommand(this.backend, this.view.id, command, (text, state) => this.show(text, state));
    this.button.disabled = false;
  }

  private show(text: string, state: 'working' | 'done' | 'error'): void {
    clear(this.reply, state === 'working' ? spinner() : null, state === 'working' ? ' ' : null, text);
    this.reply.className = `status ${state === 'error' ? 'error' : state === 'done' ? 'ok' : ''}`;
  }
}

export function createMonitorsPage(backend: Backend): Page {
  const list = h('div', { class: 'grid' });
  const notice = h('p', { class: 'notice', role: 'status' });
  let addCard: HTMLElement | null = null;
  if (backend.user.role === 'admin') {
    const name = h('input', { name: 'name', autocomplete: 'off', required: true });
    const monitorId = h('input', { name: 'monitor_id', autocomplete: 'off', required: true });
    const key = h('input', { name: 'key', type: 'password', autocomplete: 'new-password' });
    const add = actionForm({
      label: 'Add a monitor',
      submit: 'Add monitor',
      fields: [field('Name', name), field('Monitor id (what the monitor sends when it connects)', monitorId), field('Key (at least 8 characters; empty: none)', key)],
      action: async () => {
        const payload: Record<string, string> = { monitor_id: monitorId.value, name: name.value };
        if (key.value) payload.key = key.value;
        const m = await backend.request<MonitorView>('monitors', 'create', undefined, payload);
        name.value = monitorId.value = key.value = '';
        void load();
        return `Added ${m.name}. It appears online when it connects.`;
      },
    });
    addCard = h('article', { class: 'card' }, h('h2', {}, 'Add a monitor'), add.el);
  }
  const el = h('section', { class: 'page', 'aria-label': 'Monitors' }, h('h1', {}, 'Monitors'), notice, list, addCard);
  const cards = new Map<string, MonitorCard>();
  let timer: number | null = null;

  const load = async () => {
    try {
      const monitors = await backend.listAll<MonitorView>('monitors');
      notice.textContent = monitors.length ? '' : backend.user.role === 'admin' ? 'No monitors yet. Add one below.' : 'No monitors yet. An admin adds them here.';
      notice.classList.remove('error');
      const seen = new Set(monitors.map((m) => m.id));
      for (const m of monitors) {
        const card = cards.get(m.id);
        if (card) card.update(m);
        else {
          const c = new MonitorCard(backend, m);
          cards.set(m.id, c);
          list.append(c.el);
        }
      }
      for (const [id, c] of cards) {
        if (seen.has(id)) continue;
        c.el.remove();
        cards.delete(id);
      }
    } catch (err) {
      notice.textContent = `Monitors are not available: ${describe(err)}`;
      notice.classList.add('error');
    }
  };
  const soon = () => {
    if (timer !== null) return;
    timer = window.setTimeout(() => {
      timer = null;
      void load();
    }, 150);
  };
  backend.onStatus('monitor', soon);
  backend.socket.on('connect', soon);

  return { id: 'monitors', title: 'Monitors', el, show: () => void load(), hide: () => undefined };
}
