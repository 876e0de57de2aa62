// Users: admins list, add, re-role, delete users and set their passwords; everyone signed in with a
// password changes their own. Everything goes through the `users` module over the NestMTX socket,
// so the checks and error messages are the API's own.
import type { Backend } from '../backend.js';
import { ROLES } from '../../../src/auth/records.js';
import type { PublicUser } from '../../../src/services/users/usersService.js';
import { clear, h } from '../dom.js';
import { describe } from '../errors.js';
import { actionForm, buttonAction, deleteButton, field } from '../forms.js';
import type { Page } from '../page.js';

const ROLE_WORDS: Record<string, string> = { admin: 'Admin', user: 'User', viewer: 'Viewer' };

const roleSelect = (name: string, value: string, label: string) =>
  h('select', { name, 'aria-label': label }, ...ROLES.map((r) => h('option', { value: r, selected: r === value }, ROLE_WORDS[r] ?? r)));

export function createUsersPage(backend: Backend): Page {
  const me = backend.user;
  const isAdmin = me.role === 'admin';
  const notice = h('p', { class: 'notice', role: 'status' });
  const rows = h('tbody', {});
  const sections: HTMLElement[] = [];

  if (isAdmin) {
    const username = h('input', { name: 'username', autocomplete: 'off', required: true });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const role = roleSelect('role', 'user', 'Role');
    const add = actionForm({
      label: 'Add a user',
      submit: 'Add user',
      fields: [field('Username', username), field('Password (at least 8 characters)', password), field('Role', role)],
      action: async () => {
        const u = await backend.request<PublicUser>('users', 'create', undefined, { username: username.value, password: password.value, role: role.value });
        username.value = '';
        password.value = '';
        void load();
        return `Added ${u.username} (${ROLE_WORDS[u.role] ?? u.role}).`;
      },
    });
    sections.push(
      h('article', { class: 'card', 'aria-label': 'All users' }, h('h2', {}, 'All users'), h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'Password'), h('th', {}, ''))), rows)),
      h('article', { class: 'card' }, h('h2', {}, 'Add a user'), add.el),
    );
  }

  if (backend.boot.ingress) {
    sections.push(
      h('article', { class: 'card' }, h('h2', {}, 'Your password'), h('p', { class: 'muted' }, 'You are signed in through Home Assistant and need no password here. An admin can set one for you to use Switchboard on its own port.')),
    );
  } else {
    const current = h('input', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
    const next = h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true });
    const change = actionForm({
      label: 'Change my password',
      submit: 'Change password',
      fields: [field('Current password', current), field('New password (at least 8 characters)', next)],
      action: async () => {
        await backend.request<PublicUser>('users', 'update', me.id, { current_password: current.value, password: next.value });
        current.value = '';
        next.value = '';
        // Changing a password signs out every session of the user, this one too.
        return 'Password changed. Sign in again with the new password.';
      },
    });
    sections.push(h('article', { class: 'card' }, h('h2', {}, 'Change my password'), change.el));
  }

  const row = (u: PublicUser): HTMLElement => {
    const status = h('p', { class: 'status', role: 'status' });
    const role = roleSelect('role', u.role, `Role of ${u.username}`);
    role.addEventListener('change', () => {
      void buttonAction(h('button', {}), status, async () => {
        try {
          const v = await backend.request<PublicUser>('users', 'update', u.id, { role: role.value });
          return `${v.username} is now ${ROLE_WORDS[v.role] ?? v.role}.`;
        } catch (err) {
          role.value = u.role;
          throw err;
        }
      });
    });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', placeholder: 'New password', 'aria-label': `New password for ${u.username}` });
    const setPassword = h('button', { type: 'button' }, 'Set password');
    setPassword.addEventListener('click', () => {
      void buttonAction(setPassword, status, async () => {
        await backend.request<PublicUser>('users', 'update', u.id, { password: password.value });
        password.value = '';
        return `Password of ${u.username} set; their sessions were signed out.`;
      });
    });
    const remove = deleteButton({
      label: 'Delete',
      confirm: `Really delete ${u.username}?`,
      status,
      action: async () => {
        await backend.request<PublicUser>('users', 'delete', u.id);
        void load();
        return `Deleted ${u.username}.`;
      },
    });
    return h(
      'tr',
      { 'data-user': u.username },
      h('td', {}, u.username, u.id === me.id ? h('span', { class: 'muted' }, ' (you)') : null, u.can_login ? null : h('span', { class: 'badge warn' }, 'cannot sign in')),
      h('td', {}, role),
      h('td', {}, h('div', { class: 'actions' }, password, setPassword)),
      h('td', {}, h('div', { class: 'actions' }, remove), status),
    );
  };

  const load = async () => {
    if (!isAdmin) return;
    try {
      const users = await backend.listAll<PublicUser>('users');
      clear(rows, ...users.sort((a, b) => a.username.localeCompare(b.username)).map(row));
      notice.textContent = '';
      notice.classList.remove('error');
    } catch (err) {
      notice.textContent = `Users are not available: ${describe(err)}`;
      notice.classList.add('error');
    }
  };
  const title = isAdmin ? 'Users' : 'Account';
  const el = h(
    'section',
    { class: 'page', 'aria-label': title },
    h('h1', {}, title),
    isAdmin ? null : h('p', { class: 'muted' }, `You are signed in as ${me.username} (${ROLE_WORDS[me.role] ?? me.role}). Admins manage users.`),
    notice,
    h('div', { class: 'stack' }, ...sections),
  );
  return { id: 'users', title, el, show: () => void load(), hide: () => undefined };
}
