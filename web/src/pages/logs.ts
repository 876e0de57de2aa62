// Logs: the add-on's log lines as the NestMTX socket streams them (`log`, the last 100 replayed on
// connect), filtered by level. Levels are the NestMTX document's numbers (20 trace … 70 fatal).
import type { LogEntry } from '../../../src/logging/logger.js';
import type { Backend } from '../backend.js';
import { h } from '../dom.js';
import type { Page } from '../page.js';

const LEVELS: [number, string][] = [
  [20, 'trace'],
  [30, 'debug'],
  [40, 'info'],
  [50, 'warn'],
  [60, 'error'],
  [70, 'fatal'],
];
const levelName = (n: number) => LEVELS.find(([v]) => v === n)?.[1] ?? String(n);
const MAX_LINES = 1000;

export function createLogsPage(backend: Backend): Page {
  const filter = h('select', { name: 'level', 'aria-label': 'Lowest level shown' }, ...LEVELS.map(([v, n]) => h('option', { value: v }, `${n} and above`)));
  filter.value = '40';
  const follow = h('input', { type: 'checkbox', checked: true, name: 'follow' });
  const box = h('div', { class: 'log-lines', role: 'log', 'aria-live': 'off' });
  const count = h('span', { class: 'muted' });
  const el = h(
    'section',
    { class: 'page', 'aria-label': 'Logs' },
    h('h1', {}, 'Logs'),
    // The server sends log lines to admins only (logs.read): say so rather than show an empty box.
    backend.user.role === 'admin' ? null : h('p', { class: 'notice' }, `Server logs are shown to admins only; you are signed in as ${backend.user.role}.`),
    h('div', { class: 'toolbar' }, h('label', {}, 'Show ', filter), h('label', { class: 'switch' }, follow, h('span', {}, 'Follow new lines')), count),
    box,
  );
  const lines: LogEntry[] = [];

  const row = (l: LogEntry) =>
    h(
      'div',
      { class: `log-line level-${levelName(l.level)}`, 'data-level': l.level },
      h('time', { datetime: l.timestamp }, new Date(l.time).toLocaleTimeString()),
      h('span', { class: 'lvl' }, levelName(l.level)),
      h('span', { class: 'svc' }, l.service ?? ''),
      h('span', { class: 'msg' }, l.msg),
    );

  const visible = (l: LogEntry) => l.level >= Number(filter.value);
  const showCount = () => (count.textContent = `${box.childElementCount} of ${lines.length} lines`);

  const redraw = () => {
    box.replaceChildren(...lines.filter(visible).map(row));
    showCount();
    if (follow.checked) box.scrollTop = box.scrollHeight;
  };
  filter.addEventListener('change', redraw);

  backend.socket.on('connect', () => {
    // The server replays its last lines to every new connection: start from those.
    lines.length = 0;
    box.replaceChildren();
  });
  backend.onLog((l) => {
    lines.push(l);
    if (lines.length > MAX_LINES) {
      const dropped = lines.shift()!;
      if (visible(dropped)) box.firstElementChild?.remove();
    }
    if (visible(l)) {
      box.append(row(l));
      if (follow.checked) box.scrollTop = box.scrollHeight;
    }
    showCount();
  });

  return { id: 'logs', title: 'Logs', el, show: redraw, hide: () => undefined };
}
