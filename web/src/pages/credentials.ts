// Credentials: status of each OAuth credential and the (re-)authorize button, which asks the
// credentials module for the provider's URL (`update` with {origin}) and opens it.
import type { Backend } from '../backend.js';
import type { CredentialView } from '../../../src/services/credentials/records.js';
import { clear, h, spinner } from '../dom.js';
import { describe } from '../errors.js';
import type { Page } from '../page.js';

function statusWords(c: CredentialView): { text: string; tone: 'ok' | 'warn' | 'error' } {
  if (c.needs_reauth) return { text: 'Needs re-authorization', tone: 'error' };
  if (c.authorized) return { text: 'Authorized', tone: 'ok' };
  return { text: 'Not authorized yet', tone: 'warn' };
}

export function createCredentialsPage(backend: Backend): Page {
  const list = h('div', { class: 'grid' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const isAdmin = backend.user.role === 'admin';
  // The provider redirects back to <origin>/api/credentials/callback, which must reach the add-on
  // directly: under ingress that is the direct port on the same host, not Home Assistant's origin.
  const origin = backend.boot.ingress ? null : location.origin;
  const el = h(
    'section',
    { class: 'page', 'aria-label': 'Credentials' },
    h('h1', {}, 'Credentials'),
    backend.boot.ingress
      ? h('p', { class: 'muted' }, 'Authorizing needs the add-on’s direct port (the provider sends you back there). Open Switchboard on its port to authorize.')
      : null,
    notice,
    list,
  );

  const authorize = async (c: CredentialView, button: HTMLButtonElement, status: HTMLElement) => {
    if (!origin) return;
    // Opened now, inside the click, so the browser does not block it as a pop-up.
    const win = window.open('', '_blank');
    button.disabled = true;
    clear(status, spinner(), ' Asking the provider…');
    try {
      const { url } = await backend.request<{ url: string }>('credentials', 'update', c.id, { origin });
      if (win) win.location.href = url;
      else location.href = url;
      clear(status, 'Continue in the new window; this page updates when the provider confirms.');
    } catch (err) {
      win?.close();
      clear(status, h('span', { class: 'error' }, `Could not start the authorization: ${describe(err)}`));
    } finally {
      button.disabled = false;
    }
  };

  const card = (c: CredentialView) => {
    const s = statusWords(c);
    const status = h('p', { class: 'status', role: 'status' });
    const button = h('button', { type: 'button', class: 'primary' }, c.authorized && !c.needs_reauth ? 'Re-authorize' : 'Authorize');
    button.disabled = !isAdmin || !origin;
    button.title = !isAdmin ? 'Only admins can authorize credentials' : !origin ? 'Open the add-on on its direct port to authorize' : '';
    button.addEventListener('click', () => void authorize(c, button, status));
    return h(
      'article',
      { class: 'card', 'data-credential-id': c.id },
      h('header', { class: 'card-head' }, h('h2', {}, c.description || c.client_id), h('span', { class: `badge ${s.tone}` }, s.text)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Provider'),
        h('dd', {}, c.provider === 'google-device-access' ? 'Google Device Access' : c.provider),
        h('dt', {}, 'Client'),
        h('dd', {}, c.client_id),
        h('dt', {}, 'Access expires'),
        h('dd', {}, c.expires_at ? new Date(c.expires_at).toLocaleString() : c.authorized ? 'does not expire' : '—'),
        c.last_error ? h('dt', {}, 'Last problem') : null,
        c.last_error ? h('dd', { class: 'error' }, c.last_error) : null,
      ),
      h('div', { class: 'actions' }, button),
      status,
    );
  };

  const load = async () => {
    try {
      const creds = await backend.listAll<CredentialView>('credentials');
      clear(list, ...creds.map(card));
      notice.textContent = creds.length ? '' : 'No credentials yet. An admin adds them through the API.';
      notice.classList.remove('error');
    } catch (err) {
      clear(list);
      notice.textContent = `Credentials are not available: ${describe(err)}`;
      notice.classList.add('error');
    }
  };
  let timer: number | null = null;
  backend.onStatus('credentials', () => {
    if (timer !== null) return;
    timer = window.setTimeout(() => {
      timer = null;
      void load();
    }, 250);
  });

  return { id: 'credentials', title: 'Credentials', el, show: () => void load(), hide: () => undefined };
}
