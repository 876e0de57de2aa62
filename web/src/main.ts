// The panel's entry: sign in, then the shell (header, tabs, connection banner) and the pages.
import './styles.css';
import { Backend, type LinkState } from './backend.js';
import { readBoot, type Boot } from './boot.js';
import { clear, h } from './dom.js';
import { describe } from './errors.js';
import type { Page } from './page.js';
import { createCamerasPage } from './pages/cameras.js';
import { createCredentialsPage } from './pages/credentials.js';
import { createLabsPage } from './pages/labs.js';
import { createLogsPage } from './pages/logs.js';
import { createMonitorsPage } from './pages/monitors.js';
import { createStatusPage } from './pages/status.js';
import { createUsersPage } from './pages/users.js';
import { forgetSession, ingressSession, loginForm, storedSession, type Session } from './session.js';

const root = h('div', { id: 'app' });
document.body.append(root);

async function signIn(boot: Boot, notice?: string): Promise<Session> {
  if (boot.ingress) {
    try {
      return await ingressSession(boot);
    } catch (err) {
      return loginForm(root, boot, `Signing in through Home Assistant failed: ${describe(err)}`);
    }
  }
  return loginForm(root, boot, notice);
}

function linkWords(s: LinkState): string {
  return s === 'connected' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
}

function runPanel(boot: Boot, session: Session): void {
  let ended = false;
  let stopRouting = () => {};
  const end = (notice?: string) => {
    if (ended) return;
    ended = true;
    stopRouting();
    backend.close();
    for (const p of pages) p.hide();
    forgetSession(boot);
    void signIn(boot, notice).then((s) => runPanel(boot, s));
  };
  const backend = new Backend(boot, session.token, session.user, (reason) => end(reason));

  const pages: Page[] = [
    createCamerasPage(backend),
    createMonitorsPage(backend),
    createCredentialsPage(backend),
    createLabsPage(backend),
    createLogsPage(backend),
    createStatusPage(backend),
    createUsersPage(backend),
  ];

  const dot = h('span', { class: 'link-dot', 'aria-hidden': 'true' });
  const linkText = h('span', { class: 'link-text' });
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  backend.onLink((s) => {
    dot.dataset.state = s;
    linkText.textContent = linkWords(s);
    banner.hidden = s !== 'disconnected';
    banner.textContent = 'The connection to Switchboard was lost. Reconnecting… (what you see may be out of date)';
  });

  const tabs = pages.map((p) =>
    h('button', { class: 'tab', role: 'tab', type: 'button', 'data-page': p.id, onclick: () => (location.hash = p.id) }, p.title),
  );
  const signOut = boot.ingress ? null : h('button', { type: 'button', class: 'quiet', onclick: () => {
    // Revoke the token on the server too; sign out locally even if that fails (e.g. offline).
    void backend.http('POST', '/api/logout').catch(() => undefined).finally(() => end('You signed out.'));
  } }, 'Sign out');
  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◉'), 'Switchboard'),
    h('div', { class: 'who' }, dot, linkText, h('span', { class: 'user' }, `${session.user.username} · ${session.user.role}`), signOut),
  );
  const nav = h('nav', { class: 'tabs', role: 'tablist' }, ...tabs);
  const main = h('main', { class: 'content' }, ...pages.map((p) => p.el));
  clear(root, header, nav, banner, main);

  let current: Page | null = null;
  const route = () => {
    const id = location.hash.replace(/^#/, '') || 'cameras';
    const next = pages.find((p) => p.id === id) ?? pages[0]!;
    if (next === current) return;
    current?.hide();
    for (const p of pages) p.el.hidden = p !== next;
    for (const t of tabs) t.setAttribute('aria-selected', String(t.dataset.page === next.id));
    current = next;
    next.show();
    document.title = `${next.title} · Switchboard`;
  };
  window.addEventListener('hashchange', route);
  stopRouting = () => window.removeEventListener('hashchange', route);
  route();
}

async function start(): Promise<void> {
  const boot = readBoot();
  const session = storedSession(boot) ?? (await signIn(boot));
  runPanel(boot, session);
}

void start();
