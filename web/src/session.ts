// Signing in: through Home Assistant ingress the proxy vouches for the HA user (POST
// /api/ingress/session, no form); on the direct port a login form (POST /api/auth). The bearer is
// kept for the tab (ingress) or the browser (direct) until it expires or the server refuses it.
import type { PublicUser } from '../../src/services/users/usersService.js';
import type { Boot } from './boot.js';
import { h, spinner } from './dom.js';
import { PanelError, describe, replyError } from './errors.js';

export interface Session {
  token: string;
  user: PublicUser;
  expiration: string;
}

const KEY = 'switchboard.session';

function storageFor(boot: Boot): Storage {
  // Under ingress the page shares Home Assistant's origin: keep the token to this tab only.
  return boot.ingress ? sessionStorage : localStorage;
}

export function storedSession(boot: Boot): Session | null {
  try {
    const s = JSON.parse(storageFor(boot).getItem(`${KEY}${boot.base}`) ?? 'null') as Session | null;
    if (!s || typeof s.token !== 'string' || Date.parse(s.expiration) <= Date.now() + 60_000) return null;
    return s;
  } catch {
    return null;
  }
}

export function forgetSession(boot: Boot): void {
  storageFor(boot).removeItem(`${KEY}${boot.base}`);
}

function remember(boot: Boot, s: Session): void {
  storageFor(boot).setItem(`${KEY}${boot.base}`, JSON.stringify(s));
}

async function post(boot: Boot, path: string, body?: unknown): Promise<Session> {
  const res = await fetch(`${boot.base}${path}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json().catch(() => null)) as { bearer?: string; expiration?: string; user?: PublicUser } | null;
  if (res.status === 429) {
    const after = res.headers.get('retry-after');
    throw new PanelError(`Too many failed sign-ins. Try again${after ? ` in ${after} seconds` : ' later'}.`);
  }
  if (!res.ok || !data?.bearer || !data.user) throw replyError(data, res.status) ?? new PanelError(`Sign-in failed (the server answered ${res.status}).`);
  return { token: data.bearer, user: data.user, expiration: data.expiration ?? new Date(Date.now() + 86_400_000).toISOString() };
}

/** Signs in as the Home Assistant user the ingress proxy names. */
export async function ingressSession(boot: Boot): Promise<Session> {
  const s = await post(boot, '/api/ingress/session');
  remember(boot, s);
  return s;
}

/** Shows the login form in `root` and resolves once the user has signed in. */
export function loginForm(root: HTMLElement, boot: Boot, notice?: string): Promise<Session> {
  return new Promise((resolve) => {
    const message = h('p', { class: 'form-error', role: 'alert' }, notice ?? '');
    const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const form = h(
      'form',
      { class: 'card login', 'aria-label': 'Sign in' },
      h('h1', {}, 'Switchboard'),
      h('p', { class: 'muted' }, 'Sign in with your Switchboard account.'),
      h('label', {}, 'Username', username),
      h('label', {}, 'Password', password),
      message,
      button,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      button.disabled = true;
      button.replaceChildren(spinner(), ' Signing in…');
      message.textContent = '';
      post(boot, '/api/auth', { username: username.value, password: password.value })
        .then((s) => {
          remember(boot, s);
          resolve(s);
        })
        .catch((err: unknown) => {
          message.textContent = describe(err);
          button.disabled = false;
          button.textContent = 'Sign in';
          password.select();
        });
    });
    root.replaceChildren(h('main', { class: 'login-wrap' }, form));
    username.focus();
  });
}
