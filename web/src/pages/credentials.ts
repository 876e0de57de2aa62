// Credentials: status of each OAuth credential and the (re-)authorize button, which asks the
// credentials module for the provider's URL (`update` with {origin}) and opens it. Admins add
// credentials and delete them (the module's own checks and error messages).
import type { Backend } from '../backend.js';
import { PROVIDERS, type CredentialView } from '../../../src/services/credentials/records.js';
import { clear, h, spinner } from '../dom.js';
import { describe } from '../errors.js';
import { actionForm, deleteButton, field } from '../forms.js';
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
    isAdmin ? addCard() : null,
  );

  function addCard(): HTMLElement {
    const description = h('input', { name: 'description', autocomplete: 'off', required: true });
    const provider = h('select', { name: 'provider' }, ...PROVIDERS.map((p) => h('option', { value: p, selected: p === 'generic' }, p === 'google-device-access' ? 'Google Device Access' : 'Generic OAuth 2.0')));
    const clientId = h('input', { name: 'client_id', autocomplete: 'off', required: true });
    const secret = h('input', { name: 'client_secret', type: 'password', autocomplete: 'off' });
    const authorizeUrl = h('input', { name: 'authorize_url', type: 'url', autocomplete: 'off', placeholder: 'https://provider/authorize' });
    const tokenUrl = h('input', { name: 'token_url', type: 'url', autocomplete: 'off', placeholder: 'https://provider/token' });
    const scopes = h('input', { name: 'scopes', autocomplete: 'off', placeholder: 'space separated' });
    const projectId = h('input', { name: 'project_id', autocomplete: 'off' });
    const form = actionForm({
      label: 'Add a credential',
      submit: 'Add credential',
      fields: [
        field('Description', description),
        field('Provider', provider),
        field('Client id', clientId),
        field('Client secret', secret),
        field('Authorization URL (generic)', authorizeUrl),
        field('Token URL (generic)', tokenUrl),
        field('Scopes', scopes),
        field('Project id (Google Device Access)', projectId),
      ],
      action: async () => {
        // Empty fields are left out: the module fills in the provider's defaults.
        const payload: Record<string, string> = { description: description.value, provider: provider.value, client_id: clientId.value };
        for (const [k, input] of [['client_secret', secret], ['authorize_url', authorizeUrl], ['token_url', tokenUrl], ['scopes', scopes], ['project_id', projectId]] as const) {
          if (input.value.trim()) payload[k] = input.value.trim();
        }
        const c = await backend.request<CredentialView>('credentials', 'create', undefined, payload);
        for (const input of [description, clientId, secret, authorizeUrl, tokenUrl, scopes, projectId]) input.value = '';
        void load();
        return `Added ${c.description}. Authorize it to sign in at the provider.`;
      },
    });
    return h('article', { class: 'card' }, h('h2', {}, 'Add a credential'), form.el);
  }

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
    // The provider's tokens go with it.
    const remove = deleteButton({
      label: 'Delete',
      confirm: 'Really delete?',
      status,
      hidden: !isAdmin,
      action: async () => {
        await backend.request<CredentialView>('credentials', 'delete', c.id);
        void load();
        return 'Deleted.';
      },
    });
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
      h('div', { class: 'actions' }, button, remove),
      status,
    );
  };

  const load = async () => {
    try {
      const creds = await backend.listAll<CredentialView>('credentials');
      clear(list, ...creds.map(card));
      notice.textContent = creds.length ? '' : isAdmin ? 'No credentials yet. Add one below.' : 'No credentials yet. An admin adds them here.';
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
