// Labs: state, deploy/destroy through Antimony's `/lab-commands`, live updates from `/lab-updates`
// and a node's live log from `/logs/<labId>/<node>`.
import type { Socket } from 'socket.io-client';
import type { Backend } from '../backend.js';
import type { LabView } from '../../../src/services/labs/records.js';
import { clear, h, spinner } from '../dom.js';
import { antimonyError, describe, PanelError } from '../errors.js';
import type { Page } from '../page.js';

const STATE: Record<number, { text: string; tone: string; busy?: boolean }> = {
  [-2]: { text: 'Scheduled', tone: '' },
  [-1]: { text: 'Inactive', tone: '' },
  0: { text: 'Deploying…', tone: 'accent', busy: true },
  1: { text: 'Running', tone: 'ok' },
  2: { text: 'Stopping…', tone: 'accent', busy: true },
  3: { text: 'Failed', tone: 'error' },
};
const stateOf = (s: number) => STATE[s] ?? { text: `State ${s}`, tone: '' };
const MAX_LOG_LINES = 500;

export function createLabsPage(backend: Backend): Page {
  const list = h('div', { class: 'grid' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const logTitle = h('h2', {}, 'Node log');
  const logBox = h('pre', { class: 'log-box', 'aria-live': 'polite' });
  const logPanel = h('section', { class: 'card', hidden: true }, logTitle, logBox);
  const el = h('section', { class: 'page', 'aria-label': 'Labs' }, h('h1', {}, 'Labs'), notice, list, logPanel);
  let commands: Socket | null = null;
  let updates: Socket | null = null;
  let logSocket: Socket | null = null;
  const busy = new Set<string>();
  /** The last action's outcome per lab, kept across re-renders. */
  const notes = new Map<string, { text: string; error: boolean }>();
  let labs: LabView[] = [];

  const ensureSockets = () => {
    commands ??= backend.namespace('/lab-commands');
    if (!updates) {
      updates = backend.namespace('/lab-updates');
      updates.on('data', soon);
      updates.on('connect_error', (err: Error) => {
        notice.textContent = `Live lab updates are not available: ${describe(new PanelError(err.message))}`;
      });
    }
  };

  const command = (lab: LabView, cmd: 0 | 1) => {
    ensureSockets();
    busy.add(lab.id);
    notes.set(lab.id, { text: `${cmd === 0 ? 'Deploying' : 'Destroying'}… this can take a while.`, error: false });
    render();
    commands!.timeout(120_000).emit('data', { labId: lab.id, command: cmd }, (err: Error | null, ack: unknown) => {
      busy.delete(lab.id);
      const problem = err ? new PanelError('No answer from the lab runtime in time.') : antimonyError(ack);
      notes.set(lab.id, problem ? { text: `${cmd === 0 ? 'Deploy' : 'Destroy'} failed: ${describe(problem)}`, error: true } : { text: cmd === 0 ? 'Deployed.' : 'Destroyed.', error: false });
      void load();
    });
  };

  const openLog = (lab: LabView, node: LabView['nodes'][number]) => {
    logSocket?.close();
    logPanel.hidden = false;
    logTitle.textContent = `Log of ${node.name} in ${lab.name}`;
    clear(logBox, 'Connecting…');
    const socket = backend.namespace(`/logs/${lab.id}/${encodeURIComponent(node.name)}`, true);
    logSocket = socket;
    const add = (lines: string[]) => {
      if (logBox.textContent === 'Connecting…') logBox.textContent = '';
      logBox.append(...lines.map((l) => `${l.replace(/\n$/, '')}\n`));
      while (logBox.childNodes.length > MAX_LOG_LINES) logBox.firstChild?.remove();
      logBox.scrollTop = logBox.scrollHeight;
    };
    socket.on('backlog', (lines: unknown) => {
      clear(logBox);
      add(Array.isArray(lines) ? lines.map(String) : []);
      if (!logBox.textContent) logBox.textContent = '(no output yet)';
    });
    socket.on('data', (line: unknown) => add([String(line)]));
    socket.on('disconnect', (reason: string) => {
      if (reason !== 'io server disconnect' && reason !== 'transport close') return;
      add(['— the log ended (the lab or node stopped) —']);
      socket.close();
    });
    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      const problem = antimonyError(err.data) ?? new PanelError(err.message);
      clear(logBox, `The log is not available: ${describe(problem)} (node logs exist while the lab is running).`);
      socket.close();
    });
  };

  const card = (lab: LabView) => {
    const st = stateOf(lab.state);
    const working = busy.has(lab.id) || st.busy === true;
    const note = notes.get(lab.id);
    const text = working && !busy.has(lab.id) ? st.text : (note?.text ?? '');
    const status = h('p', { class: `status${note?.error && !working ? ' error' : ''}`, role: 'status' }, working ? spinner() : null, working ? ' ' : null, text);
    const deploy = h('button', { type: 'button', class: 'primary', disabled: working }, lab.state === 1 ? 'Redeploy' : 'Deploy');
    const destroy = h('button', { type: 'button', disabled: working || lab.state === -1 || lab.state === -2 }, 'Destroy');
    deploy.addEventListener('click', () => command(lab, 0));
    destroy.addEventListener('click', () => command(lab, 1));
    const nodes = lab.nodes.map((n) =>
      h(
        'li',
        {},
        h('button', { type: 'button', class: 'link', title: 'Show this node’s log', onclick: () => openLog(lab, n) }, n.name),
        h('span', { class: 'muted' }, ` ${n.kind} · ${stateOf(n.state).text}`),
      ),
    );
    return h(
      'article',
      { class: 'card', 'data-lab-id': lab.id },
      h('header', { class: 'card-head' }, h('h2', {}, lab.name), h('span', { class: `badge ${st.tone}` }, st.text)),
      lab.startTime ? h('p', { class: 'muted' }, `Scheduled ${new Date(lab.startTime).toLocaleString()}${lab.endTime ? ` – ${new Date(lab.endTime).toLocaleString()}` : ''}`) : null,
      nodes.length ? h('ul', { class: 'nodes' }, ...nodes) : h('p', { class: 'muted' }, 'No nodes.'),
      h('div', { class: 'actions' }, deploy, destroy),
      status,
    );
  };

  const render = () => clear(list, ...labs.map(card));

  const load = async () => {
    try {
      labs = await backend.listAll<LabView>('labs');
      notice.textContent = labs.length ? '' : 'No labs yet. Create one through the API (module "labs").';
      notice.classList.remove('error');
      render();
    } catch (err) {
      // Keep what is shown: a failed refresh does not mean the labs are gone.
      notice.textContent = `${labs.length ? 'Labs could not be refreshed' : 'Labs are not available'}: ${describe(err)}`;
      notice.classList.add('error');
    }
  };
  /** A deploy sends a burst of updates: refresh once per burst. */
  let timer: number | null = null;
  function soon(): void {
    if (timer !== null) return;
    timer = window.setTimeout(() => {
      timer = null;
      void load();
    }, 250);
  }

  return {
    id: 'labs',
    title: 'Labs',
    el,
    show() {
      ensureSockets();
      void load();
    },
    hide() {
      logSocket?.close();
      logSocket = null;
      logPanel.hidden = true;
    },
  };
}
